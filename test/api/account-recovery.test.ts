import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { decodeTotpKey, totpCodeAt } from '../../server/auth/totp.ts';
import { Client, OWNER, setUp, signedIn } from '../helpers/client.ts';
import { RealtimeClient, refusedWith } from '../helpers/realtime.ts';
import { admin } from '../helpers/admin.ts';
import { ferretdbMissing, startFerretDB, type FerretDB } from '../helpers/ferretdb.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { openStream } from '../helpers/streams.ts';

// Account recovery (#10, control 1): an admin resets a member's password — a temporary one,
// generated and shown once (or chosen), which must be changed at the next sign-in, every session
// of the member ended with what it has open — under the same rules as other changes of power;
// the instance owner's password only the operator resets, on the host, with
// `npm run admin -- reset-password <email>`. Until the password is changed, the session can do
// nothing else.

const PASSWORD = 'a sufficiently long password';
const NEW_PASSWORD = 'quite another long passphrase';
function closeWithin(ws: WebSocket, ms: number): Promise<{ code: number; reason: string; afterMs: number } | null> {
  const start = performance.now();
  return Promise.race([
    new Promise<{ code: number; reason: string; afterMs: number }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), afterMs: performance.now() - start }))),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), ms)),
  ]);
}

describe('account recovery: an admin resets a member’s password', () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  let wsUrl: string;
  const audit = (action: string) =>
    server.store.collection<{ _id: string; action: string; actor: { type: string; name: string | null }; details: Record<string, unknown> | null }>('audit').find({ action }).toArray();

  before(async () => {
    server = await startTestServer({ env: { TTS_MODEL: 'off' } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Handbook' })).json.id;
    wsUrl = `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`;
  });
  after(() => server.close());

  const newUser = async (email: string, role = 'editor') => {
    const r = await owner.post('/api/v1/users', { email, name: email.split('@')[0], role, password: PASSWORD });
    assert.equal(r.status, 201, r.text);
    return r.json.user.id as string;
  };

  it('sets a generated temporary password, shown once, and ends every session with its socket and stream', async () => {
    const id = await newUser('forgetful@riverside.test');
    const member = await signedIn(server.url, 'forgetful@riverside.test', PASSWORD);
    const socket = await RealtimeClient.open(wsUrl, { cookie: member.cookie!, origin: server.url });
    await socket.next('session.created');
    const stream = await openStream(`${server.url}/api/v1/kbs/${kbId}/events`, { cookie: member.cookie! });
    const closed = closeWithin(socket.ws, 3_000);

    const reset = await owner.post(`/api/v1/users/${id}/reset-password`, {});
    assert.equal(reset.status, 200, reset.text);
    assert.equal(reset.headers.get('cache-control'), 'no-store');
    const temporary = reset.json.temporaryPassword as string;
    assert.match(temporary, /^[a-z2-7]{4}(-[a-z2-7]{4}){4}$/, '100 random bits');
    assert.equal(reset.json.user.mustChangePassword, true);
    assert.equal(reset.json.sessionsEnded, 1);

    const socketClosed = await closed;
    assert.ok(socketClosed, 'the realtime socket stayed open after the reset');
    assert.equal(socketClosed.code, 4001);
    assert.match(socketClosed.reason, /revoked: password reset/);
    assert.ok(socketClosed.afterMs <= 1_000, `closed ${Math.round(socketClosed.afterMs)} ms after`);
    assert.notEqual(await stream.ended(1_000), null, 'the event stream ended');
    assert.match(stream.text, /event: revoked/);
    assert.equal((await member.get('/api/v1/me')).status, 401, 'the old session is gone');

    assert.equal((await new Client(server.url).post('/api/v1/auth/login', { email: 'forgetful@riverside.test', password: PASSWORD })).status, 401, 'the old password is gone');
    assert.ok(!JSON.stringify(await server.store.collection('users').findOne({ _id: id })).includes(temporary), 'only a hash is kept');
    const entry = (await audit('password.reset')).at(-1)!;
    assert.equal(entry.actor.type, 'user');
    assert.equal(entry.actor.name, OWNER.email);
    assert.deepEqual(entry.details, { generated: true, totpRemoved: false, sessionsEnded: 1 });
    // Listed as such for the admins.
    const listed = (await owner.get('/api/v1/users')).json.users.find((u: { id: string }) => u.id === id);
    assert.equal(listed.mustChangePassword, true);
  });

  it('gives the next session nothing but the password change: no knowledge bases, sockets or streams', async () => {
    const id = await newUser('restricted@riverside.test');
    const temporary = (await owner.post(`/api/v1/users/${id}/reset-password`, {})).json.temporaryPassword as string;
    const c = new Client(server.url);
    const login = await c.post('/api/v1/auth/login', { email: 'restricted@riverside.test', password: temporary });
    assert.equal(login.status, 200);
    assert.equal(login.json.restriction, 'password_change');
    assert.equal(login.json.user.mustChangePassword, true);
    const me = await c.get('/api/v1/me');
    assert.equal(me.status, 200);
    assert.equal(me.json.restriction, 'password_change');

    for (const [method, url] of [
      ['GET', '/api/v1/kbs'],
      ['GET', `/api/v1/kbs/${kbId}`],
      ['POST', `/api/v1/kbs/${kbId}/search`],
      ['GET', `/api/v1/kbs/${kbId}/events`],
      ['POST', '/api/v1/realtime/sessions'],
      ['POST', '/api/v1/auth/totp/setup'],
      ['GET', '/api/v1/users'],
      ['GET', '/v1/models'],
    ] as const) {
      const r = await c.request(method, url, method === 'POST' ? { query: 'x' } : undefined);
      assert.equal(r.status, 403, `${method} ${url}: ${r.text}`);
      assert.equal(r.json.error.code, 'password_change_required', `${method} ${url}`);
    }
    assert.equal(await refusedWith(wsUrl, { cookie: c.cookie!, origin: server.url }), 401, 'no realtime socket for a restricted session');

    const same = await c.post('/api/v1/auth/password', { currentPassword: temporary, newPassword: temporary });
    assert.equal(same.status, 400, 'the temporary password cannot stay');
    const weak = await c.post('/api/v1/auth/password', { currentPassword: temporary, newPassword: 'password1234' });
    assert.equal(weak.json.error.code, 'weak_password');
    const changed = await c.post('/api/v1/auth/password', { currentPassword: temporary, newPassword: NEW_PASSWORD });
    assert.equal(changed.status, 204, changed.text);
    assert.equal((await c.get('/api/v1/kbs')).status, 200, 'the fresh session may do everything');
    const after = (await c.get('/api/v1/me')).json;
    assert.equal(after.restriction, null);
    assert.equal(after.user.mustChangePassword, false);
    const socket = await RealtimeClient.open(wsUrl, { cookie: c.cookie!, origin: server.url });
    await socket.next('session.created');
    socket.close();
    await signedIn(server.url, 'restricted@riverside.test', NEW_PASSWORD);
  });

  it('takes a temporary password from the admin when it is strong enough', async () => {
    const id = await newUser('chosen@riverside.test');
    const weak = await owner.post(`/api/v1/users/${id}/reset-password`, { password: 'password1234' });
    assert.equal(weak.status, 400);
    assert.equal(weak.json.error.code, 'weak_password');
    assert.equal(weak.json.error.details[0].path, 'password');
    const chosen = await owner.post(`/api/v1/users/${id}/reset-password`, { password: 'violet staircase humming quietly' });
    assert.equal(chosen.status, 200);
    assert.equal(chosen.json.temporaryPassword, null);
    const login = await new Client(server.url).post('/api/v1/auth/login', { email: 'chosen@riverside.test', password: 'violet staircase humming quietly' });
    assert.equal(login.json.restriction, 'password_change');
  });

  it('follows the rules of power: owners by owners, never the instance owner, never yourself, never by a key', async () => {
    const adminId = await newUser('second-admin@riverside.test', 'admin');
    const coOwnerId = await newUser('co-owner@riverside.test', 'owner');
    const editorId = await newUser('plain-editor@riverside.test', 'editor');
    const instanceOwnerId = (await owner.get('/api/v1/me')).json.user.id as string;
    const secondAdmin = await signedIn(server.url, 'second-admin@riverside.test', PASSWORD);
    const coOwner = await signedIn(server.url, 'co-owner@riverside.test', PASSWORD);
    const editor = await signedIn(server.url, 'plain-editor@riverside.test', PASSWORD);

    const expect = async (by: Client, id: string, status: number, code: string, what: string) => {
      const r = await by.post(`/api/v1/users/${id}/reset-password`, {});
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.equal(r.json.error.code, code, what);
    };
    await expect(secondAdmin, coOwnerId, 403, 'forbidden', "an admin resets an owner's");
    await expect(secondAdmin, instanceOwnerId, 403, 'forbidden', "an admin resets the instance owner's");
    await expect(coOwner, instanceOwnerId, 403, 'forbidden', "an owner resets the instance owner's");
    await expect(owner, instanceOwnerId, 409, 'conflict', 'the instance owner resets their own');
    await expect(secondAdmin, adminId, 409, 'conflict', 'an admin resets their own');
    await expect(editor, adminId, 403, 'forbidden', 'an editor resets anyone');
    const forbidden = await owner.post(`/api/v1/users/${instanceOwnerId}/reset-password`, {});
    assert.match(forbidden.json.error.message, /./);
    const instance = await coOwner.post(`/api/v1/users/${instanceOwnerId}/reset-password`, {});
    assert.match(instance.json.error.message, /npm run admin -- reset-password/);

    const key = (await owner.post('/api/v1/api-keys', { name: 'ops', role: 'admin' })).json.key as string;
    const bot = new Client(server.url, { origin: null });
    bot.bearer = key;
    await expect(bot, editorId, 403, 'forbidden', 'an admin API key');

    assert.equal((await secondAdmin.post(`/api/v1/users/${editorId}/reset-password`, {})).status, 200, 'an admin resets an editor');
    assert.equal((await coOwner.post(`/api/v1/users/${adminId}/reset-password`, {})).status, 200, 'an owner resets an admin');
    assert.equal((await owner.post(`/api/v1/users/${coOwnerId}/reset-password`, {})).status, 200, 'an owner resets an owner');

    // Another organisation's members are not found.
    const other = await owner.post('/api/v1/organisations', { name: 'Hilltop', admin: { name: 'Hal', email: 'hal@hilltop.test', password: PASSWORD } });
    const hal = await signedIn(server.url, 'hal@hilltop.test', PASSWORD);
    assert.equal((await hal.post(`/api/v1/users/${editorId}/reset-password`, {})).status, 404);
    assert.equal((await owner.post(`/api/v1/users/${other.json.admin.id}/reset-password`, {})).status, 404);
  });

  it('can take the lost authenticator with it', async () => {
    const id = await newUser('lost-device@riverside.test');
    const member = await signedIn(server.url, 'lost-device@riverside.test', PASSWORD);
    const setup = await member.post('/api/v1/auth/totp/setup');
    assert.equal((await member.post('/api/v1/auth/totp/confirm', { code: totpCodeAt(decodeTotpKey(setup.json.secret), Date.now()) })).status, 200);

    const keep = await owner.post(`/api/v1/users/${id}/reset-password`, {});
    assert.equal(keep.json.user.totpEnabled, true, 'two-step sign-in stays unless asked');
    const stillTwoStep = await new Client(server.url).post('/api/v1/auth/login', { email: 'lost-device@riverside.test', password: keep.json.temporaryPassword });
    assert.ok(stillTwoStep.json.secondFactor, 'a reset does not skip the second step');

    const removed = await owner.post(`/api/v1/users/${id}/reset-password`, { removeTotp: true });
    assert.equal(removed.json.user.totpEnabled, false);
    const oneStep = await new Client(server.url).post('/api/v1/auth/login', { email: 'lost-device@riverside.test', password: removed.json.temporaryPassword });
    assert.equal(oneStep.json.restriction, 'password_change');
    assert.ok((await audit('totp.disable')).some((e) => e.details?.['by'] === 'password reset'));
    assert.deepEqual((await audit('password.reset')).at(-1)!.details, { generated: true, totpRemoved: true, sessionsEnded: 0 });
  });
});

describe('account recovery on the host: npm run admin -- reset-password', () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;

  before(async () => {
    server = await startTestServer({ env: { TTS_MODEL: 'off' }, realtime: { recheckMs: 200 } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Handbook' })).json.id;
  });
  after(() => server.close());

  const env = () => ({ DATA_DIR: server.dataDir, MODELS_DIR: path.join(server.dataDir, 'models') });

  it('resets the instance owner against a real DATA_DIR while the server runs, once, audited', async () => {
    const socket = await RealtimeClient.open(`${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`, { cookie: owner.cookie!, origin: server.url });
    await socket.next('session.created');
    const closed = closeWithin(socket.ws, 3_000);

    const run = await admin(['reset-password', OWNER.email.toUpperCase()], env());
    assert.equal(run.code, 0, run.stderr);
    const temporary = /Temporary password, shown this once: (\S+)/.exec(run.stdout)?.[1];
    assert.ok(temporary, run.stdout);
    assert.match(temporary, /^[a-z2-7]{4}(-[a-z2-7]{4}){4}$/);
    assert.match(run.stdout, /instance owner of Riverside Clinic/);
    assert.match(run.stdout, /Sessions ended: 1\./);
    assert.equal(run.stderr, '');

    // The server reads sessions from the store: the owner's is refused at once, its socket at the next re-check.
    assert.equal((await owner.get('/api/v1/me')).status, 401);
    const socketClosed = await closed;
    assert.equal(socketClosed?.code, 4001, 'the socket closes at the next re-check');

    const c = new Client(server.url);
    const login = await c.post('/api/v1/auth/login', { email: OWNER.email, password: temporary });
    assert.equal(login.status, 200, login.text);
    assert.equal(login.json.restriction, 'password_change');
    assert.equal((await c.get('/api/v1/kbs')).json.error.code, 'password_change_required');
    assert.equal((await c.post('/api/v1/auth/password', { currentPassword: temporary, newPassword: NEW_PASSWORD })).status, 204);
    assert.equal((await c.get('/api/v1/kbs')).status, 200);
    const me = (await c.get('/api/v1/me')).json.user;
    assert.equal(me.instanceOwner, true, 'nothing else changed');
    assert.equal(me.role, 'owner');

    const entries = await server.store.collection<{ _id: string; action: string; actor: { type: string; name: string }; target: { name: string } }>('audit').find({ action: 'password.reset' }).toArray();
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.actor.type, 'system');
    assert.match(entries[0]!.actor.name, /^operator .*\(npm run admin -- reset-password\)$/);
    assert.equal(entries[0]!.target.name, OWNER.email);
    owner = c;
  });

  it('turns two-step sign-in off only when asked', async () => {
    const setup = await owner.post('/api/v1/auth/totp/setup');
    assert.equal((await owner.post('/api/v1/auth/totp/confirm', { code: totpCodeAt(decodeTotpKey(setup.json.secret), Date.now()) })).status, 200);
    const kept = await admin(['reset-password', OWNER.email], env());
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /Two-step sign-in stays on/);
    const removed = await admin(['reset-password', OWNER.email, '--disable-totp'], env());
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /Two-step sign-in was turned off\./);
    const temporary = /shown this once: (\S+)/.exec(removed.stdout)![1]!;
    const login = await new Client(server.url).post('/api/v1/auth/login', { email: OWNER.email, password: temporary });
    assert.equal(login.json.restriction, 'password_change', 'one step, restricted');
  });

  it('exits non-zero with one line for an unknown email, a missing one, or no store', async () => {
    const unknown = await admin(['reset-password', 'nobody@nowhere.test'], env());
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.equal(unknown.stderr, 'lectern admin: no user has the email nobody@nowhere.test\n');
    const missing = await admin(['reset-password'], env());
    assert.equal(missing.code, 64);
    assert.match(missing.stderr, /the email of the user is required/);
    const empty = await admin(['reset-password', OWNER.email], { DATA_DIR: path.join(server.dataDir, 'nothing-here'), MODELS_DIR: path.join(server.dataDir, 'models') });
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /holds no Lectern store/);
    const help = await admin(['help', 'reset-password'], env());
    assert.match(help.stdout, /may run while the server runs/);
    assert.match(help.stdout, /every 60 seconds/);
  });
});

