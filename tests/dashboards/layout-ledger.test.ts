/**
 * The printed 入退室管理簿 and the report exports, without a browser: the era converter and its
 * boundaries, the `ledger` config key, the print page's sheets, seals and era dates, after-hours
 * entries counted per person, and the reports and compliance view as CSV (BOM, journaled, rights).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../controller/config/index.js';
import { parseLocal } from '../../controller/time.js';
import { FIRST_SHEET_LINES, rowLines, SHEET_LINES, sheetsOf } from '../../dashboards/pages/log.js';
import { byPerson } from '../../dashboards/reports.js';
import { formatWareki, formatWarekiMonth, toWareki } from '../../dashboards/wareki.js';
import { minimalConfig } from '../helpers/config.js';
import { ROOT } from '../helpers/util.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

describe('和暦', () => {
  it('turns dates into era dates, with 元年 and the boundaries of 平成 and 令和', () => {
    expect(formatWareki('2026-12-07', 'ja')).toBe('令和8年12月7日');
    expect(formatWareki('2026-12-07 14:05:09', 'ja')).toBe('令和8年12月7日 14:05:09');
    expect(formatWareki('2026-12-07 14:05:09', 'en')).toBe('Reiwa 8-12-07 14:05:09');
    // 平成 ends on 30 April 2019; 令和 begins on 1 May 2019 (元年).
    expect(formatWareki('2019-04-30', 'ja')).toBe('平成31年4月30日');
    expect(formatWareki('2019-05-01', 'ja')).toBe('令和元年5月1日');
    expect(formatWareki('2019-12-31', 'ja')).toBe('令和元年12月31日');
    expect(formatWareki('2020-01-01', 'ja')).toBe('令和2年1月1日');
    // 昭和 ends on 7 January 1989; 平成 begins on the 8th.
    expect(formatWareki('1989-01-07', 'ja')).toBe('昭和64年1月7日');
    expect(formatWareki('1989-01-08', 'ja')).toBe('平成元年1月8日');
    expect(formatWareki('1970-01-01', 'ja')).toBe('昭和45年1月1日');
    expect(toWareki('2019-05-01')).toMatchObject({ year: 1, month: 5, day: 1, era: { en: 'Reiwa' } });
  });

  it('leaves what is not a date, or is before 昭和, as it was', () => {
    expect(formatWareki('1926-12-24', 'ja')).toBe('1926-12-24');
    expect(formatWareki('2026-02-30', 'ja')).toBe('2026-02-30');
    expect(formatWareki('—', 'ja')).toBe('—');
    expect(formatWareki('2026-13-01 10:00', 'en')).toBe('2026-13-01 10:00');
  });

  it('names a month by the era at its end', () => {
    expect(formatWarekiMonth('2026-12', 'ja')).toBe('令和8年12月');
    expect(formatWarekiMonth('2019-04', 'ja')).toBe('平成31年4月');
    expect(formatWarekiMonth('2019-05', 'ja')).toBe('令和元年5月');
    expect(formatWarekiMonth('1989-01', 'ja')).toBe('平成元年1月');
    expect(formatWarekiMonth('2026-12', 'en')).toBe('Reiwa 8-12');
  });
});

describe('config: ledger', () => {
  const parse = (ledger: unknown) =>
    parseConfig(
      stringify(minimalConfig({ readers: [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }], ledger })),
    );
  const problems = (ledger: unknown): string[] => {
    try {
      parse(ledger);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    throw new Error('config was accepted');
  };

  it('defaults to one checking box and Gregorian dates', () => {
    expect(parse(undefined).ledger).toEqual({ seals: [], dates: 'gregorian' });
    expect(parse({ seals: ['担当', '係長', '課長'], dates: 'japanese' }).ledger).toEqual({
      seals: ['担当', '係長', '課長'],
      dates: 'japanese',
    });
  });

  it('refuses too many seals, a seal listed twice, hidden characters, an unknown calendar or key', () => {
    expect(problems({ seals: Array.from({ length: 9 }, (_, i) => `印${i}`) })).toEqual([
      'ledger.seals: at most 8 seals fit the page',
    ]);
    expect(problems({ seals: ['担当', '担当'] })).toEqual(['ledger.seals: a seal title is listed twice']);
    expect(problems({ seals: ['課長\u202e'] })[0]).toMatch(/^ledger\.seals\[0\]: .*U\+202E/);
    expect(problems({ seals: [''] })).toEqual(['ledger.seals[0]: must not be empty']);
    expect(problems({ dates: 'heisei' })).toEqual(['ledger.dates: expected gregorian or japanese']);
    expect(problems({ stamp: true })[0]).toContain('stamp');
  });

  it('docs/config.md documents the keys', () => {
    const doc = readFileSync(join(ROOT, 'docs/config.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## `ledger`'));
    expect(section).toContain('| `seals` |');
    expect(section).toContain('| `dates` |');
  });
});

describe('sheets of the printed ledger', () => {
  it('fills a short first sheet and full ones after it by print lines, one sheet at least', () => {
    expect(sheetsOf([])).toEqual([[]]);
    const rows = Array.from({ length: FIRST_SHEET_LINES + SHEET_LINES + 1 }, (_, i) => i);
    const sheets = sheetsOf(rows);
    expect(sheets.map((s) => s.length)).toEqual([FIRST_SHEET_LINES, SHEET_LINES, 1]);
    expect(sheets.flat()).toEqual(rows);
    // Two-line rows: half as many fit; a row never splits across sheets.
    expect(sheetsOf(rows, () => 2).map((s) => s.length)).toEqual([
      FIRST_SHEET_LINES / 2,
      SHEET_LINES / 2,
      SHEET_LINES / 2,
      rows.length - FIRST_SHEET_LINES / 2 - SHEET_LINES,
    ]);
    // A row taller than a sheet still gets one of its own.
    expect(sheetsOf([1, 2], () => 100)).toEqual([[1], [2]]);
  });

  it('counts a long name and a transcription as more lines', () => {
    const row = (personName: string | null, paper = false) => ({
      personName,
      escortName: null,
      paper: paper ? { ref: '1-1', transcribedBy: 'a', approvedBy: 'b', outage: null } : null,
    });
    expect(rowLines(row('山田 太郎'))).toBe(1);
    expect(rowLines(row(null))).toBe(1);
    expect(rowLines(row('山田 太郎', true))).toBe(2);
    expect(rowLines(row('長谷川 宗一郎左衛門 ハセガワ ソウイチロウザエモン'))).toBe(2);
    expect(rowLines(row('長谷川 宗一郎左衛門 ハセガワ ソウイチロウザエモン 株式会社サンプル電機'))).toBe(3);
    expect(rowLines(row('Christopher Alexander Montgomery-Smith'))).toBe(2);
  });
});

describe('after-hours entries per person', () => {
  it('counts per person, most entries first, times oldest first', () => {
    const e = (seq: number, at: number, person: string | null, name: string | null) => ({
      seq,
      at,
      person,
      name,
      displayId: person ? `S-${person}` : null,
    });
    const out = byPerson([
      e(1, 300, 'b', '馬場'),
      e(2, 100, 'a', '青木'),
      e(3, 50, 'b', '馬場'),
      e(4, 200, null, null),
      e(5, 400, 'b', '馬場'),
    ]);
    expect(out.map((g) => [g.person, g.count])).toEqual([
      ['b', 3],
      [null, 1],
      ['a', 1],
    ]);
    expect(out[0]!.entries.map((x) => x.at)).toEqual([50, 300, 400]);
  });
});

describe('the printed ledger and the report exports, served', () => {
  let d: TestDash;
  let m: Client;
  const night = (day: string, time: string) => parseLocal(`2026-10-${day} ${time}`, 'Asia/Tokyo');

  beforeAll(async () => {
    d = await makeDash({ clock: true, config: { ledger: { seals: ['担当', '係長', '課長'] } } });
    m = await d.login('manager1');
    const r = d.controller.registry;
    const now = d.controller.now();
    const staff = (id: string, name: string, credential: string) => {
      const p = r.addPerson({ displayId: id, name, category: 'staff' }, 'test', now);
      r.addBadge({ personId: p.id, credential }, 'test', now);
      r.grantDoor(p.id, 'machine-room', 'always', 'test', now);
      return p;
    };
    staff('S-1', 'Night Owl', '0A0A0A0A0A');
    staff('S-2', '=HYPERLINK("x")', '0B0B0B0B0B');
    d.clock.auto = false;
    for (const [day, time, card] of [
      ['07', '23:15', '0A0A0A0A0A'], // Wednesday night
      ['08', '06:40', '0A0A0A0A0A'],
      ['10', '11:00', '0A0A0A0A0A'], // Saturday
      ['09', '22:00', '0B0B0B0B0B'],
      ['08', '10:00', '0B0B0B0B0B'], // office hours: not counted
    ] as const) {
      d.clock.now = night(day, time);
      d.controller.simulateBadge('entry', card);
      d.controller.simulateBadge('exit', card);
    }
    d.clock.auto = true;
  });
  afterAll(async () => {
    await d?.close();
  });

  it('reports one row per person with the count; the page folds the times away', async () => {
    const rep = (await m.get('/api/reports?from=2026-10-01&to=2026-10-31')).json();
    expect(rep.afterHours).toHaveLength(4);
    expect(
      rep.afterHoursByPerson.map((p: { name: string; count: number; entries: unknown[] }) => [
        p.name,
        p.count,
        p.entries.length,
      ]),
    ).toEqual([
      ['Night Owl', 3, 3],
      ['=HYPERLINK("x")', 1, 1],
    ]);
    const page = (await m.get('/reports?from=2026-10-01&to=2026-10-31')).body;
    const rows = [...page.matchAll(/<tr data-person="p_[^"]+">/g)];
    expect(rows).toHaveLength(2);
    expect(page).toContain('<td class="num">3</td>');
    expect(page).toContain('<details class="times"><summary>日時を表示</summary>');
    expect(page).toContain('<li class="nowrap">2026-10-07 23:15:00</li>');
    expect(page).toContain(
      'id="reports-csv" href="/api/reports.csv?table=after-hours&from=2026-10-01&to=2026-10-31"',
    );
  });

  it('exports the reports as CSV with a BOM, defuses formulas, journals the export, and keeps it from the operator', async () => {
    const res = await m.get('/api/reports.csv?table=after-hours&from=2026-10-01&to=2026-10-31');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(
      'attachment; filename="sekisho-after-hours-2026-10-01-2026-10-31.csv"',
    );
    expect(res.body.split('\r\n')).toEqual([
      '\uFEFF氏名,ID,入室回数,入室日時',
      'Night Owl,S-1,3,2026-10-07 23:15:00; 2026-10-08 06:40:00; 2026-10-10 11:00:00',
      `"'=HYPERLINK(""x"")",S-2,1,2026-10-09 22:00:00`,
      '',
    ]);
    const exported = d.controller.journal.query({ types: ['log_exported'], limit: 1 })[0]!;
    expect(exported.actor).toBe('user:manager1');
    expect(JSON.parse(JSON.stringify(exported.data))).toMatchObject({
      format: 'csv',
      filter: { report: 'after-hours', from: '2026-10-01', to: '2026-10-31' },
    });
    const en = await m.req('GET', '/api/reports.csv?table=denials&from=2026-10-01&to=2026-10-31', undefined, {
      cookie: `${m.cookie}; sekisho_lang=en`,
    });
    expect(en.body.startsWith('\uFEFFReason,Count\r\n')).toBe(true);
    expect((await m.get('/api/reports.csv?table=everything')).statusCode).toBe(400);
    const op = await d.login('operator1');
    expect((await op.get('/api/reports.csv')).statusCode).toBe(403);
    expect((await op.get('/api/compliance.csv')).statusCode).toBe(403);
    // An API token (read scope) holds neither right.
    for (const url of ['/api/reports.csv', '/api/compliance.csv'])
      expect((await d.app.inject({ method: 'GET', url, headers: d.bearer('read') })).statusCode).toBe(403);
  });

  it('exports the compliance view as CSV, one line per clause', async () => {
    const items = (await m.get('/api/compliance')).json().items as { clause: string }[];
    const res = await m.get('/api/compliance.csv');
    expect(res.statusCode).toBe(200);
    const lines = res.body.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe('\uFEFF条項,要求事項,状態,根拠,判定方法');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(items.map((i) => i.clause));
    expect((await m.get('/compliance')).body).toContain('id="compliance-csv" href="/api/compliance.csv"');
  });

  it('prints the month with the configured seals, numbered sheets, and era dates on request', async () => {
    const greg = (await m.get('/log/print?month=2026-10')).body;
    const seals = /<table class="seals" id="print-seals"><tr>(.*?)<\/tr>/.exec(greg)![1]!;
    expect(seals).toBe('<th>担当</th><th>係長</th><th>課長</th>');
    expect(greg).toContain('<span class="page-no">1 / 1 ページ</span>');
    expect(greg).toContain('<td class="nowrap c-time">2026-10-07 23:15:00</td>');
    expect(greg).toContain('<option value="gregorian" selected>');
    const wa = (await m.get('/log/print?month=2026-10&dates=japanese')).body;
    expect(wa).toContain('<h1>入退室管理簿 令和8年10月</h1>');
    expect(wa).toContain('<td class="nowrap c-time">令和8年10月7日 23:15:00</td>');
    expect(wa).not.toContain('<td class="nowrap c-time">2026-10-07');
    expect((await m.get('/log/print?month=2026-10&dates=showa')).statusCode).toBe(400);
    // The seals are the config's: a viewer cannot choose others for a printout.
    expect((await m.get('/log/print?month=2026-10&seals=%E6%8B%85%E5%BD%93')).statusCode).toBe(400);
  });
});
