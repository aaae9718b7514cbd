/**
 * Every dashboard page on a phone (390×844) and on a laptop (1366×768), in Japanese and English, as
 * an admin, in a real Chromium: no page scrolls sideways, no visible element reaches past the right
 * edge of the viewport, no menu label or header link wraps into a column of single characters, and
 * each page's key actions (approve, filter, print, the menu itself) are on screen. One controller
 * and one browser for the file; one browser context per size and language.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BADGES, seedDemo } from '../../controller/demo.js';
import type { SimBoard } from '../../hardware/index.js';
import { PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

interface Overflow {
  scrollWidth: number;
  innerWidth: number;
  /** Visible elements whose right edge is past the viewport (at most ten, described). */
  past: string[];
  /** Header and menu texts laid out on more lines than they have words. */
  wrapped: string[];
}

/**
 * Runs in the page (as source: the tests are compiled without the DOM's types): what sticks out of
 * the viewport, and what wraps in the header.
 */
const MEASURE = `(() => {
  const describe = (el, right) => {
    const id = el.id ? \`#\${el.id}\` : '';
    const cls = typeof el.className === 'string' && el.className ? \`.\${el.className.trim().split(/s+/).join('.')}\` : '';
    const text = (el.textContent ?? '').trim().replace(/s+/g, ' ').slice(0, 30);
    return \`\${el.tagName.toLowerCase()}\${id}\${cls} right=\${Math.round(right)} "\${text}"\`;
  };
  const past = [];
  for (const el of Array.from(document.body.querySelectorAll('*'))) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden') continue;
    if (r.right > window.innerWidth + 0.5) past.push(describe(el, r.right));
  }
  // A label squeezed into a narrow column wraps after every character: count its line boxes.
  const wrapped = [];
  for (const el of Array.from(document.querySelectorAll('header.top a, header.top button, nav.main-nav a'))) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    // Line boxes: rectangles that overlap vertically are on one line (a badge beside a label is).
    const rects = Array.from(range.getClientRects())
      .filter((x) => x.width > 0 && x.height > 0)
      .sort((a, b) => a.top - b.top);
    let lines = 0;
    let bottom = Number.NEGATIVE_INFINITY;
    for (const x of rects) {
      if (x.top >= bottom - 1) lines++;
      bottom = Math.max(bottom, x.bottom);
    }
    const words = (el.textContent ?? '').trim().split(/s+/).length;
    if (lines > Math.max(1, words)) wrapped.push(describe(el, r.right));
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    past: past.slice(0, 10),
    wrapped,
  };
})()`;

