import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, OWNER, setUp, signedIn } from '../helpers/client.ts';

const PW = 'a sufficiently long password';

describe('users, API keys, organisations, audit', () => {
  let server: TestServer;
  let owner: Client;
  let orgA: string;
  before(async () => {
    server = await startTestServer();
    const s = await setUp(server.url);
    owner = s.owner;
    orgA = s.setup.json.organisation.id;
  });
  after(() => server.close());

  it('admins manage users; roles are enforced', async () => {
    const created = await owner.post('/api/v1/users', { email: 'Ed@Riverside.test', name: 'Ed Editor', role: 'editor', password: PW });
    assert.equal(created.status, 201);
    assert.equal(created.json.user.email, 'ed@riverside.test');
    assert.equal(created.json.user.organisationId, orgA);
    const dup = await owner.post('/api/v1/users', { email: 'ed@riverside.test', name: 'Again', role: 'viewer', password: PW });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.error.code, 'email_taken');

    const list = await owner.get('/api/v1/users');
    assert.deepEqual(list.json.users.map((u: { email: string }) => u.email), [OWNER.email, 'ed@riverside.test']);

    const editor = await signedIn(server.url, 'ed@riverside.test', PW);
    assert.equal((await editor.get('/api/v1/users')).status, 403);
    assert.equal((await editor.get('/api/v1/users')).json.error.code, 'forbidden');
    assert.equal((await editor.post('/api/v1/api-keys', { name: 'x', role: 'viewer' })).status, 403);
    assert.equal((await editor.get('/api/v1/audit')).status, 403);
    assert.equal((await editor.get('/api/v1/organisations')).status, 403);

    const id = created.json.user.id;
    const renamed = await owner.patch(`/api/v1/users/${id}`, { name: 'Edwina Editor' });
    assert.equal(renamed.json.user.name, 'Edwina Editor');
    const promoted = await owner.patch(`/api/v1/users/${id}`, { role: 'admin' });
    assert.equal(promoted.json.user.role, 'admin');
    // The role change applies to the live session at once.
    assert.equal((await editor.get('/api/v1/users')).status, 200);

    // An admin cannot grant ownership, nor touch an owner.
    assert.equal((await editor.post('/api/v1/users', { email: 'o2@riverside.test', name: 'O2', role: 'owner', password: PW })).status, 403);
    const ownerId = (await owner.get('/api/v1/me')).json.user.id;
    assert.equal((await editor.patch(`/api/v1/users/${ownerId}`, { disabled: true })).status, 409, 'instance owner is protected');
    // Nobody changes their own role or access.
    const self = await owner.patch(`/api/v1/users/${ownerId}`, { role: 'viewer' });
    assert.equal(self.status, 409);
    assert.equal(self.json.error.code, 'conflict');

    const disabled = await owner.patch(`/api/v1/users/${id}`, { disabled: true });
    assert.equal(disabled.json.user.disabled, true);
    assert.equal((await editor.get('/api/v1/me')).status, 401, 'disabling ends live sessions');
    const relogin = await new Client(server.url).post('/api/v1/auth/login', { email: 'ed@riverside.test', password: PW });
    assert.equal(relogin.status, 401);
    assert.equal((await owner.patch(`/api/v1/users/${id}`, { disabled: false })).json.user.disabled, false);
    await signedIn(server.url, 'ed@riverside.test', PW);

    assert.equal((await owner.patch(`/api/v1/users/${id}`, {})).status, 400, 'an empty patch is refused');
    assert.equal((await owner.patch(`/api/v1/users/${id}`, { email: 'x@y.z' })).status, 400, 'email is not patchable');
    assert.equal((await owner.delete(`/api/v1/users/${id}`)).status, 204);
    assert.equal((await owner.delete(`/api/v1/users/${id}`)).status, 404);
    assert.equal((await owner.patch('/api/v1/users/NOT-AN-ID', { name: 'x' })).status, 404);
  });

  it('API keys are shown once, authenticate, record use, are role-scoped and revocable', async () => {
    const created = await owner.post('/api/v1/api-keys', { name: 'ci', role: 'viewer' });
    assert.equal(created.status, 201);
    const { key, id } = created.json;
    assert.match(key, /^lectern_[a-z2-7]+_[a-z2-7]+$/);

    const list = await owner.get('/api/v1/api-keys');
    assert.equal(list.json.apiKeys.length, 1);
    assert.equal(list.json.apiKeys[0].lastUsedAt, null);
    assert.ok(!JSON.stringify(list.json).includes(key.split('_')[2]), 'the secret is never listed');

    const bot = new Client(server.url, { origin: null });
    bot.bearer = key;
    const me = await bot.get('/api/v1/me');
    assert.equal(me.status, 200);
    assert.equal(me.json.organisation.id, orgA);
    assert.deepEqual(me.json.apiKey, { id, name: 'ci', role: 'viewer' });
    assert.equal((await bot.get('/api/v1/users')).status, 403, 'a viewer key cannot read users');
    assert.equal((await bot.post('/api/v1/auth/logout')).status, 403, 'keys have no session to end');
    assert.notEqual((await owner.get('/api/v1/api-keys')).json.apiKeys[0].lastUsedAt, null);

    const adminKey = (await owner.post('/api/v1/api-keys', { name: 'admin-bot', role: 'admin' })).json;
    const admin = new Client(server.url, { origin: null });
    admin.bearer = adminKey.key;
    assert.equal((await admin.get('/api/v1/users')).status, 200);
    assert.equal((await admin.post('/api/v1/users', { email: 'k@riverside.test', name: 'K', role: 'viewer', password: PW })).status, 201);
    assert.equal((await owner.post('/api/v1/api-keys', { name: 'root', role: 'owner' })).status, 400, 'keys cannot be owners');

    assert.equal((await owner.delete(`/api/v1/api-keys/${id}`)).status, 204);
    assert.equal((await bot.get('/api/v1/me')).status, 401);
    assert.equal((await owner.delete(`/api/v1/api-keys/${id}`)).status, 404, 'revoking twice');
    assert.deepEqual((await owner.get('/api/v1/api-keys')).json.apiKeys.map((k: { name: string }) => k.name), ['admin-bot']);
  });

  it('isolates organisations: B sees nothing of A, whatever ids it guesses', async () => {
    const created = await owner.post('/api/v1/organisations', { name: 'Hilltop Practice', admin: { name: 'Bea Admin', email: 'bea@hilltop.test', password: PW } });
    assert.equal(created.status, 201);
    assert.equal(created.json.admin.role, 'admin');
    const orgB = created.json.organisation.id;
    assert.notEqual(orgB, orgA);
    const orgs = await owner.get('/api/v1/organisations');
    assert.deepEqual(orgs.json.organisations.map((o: { name: string; userCount: number }) => [o.name, o.userCount]), [[OWNER.organisation, 2], ['Hilltop Practice', 1]]);
    assert.equal((await owner.post('/api/v1/organisations', { name: 'Weak', admin: { name: 'X', email: 'x@weak.test', password: 'password1234' } })).status, 400);
    assert.equal((await owner.get('/api/v1/organisations')).json.organisations.length, 2, 'a refused create leaves no empty organisation');

    const bea = await signedIn(server.url, 'bea@hilltop.test', PW);
    assert.equal((await bea.get('/api/v1/organisations')).status, 403, 'only the instance owner manages organisations');

    const aUsers = (await owner.get('/api/v1/users')).json.users as Array<{ id: string }>;
    const aKey = (await owner.post('/api/v1/api-keys', { name: 'a-key', role: 'viewer' })).json;
    const aAudit = (await owner.get('/api/v1/audit?limit=500')).json.entries as Array<{ id: string }>;
    for (const u of aUsers) {
      for (const [method, res] of [
        ['PATCH', await bea.patch(`/api/v1/users/${u.id}`, { name: 'pwned' })],
        ['PATCH role', await bea.patch(`/api/v1/users/${u.id}`, { role: 'viewer' })],
        ['DELETE', await bea.delete(`/api/v1/users/${u.id}`)],
      ] as const) {
        assert.equal(res.status, 404, `${method} A's user`);
        assert.equal(res.json.error.code, 'not_found');
      }
    }
    assert.equal((await bea.delete(`/api/v1/api-keys/${aKey.id}`)).status, 404);
    const bUsers = (await bea.get('/api/v1/users')).json.users as Array<{ email: string; organisationId: string }>;
    assert.deepEqual(bUsers.map((u) => u.email), ['bea@hilltop.test']);
    assert.deepEqual((await bea.get('/api/v1/api-keys')).json.apiKeys, []);
    const bAudit = (await bea.get('/api/v1/audit?limit=500')).json.entries as Array<{ id: string; action: string }>;
    const aIds = new Set(aAudit.map((e) => e.id));
    assert.ok(bAudit.length > 0);
    assert.ok(bAudit.every((e) => !aIds.has(e.id)), "B's audit holds none of A's entries");

    // A's names are untouched, and a key of A cannot reach B either.
    assert.ok((await owner.get('/api/v1/users')).json.users.every((u: { name: string }) => u.name !== 'pwned'));
    const bId = (await bea.get('/api/v1/me')).json.user.id;
    const aBot = new Client(server.url, { origin: null });
    aBot.bearer = (await owner.post('/api/v1/api-keys', { name: 'a-admin', role: 'admin' })).json.key;
    assert.equal((await aBot.patch(`/api/v1/users/${bId}`, { name: 'pwned' })).status, 404);
    assert.equal((await aBot.delete(`/api/v1/users/${bId}`)).status, 404);
  });

  it('records security events in the audit log', async () => {
    await new Client(server.url).post('/api/v1/auth/login', { email: OWNER.email, password: 'definitely wrong' });
    await new Client(server.url).post('/api/v1/auth/login', { email: 'ghost@nowhere.test', password: 'definitely wrong' });
    const entries = (await owner.get('/api/v1/audit?limit=500')).json.entries as Array<{ action: string; outcome: string; at: string; details: Record<string, unknown> | null; ip: string | null }>;
    const actions = new Set(entries.map((e) => `${e.action}:${e.outcome}`));
    for (const a of ['setup:success', 'login:failure', 'user.create:success', 'user.update:success', 'user.role:success', 'user.disable:success', 'user.enable:success', 'user.delete:success', 'apikey.create:success', 'apikey.revoke:success', 'organisation.create:success']) {
      assert.ok(actions.has(a), `audit has ${a}`);
    }
    assert.ok(entries.some((e) => e.details?.['reason'] === 'unknown_email'), 'the instance owner sees failures for unknown emails');
    assert.ok(entries.every((e, i) => i === 0 || entries[i - 1]!.at >= e.at), 'newest first');
    assert.ok(entries.every((e) => e.ip === '127.0.0.1'));
    assert.equal((await owner.get('/api/v1/audit?limit=2')).json.entries.length, 2);
    for (const q of ['limit=0', 'limit=501', 'limit=abc', 'limit=5&extra=1']) {
      const r = await owner.get(`/api/v1/audit?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.json.error.code, 'validation_failed');
    }
    assert.ok(!JSON.stringify(entries).includes('definitely wrong'), 'passwords never reach the audit log');
  });
});
