/**
 * The entry/exit log: every filter, cursor pagination without gaps or repeats, the streamed CSV,
 * the printable month, and the index that keeps each filter off a journal scan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocal } from '../../controller/time.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

describe('entry/exit log', () => {
  let d: TestDash;
  let m: Client;
  let staff: string;
  let contractor: string;
  const at = (local: string) => parseLocal(local, 'Asia/Tokyo');

  beforeAll(async () => {
    d = await makeDash({ clock: true });
    m = await d.login('manager1');
    const r = d.controller.registry;
    d.clock.auto = false;
    d.clock.now = at('2026-10-01 08:00');
    const now = d.controller.now();
    const a = r.addPerson({ displayId: 'S-1001', name: '山田 太郎', category: 'staff' }, 'test', now);
    r.addBadge({ personId: a.id, credential: '0A1B2C3D4E' }, 'test', now);
    r.grantDoor(a.id, 'machine-room', 'always', 'test', now);
    const b = r.addPerson({ displayId: 'C-2001', name: '鈴木 一郎', category: 'contractor' }, 'test', now);
    r.addBadge({ personId: b.id, credential: '1122334455' }, 'test', now);
    staff = a.id;
    contractor = b.id;
    // 30 days of traffic: the staff member in and out each day, the contractor refused every 3rd day.
    for (let day = 1; day <= 30; day++) {
      const date = `2026-10-${String(day).padStart(2, '0')}`;
      d.clock.now = at(`${date} 09:00`);
      d.controller.simulateBadge('entry', '0A1B2C3D4E');
      d.clock.now = at(`${date} 17:30`);
      d.controller.simulateBadge('exit', '0A1B2C3D4E');
      if (day % 3 === 0) {
        d.clock.now = at(`${date} 10:00`);
        d.controller.simulateBadge('entry', '1122334455');
      }
    }
    d.clock.now = at('2026-11-02 09:00');
    d.controller.simulateBadge('entry', 'DEADBEEF01'); // unknown
    d.clock.auto = true;
  });
  afterAll(async () => {
    await d?.close();
  });

  const get = async (q: string) => {
    const res = await m.get(`/api/log?${q}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { rows: Record<string, unknown>[]; next: string | null };
  };

  it('filters by date range (inclusive end date, site time zone), door, direction and result', async () => {
    expect((await get('from=2026-10-05&to=2026-10-05&limit=500')).rows).toHaveLength(2);
    expect((await get('from=2026-10-01&to=2026-10-31&limit=500')).rows).toHaveLength(70);
    expect((await get('from=2026-10-01&to=2026-10-31&direction=out&limit=500')).rows).toHaveLength(30);
    const denied = (await get('result=denied&limit=500')).rows;
    expect(denied).toHaveLength(11);
    expect(new Set(denied.map((r) => r.reason))).toEqual(new Set(['door_not_permitted', 'unknown_badge']));
    expect((await get('door=machine-room&limit=500')).rows).toHaveLength(71);
    expect((await get('door=other-door')).rows).toHaveLength(0);
    expect((await get('reason=unknown_badge')).rows).toMatchObject([
      { masked: '••••EF01', personName: null },
    ]);
  });

  it('filters by person (ID card, name or id) and by badge (id or last four)', async () => {
    expect((await get('person=C-2001&limit=500')).rows).toHaveLength(10);
    expect((await get('person=鈴木&limit=500')).rows).toHaveLength(10);
    expect((await get(`person=${staff}&limit=500`)).rows).toHaveLength(60);
    expect((await get('person=nobody-like-this')).rows).toHaveLength(0);
    expect((await get('badge=4455&limit=500')).rows).toHaveLength(10);
    const bid = d.controller.registry.listBadges({ personId: contractor })[0]!.id;
    expect((await get(`badge=${bid}&limit=500`)).rows).toHaveLength(10);
    const row = (await get('person=C-2001&limit=1')).rows[0]!;
    expect(row).toMatchObject({
      personName: '鈴木 一郎',
      displayId: 'C-2001',
      category: 'contractor',
      direction: 'in',
      result: 'denied',
      masked: '••••4455',
      doorName: 'マシン室',
      reader: 'entry',
    });
    expect(row.time).toBe('2026-10-30 10:00:00');
  });

  it('visitors only: shows visitor rows only', async () => {
    expect((await get('visitors=1')).rows).toHaveLength(0);
    const r = d.controller.registry;
    const now = d.controller.now();
    const v = r.addPerson({ displayId: 'V-1', name: 'Visitor', category: 'visitor' }, 'test', now);
    r.addBadge({ personId: v.id, credential: 'ABCDEF0123' }, 'test', now);
    d.controller.simulateBadge('entry', 'ABCDEF0123');
    const rows = (await get('visitors=1')).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ category: 'visitor', personName: 'Visitor' });
  });

  it('pages with a cursor: newest first, no row twice, none missed', async () => {
    const all = (await get('limit=500')).rows.map((r) => r.seq);
    const seen: unknown[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const page = await get(`limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.rows.map((r) => r.seq));
      cursor = page.next;
      pages++;
    }
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 7) + (all.length % 7 === 0 ? 1 : 0));
    expect((await m.get('/api/log?cursor=nonsense')).statusCode).toBe(400);
  });

  it('exports the filtered rows as CSV (streamed, BOM, formula-safe) and journals the export', async () => {
    const res = await m.get('/api/log.csv?person=C-2001');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="sekisho-log-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const lines = res.body.split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(11);
    expect(lines[1]).toBe(
      '2026-10-30 10:00:00,' +
        lines[1]!.split(',')[1] +
        ',マシン室,入室,拒否,扉の権限なし,鈴木 一郎,C-2001,委託事業者,••••4455,,entry',
    );
    const exported = d.controller.journal.query({ types: ['log_exported'], limit: 1 })[0]!;
    expect(exported).toMatchObject({
      actor: 'user:manager1',
      data: { format: 'csv', filter: { person: 'C-2001' } },
    });
    // A name that a spreadsheet would run as a formula is quoted.
    const now = d.controller.now();
    const evil = d.controller.registry.addPerson(
      { displayId: '=1+2', name: '=HYPERLINK("x")', category: 'staff' },
      'test',
      now,
    );
    d.controller.registry.addBadge({ personId: evil.id, credential: '0000000EEE' }, 'test', now);
    d.controller.simulateBadge('entry', '0000000EEE');
    const csv = (await m.get(`/api/log.csv?person=${evil.id}`)).body;
    expect(csv).toContain(`"'=HYPERLINK(""x"")",'=1+2`);
    // Many pages stream in order.
    const en = await d.app.inject({
      method: 'GET',
      url: '/api/log.csv',
      headers: { cookie: m.cookie, 'accept-language': 'en' },
    });
    const body = en.body.split('\r\n').filter(Boolean);
    expect(body[0]).toBe('\uFEFFTime,seq,Door,Direction,Result,Reason,Name,ID,Category,Badge,Escort,Reader');
    expect(body.length - 1).toBe((await get('limit=500')).rows.length);
    // The operator may read the log but not export it.
    const op = await d.login('operator1');
    expect((await op.get('/api/log.csv')).statusCode).toBe(403);
  });

  it('prints a month, oldest first, with who printed it', async () => {
    const res = await m.get('/log/print?month=2026-10');
    expect(res.statusCode).toBe(200);
    const html = res.body;
    expect(html).toContain('入退室管理簿 2026-10');
    expect(html).toContain('70 件');
    const times = [...html.matchAll(/<td class="nowrap c-time">(2026-\d\d-\d\d \d\d:\d\d:\d\d)<\/td>/g)].map(
      (x) => x[1]!,
    );
    expect(times).toHaveLength(70);
    expect(times[0]).toBe('2026-10-01 09:00:00');
    expect([...times].sort()).toEqual(times);
    expect(html).toContain('Test manager1 (manager1)');
    expect((await m.get('/log/print?month=2026-13')).statusCode).toBe(400);
    // Years the calendar arithmetic cannot serve are refused, not a 500.
    for (const month of ['0751-10', '9999-12'])
      expect((await m.get(`/log/print?month=${month}`)).statusCode).toBe(400);
  });

  it('the log page renders the filters and a next-page link', async () => {
    const res = await m.get('/log?result=denied&limit=5');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('id="next-page"');
    expect(res.body).toMatch(/<option value="denied" selected>/);
    expect((res.body.match(/<tr class="denied/g) ?? []).length).toBe(5);
  });

  it('the index catches up with rows it has not seen and can be rebuilt from the journal', async () => {
    const before = (await get('limit=500')).rows.length;
    d.controller.db.exec('DELETE FROM dashboard_access_index; DELETE FROM dashboard_index_state;');
    expect((await get('limit=500')).rows.length).toBe(before);
  });

  it('every log query is an index range (the query plan never scans the table)', () => {
    const db = d.controller.db;
    const plans = [
      'SELECT seq, at FROM dashboard_access_index WHERE at >= 1 AND at < 2 ORDER BY at DESC, seq DESC LIMIT 50',
      "SELECT seq, at FROM dashboard_access_index WHERE person IN ('a') ORDER BY at DESC, seq DESC LIMIT 50",
      "SELECT seq, at FROM dashboard_access_index WHERE badge IN ('a') ORDER BY at DESC, seq DESC LIMIT 50",
      "SELECT seq, at FROM dashboard_access_index WHERE result = 'denied' ORDER BY at DESC, seq DESC LIMIT 50",
      'SELECT seq, at FROM dashboard_access_index WHERE visitor = 1 ORDER BY at DESC, seq DESC LIMIT 50',
      "SELECT seq, at FROM dashboard_access_index WHERE door = 'x' AND (at, seq) < (5, 5) ORDER BY at DESC, seq DESC LIMIT 50",
    ].map((sql) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; '),
    );
    for (const p of plans) {
      expect(p).toMatch(/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/);
      expect(p).not.toMatch(/^SCAN dashboard_access_index$/m);
    }
  });
});
