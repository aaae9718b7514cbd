/**
 * A full escorted visit through two real pseudo-terminals (entry and exit RDM6300 readers) and the
 * real `sekisho start` process, checked in the journal: issue → visitor alone refused → visitor and
 * escort together → escort refused at the exit while the visitor is inside → visitor out → escort
 * out → room secured → badge returned.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRdm6300Frame } from '../../firmware-bridge/index.js';
import {
  approvePending,
  cli,
  cliJson,
  doorConfig,
  type Running,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { makePtyPair } from '../helpers/pty.js';

interface Row {
  seq: number;
  type: string;
  person: string | null;
  data: Record<string, unknown>;
}

describe('an escorted visit through real ptys', () => {
  const dir = tempDir('sekisho-visit-');
  const storage = join(dir, 'data');
  let entry: Awaited<ReturnType<typeof makePtyPair>>;
  let exit: Awaited<ReturnType<typeof makePtyPair>>;
  let fdIn: number;
  let fdOut: number;
  let ctl: Running;
  let db: Database.Database;
  let cfg: string;
  let host = '';
  let visitor = '';
  let visitorBadge = '';
  const ESCORT = '0A1B2C3D4E';
  const VISITOR = '5566778899';

  const rows = (afterSeq: number): Row[] =>
    (
      db.prepare('SELECT seq, type, person, bytes FROM journal WHERE seq > ? ORDER BY seq').all(afterSeq) as {
        seq: number;
        type: string;
        person: string | null;
        bytes: string;
      }[]
    ).map((r) => ({ seq: r.seq, type: r.type, person: r.person, data: JSON.parse(r.bytes).data }));
  const head = () => (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM journal').get() as { s: number }).s;
  const accessOf = (after: number, person: string) =>
    rows(after).filter((r) => r.type === 'access' && r.person === person);
  const door = (open: boolean) => ctl.api('POST', '/api/sim/doors/machine-room/contact', { open });
  const presence = () =>
    JSON.parse(cli(['presence', '--config', cfg, '--json']).stdout) as {
      doors: { inside: { personId: string; escort: string | null; escorted: boolean | null }[] }[];
    };

  beforeAll(async () => {
    entry = await makePtyPair(join(dir, 'in'));
    exit = await makePtyPair(join(dir, 'out'));
    cfg = writeConfig(
      dir,
      doorConfig(
        dir,
        [
          { id: 'entry', path: entry.b, protocol: 'rdm6300', repeatSuppressMs: 300 },
          { id: 'exit', path: exit.b, protocol: 'rdm6300', repeatSuppressMs: 300 },
        ],
        { visitors: { escortWindowS: 15, roomSecureS: 5, escortExit: 'refuse' } },
      ),
    );
    // Run through sudo by manager-a; what grants waits for manager-b (on the dashboard; here its store).
    const asA = { sudo: 'manager-a' };
    host = cliJson<{ id: string }>(
      ['person', 'add', '--config', cfg, '--name', '山田 太郎', '--id', 'S-1001', '--category', 'staff'],
      asA,
    ).id;
    expect(cli(['person', 'grant', host, '--config', cfg, '--door', 'machine-room'], asA).status).toBe(0);
    expect(cli(['badge', 'add', '--config', cfg, '--person', host, '--number', ESCORT], asA).status).toBe(0);
    expect(cli(['person', 'may-escort', host, '--config', cfg], asA).status).toBe(0);
    expect(await approvePending(cfg, 'user:manager-b')).toHaveLength(3);
    // The visitor's card, issued at once by one person alone: the break-glass path, with its alarm.
    const issued = cliJson<{ badgeId: string; personId: string }>(
      [
        'visitor',
        'issue',
        '--config',
        cfg,
        '--host',
        host,
        '--name',
        'Visitor V',
        '--id',
        'V-0001',
        '--number',
        VISITOR,
        '--purpose',
        'UPS maintenance',
        '--equipment',
        'laptop (asset 1234)',
        '--break-glass',
        'the UPS vendor arrived early, nobody else on site',
      ],
      asA,
    );
    visitor = issued.personId;
    visitorBadge = issued.badgeId;
    ctl = await startController(cfg, storage);
    db = new Database(join(storage, 'journal.db'), { readonly: true });
    fdIn = openSync(entry.a, 'w');
    fdOut = openSync(exit.a, 'w');
    await until(
      async () =>
        (await ctl.api<{ readers: { online: boolean }[] }>('GET', '/api/status')).body.readers.every(
          (r) => r.online,
        ),
      'both readers online',
    );
  });

  afterAll(async () => {
    for (const fd of [fdIn, fdOut]) if (fd !== undefined) closeSync(fd);
    db?.close();
    await ctl?.stop();
    await entry?.stop();
    await exit?.stop();
  });

  it('the issue is journaled with the host, purpose and declared equipment', () => {
    const issued = rows(0).find((r) => r.type === 'visitor_badge_issued');
    expect(issued?.data).toMatchObject({
      hostId: host,
      purpose: 'UPS maintenance',
      equipment: ['laptop (asset 1234)'],
    });
    expect(JSON.stringify(rows(0))).not.toContain(VISITOR);
    // Issued alone: journaled as such, with a critical alarm the running controller took in.
    expect(rows(0).find((r) => r.type === 'break_glass_used')?.data).toMatchObject({
      kind: 'visitor_badge',
      reason: 'the UPS vendor arrived early, nobody else on site',
    });
    const raised = rows(0).find((r) => r.type === 'alarm_raised');
    expect(raised?.data).toMatchObject({ alarm: 'break_glass', severity: 'critical' });
  });

  it('visitor first, then the escort within the window: one unlock, each entry names the other', async () => {
    const before = head();
    writeSync(fdIn, encodeRdm6300Frame(VISITOR));
    await until(() => accessOf(before, visitor).length > 0, 'visitor read');
    expect(
      (await ctl.api<Record<string, boolean>>('GET', '/api/sim/outputs')).body['machine-room.lock'],
    ).toBe(false);
    writeSync(fdIn, encodeRdm6300Frame(ESCORT));
    await until(() => accessOf(before, host).length > 0, 'escort read');
    await until(
      async () =>
        (await ctl.api<Record<string, boolean>>('GET', '/api/sim/outputs')).body['machine-room.lock'],
      'unlocked',
    );
    await door(true);
    await door(false);
    await until(() => rows(before).some((r) => r.type === 'door_locked'), 'relocked');
    const all = rows(before);
    expect(all.filter((r) => r.type === 'door_unlocked')).toHaveLength(1);
    const escortEntry = accessOf(before, host).at(-1)!;
    expect(escortEntry.data).toMatchObject({ result: 'granted', direction: 'in' });
    expect(escortEntry.data.visitors).toEqual([expect.objectContaining({ person: visitor })]);
    const visitorEntry = all.filter(
      (r) => r.person === visitor && (r.type === 'access' || r.type === 'escort_visitors_joined'),
    );
    console.log(JSON.stringify(visitorEntry));
    expect(JSON.stringify(visitorEntry)).toContain(host);
    const inside = presence().doors[0]!.inside;
    expect(inside.map((p) => p.personId).sort()).toEqual([host, visitor].sort());
    expect(inside.find((p) => p.personId === visitor)).toMatchObject({ escort: host, escorted: true });
  });

  it('the escort cannot badge out while the visitor is inside', async () => {
    await new Promise((r) => setTimeout(r, 400));
    const before = head();
    writeSync(fdOut, encodeRdm6300Frame(ESCORT));
    await until(() => accessOf(before, host).length > 0, 'escort exit read');
    expect(accessOf(before, host)[0]!.data).toMatchObject({
      result: 'denied',
      reason: 'escort_exit_refused',
    });
    expect(rows(before).some((r) => r.type === 'door_unlocked')).toBe(false);
  });

  it('visitor out, then escort out; the empty room is recorded as secured', async () => {
    await new Promise((r) => setTimeout(r, 400));
    const before = head();
    writeSync(fdOut, encodeRdm6300Frame(VISITOR));
    await until(() => accessOf(before, visitor).length > 0, 'visitor exit');
    expect(accessOf(before, visitor)[0]!.data).toMatchObject({ result: 'granted', direction: 'out' });
    await door(true);
    await door(false);
    await new Promise((r) => setTimeout(r, 400));
    writeSync(fdOut, encodeRdm6300Frame(ESCORT));
    await until(() => accessOf(before, host).length > 0, 'escort exit');
    expect(accessOf(before, host)[0]!.data).toMatchObject({ result: 'granted', direction: 'out' });
    await door(true);
    await door(false);
    await until(() => rows(before).some((r) => r.type === 'room_secured'), 'room_secured', 8000);
    expect(presence().doors[0]!.inside).toEqual([]);
    expect(rows(before).some((r) => r.type === 'alarm_raised')).toBe(false);
  });

  it('the badge is returned and then opens nothing', async () => {
    expect(cli(['visitor', 'return', visitorBadge, '--config', cfg]).status).toBe(0);
    const list = cli(['visitor', 'list', '--config', cfg, '--unreturned', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));
    const before = head();
    writeSync(fdIn, encodeRdm6300Frame(VISITOR));
    await until(() => accessOf(before, visitor).length > 0, 'returned badge read');
    expect(accessOf(before, visitor)[0]!.data.result).toBe('denied');
    expect(cli(['verify', '--config', cfg]).status).toBe(0);
  });
});
