// The knowledge-base journey in real Chromium against the real server: create a knowledge base,
// upload three documents of different formats and a hostile one in one file-chooser selection,
// watch them settle through live updates, search, and open the cited passage on its page.
// Needs a built console (`node scripts/build-web.ts`; `npm test` does it), /usr/bin/chromium and
// the third-party documents in ../shared/docs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type Locator, type Page } from 'playwright-core';
import { setUp, signedIn } from '../helpers/client.ts';
import { startTestServer } from '../helpers/server.ts';
import { heading, launchBrowser, openAs, resultsDir } from '../helpers/browser.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const docsDir = path.resolve(repoRoot, '../shared/docs');
const PDF = 'gao-23-106826-cybersecurity-2p.pdf';
const FILES = {
  pdf: path.join(docsDir, 'pdf', PDF),
  markdown: path.join(docsDir, 'markdown/github-community-guidelines.md'),
  html: path.join(docsDir, 'html/wikipedia-duck.html'),
  encrypted: path.join(docsDir, 'hostile/encrypted-user-password-1234.pdf'),
};
const missing = Object.values(FILES).filter((f) => !existsSync(f));
const skip = missing.length > 0 && `third-party test documents are absent (${missing.join(', ')}); see ../shared/docs`;

// Words that together occur only in the GAO report (on its second page).
const QUERY = 'insurance response to a catastrophic cyber event';
const INGEST_MS = 120_000;

let browser: Browser;

before(async () => {
  if (skip) return;
  browser = await launchBrowser();
});

after(() => browser?.close());

const docRow = (page: Page, file: string) => page.getByRole('table').getByRole('row', { name: new RegExp(path.basename(file).replace(/[.]/g, '\\.')) });
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(resultsDir, name), fullPage: true });
const noHorizontalScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
const passageFocused = (page: Page) => page.waitForFunction(() => document.activeElement?.matches('mark.passage'), null, { timeout: 10_000 });
const inViewport = (l: Locator) =>
  l.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.top < window.innerHeight;
  });

/** Waits out smooth scrolling, so assertions and screenshots see where the page came to rest. */
async function scrollSettled(page: Page) {
  let last = -1;
  for (let i = 0; i < 40; i++) {
    const y = await page.evaluate(() => window.scrollY);
    if (y === last) return;
    last = y;
    await page.waitForTimeout(100);
  }
}


