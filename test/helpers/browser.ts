import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Client } from './client.ts';

/** Screenshots land here (gitignored), for people to look at. */
export const resultsDir = path.resolve(import.meta.dirname, '../../test-results');

/**
 * Debian's Chromium, headless. Background networking off: this machine's closed network refuses
 * those connections, and the tests must not depend on anything but the server under test.
 */
export async function launchBrowser(): Promise<Browser> {
  await mkdir(resultsDir, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name });

/** A browser context already signed in as `client`, recording script errors and CSP violations. */
export async function openAs(browser: Browser, client: Client, baseUrl: string, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const [name, value] = (client.cookie ?? '').split('=');
  await context.addCookies([{ name: name ?? '', value: value ?? '', url: baseUrl }]);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console: ${msg.text()}`);
  });
  return { context, page, problems };
}
