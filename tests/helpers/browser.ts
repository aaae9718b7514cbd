/**
 * Debian's Chromium driven by playwright-core (no browser download). One browser per test file;
 * a fresh context (cookies, language) per test.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { makeDash, type TestDash } from '../dashboards/helpers.js';

export const CHROMIUM = process.env.SEKISHO_CHROMIUM ?? '/usr/bin/chromium';

export function haveChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** `extraArgs`: more command-line switches (e.g. the certificate to trust, host resolver rules). */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
      ...extraArgs,
    ],
  });
}

export async function newContext(
  browser: Browser,
  opts: { locale?: 'ja-JP' | 'en-US'; width?: number; height?: number } = {},
): Promise<BrowserContext> {
  const locale = opts.locale ?? 'ja-JP';
  return await browser.newContext({
    locale,
    extraHTTPHeaders: { 'accept-language': locale === 'ja-JP' ? 'ja,en;q=0.5' : 'en-US,en;q=0.9' },
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
    timezoneId: 'Asia/Tokyo',
  });
}

/** Logs in through the login page and waits for the page it leads to. */
export async function loginAs(
  page: Page,
  base: string,
  username: string,
  password: string,
  next = '/',
): Promise<void> {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login')),
    page.click('#login-form button[type="submit"]'),
  ]);
}

/**
 * Collects script errors and console errors (a CSP violation is one), so a test can assert there
 * were none. Answers 401/403/409 are part of the flows under test and not counted.
 */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (/Failed to load resource: the server responded with a status of 40[139]/.test(m.text())) return;
    errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/**
 * A dashboard listening on a free port of 127.0.0.1 and a Chromium to drive it. Every login comes
 * from that one address: its delay after failed logins is lifted (tested in auth.test.ts).
 */
export async function startBrowserDash(): Promise<{ d: TestDash; base: string; browser: Browser }> {
  const d = await makeDash({ server: { loginLimits: { clientFreeFailures: 1000 } } });
  const base = await d.app.listen({ host: '127.0.0.1', port: 0 });
  return { d, base, browser: await launchChromium() };
}

/** Closes what startBrowserDash started (either may be missing when it failed half-way). */
export async function stopBrowserDash(s: { d?: TestDash; browser?: Browser }): Promise<void> {
  await s.browser?.close();
  await s.d?.close();
}
