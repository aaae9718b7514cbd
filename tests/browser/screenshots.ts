/**
 * Takes the dashboard screenshots in docs/screenshots/ with Debian's Chromium:
 *   node --import tsx tests/browser/screenshots.ts
 * A simulated controller with the demo people, two accounts, some traffic, a visitor with an escort,
 * an alarm and requests; then each main page in Japanese (and the Live page in English), and some
 * pages at a phone's width (390 px) in Japanese and English.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO_BADGES, seedDemo } from '../../controller/demo.js';
import type { SimBoard } from '../../hardware/index.js';
import { FAST_SCRYPT, makeDash, PASSWORD } from '../dashboards/helpers.js';
import { launchChromium, loginAs, newContext } from '../helpers/browser.js';
import { ROOT } from '../helpers/controller.js';

const OUT = join(ROOT, 'docs/screenshots');
mkdirSync(OUT, { recursive: true });

const d = await makeDash({
  config: {
    site: { id: 'demo-city-hall', name: 'デモ市役所 本庁舎' },
    holidays: [],
    ledger: { seals: ['担当', '係長', '課長'] },
  },
  server: { loginLimits: { clientFreeFailures: 1000 } },
  accounts: false,
});
const { UserStore } = await import('../../controller/accounts/users.js');
const accounts = new UserStore(d.controller.db, d.controller.journal, { scrypt: FAST_SCRYPT });
for (const [username, displayName, role] of [
  ['manager1', '情報政策課長 中村', 'manager'],
  ['manager2', '情報政策課 課長補佐 小林', 'manager'],
  ['operator1', '当直 伊藤', 'operator'],
  ['auditor1', '監査担当 渡辺', 'auditor'],
  ['admin1', 'システム管理者 加藤', 'admin'],
] as const)
  await accounts.create(
    { username, displayName, role, password: PASSWORD },
    'system:demo-seed',
    d.controller.now(),
  );
const c = d.controller;
const r = c.registry;
seedDemo(r, c.config, c.now());
const people = r.listPeople();
const yamada = people.find((p) => p.displayId === 'S-1001')!;
r.setMayEscort(yamada.id, true, 'system:demo-seed', c.now());
const board = c.board as SimBoard;
const [m1, m2, op] = [await d.login('manager1'), await d.login('manager2'), await d.login('operator1')];

// A forced door while the room is empty: an alarm to acknowledge.
board.simulate('machine-room.contact', true);
board.simulate('machine-room.contact', false);
// Traffic: staff in and out, a lost badge refused, an unknown card.
for (const b of DEMO_BADGES) {
  if (c.simulateBadge('entry', b.credential).decision.granted) {
    board.simulate('machine-room.contact', true);
    board.simulate('machine-room.contact', false);
  }
}
c.simulateBadge('exit', DEMO_BADGES[3]!.credential);
board.simulate('machine-room.contact', true);
board.simulate('machine-room.contact', false);
c.simulateBadge('entry', 'FFFF001234');

// A visitor: requested by the operator, approved by a manager, handed out, escorted in by 山田.
const today = new Date(c.now() + 9 * 3_600_000).toISOString().slice(0, 10);
const visit = (
  await op.post('/api/requests', {
    kind: 'visitor_badge',
    payload: {
      name: '田村 誠',
      organisation: '株式会社サンプル電機',
      hostPersonId: yamada.id,
      purpose: 'UPS 定期点検',
      doorId: 'machine-room',
      validFrom: `${today}T08:00`,
      validUntil: `${today}T18:00`,
      equipment: 'ノート PC（資産番号 A-0042）\n測定器',
    },
    reason: '年次点検',
  })
).json();
await m1.post(`/api/requests/${visit.id}/approve`, { note: '承認' });
await op.post(`/api/requests/${visit.id}/issue-badge`, { number: 'AB12CD34EF' });
c.simulateBadge('exit', DEMO_BADGES[0]!.credential); // 山田 goes out to meet the visitor
board.simulate('machine-room.contact', true);
board.simulate('machine-room.contact', false);
c.simulateBadge('entry', 'AB12CD34EF');
c.simulateBadge('entry', DEMO_BADGES[0]!.credential);
board.simulate('machine-room.contact', true);
board.simulate('machine-room.contact', false);

// Requests: one pending (filed by manager1), one approved by a second manager.
const suzuki = people.find((p) => p.displayId === 'C-2001')!;
const sato = people.find((p) => p.displayId === 'S-1002')!;
await m1.post('/api/requests', {
  kind: 'schedule_change',
  payload: {
    personId: sato.id,
    doorId: 'machine-room',
    fromScheduleId: 'office-hours',
    toScheduleId: 'always',
  },
  reason: '夜間メンテナンス当番のため',
});
await m1.post('/api/requests', {
  kind: 'equipment',
  payload: {
    personId: suzuki.id,
    direction: 'in',
    description: 'サーバー交換用ディスク 4 本',
    witnessPersonId: yamada.id,
    doorId: 'machine-room',
  },
  reason: 'ディスク交換作業',
});
const g = (
  await op.post('/api/requests', {
    kind: 'escort_permission',
    payload: { personId: sato.id },
    reason: '来訪者の受入担当',
  })
).json();
await m2.post(`/api/requests/${g.id}/approve`, { note: '了解' });
c.checkpoint();
await m2.post('/api/integrity/verify');

const base = await d.app.listen({ host: '127.0.0.1', port: 0 });
const browser = await launchChromium();
async function shoot(
  name: string,
  path: string,
  opts: {
    locale?: 'ja-JP' | 'en-US';
    user?: string;
    /** The viewport's width (default 1280; 390 for a phone). */
    width?: number;
    full?: boolean;
    height?: number;
    print?: boolean;
    /** Something to do on the page before the picture (open a dialog, fill a form). */
    action?: (page: Page) => Promise<void>;
  } = {},
) {
  const ctx = await newContext(browser, {
    locale: opts.locale ?? 'ja-JP',
    width: opts.width ?? 1280,
    height: opts.height ?? 800,
  });
  const page = await ctx.newPage();
  if (opts.user) await loginAs(page, base, opts.user, PASSWORD, path);
  else await page.goto(base + path);
  if (opts.print) await page.emulateMedia({ media: 'print' });
  if (opts.action) await opts.action(page);
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: opts.full ?? false });
  await ctx.close();
  process.stdout.write(`docs/screenshots/${name}.png\n`);
}
await shoot('login', '/login');
await shoot('live', '/', { user: 'manager1', height: 760 });
await shoot('live-en', '/', { user: 'manager1', locale: 'en-US', height: 760 });
await shoot('log', '/log', { user: 'manager1', full: true });
await shoot('log-print', `/log/print?month=${today.slice(0, 7)}`, {
  user: 'manager1',
  full: true,
  print: true,
});
await shoot('alarms', '/alarms', { user: 'operator1', full: true });
await shoot('people', '/people', { user: 'manager1', full: true });
await shoot('requests', '/requests', { user: 'manager2', full: true });
await shoot('visitors', '/visitors', { user: 'operator1', full: true });
await shoot('integrity', '/integrity', { user: 'auditor1', full: true });
await shoot('reports', '/reports', { user: 'manager1', full: true });
await shoot('compliance', '/compliance', { user: 'auditor1', full: true });
await shoot('sim', '/sim', { user: 'operator1', full: true });
// On a phone (390×844): the pages as cards, the menu behind its button.
const phone = { width: 390, height: 844 };
await shoot('phone-live', '/', { user: 'manager1', ...phone });
await shoot('phone-live-en', '/', { user: 'manager1', locale: 'en-US', ...phone });
await shoot('phone-log', '/log', { user: 'manager1', ...phone });
await shoot('phone-requests', '/requests', { user: 'manager2', ...phone });
await shoot('phone-reports-en', '/reports', { user: 'manager1', locale: 'en-US', ...phone });
await shoot('phone-menu', '/log', {
  user: 'manager1',
  ...phone,
  action: async (page) => {
    await page.click('#menu-toggle');
  },
});
// Someone leaves by the exit button: everyone inside "may have left"; a manager corrects it.
board.simulate('machine-room.exitButton', true);
board.simulate('machine-room.exitButton', false);
const sato1 = people.find((p) => p.displayId === 'S-1002')!;
await shoot('live-presence', '/', {
  user: 'manager1',
  height: 760,
  action: async (page) => {
    await page.click('#presence-open-machine-room');
    const row = page.locator(`#presence-dialog tr[data-person="${sato1.id}"] input[name="inside"]`);
    if ((await row.count()) > 0) await row.uncheck();
    await page.fill(
      '#presence-dialog textarea[name="note"]',
      '佐藤は 14:05 に退室ボタンで退室（防犯カメラで確認）',
    );
  },
});
await browser.close();
await d.close();
