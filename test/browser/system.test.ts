import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { heading, launchBrowser, openAs, resultsDir } from '../helpers/browser.ts';
import { setUp, signedIn } from '../helpers/client.ts';
import { startModelHub } from '../helpers/model-hub.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The console's System page (#12, item 7): the instance owner sees each component's health, the
// job queue, disk space under DATA_DIR and the models with the command that fetches them; another
// admin sees the models and is told the rest is the instance owner's; others have no such page.

let browser: Browser;
let server: TestServer;
before(async () => {
  browser = await launchBrowser();
  server = await startTestServer({ env: { TTS_MODEL: 'off' } });
});
after(async () => {
  await browser.close();
  await server.close();
});

test('the instance owner sees components, queue, disk and models', async (t) => {
  const { owner } = await setUp(server.url);
  const { context, page, problems } = await openAs(browser, owner, server.url);
  t.after(() => context.close());
  await page.goto(`${server.url}/system`);
  await heading(page, 'System').waitFor();

  const components = page.getByRole('table', { name: 'Components and their readiness' });
  await components.waitFor();
  const store = components.getByRole('row').filter({ has: page.getByRole('cell', { name: 'store', exact: true }) });
  assert.match(await store.innerText(), /embedded[\s\S]*OK/);
  assert.match(await page.getByRole('status').filter({ hasText: /Ready|Starting/ }).innerText(), /^(Ready|Starting)/);

  const queue = page.getByRole('region', { name: 'Job queue' });
  assert.match(await queue.innerText(), /In the embedded store: 0 pending, 0 running, 0 failed/);
  const disk = page.getByRole('region', { name: 'Disk' });
  assert.match(await disk.innerText(), /GB free of [\d.,]+ GB \(\d+ %\) on the disk holding DATA_DIR/);
  const meter = disk.getByRole('meter');
  assert.equal(Number(await meter.getAttribute('value')) > 0, true);

  const models = page.getByRole('region', { name: 'Models' });
  await models.getByRole('table', { name: 'Models per role' }).waitFor();
  assert.match(await models.innerText(), /npm run models/);
  // Voice is built: the roles say what runs, not that it comes in a later release.
  assert.doesNotMatch(await models.innerText(), /arrives? with the realtime voice release/);
  assert.match(await models.innerText(), /text only/, 'TTS_MODEL=off: answers are text only');

  assert.ok(await page.getByRole('link', { name: 'System' }).isVisible(), 'listed in the navigation');

  // Activity: the last hours minute by minute, drawn by uPlot; each chart says its numbers in words.
  const activity = page.getByRole('region', { name: 'Activity' });
  const requests = activity.getByRole('figure', { name: 'API requests per minute' });
  await requests.waitFor();
  assert.match((await requests.getAttribute('aria-describedby')) ?? '', /chart-requests-summary/);
  assert.match(await requests.innerText(), /\d+ in the last 3 hours, 0 of them failed on the server \(5xx\)/);
  assert.equal(await activity.getByRole('figure').count(), 4);
  assert.equal(await activity.locator('canvas').count(), 4, 'each chart drew');
  assert.ok((await activity.locator('canvas').first().boundingBox())!.width > 200);
  const history = (await owner.get('/api/v1/system/history?minutes=5')).json.points as Array<{ requests: number }>;
  assert.equal(history.length, 5);
  assert.ok(history.reduce((n, p) => n + p.requests, 0) > 0, 'this page\'s own API requests are counted');
  await page.screenshot({ path: path.join(resultsDir, 'system-page.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('another admin sees the models only; an editor has no System page', async (t) => {
  const PW = 'a sufficiently long password';
  const owner = await signedIn(server.url, 'ada@riverside.test', 'correct horse battery staple');
  assert.equal((await owner.post('/api/v1/users', { email: 'adam@riverside.test', name: 'Adam Admin', role: 'admin', password: PW })).status, 201);
  assert.equal((await owner.post('/api/v1/users', { email: 'eddie@riverside.test', name: 'Eddie Editor', role: 'editor', password: PW })).status, 201);

  const admin = await signedIn(server.url, 'adam@riverside.test', PW);
  assert.equal((await admin.get('/api/v1/system/disk')).status, 403, 'disk space is the instance owner\'s');
  assert.equal((await admin.get('/api/v1/system/history')).status, 403, 'so is the activity');
  const disk = (await owner.get('/api/v1/system/disk')).json;
  assert.equal(disk.of, 'DATA_DIR');
  assert.ok(disk.freeBytes > 0 && disk.freeBytes <= disk.totalBytes, JSON.stringify(disk));
  const asAdmin = await openAs(browser, admin, server.url);
  t.after(() => asAdmin.context.close());
  await asAdmin.page.goto(`${server.url}/system`);
  await heading(asAdmin.page, 'System').waitFor();
  await asAdmin.page.getByText('shown to the instance owner').waitFor();
  await asAdmin.page.getByRole('table', { name: 'Models per role' }).waitFor();
  assert.equal(await asAdmin.page.getByRole('region', { name: 'Components' }).count(), 0);
  assert.deepEqual(asAdmin.problems, [], 'no request the admin may not make');

  const editor = await signedIn(server.url, 'eddie@riverside.test', PW);
  const asEditor = await openAs(browser, editor, server.url);
  t.after(() => asEditor.context.close());
  await asEditor.page.goto(`${server.url}/system`);
  await heading(asEditor.page, 'Not available for your role').waitFor();
  assert.equal(await asEditor.page.getByRole('link', { name: 'System' }).count(), 0);
});

test('the instance owner downloads a missing model with a progress bar, and sees the backups', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-hub-'));
  // About 3 s to serve: long enough for the page, polling each second, to draw the bar part-way.
  const hub = await startModelHub(dir, [{ id: 'tiny-llm', name: 'Tiny LLM', role: 'llm', bytes: 600_000 }], { bytes: 16_384, pauseMs: 80 });
  const own = await startTestServer({ env: { MODELS_MANIFEST: hub.manifestPath, TTS_MODEL: 'off', STT_MODEL: 'off' } });
  t.after(async () => {
    await own.close();
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });
  const { owner } = await setUp(own.url);
  const { context, page, problems } = await openAs(browser, owner, own.url);
  t.after(() => context.close());
  await page.goto(`${own.url}/system`);
  await heading(page, 'System').waitFor();

  // No backup has run on this new server, and the page says so where the operator looks.
  const backups = page.getByRole('region', { name: 'Backups' });
  await backups.getByRole('link', { name: /All backups/ }).waitFor();
  assert.match(await backups.innerText(), /Backups are not running|No backup has succeeded yet/);

  const models = page.getByRole('region', { name: 'Models' });
  const table = models.getByRole('table', { name: 'Models to download' });
  await table.waitFor();
  assert.match(await table.innerText(), /Tiny LLM[\s\S]*Language model[\s\S]*586 KB/);
  await models.getByRole('button', { name: 'Download Tiny LLM' }).click();
  const bar = models.getByRole('progressbar', { name: 'Downloading Tiny LLM' });
  await bar.waitFor();
  const seen = Number(await bar.getAttribute('value'));
  assert.ok(seen < 100, `the bar shows the download part-way (${seen} %)`);
  await page.screenshot({ path: path.join(resultsDir, 'system-model-download.png'), fullPage: true });

  await models.getByText(/Downloaded.*tiny-llm.*restarted/).waitFor({ timeout: 20_000 });
  assert.equal(await table.count(), 0, 'nothing left to download');
  const perRole = models.getByRole('table', { name: 'Models per role' });
  assert.match(await perRole.getByRole('row').filter({ hasText: 'Language model' }).innerText(), /Tiny LLM/);
  assert.deepEqual(problems, []);
});

