import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../server/logger.ts';
import { openRedis, REDIS_PREFIX, type RedisConnection } from '../../server/redis/connection.ts';
import { OWNER, setUp, signedIn } from '../helpers/client.ts';
import { startServerProcess, type ServerProcess } from '../helpers/process.ts';
import { RealtimeClient } from '../helpers/realtime.ts';
import { ferretdbMissing, startFerretDB, type FerretDB } from '../helpers/ferretdb.ts';
import { redisMissing, startRedis, type RedisServer } from '../helpers/redis.ts';

// Issue #11: a realtime session dropped on one process resumes on another, as when a load balancer
// sends the reconnect elsewhere. The two processes are deployed as in production: each with its
// own DATA_DIR, both on one MongoDB-protocol store (FerretDB here) for the caller, the knowledge
// base and the conversation, and one Redis, through which alone the dropped session travels.

const log = createLogger({ level: 'silent' });

describe('two processes on one Redis: resuming a realtime session', { skip: redisMissing() || ferretdbMissing() }, () => {
  let redis: RedisServer;
  let a: ServerProcess;
  let b: ServerProcess;
  let third: RedisConnection;
  let store: FerretDB;
  const dirs: string[] = [];

  before(async () => {
    [redis, store] = await Promise.all([startRedis(), startFerretDB()]);
    const start = async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-redis-resume-'));
      dirs.push(dir);
      return startServerProcess({ DATA_DIR: dir, MONGODB_URL: store.url, REDIS_URL: redis.url, OCR_ENABLED: 'false', TTS_MODEL: 'off', STT_MODEL: 'off', REALTIME_RESUME_SECONDS: '60' });
    };
    // One after the other: the first creates and migrates the store.
    a = await start();
    b = await start();
    third = await openRedis(redis.url, log);
  });
  after(async () => {
    await third?.close();
    for (const server of [a, b]) {
      server?.child.kill('SIGTERM');
      await server?.exited;
    }
    await Promise.all([redis?.stop(), store?.stop()]);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('a session dropped on one process resumes on the other with its conversation, for its caller only, once', async () => {
    const { owner } = await setUp(a.url);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Workshop' })).json.id as string;
    const newKey = async (name: string) => (await owner.post('/api/v1/api-keys', { name, role: 'viewer' })).json.key as string;
    const [key, otherKey] = [await newKey('voice'), await newKey('other')];
    const connect = (server: ServerProcess, query = '', bearer = key) => RealtimeClient.open(`${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}${query}`, { authorization: `Bearer ${bearer}` });
    const textTurn = async (c: RealtimeClient, text: string) => {
      const from = c.events.length;
      c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
      c.send({ type: 'response.create' });
      return (await c.next('response.done', from, 30_000)).response;
    };

    const first = await connect(a);
    const session = (await first.next('session.created')).session;
    first.send({ type: 'session.update', session: { output_modalities: ['text'], audio: { input: { turn_detection: null } } } });
    await first.next('session.updated');
    const conversationId = (await textTurn(first, 'What must be removed before starting the lathe?')).metadata.lectern_conversation_id as string;
    assert.ok(conversationId);
    first.ws.terminate(); // dropped, not closed by the client
    // The snapshot reaches Redis once A has wound the session down.
    const kept = `${REDIS_PREFIX}realtime:detached:${session.id}`;
    for (const end = Date.now() + 5_000; !(await third.client.exists(kept)); ) {
      if (Date.now() > end) assert.fail('the dropped session never reached Redis');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Another caller on B gets a new session, and the dropped one stays for its own caller.
    const intruder = await connect(b, `&resume=${session.id}`, otherKey);
    assert.notEqual((await intruder.next('session.created')).session.id, session.id);
    assert.equal((await intruder.next('error')).error.code, 'resume_unavailable');
    intruder.close();

    const again = await connect(b, `&resume=${session.id}`);
    const resumedSession = (await again.next('session.created')).session;
    assert.equal(resumedSession.id, session.id);
    assert.deepEqual(resumedSession.output_modalities, ['text'], 'the settings made on A carry over');
    assert.equal(resumedSession.audio.input.turn_detection, null);
    assert.equal((await again.next('lectern.session.resumed')).conversation_id, conversationId);
    const next = await textTurn(again, 'And what about eye protection?');
    assert.equal(next.metadata.lectern_conversation_id, conversationId, 'B continues the conversation begun on A');
    const { messages } = (await owner.get(`/api/v1/conversations/${conversationId}`)).json;
    assert.equal(messages.length, 4);
    assert.equal(await third.client.exists(kept), 0, 'a resume consumes the dropped session');

    // Resumed once: asking A for it again starts afresh.
    const late = await connect(a, `&resume=${session.id}`);
    assert.notEqual((await late.next('session.created')).session.id, session.id);
    assert.equal((await late.next('error')).error.code, 'resume_unavailable');
    late.close();
    again.close();
  });

  it('a session open on a process that shuts down resumes on the other (a restart or rolling deploy)', async () => {
    const owner = await signedIn(a.url, OWNER.email, OWNER.password);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Night shift' })).json.id as string;
    const key = (await owner.post('/api/v1/api-keys', { name: 'deploy', role: 'viewer' })).json.key as string;
    const connect = (server: ServerProcess, query = '') => RealtimeClient.open(`${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}${query}`, { authorization: `Bearer ${key}` });
    const open = await connect(a);
    const session = (await open.next('session.created')).session;
    const closedWith = new Promise<number>((resolve) => open.ws.once('close', (code) => resolve(code)));
    a.child.kill('SIGTERM');
    assert.equal(await closedWith, 1012, 'service restart: the client is told to reconnect');
    assert.equal((await a.exited).code, 0);

    const resumed = await connect(b, `&resume=${session.id}`);
    assert.equal((await resumed.next('session.created')).session.id, session.id);
    await resumed.next('lectern.session.resumed');
    resumed.close();
  });
});
