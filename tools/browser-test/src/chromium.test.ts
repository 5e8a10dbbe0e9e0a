import { describe, expect, it } from 'vitest';
import { browserTestsRun, chromiumPath, launchChromium } from './chromium.js';

describe('finding Chromium', () => {
  it('X_CHROMIUM names the executable; a missing or non-executable file is no Chromium', () => {
    expect(chromiumPath({ X_CHROMIUM: process.execPath })).toBe(process.execPath);
    expect(chromiumPath({ X_CHROMIUM: '/nonexistent/chromium' })).toBeUndefined();
    expect(chromiumPath({ X_CHROMIUM: new URL(import.meta.url).pathname })).toBeUndefined(); // this file: not executable
  });

  it('under CI the browser tests always run (a missing Chromium fails them); elsewhere only with a Chromium', () => {
    expect(browserTestsRun({ CI: 'true', X_CHROMIUM: '/nonexistent/chromium' })).toBe(true);
    expect(browserTestsRun({ X_CHROMIUM: '/nonexistent/chromium' })).toBe(false);
    expect(browserTestsRun({ X_CHROMIUM: process.execPath })).toBe(true);
  });

  it('launching without a Chromium fails, saying where it looked and how to install one', async () => {
    await expect(launchChromium({ X_CHROMIUM: '/nonexistent/chromium' })).rejects.toThrow(
      "no Chromium at /nonexistent/chromium: install Debian's package (apt-get install chromium) or set X_CHROMIUM",
    );
  });
});