test('knowledge bases: upload, live processing, search and the cited passage', { skip, timeout: 240_000 }, async (t) => {
  const server = await startTestServer();
  t.after(() => server.close());
  const { owner } = await setUp(server.url);
  const { context, page, problems } = await openAs(browser, owner, server.url);
  t.after(() => context.close());
  let kbUrl = '';

  await t.test('an empty organisation explains knowledge bases and creates one', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Knowledge bases' }).click();
    await heading(page, 'Knowledge bases').waitFor();
    await page.getByRole('heading', { name: 'No knowledge bases yet' }).waitFor();
    await page.getByRole('button', { name: 'Create your first knowledge base' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create knowledge base' });
    await dialog.getByLabel('Name').fill('Policies and reports');
    await dialog.getByLabel('Description (optional)').fill('Security reports and community rules');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await heading(page, 'Policies and reports').waitFor();
    kbUrl = page.url();
  });

  await t.test('four files in one selection settle live: three ready, the encrypted one failed with its reason', async () => {
    // Survives only if the page is never reloaded: what follows must arrive over the event stream.
    await page.evaluate(() => Object.assign(window, { lecternNoReload: true }));
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Choose files…' }).click();
    await (await chooser).setFiles(Object.values(FILES));

    await page.getByRole('status').getByText('Upload finished: 4 added.').waitFor({ timeout: 30_000 });
    for (const file of [FILES.pdf, FILES.markdown, FILES.html]) {
      await docRow(page, file).getByText('Ready', { exact: true }).waitFor({ timeout: INGEST_MS });
    }
    const failed = docRow(page, FILES.encrypted);
    await failed.getByText('Failed', { exact: true }).waitFor({ timeout: INGEST_MS });
    await failed.locator('code', { hasText: /^encrypted$/ }).waitFor();
    assert.match((await failed.locator('.failure').textContent()) ?? '', /password|encrypt/i, 'the human reason is shown');
    assert.ok(await failed.getByRole('button', { name: /Reprocess/ }).isVisible(), 'a failed document offers reprocessing');
    assert.equal(await page.evaluate(() => 'lecternNoReload' in window), true, 'no page reload happened');
    assert.equal(await docRow(page, FILES.pdf).getByRole('cell').nth(2).textContent(), '2', 'the PDF has 2 pages');
    await shot(page, 'kb-desktop-documents.png');
  });

  await t.test('a Word file is named as such even when it could not be read, and the table fits a 1366 px screen with its actions in view', async () => {
    // A document that failed before parsing has only its upload's MIME type to go by.
    const word = path.join(docsDir, 'hostile/truncated.docx');
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Choose files…' }).click();
    await (await chooser).setFiles([word]);
    const row = docRow(page, word);
    await row.getByText('Failed', { exact: true }).waitFor({ timeout: INGEST_MS });
    assert.ok(await row.getByRole('cell', { name: 'Word', exact: true }).isVisible(), 'the type reads Word, not application/vnd.openxml…');
    await page.setViewportSize({ width: 1366, height: 768 });
    const overflow = await page.getByRole('table').first().evaluate((table) => {
      const box = table.closest('.table-wrap') ?? table.parentElement!;
      return box.scrollWidth - box.clientWidth;
    });
    assert.ok(overflow <= 1, `the documents table scrolls sideways by ${overflow} px`);
    const remove = (await row.getByRole('button', { name: /Delete/ }).boundingBox())!;
    assert.ok(remove.x + remove.width <= 1366, `Delete at ${Math.round(remove.x + remove.width)} px`);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await t.test('a change made elsewhere shows up without reloading', async () => {
    const kbId = decodeURIComponent(new URL(kbUrl).pathname.split('/').at(-1) ?? '');
    const { documents } = (await owner.get(`/api/v1/kbs/${kbId}/documents`)).json as { documents: Array<{ id: string; name: string }> };
    const markdown = documents.find((d) => d.name === path.basename(FILES.markdown));
    assert.ok(markdown, 'the API lists the uploaded Markdown file');
    assert.equal((await owner.delete(`/api/v1/kbs/${kbId}/documents/${markdown.id}`)).status, 204);
    await docRow(page, FILES.markdown).waitFor({ state: 'detached' });
    await page.getByRole('list', { name: 'Uploads' }).getByText('Deleted since.').waitFor();
    await page.getByText(/^4 documents · 2 ready · 2 failed/).waitFor();
    assert.equal(await page.evaluate(() => 'lecternNoReload' in window), true, 'no page reload happened');
  });

  await t.test('uploading identical content again points at the existing document', async () => {
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Choose files…' }).click();
    await (await chooser).setFiles([FILES.pdf]);
    await page.getByRole('status').getByText(/1 already in this knowledge base/).waitFor({ timeout: 30_000 });
    await page.getByRole('list', { name: 'Uploads' }).getByText(`Already in this knowledge base as ${PDF}`).waitFor();
    assert.equal(await docRow(page, FILES.pdf).count(), 1, 'no second row for the same content');
  });

  let hitPage = 0;

  await t.test('searching finds the PDF passage first, with its page and highlighted terms', async () => {
    await page.getByLabel('Search this knowledge base').fill(QUERY);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const first = page.getByRole('list', { name: 'Search results' }).getByRole('listitem').first();
    await first.waitFor();
    const link = first.getByRole('link');
    const title = (await link.textContent()) ?? '';
    assert.match(title, new RegExp(`${PDF.replace(/[.]/g, '\\.')} · Page \\d+`), `the first hit is the PDF with its page, got ${JSON.stringify(title)}`);
    hitPage = Number(/Page (\d+)/.exec(title)?.[1]);
    assert.ok((await first.locator('mark').count()) > 0, 'matched terms are highlighted');
    await shot(page, 'kb-desktop-search.png');
    await link.click();
  });

  await t.test('the document view scrolls to the highlighted passage on that page and focuses it', async () => {
    await heading(page, PDF).waitFor();
    const passage = page.locator('mark.passage').first();
    await passage.waitFor();
    await passageFocused(page);
    assert.ok(await passage.evaluate((el) => el === document.activeElement), 'focus is at the start of the passage');
    const onPage = await passage.evaluate((el) => el.closest('.doc-page')?.querySelector('h2')?.textContent ?? '');
    assert.match(onPage, new RegExp(`^Page ${hitPage}\\b`), 'the passage sits under its page separator');
    await scrollSettled(page);
    assert.ok(await inViewport(passage), 'the passage was scrolled into view');
    await page.screenshot({ path: path.join(resultsDir, 'kb-desktop-document.png') });
  });

  await t.test('on a phone the document and the knowledge base fit the screen', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    await page.reload();
    await passageFocused(page);
    await scrollSettled(page);
    assert.ok(await inViewport(page.locator('mark.passage').first()), 'the passage was scrolled into view');
    assert.ok((await noHorizontalScroll(page)) <= 0, 'no horizontal page scroll on the document view');
    await page.screenshot({ path: path.join(resultsDir, 'kb-phone-document.png') });
    await page.goto(kbUrl);
    await docRow(page, FILES.pdf).waitFor();
    assert.ok((await noHorizontalScroll(page)) <= 0, 'no horizontal page scroll on the knowledge base');
    await shot(page, 'kb-phone-kb.png');
  });

  await t.test('a viewer can search and read but sees no controls that change anything', async () => {
    const created = await owner.post('/api/v1/users', { email: 'vera@example.org', name: 'Vera Viewer', role: 'viewer', password: 'viewer password 1234' });
    assert.equal(created.status, 201, created.text);
    const viewer = await signedIn(server.url, 'vera@example.org', 'viewer password 1234');
    const { context: viewerContext, page: viewerPage, problems: viewerProblems } = await openAs(browser, viewer, server.url);
    t.after(() => viewerContext.close());
    await viewerPage.goto(kbUrl);
    await docRow(viewerPage, FILES.pdf).getByText('Ready', { exact: true }).waitFor();
    for (const name of ['Choose files…', 'Edit', 'Re-index', 'Delete']) {
      assert.equal(await viewerPage.getByRole('button', { name, exact: true }).count(), 0, `no “${name}” button for a viewer`);
    }
    assert.equal(await docRow(viewerPage, FILES.encrypted).getByRole('button').count(), 0, 'no row actions but download');
    await viewerPage.getByLabel('Search this knowledge base').fill(QUERY);
    await viewerPage.getByRole('button', { name: 'Search', exact: true }).click();
    await viewerPage.getByRole('list', { name: 'Search results' }).getByRole('listitem').first().waitFor();
    assert.deepEqual(viewerProblems, []);
  });

  await t.test('renaming, then deleting the knowledge base after confirming its name', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    const edit = page.getByRole('dialog', { name: 'Edit knowledge base' });
    await edit.getByLabel('Name').fill('Reports');
    // Scans in this knowledge base are French: chosen among the installed OCR languages, by name.
    const ocrLanguage = edit.getByLabel('Language of scanned documents');
    assert.equal(await ocrLanguage.inputValue(), '', 'the server default at first');
    await ocrLanguage.selectOption({ label: 'French' });
    await edit.getByRole('button', { name: 'Save' }).click();
    await heading(page, 'Reports').waitFor();
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    assert.equal(await edit.getByLabel('Language of scanned documents').inputValue(), 'fra', 'the choice was saved');
    await edit.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete “Reports”?' });
    await confirm.getByText(/all 4 of its documents/).waitFor();
    await confirm.getByRole('button', { name: 'Delete knowledge base' }).click();
    await heading(page, 'Knowledge bases').waitFor();
    await page.getByRole('heading', { name: 'No knowledge bases yet' }).waitFor();
  });

  await t.test('no script errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
