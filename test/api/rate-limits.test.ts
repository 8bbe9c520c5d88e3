import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, setUp, signedIn } from '../helpers/client.ts';
import { RealtimeClient, upgradeRefusal } from '../helpers/realtime.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Rate limits and quotas end to end: the real appliance, real HTTP and real sockets, with small
// limits set through the environment (and, for the override, through Settings).

const PW = 'a sufficiently long password';
const files = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ name: `${tag}-${i}.md`, bytes: `# ${tag} ${i}\n\nNote number ${i} of ${tag}.` }));

function assertRateLimited(reply: { status: number; headers: Headers; json: any }, path: string, scope: RegExp) {
  assert.equal(reply.status, 429, JSON.stringify(reply.json));
  assert.equal(reply.json.error.code, 'rate_limited');
  assert.equal(reply.json.error.details[0].path, path);
  assert.match(reply.json.error.details[0].message, scope);
  const retry = Number(reply.headers.get('retry-after'));
  assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After: ${reply.headers.get('retry-after')}`);
}

async function addUser(owner: Client, base: string, email: string, role: string): Promise<Client> {
  assert.equal((await owner.post('/api/v1/users', { email, name: email.split('@')[0], role, password: PW })).status, 201);
  return signedIn(base, email, PW);
}

describe('rate limits', () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  before(async () => {
    // Uploads and searches at their defaults (10 and 100 a minute); questions at 3; the organisation 2× each.
    server = await startTestServer({ env: { LIMIT_ASKS_PER_MINUTE: '3', LIMIT_ORGANISATION_MULTIPLIER: '2' } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Notes' })).json.id;
  });
  after(() => server.close());

  it('counts uploaded files per caller: the 11th in a minute is refused with 429, Retry-After and the limit, and nothing of it is kept; others are unaffected, an API key counts apart, the organisation as a whole at its multiple', async () => {
    const first = await owner.upload(kbId, files(6, 'a'));
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('ratelimit-limit'), '10');
    assert.equal(first.headers.get('ratelimit-remaining'), '4');
    assert.ok(Number(first.headers.get('ratelimit-reset')) <= 60);
    assert.equal((await owner.upload(kbId, files(4, 'b'))).status, 202);
    const eleventh = await owner.upload(kbId, files(1, 'c'));
    assertRateLimited(eleventh, 'limits.uploadsPerMinute', /at most 10 uploaded files per minute for each user/);
    assert.ok(Number(eleventh.headers.get('retry-after')) <= 60);
    assert.equal(eleventh.headers.get('ratelimit-remaining'), '0');
    const kept = (await owner.get(`/api/v1/kbs/${kbId}/documents`)).json.documents as Array<{ name: string }>;
    assert.equal(kept.length, 10);
    assert.ok(!kept.some((d) => d.name.startsWith('c-')), 'the refused file was not recorded');

    const bob = await addUser(owner, server.url, 'bob@riverside.test', 'editor');
    assert.equal((await bob.upload(kbId, files(1, 'bob'))).status, 202, 'another user has a limit of their own');
    const robot = new Client(server.url);
    robot.bearer = (await owner.post('/api/v1/api-keys', { name: 'importer', role: 'editor' })).json.key;
    const keyed = await robot.upload(kbId, files(5, 'key'));
    assert.equal(keyed.status, 202, 'an API key counts apart from the user who made it');
    assert.equal(keyed.headers.get('ratelimit-remaining'), '4', '20 for the organisation, 16 used: the tighter is the org');

    // 10 + 1 + 5 of the organisation's 20: carol may add 4 of her 10, then the organisation is full.
    const carol = await addUser(owner, server.url, 'carol@riverside.test', 'editor');
    assert.equal((await carol.upload(kbId, files(4, 'carol'))).status, 202);
    assertRateLimited(await carol.upload(kbId, files(1, 'carol-more')), 'limits.uploadsPerMinute', /at most 20 uploaded files per minute for the whole organisation/);
    assertRateLimited(await bob.upload(kbId, files(1, 'bob-more')), 'limits.uploadsPerMinute', /whole organisation/);

    // Another organisation is untouched.
    assert.equal((await owner.post('/api/v1/organisations', { name: 'Hilltop', admin: { name: 'Hal', email: 'hal@hilltop.test', password: PW } })).status, 201);
    const hal = await signedIn(server.url, 'hal@hilltop.test', PW);
    const halKb = (await hal.post('/api/v1/kbs', { name: 'Hilltop notes' })).json.id;
    assert.equal((await hal.upload(halKb, files(10, 'hal'))).status, 202);
  });

  it('refuses an upload of more files than are left, as a whole', async () => {
    const dana = await addUser(owner, server.url, 'dana@riverside.test', 'editor');
    const danaKb = (await owner.post('/api/v1/kbs', { name: 'Dana' })).json.id;
    // The organisation is full from the test above: even the early check refuses before reading.
    assertRateLimited(await dana.upload(danaKb, files(2, 'dana')), 'limits.uploadsPerMinute', /whole organisation/);
    assert.equal((await dana.get(`/api/v1/kbs/${danaKb}/documents`)).json.documents.length, 0);
  });

  it('refuses the 101st search in a minute', async () => {
    const eve = await addUser(owner, server.url, 'eve@riverside.test', 'viewer');
    for (let i = 0; i < 100; i++) {
      const r = await eve.post(`/api/v1/kbs/${kbId}/search`, { query: `note ${i}` });
      assert.equal(r.status, 200, `search ${i + 1}: ${r.text}`);
    }
    const refused = await eve.post(`/api/v1/kbs/${kbId}/search`, { query: 'one more' });
    assertRateLimited(refused, 'limits.searchesPerMinute', /at most 100 searches per minute for each user/);
    assert.equal((await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'note' })).status, 200, 'the owner searches on');
  });

  it('counts questions: the REST ask (JSON and streamed) and /v1/chat/completions', async () => {
    const fay = await addUser(owner, server.url, 'fay@riverside.test', 'viewer');
    assert.equal((await fay.post(`/api/v1/kbs/${kbId}/ask`, { question: 'What is note 1?' })).status, 200);
    const streamed = await fay.post(`/api/v1/kbs/${kbId}/ask`, { question: 'What is note 2?' }, { accept: 'text/event-stream' });
    assert.equal(streamed.status, 200);
    assert.match(streamed.text, /event: done/);
    assert.equal((await fay.post(`/api/v1/kbs/${kbId}/ask`, { question: 'What is note 3?' })).status, 200);
    assertRateLimited(await fay.post(`/api/v1/kbs/${kbId}/ask`, { question: 'And note 4?' }), 'limits.asksPerMinute', /at most 3 questions per minute for each user/);
    assertRateLimited(await fay.post(`/api/v1/kbs/${kbId}/ask`, { question: 'Streamed?' }, { accept: 'text/event-stream' }), 'limits.asksPerMinute', /each user/);

    const key = (await owner.post('/api/v1/api-keys', { name: 'chat', role: 'viewer' })).json.key as string;
    const chat = () =>
      fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: `kb:${kbId}`, messages: [{ role: 'user', content: 'What is note 5?' }] }),
      }).then(async (r) => ({ status: r.status, headers: r.headers, json: (await r.json()) as any }));
    for (let i = 0; i < 3; i++) assert.equal((await chat()).status, 200);
    assertRateLimited(await chat(), 'limits.asksPerMinute', /at most 3 questions per minute for each API key/);
  });

  it('applies an organisation\'s own limits from Settings at once (admins only, validated, audited), and reports limits and use', async () => {
    const eve = await signedIn(server.url, 'eve@riverside.test', PW);
    assert.equal((await eve.post(`/api/v1/kbs/${kbId}/search`, { query: 'again' })).status, 429);
    assert.equal((await eve.patch('/api/v1/settings', { limits: { searchesPerMinute: 500 } })).status, 403);
    const invalid = await owner.patch('/api/v1/settings', { limits: { searchesPerMinute: -1 } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.error.details[0].path, 'limits.searchesPerMinute');

    const raised = await owner.patch('/api/v1/settings', { limits: { searchesPerMinute: 150, uploadsPerMinute: 12 } });
    assert.equal(raised.status, 200);
    assert.equal(raised.json.limits.searchesPerMinute, 150);
    assert.equal(raised.json.limitDefaults.searchesPerMinute, 100);
    assert.equal(raised.json.llmPolicy, 'local-only', 'other settings are untouched');
    const searched = await eve.post(`/api/v1/kbs/${kbId}/search`, { query: 'again' });
    assert.equal(searched.status, 200, 'the new limit applies to the next request');
    assert.equal(searched.headers.get('ratelimit-limit'), '150');
    assert.equal((await eve.get('/api/v1/settings')).json.limits.searchesPerMinute, 150, 'members see the limits in force');

    const audit = (await owner.get('/api/v1/audit')).json.entries as Array<{ action: string; details: Record<string, string> }>;
    const entry = audit.find((e) => e.action === 'settings.update');
    assert.deepEqual(entry?.details, { limits: 'uploadsPerMinute default → 12, searchesPerMinute default → 150' });

    const report = (await owner.get('/api/v1/usage/limits')).json;
    const uploads = report.usage.find((u: { name: string }) => u.name === 'uploads');
    assert.equal(report.limits.uploadsPerMinute, 12);
    assert.deepEqual({ used: uploads.caller.used, limit: uploads.caller.limit }, { used: 10, limit: 12 });
    assert.deepEqual({ used: uploads.organisation.used, limit: uploads.organisation.limit }, { used: 20, limit: 24 });
    assert.equal(uploads.refusedToday.caller, 1);
    assert.equal(uploads.refusedToday.organisation, 4, "the owner's 11th, carol's, bob's and dana's");
    const viewerView = (await eve.get('/api/v1/usage/limits')).json.usage.find((u: { name: string }) => u.name === 'searches');
    assert.equal(viewerView.caller.used, 101);
    assert.equal(viewerView.refusedToday.caller, 2);
    assert.equal(viewerView.organisation, null, 'what the organisation used is for admins');

    const reset = await owner.patch('/api/v1/settings', { limits: { searchesPerMinute: null } });
    assert.equal(reset.json.limits.searchesPerMinute, 100, 'null returns a limit to the default');
    assert.equal((await eve.post(`/api/v1/kbs/${kbId}/search`, { query: 'again' })).status, 429);
  });
});

describe('realtime limits', () => {
  let server: TestServer;
  let owner: Client;
  let url: string;
  let key: string;
  before(async () => {
    server = await startTestServer({ env: { LIMIT_AUDIO_MINUTES_PER_DAY: '1', TTS_MODEL: 'off' } });
    owner = (await setUp(server.url)).owner;
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Voice' })).json.id;
    key = (await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key;
    url = `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`;
  });
  after(() => server.close());

  it('refuses a 4th open session of one caller with 429 at the upgrade, and lets one in again once a session closes', async () => {
    const headers = { authorization: `Bearer ${key}` };
    const open = [await RealtimeClient.open(url, headers), await RealtimeClient.open(url, headers), await RealtimeClient.open(url, headers)];
    await Promise.all(open.map((c) => c.next('session.created')));
    const refused = await upgradeRefusal(url, headers);
    assert.equal(refused.status, 429);
    assert.equal(refused.retryAfter, '10');
    assert.equal(refused.body.error.code, 'rate_limited');
    assert.equal(refused.body.error.details[0].path, 'limits.realtimeSessions');
    // The user who made the key has sessions of their own.
    const own = await RealtimeClient.open(url, { cookie: owner.cookie!, origin: server.url });
    await own.next('session.created');
    own.close();

    const closed = new Promise((resolve) => open[0]!.ws.once('close', resolve));
    open[0]!.close();
    await closed;
    let again: RealtimeClient | undefined;
    for (let tries = 0; !again && tries < 50; tries++) again = await RealtimeClient.open(url, headers).catch(() => new Promise<undefined>((r) => setTimeout(r, 50)));
    assert.ok(again, 'accepted again after one closed');
    await again.next('session.created');
    for (const c of [again, ...open.slice(1)]) c.close();
  });

  it('ends a session whose caller has used the day\'s voice input: an error event naming the quota, then close 4029', async () => {
    const client = await RealtimeClient.open(url, { cookie: owner.cookie!, origin: server.url });
    await client.next('session.created');
    // Turn detection off: the audio is only buffered, so the test measures counting, not the VAD.
    client.send({ type: 'session.update', session: { audio: { input: { turn_detection: null } } } });
    await client.next('session.updated');
    const closed = new Promise<{ code: number; reason: string }>((resolve) => client.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    // 24 kHz pcm16 silence, ten seconds an append: six fill the minute, the seventh is refused.
    const tenSeconds = Buffer.alloc(24_000 * 2 * 10).toString('base64');
    for (let i = 0; i < 8; i++) client.send({ type: 'input_audio_buffer.append', audio: tenSeconds });
    const error = await client.next('error');
    assert.equal(error.error.code, 'rate_limited');
    assert.equal(error.error.details[0].path, 'limits.audioMinutesPerDay');
    assert.match(error.error.message, /at most 1 minutes of voice input per day \(UTC\) for each user/);
    const end = await closed;
    assert.equal(end.code, 4029);
    assert.equal(client.events.filter((e) => e['type'] === 'error').length, 1, 'one error, not one per refused append');

    const report = (await owner.get('/api/v1/usage/limits')).json.usage.find((u: { name: string }) => u.name === 'audio');
    assert.equal(report.caller.used, 1);
    assert.equal(report.caller.limit, 1);
    assert.equal(report.refusedToday.caller, 1);
    // The API key is a caller of its own, with its own minute.
    const keyed = await RealtimeClient.open(url, { authorization: `Bearer ${key}` });
    await keyed.next('session.created');
    keyed.send({ type: 'input_audio_buffer.append', audio: tenSeconds });
    keyed.send({ type: 'input_audio_buffer.clear' });
    await keyed.next('input_audio_buffer.cleared');
    assert.ok(!keyed.events.some((e) => e['type'] === 'error'));
    keyed.close();
  });
});
