import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

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
