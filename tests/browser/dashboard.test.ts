/**
 * The dashboard in a real Chromium (Debian's, driven by playwright-core): log in, the Live page
 * following a simulated badge without a reload, filtering and exporting the log, a request approved
 * by a second user (and refused to its applicant), acknowledging an alarm, Japanese and English.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimBoard } from '../../hardware/index.js';
import { PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

describe('dashboard in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let person: { id: string };

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const r = d.controller.registry;
    const at = d.controller.now();
    const p = r.addPerson({ displayId: 'S-1001', name: '山田 太郎', category: 'staff' }, 'test', at);
    r.addBadge({ personId: p.id, credential: '0A1B2C3D4E' }, 'test', at);
    r.grantDoor(p.id, 'machine-room', 'always', 'test', at);
    const q = r.addPerson({ displayId: 'C-2001', name: '鈴木 一郎', category: 'contractor' }, 'test', at);
    r.addBadge({ personId: q.id, credential: '1122334455' }, 'test', at);
    person = q;
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  async function pageFor(
    username: string,
    locale: 'ja-JP' | 'en-US' = 'ja-JP',
    next = '/',
    password = PASSWORD,
  ): Promise<{ page: Page; errors: string[] }> {
    const ctx = await newContext(browser, { locale });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, username, password, next);
    return { page, errors };
  }

  it('logs in (Japanese for a Japanese browser) and switches to English and back', async () => {
    const ctx = await newContext(browser, { locale: 'ja-JP' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await page.goto(`${base}/log`);
    await page.waitForURL(/\/login\?next=%2Flog/);
    expect(await page.locator('h1').textContent()).toBe('ログイン');
    await page.fill('input[name="username"]', 'manager1');
    await page.fill('input[name="password"]', 'wrong-password-here');
    await page.click('#login-form button[type="submit"]');
    await expect.poll(() => page.locator('.form-error').textContent()).toContain('パスワードが違います');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/log`), page.click('#login-form button[type="submit"]')]);
    expect(await page.locator('h1').textContent()).toBe('入退室管理簿');
    expect(await page.getAttribute('html', 'lang')).toBe('ja');
    await Promise.all([page.waitForLoadState('load'), page.click('[data-lang-switch="en"]')]);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Entry/exit log');
    expect(await page.locator('nav [data-nav="alarms"]').textContent()).toContain('Alarms');
    await Promise.all([page.waitForLoadState('load'), page.click('[data-lang-switch="ja"]')]);
    await expect.poll(() => page.locator('h1').textContent()).toBe('入退室管理簿');
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('shows English to an English browser', async () => {
    const { page, errors } = await pageFor('operator1', 'en-US');
    expect(await page.locator('h1').first().textContent()).toContain('Live');
    expect(await page.locator('#logout').textContent()).toBe('Log out');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('the Live page follows a simulated badge and a door without reloading', async () => {
    const { page, errors } = await pageFor('operator1');
    await expect.poll(() => page.locator('#live-indicator').getAttribute('class')).toContain('on');
    await page.evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    expect(await page.locator('[data-field="occupancy"]').textContent()).toBe('0');
    // The simulation panel in a second tab presents the badge, as a person at the reader would.
    const sim = await page.context().newPage();
    await sim.goto(`${base}/sim`);
    await sim.fill('#sim-badge input[name="credential"]', '0A1B2C3D4E');
    await sim.click('#sim-badge button[type="submit"]');
    await expect.poll(() => sim.locator('#sim-result').textContent()).toContain('許可');
    await expect.poll(() => page.locator('[data-field="occupancy"]').textContent()).toBe('1');
    expect(await page.locator('table.inside').textContent()).toContain('山田 太郎');
    expect(await page.locator('[data-field="lock"] strong').textContent()).toBe('解錠');
    await sim.click('#sim-open-machine-room');
    await expect.poll(() => page.locator('[data-field="contact"] strong').textContent()).toBe('開');
    await sim.click('#sim-close-machine-room');
    await expect.poll(() => page.locator('[data-field="lock"] strong').textContent()).toBe('施錠');
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('filters the log and exports the filtered rows as CSV', async () => {
    d.controller.simulateBadge('entry', '1122334455'); // lost? no: active, but no door permission → denied
    d.controller.simulateBadge('entry', 'FFFFFFFFFF');
    const { page, errors } = await pageFor('manager1', 'ja-JP', '/log');
    const rows = () => page.locator('#log-table tbody tr').count();
    expect(await rows()).toBeGreaterThanOrEqual(3);
    await page.selectOption('#log-filters select[name="result"]', 'denied');
    await page.fill('#log-filters input[name="person"]', 'C-2001');
    await Promise.all([page.waitForURL(/result=denied/), page.click('#log-filters button[type="submit"]')]);
    expect(await rows()).toBe(1);
    expect(await page.locator('#log-table tbody').textContent()).toContain('鈴木 一郎');
    expect(await page.locator('#log-table tbody').textContent()).toContain('扉の権限なし');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.startsWith('\uFEFF')).toBe(true); // a BOM, so that Excel reads UTF-8
    const lines = csv.slice(1).trim().split(/\r\n/);
    expect(lines[0]!.startsWith('日時,seq,扉,方向,結果,理由,氏名,ID')).toBe(true);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('鈴木 一郎');
    expect(lines[1]).toContain('C-2001');
    expect(lines[1]).toContain('••••4455');
    expect(lines[1]).not.toContain('1122334455');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('a request is refused to its applicant and approved by a second user', async () => {
    const a = await pageFor('manager1', 'ja-JP', `/people/${person.id}`);
    await a.page.selectOption('#request-access select[name="payload.scheduleId"]', 'always');
    await a.page.fill('#request-access input[name="reason"]', '保守作業のため');
    await Promise.all([
      a.page.waitForURL(`${base}/requests`),
      a.page.click('#request-access button[type="submit"]'),
    ]);
    const row = a.page.locator('#pending-requests tr[data-request]').first();
    expect(await row.textContent()).toContain('鈴木 一郎');
    // Their own request: a plain note, no approve button to try (the server refuses anyway: API tests).
    expect(await row.textContent()).toContain('自分の申請は承認できません');
    expect(await row.locator('[data-approve]').count()).toBe(0);
    const b = await pageFor('manager2', 'ja-JP', '/requests');
    const row2 = b.page.locator('#pending-requests tr[data-request]').first();
    await row2.locator('input[name="note"]').fill('確認しました');
    await Promise.all([b.page.waitForLoadState('load'), row2.locator('button[type="submit"]').click()]);
    await expect.poll(() => b.page.locator('#decided-requests').textContent()).toContain('承認済み');
    expect(await b.page.locator('#pending-requests tr[data-request]').count()).toBe(0);
    expect(d.controller.registry.permissionsFor(person.id)).toEqual([
      { personId: person.id, doorId: 'machine-room', scheduleId: 'always' },
    ]);
    expect(d.controller.simulateBadge('entry', '1122334455').decision.granted).toBe(true);
    // Walk through, so the door locks again behind them.
    const board = d.controller.board as SimBoard;
    board.simulate('machine-room.contact', true);
    board.simulate('machine-room.contact', false);
    expect([...a.errors, ...b.errors]).toEqual([]);
    await a.page.context().close();
    await b.page.context().close();
  });

  it('acknowledges an alarm with a comment; the history shows who and when', async () => {
    const { page, errors } = await pageFor('operator1', 'en-US', '/sim');
    // The door must be locked for an opening to be "forced" (an earlier grant may still hold it open).
    await expect.poll(() => d.controller.status().doors[0]!.locked, { timeout: 8000 }).toBe(true);
    await page.click('#sim-open-machine-room'); // forced: the door is locked
    await page.waitForTimeout(50);
    await page.click('#sim-close-machine-room');
    await page.goto(`${base}/alarms`);
    const alarm = page.locator('#active-alarms li.unacked').first();
    expect(await alarm.textContent()).toContain('Door forced open');
    await alarm.locator('input[name="comment"]').fill('Checked on site: the cleaner pushed the door.');
    await Promise.all([page.waitForLoadState('load'), alarm.locator('button[type="submit"]').click()]);
    await expect.poll(() => page.locator('#alarm-history').textContent()).toContain('Test operator1');
    expect(await page.locator('#alarm-history').textContent()).toContain('the cleaner pushed the door');
    const ack = d.controller.journal.query({ types: ['alarm_acknowledged'], limit: 1 })[0]!;
    expect(ack.actor).toBe('user:operator1');
    expect(d.controller.activeAlarms()).toHaveLength(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('marks a badge lost from the person page: the door refuses it at once', async () => {
    const staff = d.controller.registry.listPeople().find((p) => p.displayId === 'S-1001')!;
    const badge = d.controller.registry.listBadges({ personId: staff.id })[0]!;
    const { page, errors } = await pageFor('operator1', 'ja-JP', `/people/${staff.id}`);
    page.on('dialog', (dialog) => void dialog.accept());
    const row = page.locator(`tr[data-badge="${badge.id}"]`);
    await row.locator('details.badge-act summary').click();
    await row.locator('input[name="reason"]').fill('庁舎1階で紛失');
    await Promise.all([page.waitForURL(/\?lost=/), row.locator('button[type="submit"]').click()]);
    await expect.poll(() => page.locator('#badge-done').textContent()).toContain('拒否されます');
    await expect.poll(() => page.locator(`tr[data-badge="${badge.id}"]`).textContent()).toContain('紛失');
    expect(d.controller.simulateBadge('entry', '0A1B2C3D4E').decision).toEqual({
      granted: false,
      reason: 'badge_lost',
    });
    expect(await page.locator('#enrol-badge').count()).toBe(0); // an operator cannot enrol badges
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('an approved account request shows the approver one half of its activation code, which logs in as nobody', async () => {
    const m = await pageFor('manager1', 'en-US', '/users');
    await m.page.fill('#account-request input[name="payload.username"]', 'kimura');
    await m.page.fill('#account-request input[name="payload.displayName"]', 'Kimura Jiro');
    await m.page.selectOption('#account-request select[name="payload.role"]', 'operator');
    await m.page.fill('#account-request input[name="reason"]', 'joins the duty desk');
    await Promise.all([
      m.page.waitForURL(`${base}/requests`),
      m.page.click('#account-request button[type="submit"]'),
    ]);
    const a = await pageFor('admin1', 'en-US', '/requests');
    const row = a.page.locator('#pending-requests tr[data-request]').filter({ hasText: 'kimura' });
    await row.locator('button[type="submit"]').click();
    const code = a.page.locator('dialog.once #once-value');
    await expect.poll(() => code.count()).toBe(1);
    const half = (await code.textContent())!;
    expect(half).toMatch(/^[A-Z2-9]{5}(-[A-Z2-9]{5}){3}$/);
    expect(await a.page.locator('dialog.once p').textContent()).toContain('Activation code (one half)');
    await Promise.all([a.page.waitForLoadState('load'), a.page.click('dialog.once button')]);
    // The approver cannot log in as the new account with what they were shown (the full activation
    // with both halves: activation.test.ts).
    const k = await (await newContext(browser, { locale: 'en-US' })).newPage();
    await k.goto(`${base}/login`);
    await k.fill('input[name="username"]', 'kimura');
    await k.fill('input[name="password"]', half);
    await k.click('#login-form button[type="submit"]');
    await expect.poll(() => k.locator('.form-error').textContent()).toContain('Wrong user name or password');
    expect(new URL(k.url()).pathname).toBe('/login');
    expect([...m.errors, ...a.errors]).toEqual([]);
    for (const x of [m.page, a.page, k]) await x.context().close();
  });
});
