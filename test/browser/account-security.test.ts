// Account security in real Chromium against the real server (#10, control 1): setting up
// two-step sign-in from the account page (QR code and key, a code generated here from the key the
// page showed, recovery codes shown once), signing out and back in with a code; an admin's
// password reset shown once and the forced change of password it leads to; and an organisation
// that requires two-step sign-in sending a member straight to setting it up.
// Needs a built console (`node scripts/build-web.ts`; `npm test` does it) and /usr/bin/chromium.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { decodeTotpKey, totpCodeAt } from '../../server/auth/totp.ts';
import { OWNER, setUp } from '../helpers/client.ts';
import { heading, launchBrowser, openAs, resultsDir } from '../helpers/browser.ts';
import { startTestServer } from '../helpers/server.ts';

const MEMBER = { email: 'mo@riverside.test', name: 'Mo Member', password: 'a sufficiently long password' };
const NEW_PASSWORD = 'lanterns over the quiet harbour';

let browser: Browser;

before(async () => {
  browser = await launchBrowser();
});

after(() => browser?.close());

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut(page: Page, name: string) {
  await page.getByRole('button', { name: `${name}, account menu` }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await heading(page, 'Sign in').waitFor();
}

test('account security: two-step sign-in, password reset, required two-step sign-in', async (t) => {
  const server = await startTestServer();
  const { owner } = await setUp(server.url);
  const created = await owner.post('/api/v1/users', { ...MEMBER, role: 'editor' });
  assert.equal(created.status, 201);
  const { context, page, problems } = await openAs(browser, owner, server.url);
  t.after(async () => {
    await context.close();
    await server.close();
  });

  let key: Uint8Array = new Uint8Array();

  await t.test('sets up two-step sign-in on the account page with a code from the key it shows', async () => {
    await page.goto(`${server.url}/account`);
    await heading(page, 'Account').waitFor();
    const section = page.getByRole('region', { name: 'Two-step sign-in' });
    await section.getByRole('button', { name: 'Set up two-step sign-in' }).click();
    await section.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    await page.screenshot({ path: path.join(resultsDir, 'account-totp-setup.png'), fullPage: true });
    const secret = ((await section.locator('#totp-key').textContent()) ?? '').replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/, `the key is shown for typing in, got ${JSON.stringify(secret)}`);
    key = decodeTotpKey(secret);

    await section.getByLabel('Code from the app').fill(totpCodeAt(key, Date.now()));
    await section.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    const codes = section.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await codes.first().waitFor();
    assert.equal(await codes.count(), 10);
    assert.match((await codes.first().textContent()) ?? '', /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    await page.screenshot({ path: path.join(resultsDir, 'account-recovery-codes.png') });
    await section.getByRole('button', { name: 'I have saved my recovery codes' }).click();
    await section.getByText('Recovery codes left').waitFor();
    await section.getByText('10 of 10').waitFor();
  });

  await t.test('signing in again takes the password, then a code', async () => {
    await signOut(page, OWNER.name);
    await signIn(page, OWNER.email, OWNER.password);
    await heading(page, 'Two-step sign-in').waitFor();
    const wrong = String((Number(totpCodeAt(key, Date.now() + 30_000)) + 1) % 1_000_000).padStart(6, '0');
    await page.getByLabel('Authentication code').fill(wrong);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The code is not correct, or was already used.').waitFor();
    // The step after the one that confirmed the setup: a code never used before.
    await page.getByLabel('Authentication code').fill(totpCodeAt(key, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back where they signed out from.
    await heading(page, 'Account').waitFor();
    await page.getByRole('region', { name: 'Two-step sign-in' }).getByText('10 of 10').waitFor();
  });

  let temporary = '';

  await t.test('an admin resets a member’s password and sees the temporary one once', async () => {
    await page.goto(`${server.url}/users`);
    await heading(page, 'Users').waitFor();
    await page.getByRole('button', { name: `Reset password of ${MEMBER.name}` }).click();
    const dialog = page.getByRole('dialog', { name: `Reset the password of ${MEMBER.name}?` });
    await dialog.getByRole('button', { name: 'Reset password' }).click();
    const shown = page.getByRole('dialog', { name: `Password of ${MEMBER.name} reset` });
    await shown.getByText('You will not see it again').waitFor();
    temporary = ((await shown.locator('#temporary-password').textContent()) ?? '').trim();
    assert.match(temporary, /^[a-z2-7]{4}(-[a-z2-7]{4}){4}$/);
    await shown.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('row', { name: new RegExp(MEMBER.name) }).getByText('Password reset').waitFor();
  });

  await t.test('the member must choose a new password before anything else', async () => {
    const member = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.after(() => member.close());
    const memberPage = await member.newPage();
    memberPage.setDefaultTimeout(10_000);
    await memberPage.goto(`${server.url}/kbs`);
    await signIn(memberPage, MEMBER.email, temporary);
    await heading(memberPage, 'Choose a new password').waitFor();
    assert.equal(await memberPage.getByRole('navigation', { name: 'Main' }).count(), 0, 'no way into the console yet');
    await memberPage.getByLabel('Temporary password').fill(temporary);
    await memberPage.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await memberPage.getByLabel('Repeat new password').fill(NEW_PASSWORD);
    await memberPage.getByRole('button', { name: 'Save new password' }).click();
    await memberPage.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  await t.test('where the organisation requires it, a member sets up two-step sign-in right after signing in', async () => {
    await page.goto(`${server.url}/settings`);
    await heading(page, 'Settings').waitFor();
    const signInRules = page.getByRole('region', { name: 'Sign-in' });
    await signInRules.getByLabel('Required for everyone').check();
    await signInRules.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').getByText(/will set it up the next time they sign in/).waitFor();

    const member = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.after(() => member.close());
    const memberPage = await member.newPage();
    memberPage.setDefaultTimeout(10_000);
    await memberPage.goto(`${server.url}/`);
    await signIn(memberPage, MEMBER.email, NEW_PASSWORD);
    await heading(memberPage, 'Set up two-step sign-in').waitFor();
    await memberPage.getByRole('button', { name: 'Start' }).click();
    const memberKey = decodeTotpKey(((await memberPage.locator('#totp-key').textContent()) ?? '').replace(/\s+/g, ''));
    await memberPage.getByLabel('Code from the app').fill(totpCodeAt(memberKey, Date.now()));
    await memberPage.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    await memberPage.getByRole('button', { name: 'I have saved my recovery codes' }).click();
    await memberPage.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});

test('an address with accounts in two organisations picks one at sign-in', async (t) => {
  const server = await startTestServer();
  const { owner } = await setUp(server.url);
  // The same person, the same password, in a second organisation.
  const created = await owner.post('/api/v1/organisations', { name: 'Hilltop Practice', admin: { name: 'Ada at Hilltop', email: OWNER.email, password: OWNER.password } });
  assert.equal(created.status, 201);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  t.after(async () => {
    await context.close();
    await server.close();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${server.url}/login`);
  await signIn(page, OWNER.email, OWNER.password);
  await heading(page, 'Choose an organisation').waitFor();
  await page.getByRole('radio', { name: 'Hilltop Practice' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${server.url}/`);
  const me = (await (await page.request.get(`${server.url}/api/v1/me`)).json()) as { organisation: { name: string } };
  assert.equal(me.organisation.name, 'Hilltop Practice');
});
