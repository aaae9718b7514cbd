/**
 * Keyboard and screen readers, in a real Chromium (issue #18). No axe package is installed, so the
 * rules are checked here directly, on every page an administrator reaches, in both languages:
 * - the first Tab stop is the skip link (本文へ移動 / Skip to content), seen while it has the focus,
 *   and Enter on it moves the reading point to the main region;
 * - Tab walks every control in order, each one shown with a focus outline, none invisible;
 * - landmarks (one header, one named menu, one main), `lang` per UI language, distinct titles,
 *   every control named (label, aria-label), no duplicate id, no aria reference to nothing;
 * - the main flows by keyboard alone (Tab, Enter, Space): log in, open a page from the menu (also the
 *   phone menu, Escape closing it), acknowledge an alarm; a refused field is marked and described;
 * - live updates keep the focus where it is (a button on Live, a link in the alarm history or the
 *   banner) and the alarm history follows without reload; an alarm is announced once, not at every
 *   refresh.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimBoard } from '../../hardware/index.js';
import { PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

/** Runs in the page: what breaks the rules above on it (as source: the tests compile without the DOM). */
const AUDIT = `(() => {
  const problems = [];
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.getAttribute('name') ? '[name=' + el.getAttribute('name') + ']' : '') +
    ' "' + (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 30) + '"';
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const nameOf = (el) => {
    const aria = (el.getAttribute('aria-label') || '').trim();
    if (aria) return aria;
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const t = by.split(/\\s+/).map((id) => document.getElementById(id)?.textContent || '').join(' ').trim();
      if (t) return t;
    }
    if (el.labels && el.labels.length) {
      const t = Array.from(el.labels).map((l) => l.textContent).join(' ').trim();
      if (t) return t;
    }
    if ((el.title || '').trim()) return el.title;
    if (el.tagName === 'INPUT' && (el.type === 'submit' || el.type === 'button')) return el.value;
    return (el.textContent || '').trim() || (el.querySelector('img[alt]')?.alt || '');
  };
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href], summary'))
    if (shown(el) && !nameOf(el)) problems.push('no accessible name: ' + describe(el));
  const ids = new Map();
  for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, n] of ids) if (n > 1) problems.push('duplicate id: ' + id);
  for (const attr of ['aria-describedby', 'aria-labelledby', 'aria-controls'])
    for (const el of document.querySelectorAll('[' + attr + ']'))
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean))
        if (!document.getElementById(id)) problems.push(attr + ' to nothing: ' + id + ' on ' + describe(el));
  for (const el of document.querySelectorAll('[tabindex]'))
    if (Number(el.getAttribute('tabindex')) > 0) problems.push('positive tabindex: ' + describe(el));
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('img without alt');
  if (document.querySelectorAll('main').length !== 1) problems.push('main: ' + document.querySelectorAll('main').length);
  if (document.querySelectorAll('body > header').length !== 1) problems.push('no page header');
  for (const nav of document.querySelectorAll('nav')) if (!nameOf(nav) || nav.getAttribute('aria-label') === 'main')
    problems.push('menu without a name in the page language');
  if (document.querySelectorAll('h1').length < 1) problems.push('no h1');
  const focusable = Array.from(document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]'))
    .filter((el) => !el.disabled && el.getAttribute('tabindex') !== '-1' && el.type !== 'hidden');
  const first = focusable[0];
  if (!first || !first.matches('a.skip-link[href="#main"]')) problems.push('first stop is not the skip link: ' + (first ? describe(first) : 'none'));
  return { problems, title: document.title, lang: document.documentElement.lang };
})()`;

