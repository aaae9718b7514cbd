/**
 * The dashboard over HTTPS in a real Chromium, with a certificate made by the installer's own
 * script (scripts/make-cert.sh): refused by a browser that does not trust it; trusted by its public
 * key (--ignore-certificate-errors-spki-list, the SPKI hash of that certificate only), the login
 * gives a Secure, HttpOnly, SameSite=Strict cookie, the Live page's event stream runs over TLS, a
 * change (logging out: CSRF token and Origin) goes through; and a DNS-rebound name is refused.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certInfo, LOOPBACK_NAMES } from '../../controller/dashboard-transport.js';
import { HostNames } from '../../dashboards/hosts.js';
import { makeDash, PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { launchChromium, loginAs, newContext, watchErrors } from '../helpers/browser.js';
import { ROOT, tempDir } from '../helpers/util.js';

const REBOUND = 'rebind.attacker.example';

describe('the dashboard over HTTPS in Chromium', () => {
  let d: TestDash;
  let base: string;
  let trusting: Browser;
  let spki: string;

  beforeAll(async () => {
    const dir = tempDir('sekisho-tls-');
    const cert = join(dir, 'dashboard.crt');
    const key = join(dir, 'dashboard.key');
    const made = spawnSync(
      'bash',
      [
        join(ROOT, 'scripts/make-cert.sh'),
        '--cert',
        cert,
        '--key',
        key,
        '--name',
        'localhost',
        '--ip',
        '127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    expect(made.status, made.stderr).toBe(0);
    spki = certInfo(readFileSync(cert)).spki256;
    d = await makeDash({
      server: {
        https: { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') },
        hostnames: new HostNames(LOOPBACK_NAMES),
        loginLimits: { clientFreeFailures: 1000 },
      },
    });
    base = await d.app.listen({ host: '127.0.0.1', port: 0 });
    trusting = await launchChromium([
      `--ignore-certificate-errors-spki-list=${spki}`,
      // The attacker's name resolves to this controller, as after a DNS rebinding.
      `--host-resolver-rules=MAP ${REBOUND} 127.0.0.1`,
    ]);
  });
  afterAll(async () => {
    await trusting?.close();
    await d?.close();
  });

  it('listens on https', () => {
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('is refused by a Chromium that does not trust the certificate', async () => {
    const plain = await launchChromium();
    try {
      const page = await (await newContext(plain)).newPage();
      await expect(page.goto(`${base}/login`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await plain.close();
    }
  });

  it('logs in over TLS with a Secure cookie; the Live page and a change work', async () => {
    const ctx = await newContext(trusting, { locale: 'en-US' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, 'manager1', PASSWORD, '/');
    expect(new URL(page.url()).protocol).toBe('https:');
    const cookies = await ctx.cookies(base);
    const session = cookies.find((c) => c.name === 'sekisho_session');
    expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' });
    // The live event stream runs over the same TLS connection setup.
    await expect.poll(() => page.locator('#live-indicator').getAttribute('class')).toContain('on');
    expect(await page.locator('#logout').textContent()).toBe('Log out');
    // A change: the logout call carries the CSRF token, and the browser's Origin is https://127.0.0.1:port.
    await Promise.all([page.waitForURL(/\/login/), page.click('#logout')]);
    expect((await ctx.cookies(base)).find((c) => c.name === 'sekisho_session')?.value ?? '').toBe('');
    expect(d.controller.journal.query({ types: ['logout'], limit: 1 })).toHaveLength(1);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('refuses the page under a DNS-rebound name (421), so its script cannot use a session', async () => {
    const ctx = await newContext(trusting, { locale: 'ja-JP' });
    const page = await ctx.newPage();
    const port = new URL(base).port;
    const res = await page.goto(`https://${REBOUND}:${port}/login`);
    expect(res?.status()).toBe(421);
    expect(await page.locator('.notice').textContent()).toContain(
      'このアドレス（ホスト名）ではダッシュボードを開けません',
    );
    const api = await page.evaluate(async () => (await fetch('/api/status')).status);
    expect(api).toBe(421);
    await ctx.close();
  });
});
