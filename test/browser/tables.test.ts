import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { heading, launchBrowser, openAs, resultsDir } from '../helpers/browser.ts';
import { setUp, type Client } from '../helpers/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Every table of the console fits a 1366 px laptop and a 390 px phone (#13, item 11): the page never
// scrolls sideways, no table hides columns behind its own scroll, and each row's actions are on
// screen. The data is made to be awkward: long names and addresses, eleven usage columns.
// The dark theme (#13, item 12) follows the system setting.

const PASSWORD = 'a sufficiently long password';
let browser: Browser;
let server: TestServer;
let root: string;
let owner: Client;
let kbId: string;

before(async () => {
  browser = await launchBrowser();
  root = await mkdtemp(path.join(os.tmpdir(), 'lectern-tables-'));
  await writeFile(path.join(root, 'backup.key'), randomBytes(32).toString('hex'));
  server = await startTestServer({ dataDir: path.join(root, 'data'), env: { BACKUP_KEY_FILE: path.join(root, 'backup.key'), BACKUP_DIR: path.join(root, 'backups'), TTS_MODEL: 'off' } });
  ({ owner } = await setUp(server.url));
  for (const [i, role] of ['admin', 'editor', 'viewer'].entries()) {
    const r = await owner.post('/api/v1/users', { email: `someone.with.a.long.address.${i}@riverside-community-clinic.test`, name: `Maximiliane ${i} Oberholzer-Wittgenstein`, role, password: PASSWORD });
    assert.equal(r.status, 201, r.text);
  }
  for (const name of ['reporting integration for the front desk', 'ci']) assert.equal((await owner.post('/api/v1/api-keys', { name, role: 'viewer' })).status, 201);
  kbId = (await owner.post('/api/v1/kbs', { name: 'Clinic handbook', description: 'Policies and procedures' })).json.id;
  await owner.upload(kbId, [
    { name: 'opening-hours-parking-and-visitor-rules-for-the-front-desk-2026-edition.md', bytes: '# Opening hours\n\nThe clinic opens at 8 am on weekdays.\n\n## Parking\n\nStaff park behind the building.\n', type: 'text/markdown' },
    { name: 'staff-handbook.docx', bytes: 'PK not really a Word file', type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
  ]);
  await owner.settle(kbId);
  assert.equal((await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'When does the clinic open?' }, { accept: 'application/json' })).status, 200);
  const org = await owner.post('/api/v1/organisations', { name: 'Northside Community Practice and Outpatient Services', admin: { name: 'Nora North', email: 'nora@northside.test', password: PASSWORD } });
  assert.equal(org.status, 201, org.text);
  assert.equal((await owner.post('/api/v1/system/backups')).status, 202);
  for (let i = 0; i < 100 && (await owner.get('/api/v1/system/backups')).json.backups.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
});

