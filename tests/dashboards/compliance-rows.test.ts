/**
 * The Compliance page's rows that used to be constant are computed from evidence, each with the
 * sentence saying how it is judged: §5(2)⑪ウ (retention), §6(1)⑧ (lost cards), §6(1)⑦ §8(2)④
 * (passwords), §8(5)① (lockdown), and the clock in §8(1)④ §9(1) — unknown is 要確認, never 適合.
 * Each is shown OK on a healthy controller, then made to fail the way it could fail for real (a
 * grant after a lost report, a weak stored hash, an archive of young records, nobody able to set
 * lockdown, the clock's state unknown). Real controller, real SQLite, real `timedatectl` path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../controller/accounts/passwords.js';
import { fakeTimedatectl } from '../helpers/clock.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

interface Item {
  clause: string;
  requirement: string;
  status: 'ok' | 'attention';
  evidence: [string, string | number][];
  basis?: string;
}

describe('compliance rows computed from evidence', () => {
  const sync = fakeTimedatectl('yes');
  const path = process.env.PATH;
  let d: TestDash;
  let m: Client;
  let aud: Client;

  beforeAll(async () => {
    process.env.PATH = `${sync.dir}:${path}`;
    d = await makeDash();
    await d.controller.pollClock();
    m = await d.login('manager1');
    aud = await d.login('auditor1');
  });
  afterAll(async () => {
    process.env.PATH = path;
    await d?.close();
  });

  const row = async (requirement: string, c: Client = m) => {
    const items = (await c.get('/api/compliance')).json().items as Item[];
    const it = items.find((i) => i.requirement === requirement)!;
    return { ...it, ev: Object.fromEntries(it.evidence) as Record<string, string | number> };
  };

  it('a healthy controller: each row OK, with how it is judged', async () => {
    for (const requirement of ['cmp_retention', 'cmp_lost', 'cmp_passwords', 'cmp_lockdown', 'cmp_health']) {
      const r = await row(requirement);
      expect(r.status, requirement).toBe('ok');
      expect(r.basis, requirement).toBe(`cmp_basis_${requirement.slice(4)}`);
    }
    expect((await row('cmp_health')).ev.cmp_ev_clock).toBe('OK');
    const page = (await m.req('GET', '/compliance', undefined, { cookie: `${m.cookie}; sekisho_lang=ja` }))
      .body;
    expect(page).toContain('判定：過去 1 年の紛失の届出ごとに');
    expect(page).toContain('時刻同期を確かめられない（?）場合も要確認です。');
  });

  it('the clock: unknown and unsynchronised are 要確認, synchronised again is OK', async () => {
    sync.set('fail');
    await d.controller.pollClock();
    expect(d.controller.status().clockSynced).toBeNull();
    let h = await row('cmp_health');
    expect([h.status, h.ev.cmp_ev_clock]).toEqual(['attention', '?']);
    const page = (await m.req('GET', '/compliance', undefined, { cookie: `${m.cookie}; sekisho_lang=ja` }))
      .body;
    expect(page).toMatch(/data-clause="§8\(1\)④ §9\(1\)">.*?<span class="tag warn">要確認<\/span>/s);
    sync.set('no');
    await d.controller.pollClock();
    h = await row('cmp_health');
    expect([h.status, h.ev.cmp_ev_clock]).toEqual(['attention', 'NG']);
    sync.set('yes');
    await d.controller.pollClock();
    expect((await row('cmp_health')).status).toBe('ok');
  });

  it('lost cards: a grant after the lost report (until found) is 要確認', async () => {
    const c = d.controller;
    const r = c.registry;
    const p = r.addPerson({ displayId: 'L-1', name: '紛失 太郎', category: 'staff' }, 'test', c.now());
    const badge = r.addBadge({ personId: p.id, credential: '0C0C0C0C0C' }, 'test', c.now());
    r.grantDoor(p.id, 'machine-room', 'always', 'test', c.now());
    expect(c.simulateBadge('entry', '0C0C0C0C0C').decision.granted).toBe(true);
    r.setBadgeStatus(badge.id, 'lost', 'test', c.now());
    expect(c.simulateBadge('entry', '0C0C0C0C0C').decision).toMatchObject({ granted: false });
    let lost = await row('cmp_lost');
    expect(lost.status).toBe('ok');
    expect(lost.ev).toMatchObject({ cmp_ev_lost_badges: 1, cmp_ev_lost_reports: 1, cmp_ev_lost_granted: 0 });

    // What a fault would leave: the door granting the lost card (written as the door would).
    c.journal.append({
      type: 'access',
      at: c.now(),
      door: 'machine-room',
      person: p.id,
      data: {
        reader: 'entry',
        direction: 'in',
        result: 'granted',
        reason: 'granted',
        badge: badge.id,
        masked: badge.masked,
        format: 'em4100',
      },
    });
    lost = await row('cmp_lost');
    expect(lost.status).toBe('attention');
    expect(lost.ev.cmp_ev_lost_granted).toBe(1);

    // Found, then the card enrolled again as a new badge: its grants are not "after a lost report".
    r.markBadgeFound(badge.id, 'in the hall, by the guard', 'test', c.now());
    r.addBadge({ personId: p.id, credential: '0C0C0C0C0C' }, 'test', c.now());
    expect(c.simulateBadge('entry', '0C0C0C0C0C').decision.granted).toBe(true);
    expect((await row('cmp_lost')).ev.cmp_ev_lost_granted).toBe(1);
  });

  it('passwords: a stored hash weaker than the current cost is 要確認', async () => {
    expect((await row('cmp_passwords')).ev.cmp_ev_weak_hashes).toBe(0);
    const weak = await hashPassword('an old weak hash 1', { N: 512, r: 8, p: 1 });
    d.controller.db
      .prepare("UPDATE dashboard_users SET password_hash = ? WHERE username = 'operator1'")
      .run(weak);
    const pw = await row('cmp_passwords');
    expect([pw.status, pw.ev.cmp_ev_weak_hashes]).toEqual(['attention', 1]);
  });

  it('retention: an archive that took records younger than 5 years is 要確認', async () => {
    const c = d.controller;
    const YEAR = 365.25 * 86_400_000;
    const archived = (lastAt: number) =>
      c.journal.append({
        type: 'journal_archived',
        at: c.now(),
        actor: 'test',
        data: {
          file: '/tmp/archive.sekisho-archive',
          sha256: '0'.repeat(64),
          fromSeq: 1,
          toSeq: 0,
          rows: 0,
          firstAt: lastAt,
          lastAt,
          before: lastAt + 1,
          retentionYears: 5,
        },
      });
    archived(c.now() - 6 * YEAR);
    let ret = await row('cmp_retention');
    expect(ret.status).toBe('ok');
    expect(ret.ev).toMatchObject({
      cmp_ev_archives: 1,
      cmp_ev_archives_early: 0,
      cmp_ev_delete_refused: 'OK',
    });
    archived(c.now() - 1 * YEAR);
    ret = await row('cmp_retention');
    expect(ret.status).toBe('attention');
    expect(ret.ev).toMatchObject({ cmp_ev_archives: 2, cmp_ev_archives_early: 1 });
  });

  it('lockdown: no enabled account that can set it is 要確認', async () => {
    expect((await row('cmp_lockdown')).ev.cmp_ev_lockdown_accounts).toBe(4); // admin1, admin2, manager1, manager2
    d.controller.db.prepare("UPDATE dashboard_users SET active = 0 WHERE role IN ('admin', 'manager')").run();
    const lock = await row('cmp_lockdown', aud);
    expect([lock.status, lock.ev.cmp_ev_lockdown_accounts]).toEqual(['attention', 0]);
  });
});
