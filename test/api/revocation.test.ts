import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { Clock } from '../../server/clock.ts';
import { ScriptedEngine } from '../fixtures/scripted-engine.ts';
import { Client, setUp, signedIn } from '../helpers/client.ts';
import { RealtimeClient, refusedWith } from '../helpers/realtime.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { openStream } from '../helpers/streams.ts';

// Finding 1 of the security review (#10): revoking a credential must end what it has open. A
// revoked API key, a signed-out session, a disabled or deleted user: their realtime sockets close
// within a second with 4001 and no further answer, their event streams end, the client secrets
// they minted stop working, and keys made by a revoked key go with it. A periodic re-check is the
// backstop for a notice that never arrived, and a session ends at its absolute lifetime however
// active it is.

const SECRET = 'The vault code is PERIWINKLE and it changes every spring.';
const PASSWORD = 'a sufficiently long password';

interface Closed {
  code: number;
  reason: string;
  at: number;
}

/** Watches a socket for its close; `within` waits for it at most `ms` after `since`, null if none came. */
function watchClose(ws: WebSocket) {
  const closed = new Promise<Closed>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: performance.now() })));
  return {
    within: (ms: number) => Promise.race([closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]),
  };
}

/** Reads a server-sent event stream; `ended` resolves with the time it ended, or null after `ms`. */
async function eventually(test: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('revocation ends what a credential has open', () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  let url: string;
  const signals: AbortSignal[] = [];
  // A local model that answers with the knowledge base's secret and then takes its time, so an
  // answer is still running when its credential is revoked.
  const engine = new ScriptedEngine({
    name: 'local',
    model: { toolCalling: false },
    script: (request) => {
      if (request.signal) signals.push(request.signal);
      return { text: ['The vault code ', 'is PERIWINKLE. '], delayMs: 4_000 };
    },
  });

  before(async () => {
    server = await startTestServer({ env: { TTS_MODEL: 'off' }, appliance: { localLlm: engine } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Vault' })).json.id;
    await owner.upload(kbId, [{ name: 'vault.md', bytes: SECRET }]);
    await owner.settle(kbId);
    url = `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`;
  });
  after(() => server.close());

  const newKey = async (by: Client = owner, role = 'viewer') => {
    const r = await by.post('/api/v1/api-keys', { name: `key ${Math.random()}`, role });
    assert.equal(r.status, 201, r.text);
    return { id: r.json.id as string, key: r.json.key as string };
  };
  const newUser = async (email: string) => {
    const r = await owner.post('/api/v1/users', { email, name: email.split('@')[0], role: 'viewer', password: PASSWORD });
    assert.equal(r.status, 201, r.text);
    return { id: r.json.user.id as string, client: await signedIn(server.url, email, PASSWORD) };
  };
  const bearer = (key: string) => {
    const c = new Client(server.url);
    c.bearer = key;
    return c;
  };
  const viaCookie = (c: Client) => RealtimeClient.open(url, { cookie: c.cookie!, origin: server.url });

  it('closes a socket within 1 s of its API key being revoked, mid-answer, with 4001 and no further answer', async (t) => {
    const { id, key } = await newKey();
    const c = await RealtimeClient.open(url, { authorization: `Bearer ${key}` });
    await c.next('session.created');
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is the vault code?' }] } });
    c.send({ type: 'response.create' });
    await c.next('response.output_text.delta');
    assert.ok(!c.events.some((e) => e['type'] === 'response.done'), 'the answer is still running');
    const signal = signals.at(-1)!;

    const close = watchClose(c.ws);
    const revokedAt = performance.now();
    assert.equal((await owner.delete(`/api/v1/api-keys/${id}`)).status, 204);
    const closed = await close.within(3_000);
    assert.ok(closed, 'the socket stayed open after its key was revoked');
    const ms = closed.at - revokedAt;
    t.diagnostic(`closed ${Math.round(ms)} ms after DELETE was sent (${closed.code} ${closed.reason})`);
    assert.ok(ms <= 1_000, `closed ${Math.round(ms)} ms after the revocation`);
    assert.equal(closed.code, 4001);
    assert.match(closed.reason, /revoked/);
    assert.ok(!c.events.some((e) => e['type'] === 'response.done'), 'no answer completed after the revocation');
    await eventually(() => signal.aborted, 'the answer in flight is aborted', 1_000);
    assert.equal(await refusedWith(url, { authorization: `Bearer ${key}` }), 401);
  });

  it('closes a cookie-session socket within 1 s when the user is disabled, deleted, or signs out', async (t) => {
    const cases: Array<[string, (user: { id: string; client: Client }) => Promise<number>]> = [
      ['disabled', async (u) => (await owner.patch(`/api/v1/users/${u.id}`, { disabled: true })).status],
      ['deleted', async (u) => (await owner.delete(`/api/v1/users/${u.id}`)).status],
      ['signed out', async (u) => (await u.client.post('/api/v1/auth/logout')).status],
    ];
    for (const [what, revoke] of cases) {
      const user = await newUser(`${what.replace(' ', '-')}@riverside.test`);
      const c = await viaCookie(user.client);
      await c.next('session.created');
      const close = watchClose(c.ws);
      const revokedAt = performance.now();
      assert.ok([200, 204].includes(await revoke(user)), what);
      const closed = await close.within(3_000);
      assert.ok(closed, `the socket stayed open after the user was ${what}`);
      t.diagnostic(`${what}: closed ${Math.round(closed.at - revokedAt)} ms after (${closed.code} ${closed.reason})`);
      assert.ok(closed.at - revokedAt <= 1_000, `${what}: closed ${Math.round(closed.at - revokedAt)} ms after`);
      assert.equal(closed.code, 4001, what);
      assert.match(closed.reason, /revoked/, what);
    }
  });

  it('ends a document event stream when its session signs out or its API key is revoked', async (t) => {
    const user = await newUser('streamer@riverside.test');
    const bySession = await openStream(`${server.url}/api/v1/kbs/${kbId}/events`, { cookie: user.client.cookie! });
    const { id, key } = await newKey();
    const byKey = await openStream(`${server.url}/api/v1/kbs/${kbId}/events`, { authorization: `Bearer ${key}` });
    await eventually(() => bySession.text.includes('connected') && byKey.text.includes('connected'), 'both streams connected');

    let revokedAt = performance.now();
    assert.equal((await user.client.post('/api/v1/auth/logout')).status, 204);
    const sessionEnded = await bySession.ended(3_000);
    assert.ok(sessionEnded !== null, 'the stream kept going after logout');
    t.diagnostic(`session stream ended ${Math.round(sessionEnded - revokedAt)} ms after logout was sent`);
    assert.ok(sessionEnded - revokedAt <= 1_000, `ended ${Math.round(sessionEnded - revokedAt)} ms after logout`);
    assert.match(bySession.text, /event: revoked\ndata: \{"reason":"credential revoked: signed out"\}/);

    revokedAt = performance.now();
    assert.equal((await owner.delete(`/api/v1/api-keys/${id}`)).status, 204);
    const keyEnded = await byKey.ended(3_000);
    assert.ok(keyEnded !== null, 'the stream kept going after its key was revoked');
    t.diagnostic(`key stream ended ${Math.round(keyEnded - revokedAt)} ms after DELETE was sent`);
    assert.ok(keyEnded - revokedAt <= 1_000, `ended ${Math.round(keyEnded - revokedAt)} ms after the revocation`);

    // Events after the end reach nobody: an upload now is not streamed to either.
    const before = bySession.text.length + byKey.text.length;
    await owner.upload(kbId, [{ name: 'later.md', bytes: 'Another note.' }]);
    await owner.settle(kbId);
    assert.equal(bySession.text.length + byKey.text.length, before);
    await Promise.all([bySession.cancel(), byKey.cancel()]);
  });

  it('refuses a client secret whose minter was revoked, signed out or disabled, and deletes it', async () => {
    const mint = async (c: Client) => {
      const r = await c.post('/api/v1/realtime/sessions', { model: `kb:${kbId}`, expiresInSeconds: 600 });
      assert.equal(r.status, 201, r.text);
      return r.json.client_secret.value as string;
    };
    const secrets = server.store.collection<{ _id: string }>('realtime_secrets');
    const idOf = (secret: string) => secret.split('_')[1]!;

    const { id, key } = await newKey();
    const byKey = await mint(bearer(key));
    assert.equal((await owner.delete(`/api/v1/api-keys/${id}`)).status, 204);

    const out = await newUser('leaver@riverside.test');
    const bySignedOut = await mint(out.client);
    assert.equal((await out.client.post('/api/v1/auth/logout')).status, 204);

    const off = await newUser('disabled-minter@riverside.test');
    const byDisabled = await mint(off.client);
    assert.equal((await owner.patch(`/api/v1/users/${off.id}`, { disabled: true })).status, 200);

    for (const [what, secret] of [['revoked key', byKey], ['signed-out user', bySignedOut], ['disabled user', byDisabled]] as const) {
      assert.equal(await refusedWith(url, { authorization: `Bearer ${secret}` }), 401, what);
      assert.equal(await refusedWith(url, { 'sec-websocket-protocol': `realtime, openai-insecure-api-key.${secret}` }), 401, `${what} (subprotocol)`);
      await eventually(async () => (await secrets.countDocuments({ _id: idOf(secret) })) === 0, `${what}: the secret is deleted`);
    }

    // A secret of a live minter still works.
    const live = await mint(owner);
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${live}` } });
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    ws.close();
  });

  it('stops a key made by a key when the parent is revoked, and closes its sockets', async () => {
    const parent = await newKey(owner, 'admin');
    const child = await newKey(bearer(parent.key), 'admin');
    const grandchild = await newKey(bearer(child.key), 'viewer');
    assert.equal((await bearer(grandchild.key).get('/api/v1/me')).status, 200);
    const c = await RealtimeClient.open(url, { authorization: `Bearer ${grandchild.key}` });
    await c.next('session.created');
    const close = watchClose(c.ws);

    assert.equal((await owner.delete(`/api/v1/api-keys/${parent.id}`)).status, 204);
    assert.equal((await bearer(child.key).get('/api/v1/me')).status, 401, 'child');
    assert.equal((await bearer(grandchild.key).get('/api/v1/me')).status, 401, 'grandchild');
    const closed = await close.within(1_000);
    assert.equal(closed?.code, 4001, 'the grandchild key’s socket closes');
    const listed = (await owner.get('/api/v1/api-keys')).json.apiKeys.map((k: { id: string }) => k.id);
    assert.ok(![parent.id, child.id, grandchild.id].some((id) => listed.includes(id)), 'none of them is listed as active');
  });

  it('refuses a child key whose parent was revoked before revocation cascaded', async () => {
    const parent = await newKey(owner, 'admin');
    const child = await newKey(bearer(parent.key), 'viewer');
    // As a store written by an earlier version holds it: the parent revoked, the child not.
    await server.store.collection<{ _id: string; revokedAt: string | null }>('api_keys').updateOne({ _id: parent.id }, { $set: { revokedAt: new Date().toISOString() } });
    assert.equal((await bearer(child.key).get('/api/v1/me')).status, 401);
  });
});

describe('long-lived connections re-check their credential; sessions have an absolute lifetime', () => {
  const HOUR = 3_600_000;
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  let url: string;
  let now = Date.now();
  const clock: Clock = { now: () => new Date(now) };

  before(async () => {
    server = await startTestServer({
      env: { TTS_MODEL: 'off', SESSION_TTL_HOURS: '2', SESSION_MAX_HOURS: '3' },
      appliance: { clock },
      realtime: { recheckMs: 200 },
    });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Vault' })).json.id;
    url = `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`;
  });
  after(() => server.close());

  it('closes a socket whose key was revoked without a notice (written straight to the store) at the next re-check', async () => {
    const { id, key } = (await owner.post('/api/v1/api-keys', { name: 'quiet', role: 'viewer' })).json as { id: string; key: string };
    const c = await RealtimeClient.open(url, { authorization: `Bearer ${key}` });
    await c.next('session.created');
    const close = watchClose(c.ws);
    await server.store.collection<{ _id: string; revokedAt: string | null }>('api_keys').updateOne({ _id: id }, { $set: { revokedAt: clock.now().toISOString() } });
    const closed = await close.within(1_500);
    assert.equal(closed?.code, 4001);
  });

  it('ends a session at SESSION_MAX_HOURS however active it is, and closes its socket', async () => {
    const user = await owner.post('/api/v1/users', { email: 'busy@riverside.test', name: 'Busy', role: 'viewer', password: PASSWORD });
    assert.equal(user.status, 201);
    const busy = await signedIn(server.url, 'busy@riverside.test', PASSWORD);
    // Used every 1.5 h, a 2 h sliding session would live for ever; the 3 h cap ends it.
    now += 1.5 * HOUR;
    const renewed = await busy.get('/api/v1/me');
    assert.equal(renewed.status, 200);
    assert.ok(renewed.setCookie, 'the session slid');
    now += 1.4 * HOUR;
    assert.equal((await busy.get('/api/v1/me')).status, 200, 'still within 3 h of sign-in');
    const c = await RealtimeClient.open(url, { cookie: busy.cookie!, origin: server.url });
    await c.next('session.created');
    const close = watchClose(c.ws);
    now += 0.1 * HOUR;
    assert.equal((await busy.get('/api/v1/me')).status, 401, '3 h after sign-in the session is over');
    const closed = await close.within(1_500);
    assert.equal(closed?.code, 4001, 'its socket closes at the next re-check');
  });
});