describe('every page fits a phone and a laptop', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let alarmId: string;
  let personId: string;
  let today: string;

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const c = d.controller;
    const r = c.registry;
    seedDemo(r, c.config, c.now());
    const yamada = r.listPeople().find((p) => p.displayId === 'S-1001')!;
    personId = yamada.id;
    r.setMayEscort(yamada.id, true, 'test', c.now());
    // A long name and organisation, as real contractors have.
    const long = r.addPerson(
      {
        displayId: 'C-2002',
        name: '長谷川 宗一郎左衛門 ハセガワ ソウイチロウザエモン',
        category: 'contractor',
      },
      'test',
      c.now(),
    );
    r.addBadge({ personId: long.id, credential: '5566778899' }, 'test', c.now());
    const board = c.board as SimBoard;
    board.simulate('machine-room.contact', true);
    board.simulate('machine-room.contact', false);
    for (const b of DEMO_BADGES) {
      if (c.simulateBadge('entry', b.credential).decision.granted) {
        board.simulate('machine-room.contact', true);
        board.simulate('machine-room.contact', false);
      }
    }
    c.simulateBadge('entry', '5566778899');
    c.simulateBadge('entry', 'FFFF001234');
    // Pending requests filed by a manager, so that the admin sees Approve and Reject.
    const m1 = await d.login('manager1');
    today = new Date(c.now() + 9 * 3_600_000).toISOString().slice(0, 10);
    const filed = await m1.post('/api/requests', {
      kind: 'visitor_badge',
      payload: {
        name: '田村 誠',
        organisation: '株式会社サンプル電機システムソリューションズ',
        hostPersonId: yamada.id,
        purpose: 'UPS 定期点検および蓄電池の交換作業（年次）',
        doorId: 'machine-room',
        validFrom: `${today}T00:00`,
        validUntil: `${today}T23:59`,
      },
      reason: '年次点検',
    });
    expect(filed.statusCode).toBe(200);
    await m1.post('/api/requests', {
      kind: 'escort_permission',
      payload: { personId: long.id },
      reason: '来訪者の受入担当',
    });
    alarmId = String(c.activeAlarms()[0]!.id);
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  /** Each page, with the selectors of its key actions (each must be visible and on screen). */
  const pages = (): { path: string; actions: string[] }[] => [
    { path: '/', actions: [] },
    { path: '/log', actions: ['#log-filters button[type="submit"]', '#export-csv', '#print-month'] },
    { path: `/log/print?month=${today.slice(0, 7)}`, actions: ['[data-print]', '#print-options button'] },
    { path: '/log/paper-form', actions: [] },
    { path: '/alarms', actions: [] },
    { path: `/alarms/${alarmId}`, actions: [] },
    { path: '/people', actions: [] },
    { path: `/people/${personId}`, actions: [] },
    {
      path: '/requests',
      actions: ['[data-approve] button.primary', '[data-approve] button[data-api$="/reject"]'],
    },
    { path: '/visitors', actions: [] },
    { path: '/integrity', actions: [] },
    { path: '/reports', actions: ['#reports-csv', '#reports-print'] },
    { path: '/compliance', actions: ['#compliance-csv'] },
    { path: '/config-changes', actions: [] },
    { path: '/restores', actions: [] },
    { path: '/users', actions: [] },
    { path: '/account', actions: [] },
    { path: '/sim', actions: ['#sim-badge button[type="submit"]'] },
  ];

  async function check(page: Page, path: string, actions: string[], failures: string[]) {
    const res = await page.goto(base + path);
    if (!res || res.status() !== 200) {
      failures.push(`${path}: status ${res?.status()}`);
      return;
    }
    const m = (await page.evaluate(MEASURE)) as Overflow;
    if (m.scrollWidth > m.innerWidth)
      failures.push(`${path}: scrollWidth ${m.scrollWidth} > ${m.innerWidth}`);
    for (const p of m.past) failures.push(`${path}: past the edge: ${p}`);
    for (const w of m.wrapped) failures.push(`${path}: wraps: ${w}`);
    for (const sel of actions) {
      const loc = page.locator(sel).first();
      if ((await loc.count()) === 0 || !(await loc.isVisible())) {
        failures.push(`${path}: ${sel} not shown`);
        continue;
      }
      const box = (await loc.boundingBox())!;
      if (box.x < 0 || box.x + box.width > m.innerWidth)
        failures.push(`${path}: ${sel} off-screen (${box.x})`);
    }
  }

  for (const [width, height] of [
    [390, 844],
    [1366, 768],
  ] as const)
    for (const locale of ['ja-JP', 'en-US'] as const)
      it(`${width}×${height}, ${locale}`, async () => {
        const ctx = await newContext(browser, { locale, width, height });
        const page = await ctx.newPage();
        const errors = watchErrors(page);
        // The login page first, signed out.
        const failures: string[] = [];
        await check(page, '/login', ['#login-form button[type="submit"]'], failures);
        await loginAs(page, base, 'admin1', PASSWORD, '/');
        for (const { path, actions } of pages()) await check(page, path, actions, failures);
        expect(failures).toEqual([]);
        // On a phone the menu is behind a button; opened, every entry is on screen, one line each.
        const toggle = page.locator('#menu-toggle');
        if (width < 700) {
          await page.goto(`${base}/log`);
          expect(await page.locator('nav.main-nav a[data-nav="live"]').isVisible()).toBe(false);
          await toggle.click();
          await expect.poll(() => page.locator('nav.main-nav a[data-nav="live"]').isVisible()).toBe(true);
          expect(await toggle.getAttribute('aria-expanded')).toBe('true');
          const m = (await page.evaluate(MEASURE)) as Overflow;
          expect(m.past).toEqual([]);
          expect(m.wrapped).toEqual([]);
          for (const a of await page.locator('nav.main-nav a').all()) {
            const box = (await a.boundingBox())!;
            expect(box.x + box.width).toBeLessThanOrEqual(width);
          }
        } else {
          await page.goto(`${base}/log`);
          expect(await toggle.isVisible()).toBe(false);
          expect(await page.locator('nav.main-nav a[data-nav="live"]').isVisible()).toBe(true);
        }
        expect(errors).toEqual([]);
        await ctx.close();
      }, 180_000);

  it('tables become labelled cards on a phone', async () => {
    const ctx = await newContext(browser, { locale: 'ja-JP', width: 390, height: 844 });
    const page = await ctx.newPage();
    await loginAs(page, base, 'admin1', PASSWORD, '/log');
    const first = page.locator('#log-table tbody tr').first();
    // Each cell shows its column's heading beside its value.
    const cells = (await first.locator('td').evaluateAll(`(tds) =>
      tds.map((td) => ({
        label: td.getAttribute('data-label'),
        before: getComputedStyle(td, '::before').content,
        display: getComputedStyle(td).display,
      }))`)) as { label: string | null; before: string; display: string }[];
    expect(cells.length).toBeGreaterThan(5);
    for (const c of cells) {
      expect(c.label).toBeTruthy();
      expect(c.before).toContain(c.label!);
      expect(c.display).not.toBe('table-cell');
    }
    expect(cells.map((c) => c.label)).toContain('氏名');
    expect(await page.locator('#log-table thead').isVisible()).toBe(false);
    await ctx.close();
  });
});
