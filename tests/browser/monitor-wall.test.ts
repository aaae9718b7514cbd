/**
 * The wall screen (`monitor` role) in a real Chromium (issue #18): it sees Live and Alarms only, no
 * acknowledgement, no idle warning; a forced door turns its panel red and shows the banner without
 * reload; with names masked nobody's name reaches the screen; bound to another address, its login
 * is refused in words.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimBoard } from '../../hardware/index.js';
import { PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

describe('the wall screen in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let monitorId: string;

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const r = d.controller.registry;
    const at = d.controller.now();
    const p = r.addPerson({ displayId: 'S-1802', name: '壁面 次郎', category: 'staff' }, 'test', at);
    r.addBadge({ personId: p.id, credential: '0A1B2C1802' }, 'test', at);
    r.grantDoor(p.id, 'machine-room', 'always', 'test', at);
    monitorId = d.controller.db
      .prepare<[], { id: string }>("SELECT id FROM dashboard_users WHERE username = 'monitor1'")
      .get()!.id;
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  it('watches Live and Alarms only; a forced door shows red without reload; names can be masked', async () => {
    const users = d.controller.db;
    users.prepare('UPDATE dashboard_users SET mask_names = 1 WHERE id = ?').run(monitorId);
    expect(d.controller.simulateBadge('entry', '0A1B2C1802').decision.granted).toBe(true);
    const ctx = await newContext(browser, { locale: 'ja-JP', width: 1920, height: 1080 });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, 'monitor1', PASSWORD, '/');
    const nav = await page
      .locator('nav.main-nav a')
      .evaluateAll((as) => as.map((a) => (a as unknown as { dataset: { nav: string } }).dataset.nav));
    expect(nav).toEqual(['live', 'alarms']);
    expect(await page.locator('body').getAttribute('data-idle-ms')).toBeNull();
    expect(await page.locator('#main').textContent()).not.toContain('壁面 次郎');
    expect(await page.locator('#main').textContent()).toContain('（非表示）');
    await expect.poll(() => page.locator('#live-indicator.on').count()).toBe(1);
    await expect.poll(() => d.controller.status().doors[0]!.locked, { timeout: 10_000 }).toBe(true);
    const board = d.controller.board as SimBoard;
    board.simulate('machine-room.contact', true);
    board.simulate('machine-room.contact', false);
    const door = page.locator('section.door[data-door="machine-room"]');
    await expect.poll(() => door.getAttribute('class'), { timeout: 10_000 }).toContain('alarm-active');
    await expect.poll(() => page.locator('#alarm-banner').isVisible()).toBe(true);
    // The live-updated page says who by their role, never by name (also in the announcement).
    const text = (await page.locator('body').textContent()) ?? '';
    expect(text).toContain('職員（氏名非表示）がカードでマシン室に入室しました');
    expect(text).not.toContain('壁面 次郎');
    expect(text).not.toContain('S-1802');
    // No acknowledgement on the wall: neither here nor on the Alarms page.
    expect(await page.locator('input[name="comment"]').count()).toBe(0);
    await page.goto(`${base}/alarms`);
    expect(await page.locator('#active-alarms li[data-alarm]').count()).toBe(1);
    expect(await page.locator('input[name="comment"]').count()).toBe(0);
    // Another page is refused.
    const log = await page.goto(`${base}/log`);
    expect(log?.status()).toBe(403);
    expect(errors.filter((e) => !e.includes('403'))).toEqual([]);
    await ctx.close();
    users.prepare('UPDATE dashboard_users SET mask_names = 0 WHERE id = ?').run(monitorId);
  });

  it('bound to another screen, its login is refused in words', async () => {
    d.controller.db
      .prepare("UPDATE dashboard_users SET monitor_address = '10.0.0.5' WHERE id = ?")
      .run(monitorId);
    const ctx = await newContext(browser, { locale: 'ja-JP' });
    const page = await ctx.newPage();
    await page.goto(`${base}/login`);
    await page.fill('input[name="username"]', 'monitor1');
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('#login-form button[type="submit"]');
    await expect
      .poll(() => page.locator('.form-error').textContent())
      .toContain('登録された端末のアドレスからのみ利用できます');
    expect(d.controller.journal.query({ types: ['monitor_refused'], limit: 1 })[0]?.data).toMatchObject({
      username: 'monitor1',
      during: 'login',
    });
    await ctx.close();
  });
});
