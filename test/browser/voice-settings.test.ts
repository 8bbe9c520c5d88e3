import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { heading, launchBrowser, openAs } from '../helpers/browser.ts';
import { setUp } from '../helpers/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Settings → Voice (#13, item 3): an admin sets how long spoken answers take; the server keeps it.

let browser: Browser;
let server: TestServer;
before(async () => {
  browser = await launchBrowser();
  server = await startTestServer();
});
after(async () => {
  await browser.close();
  await server.close();
});

test('an admin sets the spoken answer length', async (t) => {
  const { owner } = await setUp(server.url);
  const { context, page, problems } = await openAs(browser, owner, server.url);
  t.after(() => context.close());
  await page.goto(`${server.url}/settings`);
  await heading(page, 'Settings').waitFor();
  const voice = page.getByRole('region', { name: 'Voice' });
  const field = voice.getByLabel('Spoken answer length (seconds)');
  assert.equal(await field.inputValue(), '20');
  await field.fill('2');
  await voice.getByRole('button', { name: 'Save' }).click();
  await voice.getByText(/from 5 to 300/).waitFor();
  await field.fill('12');
  await voice.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').getByText(/Spoken answers now take about 12 s/).waitFor();
  assert.deepEqual((await owner.get('/api/v1/settings')).json.voice, { answerSeconds: 12 });
  assert.deepEqual(problems, []);
});
