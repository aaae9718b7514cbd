/**
 * Every dashboard page on a phone (390×844) and on a laptop (1366×768), in Japanese and English, as
 * an admin, in a real Chromium: no page scrolls sideways, no visible element reaches past the right
 * edge of the viewport, no menu label or header link wraps into a column of single characters, and
 * each page's key actions (approve, filter, print, the menu itself) are on screen. One controller
 * and one browser for the file; one browser context per size and language.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BADGES, seedDemo } from '../../controller/demo.js';
import type { SimBoard } from '../../hardware/index.js';
import { FAST_SCRYPT, makeDash, PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { launchChromium, loginAs, newContext, stopBrowserDash, watchErrors } from '../helpers/browser.js';

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
    const cls = typeof el.className === 'string' && el.className ? \`.\${el.className.trim().split(/\\s+/).join('.')}\` : '';
    const text = (el.textContent ?? '').trim().replace(/\\s+/g, ' ').slice(0, 30);
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
    const words = (el.textContent ?? '').trim().split(/\\s+/).length;
    if (lines > Math.max(1, words)) wrapped.push(\`\${describe(el, r.right)} lines=\${lines} words=\${words}\`);
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
    d = await makeDash({
      server: { loginLimits: { clientFreeFailures: 1000 } },
      config: { ledger: { seals: ['担当', '係長', '課長'] } },
    });
    base = await d.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    const c = d.controller;
    const r = c.registry;
    // The administrator the pages are seen as, with a display name as long as real ones get.
    const { UserStore } = await import('../../controller/accounts/users.js');
    await new UserStore(c.db, c.journal, { scrypt: FAST_SCRYPT }).create(
      {
        username: 'chief',
        displayName: '情報政策課 情報基盤担当 課長補佐 兼 システム管理者 長谷川 宗一郎',
        role: 'admin',
        password: PASSWORD,
      },
      'test:setup',
      c.now(),
    );
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
    { path: '/', actions: ['#presence-open-machine-room', 'li.alarm form.inline button[type="submit"]'] },
    { path: '/log', actions: ['#log-filters button[type="submit"]', '#export-csv', '#print-month'] },
    { path: `/log/print?month=${today.slice(0, 7)}`, actions: ['[data-print]', '#print-options button'] },
    { path: '/log/paper-form', actions: [] },
    { path: '/alarms', actions: ['li.alarm form.inline button[type="submit"]'] },
    { path: `/alarms/${alarmId}`, actions: [] },
    { path: '/people', actions: [] },
    { path: `/people/${personId}`, actions: ['details.badge-act summary'] },
    {
      path: '/requests',
      actions: ['[data-approve] button.primary', '[data-reject-open]'],
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
    if (res?.status() !== 200) {
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
        await loginAs(page, base, 'chief', PASSWORD, '/');
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

  it('tables become labelled cards on a phone; the log, compact cards of three lines', async () => {
    const ctx = await newContext(browser, { locale: 'ja-JP', width: 390, height: 844 });
    const page = await ctx.newPage();
    await loginAs(page, base, 'chief', PASSWORD, '/users');
    // A table in general: each cell of a row shows its column's heading beside its value.
    const cells =
      (await page.evaluate(`Array.from(document.querySelectorAll('#users-table tbody tr:first-child td'))
      .map((td) => ({
        label: td.getAttribute('data-label'),
        before: getComputedStyle(td, '::before').content,
        display: getComputedStyle(td).display,
      }))`)) as { label: string | null; before: string; display: string }[];
    expect(cells.length).toBeGreaterThan(2);
    for (const c of cells.filter((x) => x.label)) {
      expect(c.before).toContain(c.label!);
      expect(c.display).not.toBe('table-cell');
    }
    expect(await page.locator('#users-table thead').isVisible()).toBe(false);
    // The log: when, where, which way and the result on one line; who below; the card and a
    // refusal's reason with their headings; no empty line, no column table.
    await page.goto(`${base}/log`);
    expect(await page.locator('#log-table thead').isVisible()).toBe(false);
    const card = (sel: string) =>
      page.evaluate(`Array.from(document.querySelector('${sel}').cells).map((td) => {
        const r = td.getBoundingClientRect();
        return {
          cls: td.className,
          label: td.getAttribute('data-label'),
          before: getComputedStyle(td, '::before').content,
          display: getComputedStyle(td).display,
          top: r.top,
          bottom: r.bottom,
          right: r.right,
        };
      })`) as Promise<
        {
          cls: string;
          label: string | null;
          before: string;
          display: string;
          top: number;
          bottom: number;
          right: number;
        }[]
      >;
    const rowOf = async (sel: string) => {
      const tds = await card(sel);
      const by = (c: string) => tds.find((x) => x.cls.split(' ').includes(c))!;
      return { tds, by };
    };
    const granted = await rowOf('#log-table tbody tr.granted:not([data-transcribed])');
    expect(
      await page
        .locator('#log-table tbody tr.granted')
        .first()
        .evaluate(
          (tr) =>
            (globalThis as unknown as { getComputedStyle(e: unknown): { display: string } }).getComputedStyle(
              tr,
            ).display,
        ),
    ).toBe('flex');
    const first = granted.by('c-time');
    for (const c of ['c-door', 'c-dir', 'c-result'])
      expect(Math.abs(granted.by(c).top - first.top), c).toBeLessThan(12);
    expect(granted.by('c-name').top).toBeGreaterThanOrEqual(first.bottom - 1);
    // A granted entry does not repeat 許可 as its reason; its badge is headed; no cell is a column.
    expect(granted.by('c-reason').display).toBe('none');
    expect(granted.by('c-badge').before).toContain(granted.by('c-badge').label!);
    expect(granted.by('c-time').before).toBe('none');
    for (const td of granted.tds) expect(td.display).not.toBe('table-cell');
    // Empty cells (no escort) take no line.
    if (granted.by('c-escort').label) expect(granted.by('c-escort').display).toBe('none');
    const denied = await rowOf('#log-table tbody tr.denied');
    expect(denied.by('c-reason').display).not.toBe('none');
    expect(denied.by('c-reason').before).toContain('理由');
    // The card is compact: a granted entry takes three lines at most, each within the screen.
    const height =
      Math.max(...granted.tds.filter((x) => x.display !== 'none').map((x) => x.bottom)) - first.top;
    expect(height).toBeLessThan(3 * 30);
    for (const td of [...granted.tds, ...denied.tds]) expect(td.right).toBeLessThanOrEqual(390);
    await ctx.close();
  });

  it('prints the ledger: one PDF page per numbered sheet, the seals, a month picker, era dates', async () => {
    // Enough rows for three sheets this month, some of them two lines high on paper.
    const c = d.controller;
    const board = c.board as SimBoard;
    const r = c.registry;
    const tall = r.addPerson(
      {
        displayId: 'S-9001',
        name: '勘解由小路 左衛門三郎之助 カデノコウジ サエモンサブロウノスケ',
        category: 'staff',
      },
      'test',
      c.now(),
    );
    r.addBadge({ personId: tall.id, credential: '9988776655' }, 'test', c.now());
    r.grantDoor(tall.id, 'machine-room', 'always', 'test', c.now());
    for (let i = 0; i < 8; i++) {
      c.simulateBadge(i % 2 ? 'exit' : 'entry', '9988776655');
      board.simulate('machine-room.contact', true);
      board.simulate('machine-room.contact', false);
    }
    for (let i = 0; i < 30; i++) {
      c.simulateBadge('exit', DEMO_BADGES[0]!.credential);
      board.simulate('machine-room.contact', true);
      board.simulate('machine-room.contact', false);
      c.simulateBadge('entry', DEMO_BADGES[0]!.credential);
      board.simulate('machine-room.contact', true);
      board.simulate('machine-room.contact', false);
    }
    const ctx = await newContext(browser, { locale: 'ja-JP', width: 390, height: 844 });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    const month = today.slice(0, 7);
    await loginAs(page, base, 'chief', PASSWORD, `/log/print?month=${month}`);
    const sheets = await page.locator('section.sheet').count();
    expect(sheets).toBeGreaterThanOrEqual(3);
    expect(await page.locator('section.sheet .page-no').last().textContent()).toBe(
      `${sheets} / ${sheets} ページ`,
    );
    // The configured seals, in order (the test config sets ledger.seals).
    expect(await page.locator('#print-seals th').allTextContents()).toEqual(['担当', '係長', '課長']);
    // Chromium prints exactly one page per sheet: the numbers on paper are the pages'.
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ format: 'A4', landscape: true, printBackground: false });
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)/g)?.length ?? 0;
    expect(pages).toBe(sheets);
    await page.emulateMedia({ media: 'screen' });
    // The month picker and the era: the options form leads to the same page in 和暦.
    await page.selectOption('#print-options select[name="dates"]', 'japanese');
    await Promise.all([
      page.waitForURL(/dates=japanese/),
      page.click('#print-options button[type="submit"]'),
    ]);
    const [y, m] = month.split('-').map(Number) as [number, number];
    const era = y >= 2020 ? `令和${y - 2018}年${m}月` : null;
    if (era) expect(await page.locator('h1').textContent()).toBe(`入退室管理簿 ${era}`);
    const first = (await page.locator('#log-table tbody tr td').first().textContent()) ?? '';
    expect(first).toMatch(/^(令和|平成)(元|\d+)年\d+月\d+日 \d\d:\d\d:\d\d$/);
    await page.fill('#print-options input[name="month"]', '2019-04');
    await Promise.all([page.waitForURL(/month=2019-04/), page.click('#print-options button[type="submit"]')]);
    expect(await page.locator('h1').textContent()).toBe('入退室管理簿 平成31年4月');
    expect(await page.locator('#print-seals').isVisible()).toBe(true);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 120_000);

  it('reports count after-hours entries per person and download as CSV; compliance too', async () => {
    const ctx = await newContext(browser, { locale: 'ja-JP', width: 390, height: 844 });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    const from = today;
    await loginAs(page, base, 'chief', PASSWORD, `/reports?from=${from}&to=${from}`);
    // The API says which entries were after hours (it depends on the hour the test runs at).
    const api = (await page.evaluate(
      `fetch('/api/reports?from=${from}&to=${from}').then((r) => r.json())`,
    )) as {
      afterHours: { person: string | null }[];
      afterHoursByPerson: { person: string | null; count: number }[];
    };
    const people = new Set(api.afterHours.map((e) => e.person));
    expect(api.afterHoursByPerson.map((p) => p.person).sort()).toEqual([...people].sort());
    expect(api.afterHoursByPerson.reduce((n, p) => n + p.count, 0)).toBe(api.afterHours.length);
    expect(await page.locator('#after-hours-people tbody tr').count()).toBe(people.size);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#reports-csv')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.startsWith('\uFEFF氏名,ID,入室回数,入室日時\r\n')).toBe(true);
    expect(csv.slice(1).trim().split('\r\n')).toHaveLength(1 + people.size);
    await page.goto(`${base}/compliance`);
    const [cmp] = await Promise.all([page.waitForEvent('download'), page.click('#compliance-csv')]);
    const lines = readFileSync((await cmp.path())!, 'utf8')
      .slice(1)
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe('条項,要求事項,状態,根拠,判定方法');
    expect(lines.length - 1).toBe(await page.locator('#compliance tbody tr').count());
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
