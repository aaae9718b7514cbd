/**
 * Five years of a machine room, generated: the registry (people, badges, door permissions, escort
 * rights, lost and returned badges) and the journal (entries and exits with their door cycles,
 * denials, visitors with their escorts, exit-button exits, forced and held doors with their alarms and
 * acknowledgements, reader faults, lockdown drills, controller restarts, end-of-day reports) with
 * signed checkpoints every five minutes of activity, like a controller with the default
 * `checkpointEveryS: 300` writes them.
 *
 * Everything goes through the public Journal and Registry APIs, one transaction per simulated day,
 * so the hash chain and the registry's own records are exactly what the controller would have
 * written. The result is cached in a folder keyed by DATASET_VERSION and the sizes; `meta.json` is
 * written last and marks a complete folder.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AlarmSeverity,
  type AlarmType,
  type DecisionReason,
  foldRows,
  initialDerivedState,
  type PersonCategory,
  snapshotDerivedState,
} from '../../controller/domain/index.js';
import {
  Journal,
  type JournalInput,
  loadLatestSnapshot,
  loadOrCreateDeviceSecrets,
  openDatabase,
  saveSnapshot,
} from '../../controller/journal/index.js';
import { Registry } from '../../controller/registry/index.js';
import { now, rng } from './stats.js';

/** Bump when the generator changes what it writes: cached datasets of other versions are rebuilt. */
export const DATASET_VERSION = 3;
export const CONTROLLER_ID = 'bench-ctl';
export const DOOR = 'machine-room';
export const TZ_OFFSET_MS = 9 * 3600_000; // Asia/Tokyo has no DST
const DAY = 86_400_000;
const YEARS = 5;

export interface Staff {
  personId: string;
  badgeId: string;
  credential: string;
  name: string;
}

export interface DatasetMeta {
  version: number;
  rows: number;
  checkpoints: number;
  people: number;
  badges: number;
  /** UTC ms of the first and last simulated day. */
  from: number;
  to: number;
  generatedInS: number;
  /** IT staff with the `always` schedule on the door, their current badge (never lost after the end). */
  staff: Staff[];
  /** The person with the most rows (for "one person's five years"). */
  busiestPerson: string;
  busiestPersonRows: number;
  invalidNote: string;
  /** The seq of the signed derived-state snapshot at the last checkpoint (see addSnapshot). */
  snapshotSeq?: number;
}

export interface Dataset {
  dir: string;
  meta: DatasetMeta;
}

export function cacheRoot(): string {
  return process.env.SEKISHO_BENCH_CACHE ?? join(tmpdir(), 'sekisho-bench-cache');
}

export function datasetDir(rows: number, people: number): string {
  return join(cacheRoot(), `v${DATASET_VERSION}-r${rows}-p${people}`);
}

const SURNAMES = [
  '佐藤',
  '鈴木',
  '高橋',
  '田中',
  '伊藤',
  '渡辺',
  '山本',
  '中村',
  '小林',
  '加藤',
  '吉田',
  '山田',
  '佐々木',
  '山口',
  '松本',
  '井上',
  '木村',
  '林',
  '斎藤',
  '清水',
];
const GIVEN = [
  '太郎',
  '花子',
  '健',
  '美咲',
  '翔太',
  '陽菜',
  '大輔',
  '結衣',
  '直樹',
  '彩',
  '誠',
  '愛',
  '拓也',
  '優子',
];
const COMPANIES = ['富士通', 'NEC', '日立', 'NTTデータ', '東芝', '三菱電機', 'ＯＫＩ', '地元電設'];
const PURPOSES = ['サーバ保守', '回線工事', '監査', '空調点検', 'UPS点検', '機器搬入', '視察'];

/** A 10-hex-digit EM4100 credential. */
function card(prefix: number, n: number): string {
  return (prefix * 0x1_0000_0000 + n).toString(16).toUpperCase().padStart(10, '0');
}

interface Group {
  at: number;
  emit: (ctx: EmitCtx) => void;
}

interface EmitCtx {
  journal: Journal;
  registry: Registry;
  append: (input: JournalInput) => number;
}

