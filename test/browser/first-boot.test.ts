import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { heading, launchBrowser } from '../helpers/browser.ts';
import { startTestServer } from '../helpers/server.ts';

// Issue #12: on a reachable first boot the setup page asks for the token the server printed, and
// says where to find it, as the field's accessible description.

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser.close());

test('setup on a reachable server asks for the token from the server log', async (t) => {
  const server = await startTestServer({ env: { HOST: '0.0.0.0' } });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  t.after(async () => {
    await context.close();
    await server.close();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(5000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

  await page.goto(server.url);
  await heading(page, 'Set up Lectern').waitFor();
  const token = page.getByLabel('Setup token');
  await token.waitFor();
  assert.match((await token.getAttribute('aria-describedby')) ?? '', /hint/);
  const hint = await token.evaluate((el) => (el.getAttribute('aria-describedby') ?? '').split(' ').map((id) => document.getElementById(id)?.textContent ?? '').join(' '));
  assert.match(hint, /See the server log/);

  const printed = server.logs.find((l) => String(l['msg']).startsWith('setup token '));
  assert.ok(printed, 'the server printed the token');
  await token.fill(/^setup token (\S+):/.exec(String(printed['msg']))![1]!);
  await page.getByLabel('Organisation name').fill('Acme Research');
  await page.getByLabel('Your name').fill('Ada Admin');
  await page.getByLabel('Email').fill('ada@example.org');
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Create organisation and account' }).click();
  await heading(page, 'Welcome, Ada Admin').waitFor();
  assert.deepEqual(problems, []);
});
