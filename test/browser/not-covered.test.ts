// "Not in your documents" in the console (#13, items 1 and 2), in real Chromium against the real
// server with no language model installed: the chat says so before the first question (and an
// admin is told how to add one), and a question the documents do not answer gets the plain
// sentence with its closest passages under "Related, not an answer", not as sources.
// Needs a built console (`node scripts/build-web.ts`; `npm test` does it) and /usr/bin/chromium.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { setUp } from '../helpers/client.ts';
import { startTestServer } from '../helpers/server.ts';
import { launchBrowser, openAs } from '../helpers/browser.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

const HANDBOOK = 'Hand hygiene\n\nStaff wash their hands with soap for at least forty seconds before touching a patient. Alcohol rub may replace washing when hands are not visibly soiled.\n';

test('chat: no model said up front; an uncovered question is answered plainly with related passages', { timeout: 60_000 }, async (t) => {
  const server = await startTestServer();
  t.after(() => server.close());
  const { owner } = await setUp(server.url);
  const kb = (await owner.post('/api/v1/kbs', { name: 'Clinic handbook' })).json as { id: string };
  await owner.upload(kb.id, [{ name: 'hand-hygiene.txt', bytes: HANDBOOK, type: 'text/plain' }]);
  await owner.settle(kb.id);
  const { context, page, problems } = await openAs(browser, owner, server.url);
  t.after(() => context.close());
  await page.goto(`${server.url}/kbs/${kb.id}/chat`);

  const notice = page.getByRole('complementary', { name: 'No language model is installed.' });
  await notice.waitFor();
  assert.match(await notice.innerText(), /answers are quotes/);
  assert.match(await notice.innerText(), /npm run models -- --profile small/, 'the owner is told how to add one');
  assert.equal(await notice.getByRole('link', { name: 'the System page' }).getAttribute('href'), '/system');

  const box = page.getByLabel('Your question');
  await box.fill('What is the staff parking policy?');
  await box.press('Enter');
  const answer = page.locator('.turn .answer').last();
  await answer.locator('.answer-actions').waitFor();
  assert.match(await answer.locator('.answer-text').innerText(), /^Your documents don't cover that\.$/);
  assert.equal(await answer.locator('.answer-mode').innerText(), 'Not in your documents');
  assert.equal(await answer.getByRole('heading', { name: 'Sources' }).count(), 0, 'nothing is presented as a source');
  const related = answer.locator('.sources', { has: page.getByRole('heading', { name: 'Related, not an answer' }) });
  assert.equal(await related.getByRole('link', { name: 'hand-hygiene.txt' }).count(), 1);
  assert.deepEqual(problems, []);
});
