// End-to-end checks of the web console in real Chromium against the real server. The first test
// is the core journey: first-run setup, sign out/in, and the API key lifecycle proven by calling
// the API with the key the page showed. The second covers the remaining admin pages.
// Needs a built console (`node scripts/build-web.ts`; `npm test` does it) and /usr/bin/chromium.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { startTestServer } from '../helpers/server.ts';
import { heading, launchBrowser, resultsDir } from '../helpers/browser.ts';

const ORG = 'Acme Research';
const NAME = 'Ada Admin';
const EMAIL = 'ada@example.org';
const PASSWORD = 'correct horse battery staple';

let browser: Browser;

before(async () => {
  browser = await launchBrowser();
});

after(() => browser?.close());

/** A fresh server and a desktop-sized page on it that records script errors and CSP violations. */
async function openConsole(t: TestContext, env?: Record<string, string>) {
  const server = await startTestServer(env ? { env } : {});
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  t.after(async () => {
    await context.close();
    await server.close();
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const page = await context.newPage();
  page.setDefaultTimeout(5000);
  // Chromium also logs every non-2xx fetch ("Failed to load resource"); these flows provoke some.
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console: ${msg.text()}`);
  });
  return { server, page, problems };
}

const isFocused = (page: Page, selector: Parameters<Page['locator']>[0]) => page.locator(selector).evaluate((el) => el === document.activeElement);
const navLink = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
const toast = (page: Page, text: string | RegExp) => page.getByRole('status').getByText(text).waitFor();

async function fillSetup(page: Page) {
  await page.getByLabel('Organisation name').fill(ORG);
  await page.getByLabel('Your name').fill(NAME);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create organisation and account' }).click();
}

async function signIn(page: Page, password: string) {
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut(page: Page) {
  const menuButton = page.getByRole('button', { name: /account menu/ });
  await menuButton.click();
  assert.equal(await menuButton.getAttribute('aria-expanded'), 'true');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await heading(page, 'Sign in').waitFor();
}

test('web console: setup, sign-in, API key lifecycle and phone layout', async (t) => {
  const { server, page, problems } = await openConsole(t);
  const callMe = (key: string) => fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${key}` } });

  await t.test('a fresh instance sends the first visitor to setup', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForURL('**/setup');
    await heading(page, 'Set up Lectern').waitFor();
    assert.ok(await isFocused(page, 'h1'), 'focus starts on the page heading');
  });

  await t.test('setup validates on the client and keeps what was typed', async () => {
    await page.getByLabel('Organisation name').fill(ORG);
    await page.getByLabel('Password').fill('too short');
    await page.getByRole('button', { name: 'Create organisation and account' }).click();
    const name = page.getByLabel('Your name');
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    assert.ok(await name.evaluate((el) => el === document.activeElement), 'focus moves to the first invalid field');
    const describedBy = (await page.getByLabel('Password').getAttribute('aria-describedby')) ?? '';
    const messages = await Promise.all(describedBy.split(' ').map((id) => page.locator(`[id="${id}"]`).textContent()));
    assert.ok(messages.includes('Use at least 12 characters.'), `password message via aria-describedby, got ${JSON.stringify(messages)}`);
    assert.equal(await page.getByLabel('Organisation name').inputValue(), ORG);
  });

  await t.test('completing setup signs the owner in', async () => {
    await fillSetup(page);
    await heading(page, `Welcome, ${NAME}`).waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    await page.getByRole('banner').getByText(ORG).waitFor();
    await page.screenshot({ path: path.join(resultsDir, 'desktop-home.png') });
  });

  await t.test('signing out through the user menu', async () => {
    await signOut(page);
    assert.equal(new URL(page.url()).pathname, '/login');
  });

  await t.test('a wrong password is refused without clearing the form, the right one signs in', async () => {
    await signIn(page, 'not the password at all');
    await page.getByRole('alert').getByText('The email or password is not correct.').waitFor();
    assert.equal(await page.getByLabel('Email').inputValue(), EMAIL);
    await signIn(page, PASSWORD);
    await heading(page, `Welcome, ${NAME}`).waitFor();
  });

  let key = '';

  await t.test('an API key is created and shown once with a copy button', async () => {
    await navLink(page, 'API keys').click();
    await heading(page, 'API keys').waitFor();
    assert.ok(await isFocused(page, 'h1'), 'navigation moves focus to the new heading');

    // Escape closes a dialog and focus returns to the button that opened it.
    const create = page.getByRole('button', { name: 'Create API key' });
    await create.click();
    const dialog = page.getByRole('dialog', { name: 'Create API key' });
    assert.ok(await dialog.getByLabel('Name').evaluate((el) => el === document.activeElement), 'focus moves into the dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.ok(await create.evaluate((el) => el === document.activeElement), 'focus returns to the opener');

    await create.click();
    await dialog.getByLabel('Name').fill('ci');
    await dialog.getByLabel('Role').selectOption('viewer');
    await dialog.getByRole('button', { name: 'Create key' }).click();

    const shown = page.getByRole('dialog', { name: 'API key “ci” created' });
    await shown.getByText('You will not see it again').waitFor();
    key = ((await shown.locator('#new-api-key').textContent()) ?? '').trim();
    assert.ok(key.length >= 20, `a plausible key is shown, got ${JSON.stringify(key)}`);

    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByRole('status').getByText(/Copied|Selected/).waitFor();
    await page.screenshot({ path: path.join(resultsDir, 'desktop-api-key-created.png') });
    await shown.getByRole('button', { name: 'Done' }).click();
    await shown.waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: 'ci', exact: true }).waitFor();
  });

  await t.test('the key authenticates against the API', async () => {
    const res = await callMe(key);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { organisation: { name: string } };
    assert.equal(body.organisation.name, ORG);
  });

  await t.test('revoking the key in the console makes the API refuse it', async () => {
    await page.getByRole('button', { name: 'Revoke ci' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke “ci”?' });
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await confirm.waitFor({ state: 'detached' });
    await page.getByText('No active API keys.').waitFor();
    await toast(page, 'The key “ci” no longer works.');
    assert.equal((await callMe(key)).status, 401);
  });

  await t.test('on a phone the navigation sits behind a menu button', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const toggle = page.getByRole('button', { name: 'Menu', exact: true });
    const auditLink = navLink(page, 'Audit log');
    await toggle.waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await auditLink.isVisible(), false, 'nav links are collapsed');
    await page.screenshot({ path: path.join(resultsDir, 'phone-api-keys.png') });

    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await auditLink.waitFor({ state: 'visible' });
    await page.screenshot({ path: path.join(resultsDir, 'phone-nav-open.png') });

    await auditLink.click();
    await heading(page, 'Audit log').waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false', 'following a link closes the menu');
    await page.getByRole('cell', { name: /Revoke API key/ }).first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal page scroll on a phone (overflow ${overflow}px)`);
    await page.screenshot({ path: path.join(resultsDir, 'phone-audit.png'), fullPage: true });
  });

  await t.test('the audit log filters by action and exports what it shows', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByLabel('Action', { exact: true }).selectOption('apikey.revoke');
    await page.getByText('Showing 1 entry, all there are.').waitFor();
    const table = page.getByRole('table', { name: 'Audit log entries' });
    assert.equal(await table.getByRole('row').count(), 2, 'the header and the one revocation');
    await table.getByRole('cell', { name: /Revoke API key/ }).waitFor();
    await page.screenshot({ path: path.join(resultsDir, 'desktop-audit.png') });
    const href = (await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')) ?? '';
    assert.match(href, /format=csv/);
    assert.match(href, /action=apikey\.revoke/);
    // The link is what the browser downloads, with the session cookie.
    const csv = await page.context().request.get(server.url + href);
    assert.equal(csv.status(), 200);
    assert.equal((await csv.text()).trimEnd().split('\r\n').length, 2, 'the header and the one revocation');
  });

  await t.test('no script errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});

test('web console: setup token, users, organisations, password change and sign-in throttling', async (t) => {
  const SETUP_TOKEN = 'a-setup-token-for-the-test';
  const { server, page, problems } = await openConsole(t, { SETUP_TOKEN, LOGIN_MAX_FAILURES_PER_ACCOUNT: '1' });
  const NEW_PASSWORD = 'an even longer passphrase';

  await t.test('setup asks for the token when the operator configured one', async () => {
    await page.goto(`${server.url}/users`);
    await heading(page, 'Set up Lectern').waitFor();
    await fillSetup(page);
    const token = page.getByLabel('Setup token');
    await token.waitFor();
    assert.ok(await token.evaluate((el) => el === document.activeElement), 'focus moves to the new field');
    assert.equal(await page.getByLabel('Organisation name').inputValue(), ORG, 'typed values survive the error');
    await token.fill(SETUP_TOKEN);
    await page.getByRole('button', { name: 'Create organisation and account' }).click();
    await heading(page, `Welcome, ${NAME}`).waitFor();
  });

  await t.test('users: add, change role, disable, delete', async () => {
    await navLink(page, 'Users').click();
    await heading(page, 'Users').waitFor();
    await page.getByRole('button', { name: 'Add user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await dialog.getByLabel('Name').fill('Bob Builder');
    await dialog.getByLabel('Email').fill('bob@example.org');
    await dialog.getByLabel('Role').selectOption('editor');
    await dialog.getByLabel('Initial password').fill('bob password 123');
    await dialog.getByRole('button', { name: 'Add user' }).click();
    await dialog.waitFor({ state: 'detached' });
    await toast(page, 'Bob Builder can now sign in as editor.');

    await page.getByLabel('Role of Bob Builder').selectOption('admin');
    await toast(page, 'Bob Builder is now admin.');
    await page.getByRole('button', { name: 'Disable Bob Builder' }).click();
    await page.getByRole('button', { name: 'Enable Bob Builder' }).waitFor();
    await page.getByRole('row', { name: /Bob Builder/ }).getByText('Disabled').waitFor();
    await page.screenshot({ path: path.join(resultsDir, 'desktop-users.png') });

    await page.getByRole('button', { name: 'Delete Bob Builder' }).click();
    await page.getByRole('dialog', { name: 'Delete Bob Builder?' }).getByRole('button', { name: 'Delete user' }).click();
    await page.getByRole('row', { name: /Bob Builder/ }).waitFor({ state: 'detached' });
  });

  await t.test('organisations: the instance owner creates one with its admin', async () => {
    await navLink(page, 'Organisations').click();
    await page.getByRole('button', { name: 'Create organisation' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create organisation' });
    await dialog.getByLabel('Organisation name').fill('Beta Labs');
    await dialog.getByLabel('Name', { exact: true }).fill('Bea Beta');
    await dialog.getByLabel('Email').fill('bea@example.org');
    await dialog.getByLabel('Initial password').fill('bea password 1234');
    await dialog.getByRole('button', { name: 'Create organisation' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('row', { name: /Beta Labs/ }).waitFor();
  });

  await t.test('account: password change reports a wrong current password, then succeeds', async () => {
    await navLink(page, 'Account').click();
    await page.getByLabel('Current password').fill('this is not it at all');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('alert').getByText('The current password is not correct.').waitFor();
    assert.equal(await page.getByLabel('Current password').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('New password', { exact: true }).inputValue(), NEW_PASSWORD);

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await toast(page, 'Password changed. Your other sessions were signed out.');
    assert.equal(await page.getByLabel('New password', { exact: true }).inputValue(), '');
    // The fresh cookie issued with the change keeps this browser signed in.
    await page.reload();
    await heading(page, 'Account').waitFor();
  });

  await t.test('repeated failed sign-ins are throttled with a wait time', async () => {
    await signOut(page);
    await signIn(page, PASSWORD);
    await page.getByRole('alert').getByText('The email or password is not correct.').waitFor();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText(/^Too many attempts, try again in \d+ seconds?\.$/).waitFor();
  });

  await t.test('no script errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
