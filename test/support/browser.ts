/**
 * Headless Chromium for end-to-end page tests: Debian's `chromium` (/usr/bin/chromium) driven by
 * playwright-core, which downloads no browser of its own. Missing, the tests skip with a visible
 * reason; under CI=true (where .ci/run installs it) they fail instead, like PostgreSQL's.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { requirement } from './env.js';

export const CHROMIUM = process.env['KMIP_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function chromiumSkipReason(): string | undefined {
  return requirement(`Chromium at ${CHROMIUM}`, executable(CHROMIUM), 'install it: apt-get install -y chromium');
}

/**
 * One headless browser, shut off from everything but what the test opens: no sandbox (tests run as
 * root in containers), no GPU, no background or update traffic (the suite stays on loopback).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'],
    timeout: 60_000,
  });
}
