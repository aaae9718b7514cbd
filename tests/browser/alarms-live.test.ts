/**
 * Alarms that cannot be missed, in a real Chromium (issue #18): a door forced while the Live and
 * Alarms pages are open in two tabs updates, without a reload, the menu's count, the Alarms list,
 * the critical banner, the tab title, the door's panel (red and labelled) and the screen reader's
 * announcement, and sounds once the sound was switched on by a click (remembered by the browser).
 * A badge event does not take the focus from a half-typed alarm comment. Every other session is
 * warned before it ends for idleness and can stay signed in; a page whose session ended says so.
 */
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../dashboards/server.js';
import type { SimBoard } from '../../hardware/index.js';
import { FAST_SCRYPT, PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

/** What the functions run in the page use of the browser (the tests compile without the DOM types). */
interface Win {
  document: {
    title: string;
    activeElement: { id: string } | null;
    body: { dataset: Record<string, string | undefined>; classList: { contains(c: string): boolean } };
  };
  localStorage: { getItem(key: string): string | null };
  getComputedStyle(el: unknown): { borderTopColor: string };
  notReloaded?: boolean;
}

describe('alarms live in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  /** A second dashboard on the same controller with a 10 s idle timeout, warned 7 s before. */
  let short: FastifyInstance;
  let shortBase: string;

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const r = d.controller.registry;
    const at = d.controller.now();
    const p = r.addPerson({ displayId: 'S-1801', name: '警報 太郎', category: 'staff' }, 'test', at);
    r.addBadge({ personId: p.id, credential: '0A1B2C1801' }, 'test', at);
    r.grantDoor(p.id, 'machine-room', 'always', 'test', at);
    short = await buildServer({
      controller: d.controller,
      scrypt: FAST_SCRYPT,
      liveCoalesceMs: 20,
      sessionIdleMs: 10_000,
      sessionWarningMs: 7_000,
      streamLostMs: 1_500,
      loginLimits: { clientFreeFailures: 1000 },
    });
    shortBase = await short.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await short?.close();
    await stopBrowserDash({ d, browser });
  });

  const board = () => d.controller.board as SimBoard;

  /** Forces the machine-room door (opened while locked), once it is locked. */
  async function forceDoor(): Promise<void> {
    await expect.poll(() => d.controller.status().doors[0]!.locked, { timeout: 10_000 }).toBe(true);
    board().simulate('machine-room.contact', true);
    board().simulate('machine-room.contact', false);
  }

  /** Acknowledges every active alarm (as another user), so that a test starts with none waiting. */
  function ackAll(): void {
    for (const a of d.controller.activeAlarms())
      if (!a.acknowledged) d.controller.acknowledgeAlarm(a.id, 'user:admin1', 'test reset');
  }

  it('a forced door: count, list, banner, title, red panel and announcement follow in two tabs without reload', async () => {
    ackAll();
    const ctx = await newContext(browser, { locale: 'ja-JP' });
    const live = await ctx.newPage();
    const errors = watchErrors(live);
    await loginAs(live, base, 'manager1', PASSWORD, '/');
    const alarms = await ctx.newPage();
    errors.push(...watchErrors(alarms));
    await alarms.goto(`${base}/alarms`);
    // The sound: switched on by a click (a browser plays only after a gesture), remembered.
    await alarms.click('#alarm-sound');
    expect(await alarms.getAttribute('#alarm-sound', 'aria-pressed')).toBe('true');
    expect(
      await alarms.evaluate(() => (globalThis as unknown as Win).localStorage.getItem('sekisho.alarmSound')),
    ).toBe('on');
    for (const p of [live, alarms]) {
      await p.evaluate(() => {
        (globalThis as unknown as Win).notReloaded = true;
      });
      expect(await p.locator('#nav-alarm-count').isHidden()).toBe(true);
      expect(await p.locator('#alarm-banner').isHidden()).toBe(true);
    }
    // Both streams are open before the door is forced.
    await expect.poll(() => live.locator('#live-indicator.on').count()).toBe(1);
    await forceDoor();
    const id = d.controller.activeAlarms().find((a) => a.type === 'forced_open' && !a.acknowledged)!.id;
    for (const p of [live, alarms]) {
      await expect.poll(() => p.locator('#nav-alarm-count').textContent(), { timeout: 10_000 }).toBe('1');
      expect(await p.locator('#nav-alarm-count').isVisible()).toBe(true);
      await expect.poll(() => p.locator('#alarm-banner').isVisible()).toBe(true);
      expect(await p.locator('#alarm-banner').textContent()).toContain('こじ開け');
      await expect
        .poll(() => p.evaluate(() => (globalThis as unknown as Win).document.title), { timeout: 5000 })
        .toMatch(/^【重大警報】/);
      await expect.poll(() => p.locator('#alarm-announcer').textContent()).toContain('新しい警報');
      expect(await p.evaluate(() => (globalThis as unknown as Win).notReloaded)).toBe(true);
    }
    await expect.poll(() => alarms.locator(`#active-alarms li[data-alarm="${id}"]`).count()).toBe(1);
    const door = live.locator('section.door[data-door="machine-room"]');
    await expect.poll(() => door.getAttribute('class')).toContain('alarm-active');
    expect(await door.locator('[data-field="door-alarm"]').textContent()).toContain('警報発生中');
    expect(
      await door.evaluate((el) => (globalThis as unknown as Win).getComputedStyle(el).borderTopColor),
    ).toBe('rgb(180, 35, 24)');
    // The page where the sound was switched on played it; another page of this browser remembers it.
    await expect
      .poll(() =>
        alarms.evaluate(() => (globalThis as unknown as Win).document.body.dataset.alarmSounds ?? '0'),
      )
      .not.toBe('0');
    expect(await live.getAttribute('#alarm-sound', 'aria-pressed')).toBe('false');
    const third = await ctx.newPage();
    await third.goto(`${base}/log`);
    expect(await third.getAttribute('#alarm-sound', 'aria-pressed')).toBe('true');
    expect(await third.locator('#alarm-banner').textContent()).toContain('こじ開け');
    // Acknowledged elsewhere: the banner goes, the title stops flashing, the panel stays red while
    // the alarm is latched (its condition cleared, acknowledged: it leaves the active set).
    d.controller.acknowledgeAlarm(id, 'user:admin1', 'checked');
    for (const p of [live, alarms, third]) {
      await expect.poll(() => p.locator('#alarm-banner').isHidden(), { timeout: 10_000 }).toBe(true);
      await expect
        .poll(() => p.evaluate(() => (globalThis as unknown as Win).document.title))
        .not.toMatch(/重大警報/);
      expect(await p.locator('#nav-alarm-count').isHidden()).toBe(true);
    }
    await expect.poll(() => door.getAttribute('class')).not.toContain('alarm-active');
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('a badge event or a new alarm does not take the focus from a half-typed alarm comment', async () => {
    ackAll();
    await forceDoor();
    const ctx = await newContext(browser, { locale: 'en-US' });
    for (const path of ['/alarms', '/']) {
      const page = await ctx.newPage();
      const errors = watchErrors(page);
      if (path === '/alarms') await loginAs(page, base, 'operator1', PASSWORD, path);
      else await page.goto(`${base}${path}`);
      const id = d.controller.activeAlarms().find((a) => !a.acknowledged)!.id;
      const input = page.locator(`li[data-alarm="${id}"] input[name="comment"]`);
      await input.click();
      await page.keyboard.type('Checked on site: the ');
      const rowsBefore = await page.locator('[data-seq]').count();
      const seqBefore = d.controller.journal.head().seq;
      // A badge at the door and a new alarm (tamper) while typing.
      expect(d.controller.simulateBadge('entry', '0A1B2C1801').decision.granted).toBe(true);
      board().simulate('machine-room.tamper', true);
      await expect
        .poll(() => page.locator('#nav-alarm-count').textContent(), { timeout: 10_000 })
        .toBe(String(d.controller.activeAlarms().filter((a) => !a.acknowledged).length));
      if (path === '/')
        await expect
          .poll(() => page.locator('#live-panel').getAttribute('data-seq'))
          .not.toBe(String(seqBefore));
      else await expect.poll(() => page.locator('#active-alarms li[data-alarm]').count()).toBeGreaterThan(1);
      if (path === '/') expect(await page.locator('[data-seq]').count()).toBeGreaterThanOrEqual(rowsBefore);
      // The focus and the text are where they were; typing goes on into the same field.
      expect(
        await input.evaluate(
          (el) => el === ((globalThis as unknown as Win).document.activeElement as unknown),
        ),
      ).toBe(true);
      await page.keyboard.type('cleaner pushed it.');
      expect(await input.inputValue()).toBe('Checked on site: the cleaner pushed it.');
      board().simulate('machine-room.tamper', false);
      expect(errors).toEqual([]);
      if (path === '/') {
        // And the comment typed through the updates is the one recorded.
        await Promise.all([page.waitForLoadState('load'), input.press('Enter')]);
        await expect
          .poll(() =>
            JSON.stringify(d.controller.journal.query({ types: ['alarm_acknowledged'], limit: 1 })[0]),
          )
          .toContain('Checked on site: the cleaner pushed it.');
      }
      await page.close();
    }
    await ctx.close();
  });

  it('warns before the idle timeout, stays signed in on request, and says so when the session ended', async () => {
    const ctx = await newContext(browser, { locale: 'ja-JP' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, shortBase, 'operator1', PASSWORD, '/alarms');
    const warning = page.locator('#session-warning');
    expect(await warning.isHidden()).toBe(true);
    // 10 s idle, warned 7 s before: the warning comes after about 3 s.
    await expect.poll(() => warning.isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.locator('#session-warning-text').textContent()).toMatch(
      /あと \d+:\d\d でログアウトされます/,
    );
    // Shown, not focused: the page's focus is not moved.
    expect(
      await page.evaluate(() => (globalThis as unknown as Win).document.activeElement?.id ?? ''),
    ).not.toBe('session-stay');
    await page.click('#session-stay');
    await expect.poll(() => warning.isHidden()).toBe(true);
    // Kept alive: the next warning comes again, and the session is still valid meanwhile.
    await expect.poll(() => warning.isVisible(), { timeout: 15_000 }).toBe(true);
    const state = await page.evaluate(async () => (await fetch('/api/session/state')).status);
    expect(state).toBe(200);
    // Left alone now: it ends, and the page says so (and no longer claims to follow).
    const ended = page.locator('#session-ended');
    await expect.poll(() => ended.isVisible(), { timeout: 20_000 }).toBe(true);
    expect(await ended.textContent()).toContain('ログアウトされました');
    expect(await warning.isHidden()).toBe(true);
    expect(await page.locator('#session-login').getAttribute('href')).toBe('/login?next=%2Falarms');
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as Win).document.body.classList.contains('session-over'),
      ),
    ).toBe(true);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 90_000);

  it('says so when the connection to the controller is lost, and again when it is back', async () => {
    const ctx = await newContext(browser, { locale: 'en-US' });
    const page = await ctx.newPage();
    await loginAs(page, shortBase, 'manager1', PASSWORD, '/log');
    const lost = page.locator('#stream-lost');
    await page.waitForTimeout(500);
    expect(await lost.isHidden()).toBe(true);
    // The stream's connection dropped and refused (as while the controller restarts).
    const port = Number(new URL(shortBase).port);
    await short.close();
    await expect.poll(() => lost.isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await lost.textContent()).toContain('not being updated');
    short = await buildServer({
      controller: d.controller,
      scrypt: FAST_SCRYPT,
      liveCoalesceMs: 20,
      sessionIdleMs: 60_000,
      sessionWarningMs: 7_000,
      streamLostMs: 1_500,
    });
    await short.listen({ host: '127.0.0.1', port });
    await expect.poll(() => lost.isHidden(), { timeout: 15_000 }).toBe(true);
    await ctx.close();
  }, 60_000);
});
