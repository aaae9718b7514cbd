/**
 * Reviewing config changes in a real Chromium: the Compliance page's config row needs review and
 * links to the Config changes page; the person who started the controller sees why they may not
 * acknowledge (no form); another administrator acknowledges with a note, and the row turns OK.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDash, PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { launchChromium, loginAs, newContext, stopBrowserDash, watchErrors } from '../helpers/browser.js';

const ROW = 'tr[data-clause="§8(1)① §8(3)②"]';

describe('config changes in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    // Started by manager1 (through sudo on the device): the baseline is theirs.
    d = await makeDash({
      server: { loginLimits: { clientFreeFailures: 1000 } },
      startedBy: 'cli:manager1/root',
    });
    base = await d.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  async function pageFor(username: string, locale: 'ja-JP' | 'en-US') {
    const ctx = await newContext(browser, { locale });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, username, PASSWORD, '/compliance');
    return { page, errors };
  }

  it('the starter is told why not; another administrator acknowledges, and Compliance turns OK', async () => {
    const starter = await pageFor('manager1', 'ja-JP');
    expect(await starter.page.locator(`${ROW} .tag`).textContent()).toBe('要確認');
    await starter.page.click(`${ROW} a[href="/config-changes"]`);
    await starter.page.waitForURL(`${base}/config-changes`);
    const card = starter.page.locator('section[data-config-seq]');
    expect(await card.count()).toBe(1);
    expect(await card.getAttribute('data-status')).toBe('needs-review');
    expect(await card.locator('[data-refusal="started"]').textContent()).toContain(
      '別の人が確認してください',
    );
    expect(await card.locator('form').count()).toBe(0);
    expect(await card.locator('tr[data-path="holidays"]').count()).toBe(1);
    expect(starter.errors).toEqual([]);

    const other = await pageFor('admin1', 'en-US');
    expect(await other.page.locator(`${ROW} .tag`).textContent()).toBe('Attention');
    await other.page.goto(`${base}/config-changes`);
    const form = other.page.locator('section[data-config-seq] form');
    await form.locator('input[name="note"]').fill('baseline checked against the design document');
    await Promise.all([other.page.waitForEvent('load'), form.locator('button[type="submit"]').click()]);
    expect(await other.page.locator('section[data-config-seq]').getAttribute('data-status')).toBe(
      'acknowledged',
    );
    expect(await other.page.locator('section[data-config-seq]').textContent()).toContain(
      'baseline checked against the design document',
    );
    await other.page.goto(`${base}/compliance`);
    expect(await other.page.locator(`${ROW} .tag`).textContent()).toBe('OK');
    expect(other.errors).toEqual([]);

    const [ack] = d.controller.journal.query({ types: ['config_change_acknowledged'], limit: 1 });
    expect(ack).toMatchObject({
      actor: 'user:admin1',
      data: { note: 'baseline checked against the design document' },
    });
  });
});
