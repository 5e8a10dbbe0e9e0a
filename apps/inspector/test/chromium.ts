/**
 * The Chromium the browser tests drive: `X_CHROMIUM` (set by CI's setup step) or Debian's
 * `/usr/bin/chromium`. Missing under CI is a failure, not a skip.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Path of the Chromium binary. */
export const CHROMIUM = process.env.X_CHROMIUM ?? '/usr/bin/chromium';

/** Whether the tests run: always under CI (and then fail when Chromium is missing), else when it is installed. */
export const RUN_BROWSER_TESTS = process.env.CI !== undefined || existsSync(CHROMIUM);

/** Headless Chromium without the sandbox (CI runs as root). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (.ci/setup/30-chromium.sh) or set X_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}
