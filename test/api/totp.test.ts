import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeTotpKey, totpCodeAt } from '../../server/auth/totp.ts';
import type { Clock } from '../../server/clock.ts';
import { Client, OWNER, setUp } from '../helpers/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Two-step sign-in (#10, control 1): TOTP per user (RFC 6238, 30 s, 6 digits, one step either
// side), set up with a key shown once and confirmed by a code, ten single-use recovery codes, a
// five-minute challenge between the password and the code, codes throttled per user before they
// are checked, a step never accepted twice, and organisations that require it of everyone.

const PASSWORD = 'a sufficiently long password';

/** The server's clock, moved by the tests: each sign-in can use the next 30-second step. */
class MovableClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  nextStep(): void {
    this.offsetMs += 30_000;
  }
}

interface Enrolled {
  key: Uint8Array;
  recoveryCodes: string[];
}

describe('two-step sign-in (TOTP)', () => {
  const clock = new MovableClock();
  let server: TestServer;
  let owner: Client;
  const code = (key: Uint8Array, stepsAhead = 0) => totpCodeAt(key, clock.now().getTime() + stepsAhead * 30_000);
  const audit = (action: string) => server.store.collection<{ _id: string; action: string; actor: { type: string }; details: Record<string, unknown> | null }>('audit').find({ action }).toArray();

  before(async () => {
    server = await startTestServer({ appliance: { clock } });
    owner = (await setUp(server.url)).owner;
  });
  after(() => server.close());

  const newMember = async (email: string, role = 'editor') => {
    const r = await owner.post('/api/v1/users', { email, name: email.split('@')[0], role, password: PASSWORD });
    assert.equal(r.status, 201, r.text);
    return r.json.user.id as string;
  };
  const passwordStep = async (email: string, password = PASSWORD) => {
    const c = new Client(server.url);
    const r = await c.post('/api/v1/auth/login', { email, password });
    assert.equal(r.status, 200, r.text);
    return { c, r };
  };
  const enrol = async (c: Client): Promise<Enrolled> => {
    const setup = await c.post('/api/v1/auth/totp/setup');
    assert.equal(setup.status, 200, setup.text);
    const key = decodeTotpKey(setup.json.secret);
    const confirmed = await c.post('/api/v1/auth/totp/confirm', { code: code(key) });
    assert.equal(confirmed.status, 200, confirmed.text);
    return { key, recoveryCodes: confirmed.json.recoveryCodes };
  };
  /** Password, then a code of the next step (so it was never used before). */
  const signInWithCode = async (email: string, key: Uint8Array) => {
    clock.nextStep();
    const { c, r } = await passwordStep(email);
    const done = await c.post('/api/v1/auth/login/second-factor', { token: r.json.secondFactor.token, code: code(key) });
    assert.equal(done.status, 200, done.text);
    return c;
  };

  it('sets up with a key shown once, confirmed by a code, with ten recovery codes', async () => {
    await newMember('enrol@riverside.test');
    const { c } = await passwordStep('enrol@riverside.test');
    assert.deepEqual((await c.get('/api/v1/auth/totp')).json, { enabled: false, enabledAt: null, settingUp: false, recoveryCodesLeft: 0 });

    const setup = await c.post('/api/v1/auth/totp/setup');
    assert.equal(setup.status, 200);
    assert.equal(setup.headers.get('cache-control'), 'no-store');
    assert.match(setup.json.secret, /^[A-Z2-7]{32}$/, '160 bits in base32');
    const uri = new URL(setup.json.uri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.match(setup.json.uri, /^otpauth:\/\/totp\/Lectern:enrol%40riverside\.test\?/);
    assert.equal(uri.searchParams.get('secret'), setup.json.secret);
    assert.equal((await c.get('/api/v1/auth/totp')).json.settingUp, true);
    assert.equal((await c.get('/api/v1/me')).json.user.totpEnabled, false, 'not on before a code confirms it');

    const key = decodeTotpKey(setup.json.secret);
    const wrong = await c.post('/api/v1/auth/totp/confirm', { code: code(key, 3) });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error.code, 'invalid_code');
    const confirmed = await c.post('/api/v1/auth/totp/confirm', { code: code(key) });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.json.recoveryCodes.length, 10);
    assert.equal(new Set(confirmed.json.recoveryCodes).size, 10);
    for (const rc of confirmed.json.recoveryCodes) assert.match(rc, /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);

    const status = (await c.get('/api/v1/auth/totp')).json;
    assert.equal(status.enabled, true);
    assert.equal(status.recoveryCodesLeft, 10);
    assert.equal((await c.get('/api/v1/me')).json.user.totpEnabled, true);
    assert.equal((await c.post('/api/v1/auth/totp/setup')).status, 409, 'a second key while one is on');
    assert.equal((await c.post('/api/v1/auth/totp/confirm', { code: code(key, 1) })).status, 409);
    const entries = await audit('totp.enable');
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.actor.type, 'user');
    // The store keeps hashes of the recovery codes, never the codes.
    const raw = await server.store.collection<{ _id: string; email: string; totpRecovery: Record<string, true> }>('users').findOne({ email: 'enrol@riverside.test' });
    assert.equal(Object.keys(raw!.totpRecovery).length, 10);
    assert.ok(!JSON.stringify(raw).includes(confirmed.json.recoveryCodes[0].replaceAll('-', '')));
  });

  it('signs in in two steps: the password gives a challenge, not a session; a code completes it', async () => {
    await newMember('two@riverside.test');
    const first = await passwordStep('two@riverside.test');
    const { key } = await enrol(first.c);

    clock.nextStep();
    const { c, r } = await passwordStep('two@riverside.test');
    assert.equal(r.setCookie, null, 'no session after the password alone');
    assert.equal(r.json.user, undefined);
    assert.match(r.json.secondFactor.token, /^[a-z2-7]+\.[a-z2-7]+$/);
    const expiresIn = Date.parse(r.json.secondFactor.expiresAt) - clock.now().getTime();
    assert.ok(expiresIn > 4.9 * 60_000 && expiresIn <= 5 * 60_000, `expires in ${expiresIn} ms`);
    assert.equal((await c.get('/api/v1/me')).status, 401);

    const bad = await c.post('/api/v1/auth/login/second-factor', { token: r.json.secondFactor.token, code: code(key, 5) });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_code');
    const done = await c.post('/api/v1/auth/login/second-factor', { token: r.json.secondFactor.token, code: ` ${code(key).slice(0, 3)} ${code(key).slice(3)} ` });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.restriction, null);
    assert.equal((await c.get('/api/v1/me')).json.user.email, 'two@riverside.test');
    assert.equal((await c.get('/api/v1/kbs')).status, 200);

    // The challenge was spent with the sign-in.
    const again = await new Client(server.url).post('/api/v1/auth/login/second-factor', { token: r.json.secondFactor.token, code: code(key, 1) });
    assert.equal(again.status, 401);
    assert.equal(again.json.error.code, 'sign_in_expired');
    const logins = (await audit('login')).filter((e) => e.details?.['secondFactor'] === 'totp');
    assert.ok(logins.length >= 1);
    assert.ok((await audit('login')).some((e) => e.details?.['reason'] === 'wrong_code'), 'the wrong code is in the audit log');
  });

  it('refuses a code whose step was already used (replay), also when two sign-ins race with it', async () => {
    await newMember('replay@riverside.test');
    const { key } = await enrol((await passwordStep('replay@riverside.test')).c);

    clock.nextStep();
    const used = code(key);
    const a = await passwordStep('replay@riverside.test');
    assert.equal((await a.c.post('/api/v1/auth/login/second-factor', { token: a.r.json.secondFactor.token, code: used })).status, 200);
    const b = await passwordStep('replay@riverside.test');
    const replay = await b.c.post('/api/v1/auth/login/second-factor', { token: b.r.json.secondFactor.token, code: used });
    assert.equal(replay.status, 400, 'the same code again');
    assert.equal(replay.json.error.code, 'invalid_code');
    // An earlier step's code, still inside the window, is refused too: steps only move forward.
    clock.nextStep();
    const earlier = await b.c.post('/api/v1/auth/login/second-factor', { token: b.r.json.secondFactor.token, code: code(key, -2) });
    assert.equal(earlier.status, 400);

    // Two sign-ins with one fresh code at once: one session.
    clock.nextStep();
    const fresh = code(key);
    const x = await passwordStep('replay@riverside.test');
    const y = await passwordStep('replay@riverside.test');
    const results = await Promise.all([x, y].map((s) => s.c.post('/api/v1/auth/login/second-factor', { token: s.r.json.secondFactor.token, code: fresh })));
    assert.deepEqual(results.map((res) => res.status).sort(), [200, 400]);
  });

  it('counts code attempts before checking them: 20 wrong codes at once get at most 5 evaluated', async () => {
    await newMember('guess@riverside.test');
    const { key } = await enrol((await passwordStep('guess@riverside.test')).c);
    clock.nextStep();
    const { c, r } = await passwordStep('guess@riverside.test');
    const token = r.json.secondFactor.token;
    const right = code(key);
    const wrongCodes = Array.from({ length: 20 }, (_, i) => String((Number(right) + 1 + i * 7919) % 1_000_000).padStart(6, '0'));
    const results = await Promise.all(wrongCodes.map((guess) => c.post('/api/v1/auth/login/second-factor', { token, code: guess })));
    const evaluated = results.filter((res) => res.status === 400).length;
    const refused = results.filter((res) => res.status === 429).length;
    assert.equal(evaluated, 5, `${evaluated} codes were checked`);
    assert.equal(refused, 15);
    assert.ok(results.filter((res) => res.status === 429).every((res) => res.json.error.code === 'rate_limited' && Number(res.headers.get('retry-after')) > 0));
    // Locked for the window: even the right code is not looked at now.
    const locked = await c.post('/api/v1/auth/login/second-factor', { token, code: right });
    assert.equal(locked.status, 429);
  });

  it('takes each recovery code once, in place of a code, and says how many are left', async () => {
    await newMember('lost-phone@riverside.test');
    const { recoveryCodes } = await enrol((await passwordStep('lost-phone@riverside.test')).c);
    const [first, second] = recoveryCodes as [string, string];

    const a = await passwordStep('lost-phone@riverside.test');
    const used = await a.c.post('/api/v1/auth/login/second-factor', { token: a.r.json.secondFactor.token, recoveryCode: first.toUpperCase() });
    assert.equal(used.status, 200, used.text);
    assert.equal((await a.c.get('/api/v1/auth/totp')).json.recoveryCodesLeft, 9);
    const spent = (await audit('totp.recovery_code')).at(-1)!;
    assert.equal(spent.details?.['left'], 9);

    const b = await passwordStep('lost-phone@riverside.test');
    const again = await b.c.post('/api/v1/auth/login/second-factor', { token: b.r.json.secondFactor.token, recoveryCode: first });
    assert.equal(again.status, 400, 'a spent recovery code');
    assert.equal(again.json.error.code, 'invalid_code');

    // The same unused code in two sign-ins at once: one of them.
    const x = await passwordStep('lost-phone@riverside.test');
    const y = await passwordStep('lost-phone@riverside.test');
    const results = await Promise.all([x, y].map((s) => s.c.post('/api/v1/auth/login/second-factor', { token: s.r.json.secondFactor.token, recoveryCode: second })));
    assert.deepEqual(results.map((res) => res.status).sort(), [200, 400]);
    assert.equal((await x.c.get('/api/v1/auth/totp')).status === 200 ? (await x.c.get('/api/v1/auth/totp')).json.recoveryCodesLeft : (await y.c.get('/api/v1/auth/totp')).json.recoveryCodesLeft, 8);
    assert.equal((await b.c.post('/api/v1/auth/login/second-factor', { token: b.r.json.secondFactor.token, code: '12', recoveryCode: 'x' })).status, 400, 'one factor at a time');
  });

  it('binds the challenge to its user, for five minutes, and to the password it was won with', async () => {
    const userId = await newMember('bound@riverside.test', 'viewer');
    const { key } = await enrol((await passwordStep('bound@riverside.test')).c);
    await newMember('other@riverside.test');
    const other = await enrol((await passwordStep('other@riverside.test')).c);

    clock.nextStep();
    const mine = await passwordStep('bound@riverside.test');
    const crossed = await mine.c.post('/api/v1/auth/login/second-factor', { token: mine.r.json.secondFactor.token, code: code(other.key) });
    assert.equal(crossed.status, 400, "another user's code does not complete this user's sign-in");

    clock.offsetMs += 5 * 60_000 + 1_000;
    const late = await mine.c.post('/api/v1/auth/login/second-factor', { token: mine.r.json.secondFactor.token, code: code(key) });
    assert.equal(late.status, 401);
    assert.equal(late.json.error.code, 'sign_in_expired');

    const beforeReset = await passwordStep('bound@riverside.test');
    assert.equal((await owner.post(`/api/v1/users/${userId}/reset-password`, {})).status, 200);
    const afterReset = await beforeReset.c.post('/api/v1/auth/login/second-factor', { token: beforeReset.r.json.secondFactor.token, code: code(key, 1) });
    assert.equal(afterReset.status, 401, 'a password reset voids the challenges won with the old password');
    assert.equal((await new Client(server.url).post('/api/v1/auth/login/second-factor', { token: 'garbage', code: '123456' })).json.error.code, 'sign_in_expired');
  });

  it('turns off with a current code or the password, never with neither', async () => {
    await newMember('off@riverside.test');
    const { key } = await enrol((await passwordStep('off@riverside.test')).c);
    const c = await signInWithCode('off@riverside.test', key);

    assert.equal((await c.post('/api/v1/auth/totp/disable', {})).status, 400);
    const wrongPassword = await c.post('/api/v1/auth/totp/disable', { password: 'not the password at all' });
    assert.equal(wrongPassword.status, 400);
    assert.equal(wrongPassword.json.error.code, 'wrong_password');
    const wrongCode = await c.post('/api/v1/auth/totp/disable', { code: code(key, 3) });
    assert.equal(wrongCode.json.error.code, 'invalid_code');

    const replaced = await c.post('/api/v1/auth/totp/recovery-codes', { password: PASSWORD });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.json.recoveryCodes.length, 10);
    assert.equal((await audit('totp.recovery_codes')).length, 1);

    clock.nextStep();
    assert.equal((await c.post('/api/v1/auth/totp/disable', { code: code(key) })).status, 204);
    assert.equal((await c.get('/api/v1/auth/totp')).json.enabled, false);
    const plain = await passwordStep('off@riverside.test');
    assert.ok(plain.r.json.user, 'one step again');
    assert.equal(plain.r.json.restriction, null);
    const off = (await audit('totp.disable')).at(-1)!;
    assert.equal(off.details?.['by'], 'self');
  });

  it('requires every member to set it up right after signing in, where the organisation says so', async () => {
    await newMember('viewer-req@riverside.test', 'viewer');
    const viewer = (await passwordStep('viewer-req@riverside.test')).c;
    assert.equal((await viewer.patch('/api/v1/settings', { security: { requireTotp: true } })).status, 403, 'only admins');
    const set = await owner.patch('/api/v1/settings', { security: { requireTotp: true } });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.json.security, { requireTotp: true });
    assert.deepEqual((await viewer.get('/api/v1/settings')).json.security, { requireTotp: true });
    const changed = (await audit('settings.update')).at(-1)!;
    assert.ok(changed.details && 'security' in changed.details, 'the change is in the audit log');

    const { c, r } = await passwordStep('viewer-req@riverside.test');
    assert.equal(r.json.restriction, 'totp_enrolment');
    assert.equal((await c.get('/api/v1/me')).json.restriction, 'totp_enrolment');
    const kbs = await c.get('/api/v1/kbs');
    assert.equal(kbs.status, 403);
    assert.equal(kbs.json.error.code, 'totp_enrolment_required');
    assert.equal((await c.post('/api/v1/auth/password', { currentPassword: PASSWORD, newPassword: 'another long passphrase here' })).status, 403);

    const { key } = await enrol(c);
    assert.equal((await c.get('/api/v1/kbs')).status, 200, 'the same session may do everything once it is set up');
    assert.equal((await c.get('/api/v1/me')).json.restriction, null);

    // Turning it off where it is required puts the session back under the restriction.
    clock.nextStep();
    assert.equal((await c.post('/api/v1/auth/totp/disable', { code: code(key) })).status, 204);
    assert.equal((await c.get('/api/v1/kbs')).json.error.code, 'totp_enrolment_required');

    // The owner, enrolled or not, is held to it as well; with it on, sign-in is two steps and unrestricted.
    const ownerAgain = await passwordStep(OWNER.email, OWNER.password);
    assert.equal(ownerAgain.r.json.restriction, 'totp_enrolment');
    const ownerKey = (await enrol(ownerAgain.c)).key;
    const full = await signInWithCode(OWNER.email, ownerKey).catch(() => null);
    assert.equal(full, null, 'the owner signs in with their own password');
    clock.nextStep();
    const step = await passwordStep(OWNER.email, OWNER.password);
    const ownerSession = await step.c.post('/api/v1/auth/login/second-factor', { token: step.r.json.secondFactor.token, code: code(ownerKey) });
    assert.equal(ownerSession.json.restriction, null);
    assert.equal((await step.c.patch('/api/v1/settings', { security: { requireTotp: false } })).status, 200);
    owner = step.c;
  });
});