after(async () => {
  await browser?.close();
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

/** Each page with tables, the tables' accessible names, and what to do before they show. */
const PAGES: Array<{ name: string; url: () => string; title: string | RegExp; tables: string[]; open?: (page: Page) => Promise<void> }> = [
  { name: 'documents', url: () => `/kbs/${kbId}`, title: 'Clinic handbook', tables: ['Documents'] },
  { name: 'knowledge-bases', url: () => '/kbs', title: 'Knowledge bases', tables: ['Knowledge bases'] },
  { name: 'users', url: () => '/users', title: 'Users', tables: ['Users'] },
  { name: 'api-keys', url: () => '/api-keys', title: 'API keys', tables: ['Active API keys'] },
  { name: 'audit', url: () => '/audit', title: 'Audit log', tables: ['Audit log entries'] },
  { name: 'organisations', url: () => '/organisations', title: 'Organisations', tables: ['Organisations'] },
  { name: 'backups', url: () => '/backups', title: 'Backups', tables: ['Backups, newest first'] },
  {
    name: 'usage',
    url: () => '/usage',
    title: 'Usage',
    tables: ['Every day', 'Limits and what is used of them', 'Usage by user'],
    open: (page) => page.locator('summary', { hasText: 'Every day' }).click(),
  },
];

interface Misfit {
  table: string;
  what: string;
}

/** What of `tables` does not fit: a table scrolling inside its box, or a cell or control past the screen or the box. */
function misfits(page: Page, tables: string[]): Promise<Misfit[]> {
  return page.evaluate((names) => {
    const found: Array<{ table: string; what: string }> = [];
    const width = document.documentElement.clientWidth;
    for (const name of names) {
      const table = [...document.querySelectorAll('table')].find((t) => t.caption?.textContent === name);
      if (!table) {
        found.push({ table: name, what: 'not on the page' });
        continue;
      }
      const box = (table.closest('.table-wrap') ?? table).getBoundingClientRect();
      const wrap = table.closest('.table-wrap');
      if (wrap && wrap.scrollWidth > wrap.clientWidth + 1) found.push({ table: name, what: `scrolls sideways by ${wrap.scrollWidth - wrap.clientWidth} px` });
      const right = Math.min(width, box.right);
      for (const [r, row] of [...table.querySelectorAll('tbody tr')].entries()) {
        for (const el of row.querySelectorAll('td, button, a, select')) {
          const rect = el.getBoundingClientRect();
          if (rect.width === 0) continue;
          if (rect.left < Math.max(0, box.left) - 1 || rect.right > right + 1) {
            found.push({ table: name, what: `row ${r + 1}: ${el.tagName.toLowerCase()} “${(el.textContent ?? '').trim().slice(0, 40)}” spans ${Math.round(rect.left)}–${Math.round(rect.right)} px, visible ${Math.round(Math.max(0, box.left))}–${Math.round(right)}` });
          }
        }
      }
    }
    return found;
  }, tables);
}

// A laptop shows every one of these as a table; a tablet stacks the ones that do not fit as tables
// (the documents with their actions, Usage's eleven columns); a phone stacks them all.
for (const viewport of [
  { width: 1366, height: 768, layout: 'table' },
  { width: 768, height: 1024, layout: 'either' },
  { width: 390, height: 844, layout: 'cards' },
] as const) {
  test(`every table fits at ${viewport.width} px with its actions on screen`, async (t) => {
    const { context, page, problems } = await openAs(browser, owner, server.url, { width: viewport.width, height: viewport.height });
    t.after(() => context.close());
    const actions: Record<string, number> = {};
    for (const p of PAGES) {
      await page.goto(server.url + p.url());
      await heading(page, p.title).waitFor();
      await p.open?.(page);
      for (const name of p.tables) await page.getByRole('table', { name }).getByRole('row').nth(1).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${p.name} at ${viewport.width} px: the page scrolls sideways by ${overflow} px`);
      assert.deepEqual(await misfits(page, p.tables), [], `${p.name} at ${viewport.width} px`);
      for (const name of p.tables) {
        // Laid out as a table the column headers show; stacked, each cell carries its column's name instead.
        const headers = (await page.getByRole('table', { name }).locator('thead').boundingBox())?.height ?? 0;
        if (viewport.layout !== 'either') assert.equal(headers > 1 ? 'table' : 'cards', viewport.layout, `${name} at ${viewport.width} px`);
      }
      actions[p.name] = await page.locator('table tbody :is(button, a, select)').count();
      await page.screenshot({ path: path.join(resultsDir, `tables-${p.name}-${viewport.width}.png`), fullPage: true });
    }
    // The rows' controls were there to check.
    for (const name of ['documents', 'users', 'api-keys', 'organisations']) assert.ok((actions[name] ?? 0) > 0, `${name}: row controls checked ${JSON.stringify(actions)}`);
    t.diagnostic(`row controls checked: ${JSON.stringify(actions)}`);
    assert.deepEqual(problems, []);
  });
}

test('the console follows a dark system setting', async (t) => {
  const tokens = await readFile(path.resolve(import.meta.dirname, '../../web/src/styles/tokens.css'), 'utf8');
  const dark = tokens.slice(tokens.indexOf('@media (prefers-color-scheme: dark)'));
  const token = (css: string, name: string) => {
    const hex = new RegExp(`${name}:\\s*#([0-9a-f]{6})`, 'i').exec(css)?.[1];
    assert.ok(hex, `${name} is a #rrggbb colour in tokens.css`);
    const n = Number.parseInt(hex, 16);
    return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
  };
  const { context, page, problems } = await openAs(browser, owner, server.url, { width: 1366, height: 768 });
  t.after(() => context.close());
  const colours = () =>
    page.evaluate(() => ({
      page: getComputedStyle(document.body).backgroundColor,
      text: getComputedStyle(document.body).color,
      panel: getComputedStyle(document.querySelector('.table-wrap')!).backgroundColor,
      scheme: getComputedStyle(document.documentElement).colorScheme,
    }));

  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`${server.url}/users`);
  await page.getByRole('table', { name: 'Users' }).waitFor();
  assert.deepEqual(await colours(), { page: token(tokens, '--color-bg'), text: token(tokens, '--color-text'), panel: token(tokens, '--color-surface'), scheme: 'light' });

  // The system setting changes while the page is open: no reload needed.
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await colours(), { page: token(dark, '--color-bg'), text: token(dark, '--color-text'), panel: token(dark, '--color-surface'), scheme: 'dark' });
  assert.notEqual(token(dark, '--color-bg'), token(tokens, '--color-bg'));
  await page.screenshot({ path: path.join(resultsDir, 'tables-users-dark.png') });

  // The System page's charts are canvases: they take their series colours from the tokens and are
  // redrawn when the setting changes (uPlot's legend marker shows the colour a series is drawn in).
  await page.goto(`${server.url}/system`);
  const marker = page.getByRole('figure', { name: 'API requests per minute' }).locator('.u-series .u-marker').nth(1);
  await marker.waitFor();
  const drawn = () => marker.evaluate((el) => (el as HTMLElement).style.borderColor);
  assert.equal(await drawn(), token(dark, '--color-chart-1'));
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => !matchMedia('(prefers-color-scheme: dark)').matches);
  await page.getByRole('figure', { name: 'API requests per minute' }).locator('.u-series .u-marker').nth(1).waitFor();
  assert.equal(await drawn(), token(tokens, '--color-chart-1'));
  assert.deepEqual(problems, []);
});
