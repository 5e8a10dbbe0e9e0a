/**
 * Finds and launches the Chromium the browser tests run in: Debian's package (`/usr/bin/chromium`,
 * or `X_CHROMIUM`), never a downloaded browser build.
 *
 * @module
 */

import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's `chromium` package installs the browser. */
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * The Chromium executable: `X_CHROMIUM` when set (CI's `.ci/setup/30-chromium.sh` exports it), else
 * `/usr/bin/chromium`; `undefined` when that file is not an executable.
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env['X_CHROMIUM'] || DEBIAN_CHROMIUM;
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

/**
 * Whether the browser tests run here: always under CI (where a missing Chromium must fail them, not
 * skip them), elsewhere only when Chromium is installed.
 */
export function browserTestsRun(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env['CI']) || chromiumPath(env) !== undefined;
}

/**
 * Launches headless Chromium through `playwright-core` at {@link chromiumPath}. Throws, naming the
 * path it looked at and how to install the browser, when there is none. As root Chromium needs
 * `--no-sandbox`.
 */
export async function launchChromium(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  const executablePath = chromiumPath(env);
  if (executablePath === undefined) {
    throw new Error(
      `no Chromium at ${env['X_CHROMIUM'] || DEBIAN_CHROMIUM}: install Debian's package (apt-get install chromium) or set X_CHROMIUM`,
    );
  }
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({ executablePath, headless: true, args: root ? ['--no-sandbox'] : [] });
}