/** Builds the dataset if the cache does not hold it; returns its folder and metadata. */
export function ensureDataset(opts: { rows: number; people: number; log?: (s: string) => void }): Dataset {
  const dir = datasetDir(opts.rows, opts.people);
  const metaFile = join(dir, 'meta.json');
  const log = opts.log ?? (() => undefined);
  let meta: DatasetMeta;
  if (existsSync(metaFile)) {
    meta = JSON.parse(readFileSync(metaFile, 'utf8')) as DatasetMeta;
    if (meta.snapshotSeq !== undefined) return { dir, meta };
  } else {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    meta = generate(dir, opts.rows, opts.people, log);
  }
  meta.snapshotSeq = addSnapshot(dir, log);
  writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  return { dir, meta };
}

/**
 * A running controller saves a signed snapshot of its derived state with each checkpoint, so a
 * journal five years old has one at its latest checkpoint; the dataset gets the same, made by the
 * controller's own functions. (How long a start without one takes is measured apart, in-process.)
 */
function addSnapshot(dir: string, log: (s: string) => void): number {
  const t = now();
  const secrets = loadOrCreateDeviceSecrets(dir);
  const db = openDatabase(join(dir, 'journal.db'));
  try {
    const journal = new Journal(db, { controllerId: CONTROLLER_ID });
    const cp = journal.latestCheckpoint();
    if (!cp) throw new Error('the dataset has no checkpoint to snapshot');
    const state = foldRows(initialDerivedState(), journal.iterate(1));
    if (state.lastSeq !== cp.seq)
      throw new Error(`the last checkpoint (${cp.seq}) is not the head (${state.lastSeq})`);
    const json = JSON.stringify(snapshotDerivedState(state));
    saveSnapshot(
      db,
      { seq: cp.seq, hash: cp.hash, at: cp.at, state: json },
      secrets.signingKey,
      secrets.keyId,
    );
    if (loadLatestSnapshot(db, secrets.publicKey).snapshot?.seq !== cp.seq)
      throw new Error('the snapshot just saved does not load');
    db.pragma('wal_checkpoint(TRUNCATE)');
    log(
      `  signed snapshot of the derived state at seq ${cp.seq} (${(json.length / 1000).toFixed(0)} kB) in ${((now() - t) / 1000).toFixed(1)} s`,
    );
    return cp.seq;
  } finally {
    db.close();
  }
}