describe('the operator command and an address in several organisations', () => {
  let server: TestServer;
  let first: Client;
  before(async () => {
    server = await startTestServer();
    first = (await setUp(server.url)).owner;
  });
  after(() => server.close());

  it('asks which organisation when the email has accounts in several', async () => {
    const hilltop = await first.post('/api/v1/organisations', { name: 'Hilltop', admin: { name: 'Sam', email: 'sam@shared.test', password: 'hilltop has its own passphrase' } });
    assert.equal(hilltop.status, 201);
    assert.equal((await first.post('/api/v1/users', { email: 'sam@shared.test', name: 'Sam', role: 'viewer', password: 'riverside passphrase for sam' })).status, 201);
    const ambiguous = await admin(['reset-password', 'sam@shared.test'], { DATA_DIR: server.dataDir, MODELS_DIR: path.join(server.dataDir, 'models') });
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /^lectern admin: sam@shared\.test has accounts in (Riverside Clinic|Hilltop) \(\w+\), (Riverside Clinic|Hilltop) \(\w+\): name one with --organisation\n$/);
    const named = await admin(['reset-password', 'sam@shared.test', '--organisation', 'Hilltop'], { DATA_DIR: server.dataDir, MODELS_DIR: path.join(server.dataDir, 'models') });
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stdout, /admin of Hilltop/);
  });
});

