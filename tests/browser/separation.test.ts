/**
 * Separation of duties on the People page, in a real Chromium: the badge form files a request that
 * the person's page lists and another manager approves on the Requests page (issue #14, path 1);
 * acting alone with a break-glass reason takes effect at once and waits for another person's
 * review on the Requests page.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

describe('people page: widening is a request', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let person: { id: string };

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const r = d.controller.registry;
    const at = d.controller.now();
    person = r.addPerson({ displayId: 'S-1001', name: '山田 太郎', category: 'staff' }, 'test', at);
    r.grantDoor(person.id, 'machine-room', 'always', 'test', at);
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  async function pageFor(
    username: string,
    locale: 'ja-JP' | 'en-US',
  ): Promise<{ page: Page; errors: string[] }> {
    const ctx = await newContext(browser, { locale });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, username, PASSWORD, `/people/${person.id}`);
    return { page, errors };
  }

  it('the badge form files a request; the card opens nothing until another manager approves it', async () => {
    const { page, errors } = await pageFor('manager1', 'en-US');
    expect(await page.locator('#enrol-badge').textContent()).toContain(
      'take effect when a different person approves them',
    );
    await page.fill('#enrol-badge input[name="number"]', '0A1B2C3D4E');
    await page.fill('#enrol-badge input[name="reason"]', 'replacement card');
    await Promise.all([page.waitForLoadState('load'), page.click('#enrol-badge button[type="submit"]')]);
    await expect.poll(() => page.locator('#person-pending').textContent()).toContain('Badge enrolment');
    expect(d.controller.simulateBadge('entry', '0A1B2C3D4E').decision.granted).toBe(false);
    expect(errors).toEqual([]);
    await page.context().close();

    const other = await pageFor('manager2', 'ja-JP');
    await other.page.goto(`${base}/requests`);
    const row = other.page.locator('#pending-requests tr[data-request]').first();
    expect(await row.textContent()).toContain('カードの登録');
    await Promise.all([other.page.waitForLoadState('load'), row.locator('button[type="submit"]').click()]);
    await expect.poll(() => d.controller.simulateBadge('entry', '0A1B2C3D4E').decision.granted).toBe(true);
    expect(other.errors).toEqual([]);
    await other.page.context().close();
  });

  it('break-glass: acting alone takes effect at once and waits for another person’s review', async () => {
    const { page, errors } = await pageFor('manager1', 'ja-JP');
    await page.fill('#enrol-badge input[name="number"]', '0A1B2C3D77');
    await page.click('#enrol-badge details.break-glass summary');
    await page.fill(
      '#enrol-badge input[name="breakGlass.reason"]',
      '夜間の障害対応で担当者のカードが破損したため',
    );
    await Promise.all([page.waitForLoadState('load'), page.click('#enrol-badge button[type="submit"]')]);
    await expect.poll(() => d.controller.simulateBadge('entry', '0A1B2C3D77').decision.granted).toBe(true);
    expect(d.controller.activeAlarms().some((a) => a.type === 'break_glass')).toBe(true);
    // The one who acted is told another person reviews it; the other manager reviews it.
    // A page of its own: the form's page may still be reloading after its answer.
    const requests = await page.context().newPage();
    await requests.goto(`${base}/requests`);
    expect(await requests.locator('#break-glass-pending').textContent()).toContain('別の人が確認します');
    expect(errors).toEqual([]);
    await page.context().close();

    const other = await pageFor('manager2', 'en-US');
    await other.page.goto(`${base}/requests`);
    const review = other.page.locator('#break-glass-pending tr[data-review] form');
    await review.locator('input[name="note"]').fill('confirmed with the on-call log');
    await Promise.all([other.page.waitForLoadState('load'), review.locator('button[type="submit"]').click()]);
    await expect.poll(() => other.page.locator('#break-glass').textContent()).toContain('None');
    expect(other.errors).toEqual([]);
    await other.page.context().close();
  });
});
