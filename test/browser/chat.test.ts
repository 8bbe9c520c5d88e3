// The question-answering journey in real Chromium against the real server, which has no language
// model installed (the test server's default): answers are extractive, quoted and cited. Covers
// asking from a knowledge base, following a citation to the highlighted passage, feedback, a
// follow-up in the same conversation, the engine-policy settings and the usage page.
// Needs a built console (`node scripts/build-web.ts`; `npm test` does it) and /usr/bin/chromium.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { OWNER, setUp, signedIn } from '../helpers/client.ts';
import { startTestServer } from '../helpers/server.ts';
import { heading, launchBrowser, openAs, resultsDir } from '../helpers/browser.ts';

const KB = 'Clinic handbook';
const DOCS = [
  {
    name: 'hand-hygiene.txt',
    text: 'Hand hygiene\n\nStaff wash their hands with soap for at least forty seconds before touching a patient. Alcohol rub may replace washing when hands are not visibly soiled.\n',
  },
  {
    name: 'visitor-parking.txt',
    text: 'Visitor parking\n\nVisitors park in the north car park, which is free for the first two hours. The south car park is reserved for ambulances and night staff.\n',
  },
];
const QUESTION = 'How long must staff wash their hands with soap?';
const FOLLOW_UP = 'Where do visitors park their cars?';

let browser: Browser;

before(async () => {
  browser = await launchBrowser();
});

after(() => browser?.close());

const answers = (page: Page) => page.locator('.turn .answer');
const today = () => new Date().toISOString().slice(0, 10);

