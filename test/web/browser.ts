// The real browser for the web view's tests: Debian's chromium driven by playwright-core (no
// browser download). Missing chromium is a failing test under CI=true and a printed skip
// elsewhere, never a silent pass.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface UvuTest {
  (name: string, fn: () => void | Promise<void>): void;
  skip(name: string, fn?: () => void | Promise<void>): void;
}

export function requireChromium(test: UvuTest): boolean {
  if (existsSync(CHROMIUM)) return true;
  const why = `${CHROMIUM} not found (apt-get install chromium; .ci/run installs it)`;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    test(`chromium is available: ${why}`, () => {
      throw new Error(why);
    });
  } else {
    console.log(`SKIP (browser tests): ${why}`);
    test.skip(`chromium is available: ${why}`);
  }
  return false;
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in CI needs --no-sandbox; the rest keeps chromium off the (closed) network.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