/** Runs in the page: the focused element, whether it shows a focus outline, and whether it is seen. */
const FOCUSED = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  const ring = s.boxShadow !== 'none';
  return {
    what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + (el.textContent || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 24) + '"',
    key: el.tagName + '|' + (el.id || '') + '|' + (el.getAttribute('href') || '') + '|' + (el.getAttribute('name') || '') + '|' + (el.textContent || '').trim().slice(0, 40),
    marked: outline || ring,
    seen: r.width > 0 && r.height > 0 && s.visibility !== 'hidden',
    inMain: !!el.closest('main'),
  };
})()`;

interface Focused {
  what: string;
  key: string;
  marked: boolean;
  seen: boolean;
  inMain: boolean;
}

/** What the functions run in the page use of the browser (the tests compile without the DOM types). */
interface Win {
  document: {
    activeElement: unknown;
    getElementById(id: string): { textContent: string | null } | null;
    querySelector(sel: string): unknown;
  };
  MutationObserver: new (f: () => void) => { observe(n: unknown, o: Record<string, boolean>): void };
  announcements?: number;
  marked?: unknown;
}

describe('keyboard and screen readers in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const r = d.controller.registry;
    const at = d.controller.now();
    const p = r.addPerson({ displayId: 'S-1901', name: '鍵盤 一郎', category: 'staff' }, 'test', at);
    r.addBadge({ personId: p.id, credential: '0A1B2C1901' }, 'test', at);
    r.grantDoor(p.id, 'machine-room', 'always', 'test', at);
    expect(d.controller.simulateBadge('entry', '0A1B2C1901').decision.granted).toBe(true);
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  const board = () => d.controller.board as SimBoard;

  /** A tamper alarm (raised and its condition cleared): a new unacknowledged alarm each time. */
  function tamper(): number {
    board().simulate('machine-room.tamper', true);
    board().simulate('machine-room.tamper', false);
    return d.controller
      .activeAlarms()
      .filter((a) => a.type === 'door_tamper')
      .at(-1)!.id;
  }

  /** A badge at the door: one more journal row, so one more live update. */
  function badge(): void {
    expect(d.controller.simulateBadge('exit', '0A1B2C1901').decision.granted).toBe(true);
  }

  /**
   * Waits until the Live panel shows the journal as it is now (a later row, e.g. the door locking
   * again, may come with it).
   */
  async function updated(page: Page): Promise<void> {
    const head = d.controller.journal.head().seq;
    await expect
      .poll(async () => Number(await page.locator('#live-panel').getAttribute('data-seq')), {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(head);
  }

  /** Presses Tab until `done` says so (at most `max` times); answers each stop. */
  async function tabUntil(page: Page, done: (f: Focused) => boolean, max = 120): Promise<Focused[]> {
    const stops: Focused[] = [];
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      const f = (await page.evaluate(FOCUSED)) as Focused | null;
      if (f) stops.push(f);
      if (f && done(f)) return stops;
    }
    throw new Error(`not reached in ${max} Tab presses: ${stops.map((s) => s.what).join(', ')}`);
  }

  for (const locale of ['ja-JP', 'en-US'] as const)
    it(`every page: skip link first, landmarks, names, lang, distinct titles, a visible focus at every stop (${locale})`, async () => {
      const ja = locale === 'ja-JP';
      tamper();
      const ctx = await newContext(browser, { locale, width: 1366, height: 768 });
      const page = await ctx.newPage();
      const errors = watchErrors(page);
      const failures: string[] = [];
      // Signed out: the login page keeps the rules too.
      await page.goto(`${base}/login`);
      const login = (await page.evaluate(AUDIT)) as { problems: string[] };
      failures.push(...login.problems.map((p) => `/login: ${p}`));
      await loginAs(page, base, 'admin1', PASSWORD, '/');
      const paths = (await page
        .locator('nav.main-nav a[href]')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href')!))) as string[];
      const alarm = d.controller.activeAlarms()[0]!.id;
      paths.push('/account', `/alarms/${alarm}`, '/log/paper-form');
      const titles = new Map<string, string>();
      for (const path of paths) {
        await page.goto(base + path);
        const a = (await page.evaluate(AUDIT)) as { problems: string[]; title: string; lang: string };
        failures.push(...a.problems.map((p) => `${path}: ${p}`));
        if (a.lang !== (ja ? 'ja' : 'en')) failures.push(`${path}: lang ${a.lang}`);
        const same = [...titles].find(([, t]) => t === a.title);
        if (same) failures.push(`${path}: the same title as ${same[0]}: ${a.title}`);
        titles.set(path, a.title);
        // Tab through the page: the skip link first, then every stop marked and seen, back to the start.
        await page.keyboard.press('Tab');
        const first = (await page.evaluate(FOCUSED)) as Focused | null;
        if (!first?.what.includes(ja ? '本文へ移動' : 'Skip to content'))
          failures.push(`${path}: first Tab stop ${first?.what}`);
        const seen = new Set<string>();
        for (let i = 0; i < 200; i++) {
          const f = (await page.evaluate(FOCUSED)) as Focused | null;
          if (f) {
            if (seen.has(f.key)) break;
            seen.add(f.key);
            if (!f.marked) failures.push(`${path}: no focus outline on ${f.what}`);
            if (!f.seen) failures.push(`${path}: focus on something not shown: ${f.what}`);
          }
          await page.keyboard.press('Tab');
        }
      }
      expect(failures).toEqual([]);
      expect(errors).toEqual([]);
      await ctx.close();
    }, 240_000);

  it('by keyboard alone: skip link, log in, the menu, acknowledge an alarm; a refused field is marked', async () => {
    const id = tamper();
    const ctx = await newContext(browser, { locale: 'ja-JP' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await page.goto(`${base}/login?next=%2F`);
    // Log in: the user name has the focus; type, Tab to the password, type, Enter.
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { name: string } } }).document.activeElement
            .name,
      ),
    ).toBe('username');
    await page.keyboard.type('operator1');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.keyboard.press('Enter')]);
    // The skip link: the first stop, seen while focused; Enter moves to the main region.
    await page.keyboard.press('Tab');
    const skip = page.locator('a.skip-link');
    expect(await skip.evaluate((el) => el === (globalThis as unknown as Win).document.activeElement)).toBe(
      true,
    );
    expect(await skip.textContent()).toBe('本文へ移動');
    const box = (await skip.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('Enter');
    expect(
      await page.evaluate(() => ((globalThis as unknown as Win).document.activeElement as { id: string }).id),
    ).toBe('main');
    // From the main region, the next stop is in it.
    const next = (await tabUntil(page, () => true)).at(-1)!;
    expect(next.inMain).toBe(true);
    // The menu: Tab to 警報, Enter.
    await tabUntil(page, (f) => f.key.includes('|/alarms|'));
    await Promise.all([page.waitForURL((u) => u.pathname === '/alarms'), page.keyboard.press('Enter')]);
    // A refused comment (spaces only: the server trims it): said beside the field, tied to it.
    const item = page.locator(`li[data-alarm="${id}"]`);
    const input = item.locator('input[name="comment"]');
    await tabUntil(page, (f) => f.key.includes('|comment|') && f.inMain);
    expect(await input.evaluate((el) => el === (globalThis as unknown as Win).document.activeElement)).toBe(
      true,
    );
    await page.keyboard.type('   ');
    await page.keyboard.press('Enter');
    const error = item.locator('.form-error');
    await expect.poll(() => error.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await error.getAttribute('role')).toBe('alert');
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    const errorId = await error.getAttribute('id');
    expect(errorId).toBeTruthy();
    expect((await input.getAttribute('aria-describedby'))?.split(' ')).toContain(errorId);
    expect(await input.evaluate((el) => el === (globalThis as unknown as Win).document.activeElement)).toBe(
      true,
    );
    // Typed again and sent with the button, by Space: acknowledged, the mark gone with the reload.
    await input.fill('');
    await page.keyboard.type('点検済み（鍵盤）');
    await page.keyboard.press('Tab');
    expect(
      await page.evaluate(
        () => ((globalThis as unknown as Win).document.activeElement as { type: string }).type,
      ),
    ).toBe('submit');
    await Promise.all([page.waitForEvent('load'), page.keyboard.press('Space')]);
    await expect
      .poll(() => JSON.stringify(d.controller.journal.query({ types: ['alarm_acknowledged'], limit: 1 })[0]))
      .toContain('点検済み（鍵盤）');
    // (The refused comment's 400 is the browser's console line, part of the flow.)
    expect(errors.filter((e) => !e.includes('status of 400'))).toEqual([]);
    await ctx.close();
  });

  it('on a phone, the menu opens and closes by keyboard', async () => {
    const ctx = await newContext(browser, { locale: 'en-US', width: 390, height: 844 });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, 'operator1', PASSWORD, '/log');
    await page.locator('body').focus();
    await tabUntil(page, (f) => f.key.includes('menu-toggle'));
    const toggle = page.locator('#menu-toggle');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await page.keyboard.press('Enter');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    // The menu's entries are the next stops after the account links.
    const stops = await tabUntil(page, (f) => f.key.includes('|/alarms|'));
    expect(stops.at(-1)!.seen).toBe(true);
    await page.keyboard.press('Escape');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await toggle.evaluate((el) => el === (globalThis as unknown as Win).document.activeElement)).toBe(
      true,
    );
    expect(await page.locator('nav.main-nav a[data-nav="live"]').isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('live updates keep the focus (Live, the history, the banner) and the history follows', async () => {
    const ctx = await newContext(browser, { locale: 'ja-JP' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, 'manager1', PASSWORD, '/');
    await expect.poll(() => page.locator('#live-indicator.on').count()).toBe(1);
    /** Focuses `sel` and marks the node, to tell later that the very same node still has the focus. */
    const focusMarked = async (sel: string) => {
      const loc = page.locator(sel).first();
      await loc.focus();
      await loc.evaluate((el) => {
        (globalThis as unknown as Win).marked = el;
      });
      expect(await loc.evaluate((el) => el === (globalThis as unknown as Win).document.activeElement)).toBe(
        true,
      );
    };
    const stillFocused = () =>
      page.evaluate(
        () =>
          (globalThis as unknown as Win).marked !== undefined &&
          (globalThis as unknown as Win).marked === (globalThis as unknown as Win).document.activeElement,
      );
    // The presence dialog by keyboard: Enter opens it with the focus inside, Escape closes it and
    // gives the focus back to the door's button — also when a badge replaced the panel meanwhile.
    await page.locator('#presence-open-machine-room').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#presence-dialog').getAttribute('open')).not.toBeNull();
    expect(
      await page
        .locator('#presence-dialog')
        .evaluate((el) => el.contains((globalThis as unknown as Win).document.activeElement as never)),
    ).toBe(true);
    badge();
    await updated(page);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#presence-dialog').getAttribute('open')).toBeNull();
    // (The dialog's close event, which gives the focus back, comes a moment after it closed.)
    await expect
      .poll(() =>
        page
          .locator('#presence-open-machine-room')
          .evaluate((el) => el === (globalThis as unknown as Win).document.activeElement),
      )
      .toBe(true);
    // Live: the lockdown button of the door, while badges come in.
    await focusMarked('section.door[data-door="machine-room"] button[data-api$="/mode"]');
    badge();
    await updated(page);
    expect(await stillFocused()).toBe(true);
    // The banner's link, while a new critical alarm is not there yet: a forced door makes one.
    await expect.poll(() => d.controller.status().doors[0]!.locked, { timeout: 10_000 }).toBe(true);
    board().simulate('machine-room.contact', true);
    board().simulate('machine-room.contact', false);
    await expect
      .poll(() => page.locator('#alarm-banner a.button').isVisible(), { timeout: 10_000 })
      .toBe(true);
    await focusMarked('#alarm-banner a.button');
    badge();
    tamper();
    await updated(page);
    expect(await stillFocused()).toBe(true);
    // The Alarms page: a link of the history keeps the focus while the history takes in a new alarm.
    await page.goto(`${base}/alarms`);
    const history = page.locator('#alarm-history-live');
    await expect.poll(() => history.getAttribute('data-updates')).not.toBeNull();
    await focusMarked('#alarm-history tbody tr:nth-child(2) a');
    const rows = await page.locator('#alarm-history tbody tr').count();
    const id = tamper();
    await expect
      .poll(() => page.locator(`#alarm-history tr[data-alarm="${id}"]`).count(), { timeout: 10_000 })
      .toBe(1);
    expect(await page.locator('#alarm-history tbody tr').count()).toBe(rows + 1);
    expect(await stillFocused()).toBe(true);
    // Acknowledged elsewhere: the history says by whom, without reload.
    d.controller.acknowledgeAlarm(id, 'user:admin1', '別の職員が確認');
    await expect
      .poll(() => page.locator(`#alarm-history tr[data-alarm="${id}"]`).textContent(), { timeout: 10_000 })
      .toContain('別の職員が確認');
    expect(await stillFocused()).toBe(true);
    // A later page of the history is not live (its rows would move under the reader).
    const next = page.locator('#alarm-history-live .pager a');
    if ((await next.count()) > 0) {
      await page.goto(base + (await next.getAttribute('href'))!);
      expect(await page.locator('body').getAttribute('data-stream')).not.toContain('history=1');
    }
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('an alarm is announced once, not at every refresh', async () => {
    const ctx = await newContext(browser, { locale: 'en-US' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, 'operator1', PASSWORD, '/');
    await expect.poll(() => page.locator('#live-indicator.on').count()).toBe(1);
    expect(await page.locator('#alarm-announcer').getAttribute('aria-live')).toBe('assertive');
    // The live panel itself is no live region: it would be read out at every badge.
    expect(await page.locator('#live-panel[aria-live], #live-panel [aria-live]').count()).toBe(0);
    await page.evaluate(() => {
      const w = globalThis as unknown as Win;
      w.announcements = 0;
      new w.MutationObserver(() => {
        w.announcements! += 1;
      }).observe(w.document.querySelector('#alarm-announcer'), {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    tamper();
    await expect
      .poll(() => page.locator('#alarm-announcer').textContent(), { timeout: 10_000 })
      .toContain('New alarm:');
    const once = await page.evaluate(() => (globalThis as unknown as Win).announcements);
    for (let i = 0; i < 3; i++) {
      badge();
      await updated(page);
    }
    expect(await page.evaluate(() => (globalThis as unknown as Win).announcements)).toBe(once);
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