/** At phone width the page must not scroll sideways; the screenshot is for looking at. */
async function fitsPhone(page: Page, file: string) {
  await page.setViewportSize({ width: 360, height: 780 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scroll on a phone (${overflow} px)`);
  await page.screenshot({ path: path.join(resultsDir, file), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function ask(page: Page, question: string) {
  const box = page.getByLabel('Your question');
  await box.fill(question);
  await box.press('Enter');
}

test('chat: an extractive answer with citations, feedback, a follow-up, settings and usage', { timeout: 120_000 }, async (t) => {
  const server = await startTestServer();
  t.after(() => server.close());
  const { owner } = await setUp(server.url);
  const kb = (await owner.post('/api/v1/kbs', { name: KB })).json as { id: string };
  assert.equal((await owner.upload(kb.id, DOCS.map((d) => ({ name: d.name, bytes: d.text, type: 'text/plain' })))).status, 202);
  const docs = await owner.settle(kb.id);
  assert.deepEqual(docs.map((d) => d['status']), ['ready', 'ready']);
  const hygiene = docs.find((d) => d['name'] === DOCS[0]?.name);
  assert.ok(hygiene);

  const { context, page, problems } = await openAs(browser, owner, server.url);
  t.after(() => context.close());
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  let chatUrl = '';

  await t.test('the knowledge base leads to its chat, which starts empty with the composer ready', async () => {
    await page.goto(`${server.url}/kbs/${kb.id}`);
    await heading(page, KB).waitFor();
    await page.getByRole('link', { name: 'Ask questions' }).click();
    await heading(page, `Ask “${KB}”`).waitFor();
    await page.getByRole('heading', { level: 2, name: 'New conversation' }).waitFor();
    await page.getByRole('navigation', { name: 'Conversations' }).getByText('No conversations yet').waitFor();
  });

  await t.test('Enter sends; the answer is extractive, labelled so, and cites the right document', async () => {
    const box = page.getByLabel('Your question');
    await box.fill('');
    await box.press('Enter');
    await page.getByText('Type a question first.').waitFor();
    await box.fill('first line');
    await box.press('Shift+Enter');
    assert.equal(await box.inputValue(), 'first line\n', 'Shift+Enter adds a line instead of sending');

    await ask(page, QUESTION);
    await page.getByRole('status').getByText(/No language model answered; here are the most relevant passages/).waitFor();
    const answer = answers(page).first();
    await answer.getByText('Quoted passages · no language model available').waitFor();
    await answer.getByText(/^Searched: “.+” · \d+ passages?$/).first().waitFor();
    assert.match((await answer.locator('.answer-meta summary').textContent()) ?? '', /Answered by passage search \(no language model\)/);
    assert.ok(await box.evaluate((el) => el === document.activeElement), 'focus stays in the composer for the next question');

    const first = answer.locator('.answer-text').getByRole('link').first();
    assert.match((await first.textContent()) ?? '', /^\[1\] hand-hygiene\.txt$/);
    const href = new URL((await first.getAttribute('href')) ?? '', server.url);
    assert.equal(href.pathname, `/kbs/${kb.id}/documents/${hygiene['id']}`);
    assert.ok(href.searchParams.get('chunk'), 'the link targets the cited passage');
    await answer.getByRole('list').getByRole('link', { name: DOCS[0]?.name }).first().waitFor();

    await page.waitForURL(/\/chat\/[^/]+$/);
    chatUrl = page.url();
    const title = page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: new RegExp(QUESTION.replace(/[?]/g, '\\?')) });
    await title.waitFor();
    assert.equal(await title.getAttribute('aria-current'), 'page');
  });

  await t.test('Copy puts the answer and its sources on the clipboard', async () => {
    await answers(page).first().getByRole('group', { name: 'Answer actions' }).getByRole('button', { name: 'Copy' }).click();
    await answers(page).first().getByText('Copied to the clipboard.').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, /forty seconds[\s\S]*\n\nSources:\n\[1\] hand-hygiene\.txt/);
  });

  await t.test('the citation opens the document at the highlighted passage', async () => {
    await answers(page).first().locator('.answer-text').getByRole('link').first().click();
    await heading(page, DOCS[0]?.name ?? '').waitFor();
    await page.locator('mark.passage').first().waitFor();
    assert.match((await page.locator('mark.passage').allTextContents()).join(' '), /forty seconds/, 'the cited passage is highlighted');
    await page.waitForFunction(() => document.activeElement?.matches('mark.passage'));
  });

  await t.test('back in the conversation, thumbs down takes a comment', async () => {
    await page.goBack();
    await page.waitForURL(chatUrl);
    const answer = answers(page).first();
    await answer.getByText(/forty seconds/).first().waitFor();
    await answer.getByRole('button', { name: 'Not helpful' }).click();
    const dialog = page.getByRole('dialog', { name: 'What was wrong with this answer?' });
    await dialog.getByLabel('Comment (optional)').fill('Quote the exact policy number too.');
    await dialog.getByRole('button', { name: 'Send feedback' }).click();
    await page.getByRole('status').getByText('Thanks, your feedback was saved.').waitFor();
    assert.equal(await answer.getByRole('button', { name: 'Not helpful' }).getAttribute('aria-pressed'), 'true');

    const conversationId = chatUrl.split('/').at(-1) ?? '';
    const stored = (await owner.get(`/api/v1/conversations/${conversationId}`)).json as { messages: Array<{ role: string; feedback: { rating: string; comment: string } | null }> };
    assert.deepEqual(stored.messages.find((m) => m.role === 'assistant')?.feedback, { ...stored.messages[1]?.feedback, rating: 'down', comment: 'Quote the exact policy number too.' });
  });

  await t.test('a follow-up goes to the same conversation', async () => {
    await ask(page, FOLLOW_UP);
    await answers(page).nth(1).getByText(/north car park/).first().waitFor();
    assert.equal(page.url(), chatUrl, 'still the same conversation');
    const { conversations } = (await owner.get(`/api/v1/conversations?kbId=${kb.id}`)).json as { conversations: Array<{ title: string; messageCount: number }> };
    assert.equal(conversations.length, 1);
    assert.equal(conversations[0]?.messageCount, 4);
    await page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: /How long must staff/ }).getByText(/.+/).first().waitFor();
    // From the top: a full-page capture taken scrolled down draws the sticky top bar mid-page.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(resultsDir, 'chat-desktop.png'), fullPage: true });
  });

  await t.test('on a phone the chat fits and the conversation list is behind a toggle', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    await page.reload();
    await answers(page).nth(1).getByText(/north car park/).first().waitFor();
    const list = page.getByRole('navigation', { name: 'Conversations' });
    assert.equal(await list.isVisible(), false, 'the list starts closed');
    const toggle = page.getByRole('button', { name: 'Conversations (1)' });
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await list.getByRole('link').first().waitFor();
    await page.keyboard.press('Escape');
    assert.equal(await list.isVisible(), false, 'Escape closes the list');
    assert.ok(await toggle.evaluate((el) => el === document.activeElement), 'focus returns to the toggle');
    await page.screenshot({ path: path.join(resultsDir, 'chat-phone-viewport.png') });
    await fitsPhone(page, 'chat-phone.png');
  });

  await t.test('settings: local only, and the cloud choices disabled with the reason', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await heading(page, 'Settings').waitFor();
    const localOnly = page.getByRole('radio', { name: 'Local only' });
    await localOnly.waitFor();
    assert.equal(await localOnly.isChecked(), true);
    assert.equal(await localOnly.isDisabled(), false, 'an admin may change the policy');
    for (const name of ['Local first, cloud as fallback', 'Cloud first']) assert.equal(await page.getByRole('radio', { name }).isDisabled(), true, `${name} is disabled`);
    await page.getByText(/CLOUD_LLM_URL/).waitFor();
    await page.getByText('Not installed', { exact: true }).first().waitFor();
    await page.getByRole('cell', { name: 'Language model' }).waitFor();
    await page.getByText('npm run models -- --profile small', { exact: true }).waitFor();
    await page.screenshot({ path: path.join(resultsDir, 'chat-settings.png'), fullPage: true });
    await fitsPhone(page, 'chat-settings-phone.png');
  });

  await t.test("usage: today's bar and a row for the person who asked", async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).click();
    await heading(page, 'Usage').waitFor();
    const bar = page.locator(`rect.chart-bar[data-key="${today()}"]`);
    await bar.waitFor({ state: 'attached' });
    assert.ok(Number(await bar.getAttribute('height')) > 0, "today's bar has a height");
    assert.match((await page.getByRole('img').getAttribute('aria-label')) ?? '', /messages per day .*: 2 in total/);
    const row = page.getByRole('table', { name: 'Usage by user' }).getByRole('row', { name: new RegExp(OWNER.name) });
    await row.waitFor();
    assert.equal(await row.getByRole('cell').nth(1).textContent(), '2', 'two messages');
    await page.screenshot({ path: path.join(resultsDir, 'chat-usage.png'), fullPage: true });
    await fitsPhone(page, 'chat-usage-phone.png');
  });

  await t.test('a viewer reads the policy but cannot change it, and has no usage page', async () => {
    const created = await owner.post('/api/v1/users', { email: 'vic@riverside.test', name: 'Vic Viewer', role: 'viewer', password: 'viewer password 1234' });
    assert.equal(created.status, 201, created.text);
    const viewer = await signedIn(server.url, 'vic@riverside.test', 'viewer password 1234');
    const [cookieName, cookieValue] = (viewer.cookie ?? '').split('=');
    await context.clearCookies();
    await context.addCookies([{ name: cookieName ?? '', value: cookieValue ?? '', url: server.url }]);
    await page.goto(`${server.url}/settings`);
    await heading(page, 'Settings').waitFor();
    assert.equal(await page.getByRole('radio', { name: 'Local only' }).isDisabled(), true);
    // Each section of the page says so for itself (engine policy, limits, retention…).
    await page.getByText(/Only admins can change it\./).first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Settings', 'Usage']) assert.equal(await nav.getByRole('link', { name }).count(), 0, `no ${name} link for a viewer`);
    await page.goto(`${server.url}/usage`);
    await heading(page, 'Not available for your role').waitFor();
  });

  await t.test('no script errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