function generate(
  dir: string,
  targetRows: number,
  targetPeople: number,
  log: (s: string) => void,
): DatasetMeta {
  const t0 = now();
  const rand = rng(20_260_401);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const between = (a: number, b: number) => a + Math.floor(rand() * (b - a));

  const secrets = loadOrCreateDeviceSecrets(dir);
  const db = openDatabase(join(dir, 'journal.db'));
  // While building only: a big page cache keeps the indexes in memory, and nothing needs to be
  // durable before meta.json says the folder is complete. The controller opens it with its own settings.
  db.pragma('cache_size = -262144');
  db.pragma('synchronous = OFF');
  const journal = new Journal(db, { controllerId: CONTROLLER_ID });
  const registry = new Registry(db, journal, { hmacKey: secrets.hmacKey });

  // The simulated period: five years of whole days ending the day before yesterday (UTC).
  const days = Math.round(YEARS * 365.25);
  const lastDay = Math.floor((Date.now() - 2 * DAY) / DAY) * DAY;
  const firstDay = lastDay - (days - 1) * DAY;
  /** UTC ms of a Tokyo wall-clock time on day d. */
  const local = (d: number, h: number, m = 0, s = 0) =>
    firstDay + d * DAY + (h * 3600 + m * 60 + s) * 1000 - TZ_OFFSET_MS;

  let checkpoints = 0;
  let lastCheckpointAt = 0;
  const rowsOf = new Map<string, number>();
  const ctx: EmitCtx = {
    journal,
    registry,
    append: (input) => {
      const row = journal.append(input);
      if (input.person) rowsOf.set(input.person, (rowsOf.get(input.person) ?? 0) + 1);
      return row.seq;
    },
  };
  const outbox = db.prepare('DELETE FROM outbox');

  // --- people ------------------------------------------------------------------------------------
  const name = () => `${pick(SURNAMES)} ${pick(GIVEN)}`;
  const staffCount = Math.min(120, Math.max(12, Math.floor(targetPeople / 800)));
  const contractorCount = Math.min(180, Math.max(8, Math.floor(targetPeople / 550)));
  const visitorShare = 0.04;
  const visitorPeople = Math.floor(targetPeople * visitorShare);
  const others = targetPeople - staffCount - contractorCount - visitorPeople;
  const admin = ['u_kanri01', 'u_kanri02', 'u_jouhou01'];

  const staff: Staff[] = [];
  const contractors: Staff[] = [];
  const escorts: Staff[] = [];
  let cardNo = 0;
  let personCount = 0;
  let badgeCount = 0;
  const enrol = (
    category: 'staff' | 'contractor' | 'visitor',
    at: number,
    credential: string,
    display: string,
  ) => {
    const p = registry.addPerson(
      {
        displayId: display,
        name: category === 'contractor' ? `${name()}（${pick(COMPANIES)}）` : name(),
        category,
        validFrom: category === 'visitor' ? at : null,
        validUntil: category === 'visitor' ? at + 12 * 3600_000 : null,
      },
      pick(admin),
      at,
    );
    const b = registry.addBadge(
      {
        personId: p.id,
        credential,
        validFrom: category === 'visitor' ? at : null,
        validUntil: category === 'visitor' ? at + 12 * 3600_000 : null,
      },
      pick(admin),
      at,
    );
    personCount++;
    badgeCount++;
    return { personId: p.id, badgeId: b.id, credential, name: p.name };
  };

  // Day 0: the initial import — the machine-room people and 60 % of everyone else.
  const initialOthers = Math.floor(others * 0.6);
  journal.transaction(() => {
    let at = local(0, 9);
    for (let i = 0; i < staffCount; i++) {
      const s = enrol('staff', at++, card(0x3a, cardNo++), `S-${10_000 + i}`);
      registry.grantDoor(s.personId, DOOR, 'always', pick(admin), at++);
      staff.push(s);
      if (i < Math.ceil(staffCount / 2)) {
        escorts.push(s);
        ctx.append({
          type: 'escort_permission_granted',
          at: at++,
          person: s.personId,
          actor: pick(admin),
          data: { personId: s.personId },
        });
      }
    }
    for (let i = 0; i < contractorCount; i++) {
      const c = enrol('contractor', at++, card(0x3a, cardNo++), `C-${20_000 + i}`);
      registry.grantDoor(c.personId, DOOR, 'office-hours', pick(admin), at++);
      contractors.push(c);
    }
    for (let i = 0; i < initialOthers; i++) enrol('staff', at++, card(0x3a, cardNo++), `S-${30_000 + i}`);
  });
  log(`  registry: ${personCount} people enrolled on day 0 (${Math.round(now() - t0)} ms)`);

  // Visitor cards are a pool of 40 physical cards, re-issued after each return.
  const visitorCards = Array.from({ length: 40 }, (_, i) => card(0x7c, i));
  let visitorCardNext = 0;
  let visitorsLeft = visitorPeople;
  let othersLeft = others - initialOthers;
  let lostNo = 0;

  // Who is inside (for room_secured and the end-of-day report), person id → since.
  const inside = new Map<
    string,
    { since: number; category: 'staff' | 'contractor' | 'visitor'; escort: string | null }
  >();

  /** The rows of one entry or exit through the door: decision, unlock, open, close, relock. */
  const passage = (
    who: Staff,
    category: 'staff' | 'contractor' | 'visitor',
    direction: 'in' | 'out',
    at: number,
    extra: Record<string, unknown> = {},
  ) => {
    const reader = direction === 'in' ? 'entry' : 'exit';
    ctx.append({
      type: 'access',
      at,
      door: DOOR,
      person: who.personId,
      data: {
        reader,
        direction,
        result: 'granted',
        reason: 'granted',
        badge: who.badgeId,
        masked: `••••${who.credential.slice(-4)}`,
        format: 'em4100',
        personName: who.name,
        category,
        ...extra,
      },
    });
    if (direction === 'in')
      inside.set(who.personId, { since: at, category, escort: (extra.escort as string) ?? null });
    else inside.delete(who.personId);
  };
  const doorCycle = (at: number, cause: 'grant' | 'exit_request') => {
    ctx.append({ type: 'door_unlocked', at, door: DOOR, data: { cause } });
    ctx.append({ type: 'door_opened', at: at + 2100, door: DOOR, data: { authorized: true } });
    ctx.append({ type: 'door_closed', at: at + 6400, door: DOOR, data: {} });
    ctx.append({ type: 'door_locked', at: at + 6400, door: DOOR, data: { cause: 'closed' } });
  };
  const roomCheck = (at: number) => {
    if (inside.size === 0)
      ctx.append({
        type: 'room_secured',
        at: at + 7000,
        door: DOOR,
        data: { unsecuredSince: at, late: false },
      });
  };
  const denied = (
    at: number,
    reason: DecisionReason,
    who: Staff | null,
    category: PersonCategory | null,
    reader = 'entry',
  ) => {
    ctx.append({
      type: 'access',
      at,
      door: DOOR,
      person: who?.personId ?? null,
      data: {
        reader,
        direction: reader === 'entry' ? 'in' : 'out',
        result: 'denied',
        reason,
        badge: who?.badgeId ?? null,
        masked: `••••${(who?.credential ?? card(0xe0, between(0, 0xffff))).slice(-4)}`,
        format: 'em4100',
        personName: who?.name ?? null,
        category,
      },
    });
  };
  const alarm = (
    at: number,
    type: AlarmType,
    severity: AlarmSeverity,
    detail: string,
    before: () => void,
    clearAt: number,
    after: (at: number) => void,
    groups: Group[],
  ) => {
    let alarmId = 0;
    groups.push({
      at,
      emit: () => {
        before();
        alarmId = ctx.append({
          type: 'alarm_raised',
          at,
          door: DOOR,
          data: { alarm: type, severity, detail },
        });
      },
    });
    groups.push({
      at: clearAt,
      emit: () => {
        after(clearAt);
        ctx.append({ type: 'alarm_condition_cleared', at: clearAt, door: DOOR, data: { alarmId } });
      },
    });
    const ackAt = clearAt + between(60_000, 1_800_000);
    groups.push({
      at: ackAt,
      emit: () =>
        ctx.append({
          type: 'alarm_acknowledged',
          at: ackAt,
          door: DOOR,
          actor: pick(admin),
          data: { alarmId, comment: pick(['確認済み', '保守作業による', '誤報', '現地確認、異常なし']) },
        }),
    });
  };

  // Rows the registry and the fixed daily rows take, to size the traffic: about 10 rows a passage.
  const startRows = journal.head().seq;
  const day = (d: number) => {
    const daysLeft = days - d;
    const dayStart = local(d, 0);
    const weekday = new Date(dayStart + TZ_OFFSET_MS + 12 * 3600_000).getUTCDay();
    const working = weekday >= 1 && weekday <= 5;
    const rowsLeft = targetRows - journal.head().seq;
    // Working days carry about six times the traffic of weekends.
    const weight = working ? 1.2 : 0.2;
    const perDay = Math.max(0, rowsLeft / daysLeft);
    const visits = Math.max(working ? 2 : 0, Math.round((perDay * weight) / 10.6));
    const groups: Group[] = [];

    // Entries and exits of the machine-room people, busiest early in the list (a few IT staff
    // are in every day), contractors only in office hours.
    for (let v = 0; v < visits; v++) {
      const isContractor = working && rand() < 0.25;
      const pool = isContractor ? contractors : staff;
      const who = pool[Math.min(pool.length - 1, Math.floor(pool.length * rand() ** 2.2))]!;
      const category = isContractor ? 'contractor' : 'staff';
      const inAt = isContractor
        ? local(d, 8, 30) + between(0, 8 * 3600_000)
        : local(d, 7) + between(0, 14 * 3600_000);
      const outAt = inAt + between(5 * 60_000, 2 * 3600_000);
      groups.push({
        at: inAt,
        emit: () => {
          if (inside.has(who.personId)) return; // already inside: this person went in with someone else
          passage(who, category, 'in', inAt);
          doorCycle(inAt, 'grant');
        },
      });
      groups.push({
        at: outAt,
        emit: () => {
          if (!inside.has(who.personId) || inside.get(who.personId)!.since !== inAt) return;
          passage(who, category, 'out', outAt);
          doorCycle(outAt, 'grant');
          roomCheck(outAt + 6400);
        },
      });
    }
    // Denials: unknown cards, contractors outside their schedule, expired and lost cards.
    const denials = Math.round(visits * 0.05) + (rand() < 0.5 ? 1 : 0);
    for (let k = 0; k < denials; k++) {
      const at = local(d, 6) + between(0, 16 * 3600_000);
      const r = rand();
      groups.push({
        at,
        emit: () => {
          if (r < 0.6) denied(at, 'unknown_badge', null, null);
          else denied(at, 'outside_schedule', pick(contractors), 'contractor');
        },
      });
    }
    // Visitors, escorted (escort first, the visitor within the window), on working days.
    const visitorsToday = working
      ? Math.min(visitorsLeft, Math.max(1, Math.round(visitorPeople / (days * 0.7))))
      : 0;
    for (let k = 0; k < visitorsToday; k++) {
      visitorsLeft--;
      const issueAt = local(d, 9) + between(0, 6 * 3600_000);
      const inAt = issueAt + between(5 * 60_000, 20 * 60_000);
      const outAt = inAt + between(20 * 60_000, 3 * 3600_000);
      const returnAt = outAt + between(2 * 60_000, 15 * 60_000);
      const escort = pick(escorts);
      const cardCredential = visitorCards[visitorCardNext++ % visitorCards.length]!;
      let visitor: Staff | null = null;
      groups.push({
        at: issueAt,
        emit: () => {
          visitor = enrol('visitor', issueAt, cardCredential, `V-${d}-${k}`);
          ctx.append({
            type: 'visitor_badge_issued',
            at: issueAt,
            person: visitor.personId,
            actor: pick(admin),
            data: {
              badgeId: visitor.badgeId,
              personId: visitor.personId,
              hostId: escort.personId,
              purpose: pick(PURPOSES),
              equipment: rand() < 0.3 ? ['ノートPC（資産番号 A-0231）'] : [],
              doors: [DOOR],
              masked: `••••${cardCredential.slice(-4)}`,
              validFrom: issueAt,
              validUntil: issueAt + 12 * 3600_000,
            },
          });
        },
      });
      groups.push({
        at: inAt,
        emit: () => {
          if (!visitor || inside.has(escort.personId)) return;
          passage(escort, 'staff', 'in', inAt, { escortUntil: inAt + 15_000 });
          passage(visitor, 'visitor', 'in', inAt + 4000, {
            escort: escort.personId,
            escortName: escort.name,
          });
          ctx.append({
            type: 'escort_visitors_joined',
            at: inAt + 4000,
            door: DOOR,
            person: escort.personId,
            data: { reader: 'entry', visitors: [{ person: visitor.personId, name: visitor.name }] },
          });
          ctx.append({
            type: 'visitor_badge_in_use',
            at: inAt + 4000,
            person: visitor.personId,
            data: { badgeId: visitor.badgeId, personId: visitor.personId },
          });
          doorCycle(inAt + 4000, 'grant');
        },
      });
      groups.push({
        at: outAt,
        emit: () => {
          if (!visitor || !inside.has(visitor.personId)) return;
          passage(visitor, 'visitor', 'out', outAt, { escort: escort.personId });
          passage(escort, 'staff', 'out', outAt + 3000);
          doorCycle(outAt + 3000, 'grant');
          roomCheck(outAt + 9400);
        },
      });
      groups.push({
        at: returnAt,
        emit: () => {
          if (!visitor) return;
          const by = pick(admin);
          ctx.append({
            type: 'visitor_badge_returned',
            at: returnAt,
            person: visitor.personId,
            actor: by,
            data: { badgeId: visitor.badgeId, personId: visitor.personId, note: null },
          });
          registry.setBadgeStatus(visitor.badgeId, 'revoked', by, returnAt, 'visitor badge returned');
        },
      });
    }
    // The exit button, now and then, for someone already inside.
    if (working && rand() < 0.6) {
      const at = local(d, 12) + between(0, 3600_000);
      groups.push({
        at,
        emit: () => {
          ctx.append({ type: 'exit_request', at, door: DOOR, data: {} });
          doorCycle(at, 'exit_request');
        },
      });
    }
    // Alarms: a forced door about every three weeks, a held door twice a week, a reader fault monthly.
    if (rand() < 1 / 21) {
      const at = local(d, 2) + between(0, 20 * 3600_000);
      alarm(
        at,
        'forced_open',
        'critical',
        'door opened while locked, without a grant or exit request',
        () => ctx.append({ type: 'door_opened', at, door: DOOR, data: { authorized: false } }),
        at + between(3000, 60_000),
        (t) => ctx.append({ type: 'door_closed', at: t, door: DOOR, data: {} }),
        groups,
      );
    }
    if (working && rand() < 2 / 5) {
      const at = local(d, 10) + between(0, 6 * 3600_000);
      const who = pick(staff);
      alarm(
        at + 30_000,
        'held_open',
        'major',
        'door held open longer than 30 s',
        () => {
          if (inside.has(who.personId)) return;
          passage(who, 'staff', 'in', at);
          ctx.append({ type: 'door_unlocked', at, door: DOOR, data: { cause: 'grant' } });
          ctx.append({ type: 'door_opened', at: at + 1500, door: DOOR, data: { authorized: true } });
          ctx.append({ type: 'held_open_prealarm', at: at + 20_000, door: DOOR, data: {} });
        },
        at + between(40_000, 300_000),
        (t) => {
          ctx.append({ type: 'door_closed', at: t, door: DOOR, data: {} });
          ctx.append({ type: 'door_locked', at: t, door: DOOR, data: { cause: 'closed' } });
        },
        groups,
      );
      groups.push({
        at: at + 3 * 3600_000,
        emit: () => {
          if (!inside.has(who.personId)) return;
          passage(who, 'staff', 'out', at + 3 * 3600_000);
          doorCycle(at + 3 * 3600_000, 'grant');
          roomCheck(at + 3 * 3600_000 + 6400);
        },
      });
    }
    if (rand() < 1 / 30) {
      const at = local(d, 0) + between(0, 24 * 3600_000);
      const reader = rand() < 0.5 ? 'entry' : 'exit';
      alarm(
        at,
        'reader_offline',
        'major',
        `reader ${reader}: EIO`,
        () => ctx.append({ type: 'reader_offline', at, door: DOOR, data: { reader, reason: 'EIO' } }),
        at + between(2000, 600_000),
        (t) => ctx.append({ type: 'reader_online', at: t, door: DOOR, data: { reader, reason: 'open' } }),
        groups,
      );
    }
    // A monthly restart (updates), with the records a start writes.
    if (d % 30 === 17) {
      const at = local(d, 3, 30);
      groups.push({
        at,
        emit: () => {
          ctx.append({ type: 'controller_stopped', at, data: { reason: 'SIGTERM' } });
          ctx.append({
            type: 'controller_started',
            at: at + 9000,
            data: { version: '0.1.0', clockSynced: true, board: 'rpi', doors: [DOOR] },
          });
          ctx.append({ type: 'door_locked', at: at + 9000, door: DOOR, data: { cause: 'startup' } });
          for (const reader of ['entry', 'exit'])
            ctx.append({
              type: 'reader_online',
              at: at + 9100,
              door: DOOR,
              data: { reader, reason: 'open' },
            });
        },
      });
    }
    // Lockdown drills twice a year.
    if (d % 182 === 40) {
      const at = local(d, 15);
      groups.push({
        at,
        emit: () =>
          ctx.append({ type: 'mode_changed', at, door: DOOR, actor: admin[0]!, data: { mode: 'lockdown' } }),
      });
      groups.push({
        at: at + 1800_000,
        emit: () =>
          ctx.append({
            type: 'mode_changed',
            at: at + 1800_000,
            door: DOOR,
            actor: admin[0]!,
            data: { mode: 'normal' },
          }),
      });
    }
    // Administration: new people, a lost badge (disabled at once, replaced, presented once more), a
    // permission granted or withdrawn.
    const newPeople = Math.min(
      othersLeft,
      Math.round((others - initialOthers) / days) + (d === days - 1 ? othersLeft : 0),
    );
    othersLeft -= newPeople;
    groups.push({
      at: local(d, 8, 45),
      emit: () => {
        for (let k = 0; k < newPeople; k++)
          enrol('staff', local(d, 8, 45) + k, card(0x3a, cardNo++), `S-${40_000 + cardNo}`);
      },
    });
    if (rand() < 0.05 && d < days - 3) {
      const at = local(d, 10) + between(0, 6 * 3600_000);
      const list = rand() < 0.5 ? staff : contractors;
      const i = Math.floor(rand() * list.length);
      groups.push({
        at,
        emit: () => {
          const who = list[i]!;
          const by = pick(admin);
          registry.setBadgeStatus(who.badgeId, 'lost', by, at, '紛失届');
          const credential = card(0x5b, lostNo++);
          denied(at + 300_000, 'badge_lost', who, list === staff ? 'staff' : 'contractor');
          const replacement = registry.addBadge({ personId: who.personId, credential }, by, at + 600_000);
          badgeCount++;
          list[i] = { ...who, badgeId: replacement.id, credential };
        },
      });
    }
    // End of the day: the report (who is still inside, unreturned visitor badges).
    const eod = local(d, 19);
    groups.push({
      at: eod,
      emit: () =>
        ctx.append({
          type: 'end_of_day_report',
          at: eod,
          data: {
            date: new Date(eod + TZ_OFFSET_MS).toISOString().slice(0, 10),
            inside: [...inside].map(([personId, x]) => ({
              door: DOOR,
              personId,
              category: x.category,
              since: x.since,
              escort: x.escort,
              uncertain: false,
            })),
            unreturnedBadges: [],
          },
        }),
    });

    groups.sort((a, b) => a.at - b.at);
    for (const g of groups) {
      g.emit(ctx);
      if (g.at - lastCheckpointAt >= 300_000) {
        journal.checkpoint(g.at, secrets.signingKey, secrets.keyId);
        lastCheckpointAt = g.at;
        checkpoints++;
      }
    }
  };
  // Many days per transaction: the file is the same, and building it is much faster.
  let nextLog = 0;
  for (let d = 0; d < days; ) {
    const chunkStart = journal.head().seq;
    journal.transaction(() => {
      do day(d++);
      while (d < days && journal.head().seq - chunkStart < 25_000);
      // The controller here has had MQTT delivered long ago: no backlog in the outbox.
      outbox.run();
    });
    if (d >= nextLog || d === days) {
      nextLog += 200;
      log(
        `  day ${d}/${days}: ${journal.head().seq.toLocaleString('en')} rows, ` +
          `${personCount.toLocaleString('en')} people, ${Math.round((now() - t0) / 1000)} s`,
      );
    }
  }
  // Top up to the target with the busiest traffic, if the schedule fell short.
  let extra = 0;
  while (journal.head().seq < targetRows) {
    const at = local(days - 1, 20) + extra * 60_000;
    const who = staff[extra % Math.min(5, staff.length)]!;
    journal.transaction(() => {
      for (let k = 0; k < 200 && journal.head().seq < targetRows; k++) {
        const t = at + k * 20_000;
        passage(who, 'staff', 'in', t);
        doorCycle(t, 'grant');
        passage(who, 'staff', 'out', t + 10_000);
        doorCycle(t + 10_000, 'grant');
      }
      outbox.run();
    });
    extra++;
  }
  // Everyone leaves: the bench starts with an empty, secured room.
  journal.transaction(() => {
    const at = local(days - 1, 23, 30);
    for (const [personId, x] of [...inside]) {
      const who = [...staff, ...contractors].find((s) => s.personId === personId);
      if (who) passage(who, x.category, 'out', at);
      else inside.delete(personId);
    }
    ctx.append({ type: 'door_locked', at: at + 7000, door: DOOR, data: { cause: 'closed' } });
    journal.checkpoint(at + 8000, secrets.signingKey, secrets.keyId);
    checkpoints++;
    outbox.run();
  });
  // No ANALYZE: the controller never runs it, so the query plans measured are the ones it gets.
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const [busiestPerson, busiestPersonRows] = [...rowsOf].reduce((a, b) => (b[1] > a[1] ? b : a));
  const rows = journal.head().seq;
  log(
    `  ${(rows - startRows).toLocaleString('en')} rows after day 0, ${checkpoints.toLocaleString('en')} signed checkpoints`,
  );
  return {
    version: DATASET_VERSION,
    rows,
    checkpoints,
    people: personCount,
    badges: badgeCount,
    from: firstDay,
    to: lastDay + DAY,
    generatedInS: Math.round((now() - t0) / 100) / 10,
    staff: staff.map((s) => ({ ...s })),
    busiestPerson,
    busiestPersonRows,
    invalidNote: 'none',
  };
}
