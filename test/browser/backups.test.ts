import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { heading, launchBrowser, openAs, resultsDir } from '../helpers/browser.ts';
import { setUp } from '../helpers/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The console's Backups page (#12, item 2): the instance owner sees the backups in a table, runs
// one with "Back up now", follows it, and sees the last success; the page says when backups cannot
// run and why.

let browser: Browser;
let server: TestServer;
let root: string;
before(async () => {
  browser = await launchBrowser();
  root = await mkdtemp(path.join(os.tmpdir(), 'lectern-backups-page-'));
  await writeFile(path.join(root, 'backup.key'), randomBytes(32).toString('hex'));
  server = await startTestServer({ dataDir: path.join(root, 'data'), env: { BACKUP_KEY_FILE: path.join(root, 'backup.key'), BACKUP_DIR: path.join(root, 'backups') } });
});
after(async () => {
  await browser.close();
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test('the instance owner backs up from the console and sees it listed', async (t) => {
  const { owner } = await setUp(server.url);
  const { context, page, problems } = await openAs(browser, owner, server.url);
  t.after(() => context.close());
  await page.goto(`${server.url}/backups`);
  await heading(page, 'Backups').waitFor();
  await page.getByText('No backups yet.').waitFor();
  assert.match(await page.getByText('Last backup').locator('..').innerText(), /None yet/);

  await page.getByRole('button', { name: 'Back up now' }).click();
  const table = page.getByRole('table', { name: 'Backups, newest first' });
  await table.getByRole('row').filter({ hasText: 'Not verified' }).waitFor();
  assert.equal(await table.getByRole('row').count(), 2, 'a header and one backup');
  await page.getByText('Last backup').locator('..').getByText('OK').waitFor();
  assert.ok(await page.getByRole('link', { name: 'Backups' }).isVisible(), 'listed in the navigation');
  await page.screenshot({ path: path.join(resultsDir, 'backups-page.png'), fullPage: true });
  assert.deepEqual(problems, []);
});