describe('two-step sign-in keys at rest', () => {
  let server: TestServer;
  let keyDir: string;

  before(async () => {
    keyDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-totp-key-'));
    const keyFile = path.join(keyDir, 'data.key');
    await writeFile(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
    server = await startTestServer({ env: { DATA_KEY_FILE: keyFile } });
  });
  after(async () => {
    await server.close();
    await rm(keyDir, { recursive: true, force: true });
  });

  it('are sealed under the data key in the store, and still sign people in', async () => {
    const { owner } = await setUp(server.url);
    const setup = await owner.post('/api/v1/auth/totp/setup');
    const pending = await server.store.collection<{ _id: string; email: string; totpPendingSecret: string }>('users').findOne({ email: OWNER.email });
    assert.ok(!JSON.stringify(pending).includes(setup.json.secret), 'the key waiting for a code is sealed');
    const key = decodeTotpKey(setup.json.secret);
    assert.equal((await owner.post('/api/v1/auth/totp/confirm', { code: totpCodeAt(key, Date.now()) })).status, 200);
    const raw = await server.store.collection<{ _id: string; email: string; totpSecret: string }>('users').findOne({ email: OWNER.email });
    assert.equal(typeof raw!.totpSecret, 'string');
    assert.ok(!raw!.totpSecret.includes(setup.json.secret), 'the key is not in the store as it is');
    assert.notEqual(raw!.totpSecret, setup.json.secret);

    const c = new Client(server.url);
    const r = await c.post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password });
    const done = await c.post('/api/v1/auth/login/second-factor', { token: r.json.secondFactor.token, code: totpCodeAt(key, Date.now() + 30_000) });
    assert.equal(done.status, 200, done.text);
  });
});