describe('the operator commands on the full stack (MONGODB_URL)', { skip: ferretdbMissing() }, () => {
  let ferret: FerretDB;
  let server: TestServer;

  before(async () => {
    ferret = await startFerretDB();
    server = await startTestServer({ env: { MONGODB_URL: ferret.url, TTS_MODEL: 'off' } });
    await setUp(server.url);
  });
  after(async () => {
    await server?.close();
    await ferret?.stop();
  });

  // The operator's shell has the server's configuration, but this DATA_DIR holds no store: the
  // command must act on MongoDB, where the accounts are.
  const env = () => ({ DATA_DIR: path.join(server.dataDir, 'operator'), MODELS_DIR: path.join(server.dataDir, 'models'), MONGODB_URL: ferret.url });

  it('reset-password acts on the MongoDB store the server uses', async () => {
    const run = await admin(['reset-password', OWNER.email], env());
    assert.equal(run.code, 0, run.stderr);
    const temporary = /Temporary password, shown this once: (\S+)/.exec(run.stdout)?.[1];
    assert.ok(temporary, run.stdout);
    const login = await new Client(server.url).post('/api/v1/auth/login', { email: OWNER.email, password: temporary });
    assert.equal(login.status, 200, login.text);
    assert.equal(login.json.restriction, 'password_change');
  });

  it('rotate-data-key refuses, changing nothing, rather than rotating a DATA_DIR the data is not in', async () => {
    const run = await admin(['rotate-data-key', '--new-key-file', path.join(server.dataDir, '..', 'never-read.key')], env());
    assert.equal(run.code, 1);
    assert.match(run.stderr, /embedded store in DATA_DIR only; with MONGODB_URL set it cannot rotate the data key yet \(nothing was changed\)/);
  });
});
