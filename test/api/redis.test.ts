import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Revoked } from '../../server/auth/revocation.ts';
import { kbTopic } from '../../server/documents/documents.ts';
import { createLogger } from '../../server/logger.ts';
import { RedisEventBus } from '../../server/redis/bus.ts';
import { openRedis, type RedisConnection } from '../../server/redis/connection.ts';
import { RedisRevocations } from '../../server/redis/revocations.ts';
import { Client, OWNER, setUp } from '../helpers/client.ts';
import { startServerProcess, type ServerProcess } from '../helpers/process.ts';
import { redisMissing, startRedis, type RedisServer } from '../helpers/redis.ts';
import { openStream } from '../helpers/streams.ts';

// Issue #11: two Lectern processes with their own data directories and one Redis. The rate limits
// and the login throttle are shared outright. Each process has its own embedded store, so a
// credential or knowledge base exists on one of them only: what crosses processes there is the
// notice, shown with a third party on the same Redis (the adapters as another process holds
// them) hearing what process A publishes, and process A acting on what the third party publishes.

const log = createLogger({ level: 'silent' });

async function until<T>(probe: () => T | null | undefined, what: string, ms = 1_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('two processes on one Redis', { skip: redisMissing() }, () => {
  let redis: RedisServer;
  let a: ServerProcess;
  let b: ServerProcess;
  let third: RedisConnection;
  /** Signed in on A, and its organisation there. */
  let owner: Client;
  let organisationId: string;
  const dirs: string[] = [];

  before(async () => {
    redis = await startRedis();
    const start = async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-redis-api-'));
      dirs.push(dir);
      return startServerProcess({ DATA_DIR: dir, REDIS_URL: redis.url, OCR_ENABLED: 'false', TTS_MODEL: 'off' });
    };
    [a, b] = await Promise.all([start(), start()]);
    third = await openRedis(redis.url, log);
  });
  after(async () => {
    await third?.close();
    for (const server of [a, b]) {
      server?.child.kill('SIGTERM');
      await server?.exited;
    }
    await redis?.stop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('both report Redis ready and say which ports it serves', async () => {
    for (const server of [a, b]) {
      const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { status: string; components: Array<{ name: string; kind: string; state: string; message?: string }> };
      assert.equal(ready.status, 'ready');
      const component = ready.components.find((c) => c.name === 'redis');
      assert.deepEqual({ state: component?.state, message: component?.message }, { state: 'ok', message: redis.url });
      const shared = ['events', 'limits', 'revocations', 'resume'];
      assert.deepEqual(
        shared.map((name) => ready.components.find((c) => c.name === name)).map((c) => `${c?.kind}:${c?.state}`),
        ['redis:ok', 'redis:ok', 'redis:ok', 'redis:ok'],
      );
      // The log names the implementation each port got, as /readyz does.
      const opened = Object.fromEntries(server.lines.filter((l) => typeof l['port'] === 'string' && l['kind']).map((l) => [l['port'], l['kind']]));
      assert.deepEqual(shared.map((name) => opened[name]), ['redis', 'redis', 'redis', 'redis']);
      assert.equal(opened['store'], 'embedded');
    }
  });

  it('five failed logins on one process lock the account on the other, even for the right password', async () => {
    const [onA] = await Promise.all([setUp(a.url), setUp(b.url)]);
    owner = onA.owner;
    organisationId = onA.setup.json.organisation.id;
    for (let i = 0; i < 5; i++) {
      const failed = await new Client(a.url).post('/api/v1/auth/login', { email: OWNER.email, password: `wrong password number ${i}` });
      assert.equal(failed.status, 401, `attempt ${i + 1} on A: ${failed.text}`);
    }
    const locked = await new Client(b.url).post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password });
    assert.equal(locked.status, 429, locked.text);
    assert.equal(locked.json.error.code, 'rate_limited');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    // Another account is untouched on either process.
    assert.equal((await new Client(b.url).post('/api/v1/auth/login', { email: 'nobody@riverside.test', password: 'not the password!' })).status, 401);
  });

  it('a key revoked on one process is heard on the others, and a notice from another process ends its stream, within a second', async () => {
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Shared' })).json.id as string;
    const newKey = async () => {
      const r = await owner.post('/api/v1/api-keys', { name: `key ${Math.random()}`, role: 'viewer' });
      assert.equal(r.status, 201, r.text);
      return { id: r.json.id as string, key: r.json.key as string };
    };
    const elsewhere = await RedisRevocations.open(third, log);
    const heard: Revoked[] = [];
    elsewhere.subscribe((notice) => heard.push(notice));

    // Revoked on A: every other process hears it, and A's own stream of that key ends.
    const revokedOnA = await newKey();
    const streamOnA = await openStream(`${a.url}/api/v1/kbs/${kbId}/events`, { authorization: `Bearer ${revokedOnA.key}` });
    const revokedAt = performance.now();
    assert.equal((await owner.delete(`/api/v1/api-keys/${revokedOnA.id}`)).status, 204);
    const notice = await until(() => heard.find((n) => n.id === revokedOnA.id), 'the notice on the other process');
    assert.equal(notice.scope, 'apiKey');
    const ended = await streamOnA.ended(1_000);
    assert.ok(ended !== null && ended - revokedAt < 1_000, 'the stream on A stayed open');

    // Revoked on another process: A ends the stream of that key, which it still holds in its store.
    const revokedElsewhere = await newKey();
    const stream = await openStream(`${a.url}/api/v1/kbs/${kbId}/events`, { authorization: `Bearer ${revokedElsewhere.key}` });
    const publishedAt = performance.now();
    await elsewhere.publish({ scope: 'apiKey', id: revokedElsewhere.id, reason: 'API key revoked' });
    const closed = await stream.ended(1_000);
    assert.ok(closed !== null, 'the stream on A stayed open after another process revoked its key');
    assert.ok(closed - publishedAt < 1_000, `ended after ${Math.round(closed - publishedAt)} ms`);
    assert.match(stream.text, /event: revoked\ndata: \{"reason":"credential revoked: API key revoked"\}/);
  });

  it('live document progress from one process reaches the other processes, and theirs reaches its event streams', async () => {
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Progress' })).json.id as string;
    const elsewhere = await RedisEventBus.open(third, log);
    const seen: Array<{ event: string; data: Record<string, unknown> }> = [];
    const stop = elsewhere.subscribe(kbTopic(organisationId, kbId), (event, data) => seen.push({ event, data: data as Record<string, unknown> }));
    const uploaded = await owner.upload(kbId, [{ name: 'notes.md', bytes: '# Notes\n\nThe shared bus carries progress across processes.' }]);
    assert.equal(uploaded.status, 202, uploaded.text);
    const ready = await until(() => seen.find((e) => e.event === 'document' && e.data['status'] === 'ready'), 'the document ready, heard elsewhere', 30_000);
    assert.equal(ready.data['name'], 'notes.md');
    assert.ok(seen.filter((e) => e.event === 'document').length >= 2, `progress events heard: ${seen.map((e) => e.data['status']).join(', ')}`);
    stop();

    const stream = await openStream(`${a.url}/api/v1/kbs/${kbId}/events`, { cookie: owner.cookie! });
    await until(() => stream.text.includes(': connected'), 'the stream opened');
    elsewhere.publish(kbTopic(organisationId, kbId), 'deleted', { id: 'doc-from-another-process' });
    await until(() => stream.text.includes('event: deleted\ndata: {"id":"doc-from-another-process"}'), 'the event on the stream of A');
    await stream.cancel();
  });
});
