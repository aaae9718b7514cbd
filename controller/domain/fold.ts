/**
 * Derived state, rebuilt by folding journal rows in seq order: latched alarms, door modes, who is
 * inside each door, and the visit state (visit-state.ts).
 *
 * - **Alarms**: `alarm_raised` (id = the row's seq, door = the row's door, person = the row's
 *   person), `alarm_condition_cleared` and `alarm_acknowledged` (by = the row's actor), with the
 *   latch of alarms.ts.
 * - **Door modes**: `mode_changed` on the row's door (rows without a door are invalid). Doors never
 *   changed are `normal` (see `doorMode()`).
 * - **Presence**: `access` rows with result `granted` and a person: `in` puts the person inside the
 *   row's door since the row's time (a second `in` without an `out` moves `since` to the later
 *   entry; a visitor's row carries their `escort`), `out` takes them out. Denied reads and the raw
 *   `exit_request` rows change nothing; the visit records change it further — `presence_uncertain`
 *   marks people who may have left, `escort_left_unbadged` takes an escort out, `handover` gives a
 *   visitor a new escort, `presence_reconciled` replaces a room's presence (visit-state.ts).
 * - **Clock steps**: `clock_adjusted` moves the visits' running waits, windows and room timers by
 *   the step (visit-state.ts `shiftTimers`).
 * - **Visits**: pending visitors, escort windows, hand-over offers, rooms (door contact and lock,
 *   unsecured since), last exits, unreturned visitor badges, last end-of-day report — see
 *   visit-state.ts. Door rows (`door_opened`, `door_closed`, `door_locked`, `door_unlocked`) feed
 *   the rooms.
 *
 * Every row advances `lastSeq`. Rows with `seq <= lastSeq` are skipped, so a snapshot can be
 * replayed with overlapping rows. Unknown record types are ignored; rows of a known type whose
 * data fails its schema are counted in `invalidRows` and otherwise ignored.
 *
 * The fold is deterministic: the same rows from the same state give equal states. Neither
 * `foldRow` nor `foldRows` modifies the state it is given; the result shares every part that did
 * not change. Inside one call each part is copied at most once (copy on first write) and then
 * updated in place, so replaying millions of rows with `foldRows` costs no per-row copying.
 */
import { z } from 'zod';
import {
  type ActiveAlarm,
  type AlarmState,
  acknowledgeInto,
  alarmRowChanges,
  clearInto,
  listActiveAlarms,
  raiseInto,
} from './alarms.js';
import { ExitTimes } from './exit-times.js';
import {
  AccessRecord,
  AlarmAcknowledgedRecord,
  AlarmConditionClearedRecord,
  AlarmRaisedRecord,
  ClockAdjustedRecord,
  isVisitRecordType,
  ModeChangedRecord,
  type RecordRow,
  VisitorBadgeIssuedRecord,
} from './records.js';
import { AlarmSeverity, AlarmType, DoorMode, PersonCategory, VisitorBadgeStatus } from './types.js';
import {
  applyAccess,
  applyDoorRow,
  applyVisitRecord,
  initialVisitsState,
  type PendingVisitor,
  type PresenceEntry,
  type PresenceOps,
  type RoomState,
  type VisitorBadgeInfo,
  VisitsDraft,
  type VisitsState,
} from './visit-state.js';

export type { PresenceEntry };

/**
 * Plain records (null-prototype objects for the string-keyed ones, so any id is a safe key),
 * readonly: treat a state as a value and get a new one from `foldRow`/`foldRows`.
 */
export interface DerivedState {
  /** The seq of the last row folded (0 before any). */
  readonly lastSeq: number;
  readonly alarms: AlarmState;
  /** Door id → mode, for doors whose mode was ever changed; others are `normal` (see `doorMode()`). */
  readonly doorModes: Readonly<Record<string, DoorMode>>;
  /** Door id → person id → presence, for doors with someone inside. */
  readonly presence: Readonly<Record<string, Readonly<Record<string, PresenceEntry>>>>;
  /** What the visit rules need besides presence (visit-state.ts). */
  readonly visits: VisitsState;
  /** Rows of a known type whose data did not match its schema (ignored). */
  readonly invalidRows: number;
}

type Dict<T> = Record<string, T>;

function dict<T>(from?: Readonly<Dict<T>>): Dict<T> {
  const d = Object.create(null) as Dict<T>;
  return from === undefined ? d : Object.assign(d, from);
}

export function initialDerivedState(): DerivedState {
  return {
    lastSeq: 0,
    alarms: { active: {} },
    doorModes: dict(),
    presence: dict(),
    visits: initialVisitsState(),
    invalidRows: 0,
  };
}

/**
 * A copy-on-write working copy: each part is shared with the starting state until the first row
 * that changes it, then copied once and updated in place for the rest of the fold.
 */
class Draft implements PresenceOps {
  lastSeq: number;
  invalidRows: number;
  /** The time of the row being applied. */
  at = 0;
  readonly visits: VisitsDraft;
  private alarms: Readonly<Record<number, ActiveAlarm>>;
  private alarmsOwned = false;
  private doorModes: Readonly<Dict<DoorMode>>;
  private modesOwned = false;
  private presence: Readonly<Dict<Readonly<Dict<PresenceEntry>>>>;
  private presenceOwned = false;
  private readonly ownedDoors = new Set<string>();

  constructor(private readonly base: DerivedState) {
    this.lastSeq = base.lastSeq;
    this.invalidRows = base.invalidRows;
    this.alarms = base.alarms.active;
    this.doorModes = base.doorModes;
    this.presence = base.presence;
    this.visits = new VisitsDraft(base.visits);
  }

  readAlarms(): Readonly<Record<number, ActiveAlarm>> {
    return this.alarms;
  }

  ownAlarms(): Record<number, ActiveAlarm> {
    if (!this.alarmsOwned) {
      this.alarms = { ...this.alarms };
      this.alarmsOwned = true;
    }
    return this.alarms as Record<number, ActiveAlarm>;
  }

  setMode(door: string, mode: DoorMode): void {
    if (this.doorModes[door] === mode) return;
    if (!this.modesOwned) {
      this.doorModes = dict(this.doorModes);
      this.modesOwned = true;
    }
    (this.doorModes as Dict<DoorMode>)[door] = mode;
  }

  private ownPresence(): Dict<Dict<PresenceEntry>> {
    if (!this.presenceOwned) {
      this.presence = dict(this.presence);
      this.presenceOwned = true;
    }
    return this.presence as Dict<Dict<PresenceEntry>>;
  }

  inside(door: string): Readonly<Dict<PresenceEntry>> | undefined {
    return this.presence[door];
  }

  private ownDoor(door: string): Dict<PresenceEntry> {
    const all = this.ownPresence();
    const inside = this.ownedDoors.has(door) ? all[door]! : dict(all[door]);
    this.ownedDoors.add(door);
    all[door] = inside;
    return inside;
  }

  enter(door: string, entry: PresenceEntry): void {
    const wasEmpty = this.presence[door] === undefined;
    const inside = this.ownDoor(door);
    delete inside[entry.personId]; // a re-entry moves to the end, like a new entry
    inside[entry.personId] = entry;
    if (wasEmpty) this.visits.presenceChanged(door, false, this.at);
  }

  leave(door: string, personId: string): void {
    const current = this.presence[door];
    if (current === undefined || !Object.hasOwn(current, personId)) return;
    if (Object.keys(current).length === 1) {
      delete this.ownPresence()[door];
      this.ownedDoors.delete(door);
      this.visits.presenceChanged(door, true, this.at);
      return;
    }
    delete this.ownDoor(door)[personId];
  }

  replace(door: string, entry: PresenceEntry): void {
    const current = this.presence[door];
    if (current === undefined || !Object.hasOwn(current, entry.personId)) return;
    this.ownDoor(door)[entry.personId] = entry;
  }

  setDoor(door: string, entries: readonly PresenceEntry[]): void {
    const wasEmpty = this.presence[door] === undefined;
    if (entries.length === 0) {
      if (wasEmpty) return;
      delete this.ownPresence()[door];
      this.ownedDoors.delete(door);
      this.visits.presenceChanged(door, true, this.at);
      return;
    }
    const inside = dict<PresenceEntry>();
    for (const e of entries) inside[e.personId] = e;
    this.ownPresence()[door] = inside;
    this.ownedDoors.add(door);
    if (wasEmpty) this.visits.presenceChanged(door, false, this.at);
  }

  result(): DerivedState {
    const b = this.base;
    return {
      lastSeq: this.lastSeq,
      alarms: this.alarmsOwned ? { active: this.alarms } : b.alarms,
      doorModes: this.doorModes,
      presence: this.presence,
      visits: this.visits.result(),
      invalidRows: this.invalidRows,
    };
  }
}

function apply(d: Draft, row: RecordRow): void {
  if (row.seq <= d.lastSeq) return;
  d.lastSeq = row.seq;
  d.at = row.at;
  // A clock step moves the running timers before anything expires by the new time.
  if (row.type === 'clock_adjusted') {
    const r = ClockAdjustedRecord.safeParse(row.data);
    if (r.success) d.visits.shiftTimers(r.data.stepMs);
    else d.invalidRows++;
  }
  d.visits.prune(row.at);
  switch (row.type) {
    case 'access': {
      const r = AccessRecord.safeParse(row.data);
      if (!r.success) {
        d.invalidRows++;
        return;
      }
      applyAccess(d.visits, d, row, r.data);
      return;
    }
    case 'door_opened':
    case 'door_closed':
    case 'door_locked':
    case 'door_unlocked':
      applyDoorRow(d.visits, d, row);
      return;
    case 'alarm_raised': {
      const r = AlarmRaisedRecord.safeParse(row.data);
      if (!r.success) {
        d.invalidRows++;
        return;
      }
      if (!alarmRowChanges(d.readAlarms(), 'raise', row.seq)) return;
      raiseInto(d.ownAlarms(), {
        id: row.seq,
        type: r.data.alarm,
        severity: r.data.severity,
        door: row.door,
        person: row.person,
        source: r.data.source,
        detail: r.data.detail,
        at: row.at,
      });
      return;
    }
    case 'alarm_condition_cleared': {
      const r = AlarmConditionClearedRecord.safeParse(row.data);
      if (!r.success) {
        d.invalidRows++;
        return;
      }
      if (!alarmRowChanges(d.readAlarms(), 'clear', r.data.alarmId)) return;
      clearInto(d.ownAlarms(), r.data.alarmId, row.at);
      return;
    }
    case 'alarm_acknowledged': {
      const r = AlarmAcknowledgedRecord.safeParse(row.data);
      if (!r.success) {
        d.invalidRows++;
        return;
      }
      if (!alarmRowChanges(d.readAlarms(), 'ack', r.data.alarmId)) return;
      acknowledgeInto(d.ownAlarms(), r.data.alarmId, { by: row.actor, at: row.at, comment: r.data.comment });
      return;
    }
    case 'mode_changed': {
      const r = ModeChangedRecord.safeParse(row.data);
      if (!r.success || row.door === null) {
        d.invalidRows++;
        return;
      }
      d.setMode(row.door, r.data.mode);
      return;
    }
    default:
      if (isVisitRecordType(row.type)) {
        if (!applyVisitRecord(d.visits, d, row)) d.invalidRows++;
      }
      // Other record types (reader, controller, admin …) do not change derived state.
      return;
  }
}

/**
 * Fold many rows (any iterable, e.g. a journal cursor) in seq order. Each part of the state is
 * copied at most once, however many rows there are.
 */
export function foldRows(state: DerivedState, rows: Iterable<RecordRow>): DerivedState {
  const d = new Draft(state);
  for (const row of rows) apply(d, row);
  return d.result();
}

/** Fold one row: a new state sharing every part the row does not change. */
export function foldRow(state: DerivedState, row: RecordRow): DerivedState {
  if (row.seq <= state.lastSeq) return state;
  const d = new Draft(state);
  apply(d, row);
  return d.result();
}

/** The door's mode (`normal` unless changed). */
export function doorMode(state: DerivedState, doorId: string): DoorMode {
  return state.doorModes[doorId] ?? 'normal';
}

/** Who is inside `doorId`, earliest entry first. */
export function whoIsInside(state: DerivedState, doorId: string): PresenceEntry[] {
  const inside = state.presence[doorId];
  if (inside === undefined) return [];
  return Object.values(inside).sort((a, b) => a.since - b.since || (a.personId < b.personId ? -1 : 1));
}

// Snapshots: a JSON form of the derived state, to bound replay time at start.

const AlarmAckSnapshot = z.object({ by: z.string().nullable(), at: z.number(), comment: z.string() });
const ActiveAlarmSnapshot = z.object({
  id: z.int().positive(),
  type: AlarmType,
  severity: AlarmSeverity,
  door: z.string().nullable(),
  person: z.string().optional(),
  source: z.string().optional(),
  detail: z.string(),
  raisedAt: z.number(),
  conditionCleared: z.boolean(),
  conditionClearedAt: z.number().nullable(),
  acknowledged: AlarmAckSnapshot.nullable(),
});
const PresenceSnapshot = z.object({
  personId: z.string(),
  since: z.number(),
  category: PersonCategory.optional(),
  escort: z.string().optional(),
  uncertainSince: z.number().optional(),
  exitRefusedAt: z.number().optional(),
});
const PendingSnapshot = z.object({
  personId: z.string(),
  since: z.number(),
  until: z.number(),
  access: AccessRecord,
});
const WindowSnapshot = z.object({ personId: z.string(), name: z.string().nullable(), until: z.number() });
const OfferSnapshot = z.object({ personId: z.string(), until: z.number() });
const RoomSnapshot = z.object({
  contact: z.enum(['open', 'closed', 'unknown']),
  lock: z.enum(['locked', 'unlocked', 'unknown']),
  unsecuredSince: z.number().nullable(),
});
/** A visitor badge as the visit state keeps it: its issue record, with its status and issue time. */
const VisitorBadgeSnapshot = VisitorBadgeIssuedRecord.extend({
  masked: z.string().nullable(),
  status: VisitorBadgeStatus.exclude(['returned']),
  issuedAt: z.number(),
});
const perDoor = <T extends z.ZodType>(item: T) => z.array(z.tuple([z.string(), z.array(item)]));
const VisitsSnapshot = z.object({
  pending: perDoor(PendingSnapshot),
  escortWindows: perDoor(WindowSnapshot),
  handoverOffers: perDoor(OfferSnapshot),
  rooms: z.array(z.tuple([z.string(), RoomSnapshot])),
  lastExit: perDoor(z.tuple([z.string(), z.number()])),
  visitorBadges: z.array(VisitorBadgeSnapshot),
  lastEndOfDay: z.string().nullable(),
});

export const DerivedSnapshot = z.object({
  version: z.literal(2),
  lastSeq: z.int().min(0),
  invalidRows: z.int().min(0),
  alarms: z.array(ActiveAlarmSnapshot),
  doorModes: z.array(z.tuple([z.string(), DoorMode])),
  presence: z.array(z.tuple([z.string(), z.array(PresenceSnapshot)])),
  visits: VisitsSnapshot,
});
export type DerivedSnapshot = z.infer<typeof DerivedSnapshot>;

/**
 * A JSON-safe snapshot of the derived state; it covers the journal up to `lastSeq`. Restore it and
 * fold the rows after `lastSeq` to get the same state as a full replay. Version 2 added the visit
 * state; a version-1 snapshot is refused (replay the journal instead).
 */
export function snapshotDerivedState(state: DerivedState): DerivedSnapshot {
  const v = state.visits;
  const lists = <T extends object>(d: Readonly<Dict<readonly T[]>>) =>
    Object.entries(d).map(([door, list]) => [door, list.map((x) => structuredClone(x))] as [string, T[]]);
  return {
    version: 2,
    lastSeq: state.lastSeq,
    invalidRows: state.invalidRows,
    alarms: listActiveAlarms(state.alarms).map((a) => ({
      ...a,
      acknowledged: a.acknowledged && { ...a.acknowledged },
    })),
    doorModes: Object.entries(state.doorModes),
    presence: Object.entries(state.presence).map(([door, inside]) => [
      door,
      Object.values(inside).map((p) => ({ ...p })),
    ]),
    visits: {
      pending: lists(v.pending) as DerivedSnapshot['visits']['pending'],
      escortWindows: lists(v.escortWindows),
      handoverOffers: lists(v.handoverOffers),
      rooms: Object.entries(v.rooms).map(([door, r]) => [door, { ...r }]),
      lastExit: Object.entries(v.lastExit).map(([door, d]) => [door, d.entries()]),
      visitorBadges: Object.values(v.visitorBadges).map((b) => ({
        ...b,
        equipment: [...b.equipment],
        doors: [...b.doors],
      })),
      lastEndOfDay: v.lastEndOfDay,
    },
  };
}

/** The derived state from a snapshot; throws a ZodError if it is not a valid snapshot. */
export function restoreDerivedState(snapshot: unknown): DerivedState {
  const s = DerivedSnapshot.parse(snapshot);
  const presence = dict<Dict<PresenceEntry>>();
  for (const [door, entries] of s.presence) {
    if (entries.length === 0) continue;
    const inside = dict<PresenceEntry>();
    for (const p of entries) inside[p.personId] = p;
    presence[door] = inside;
  }
  const active: Record<number, ActiveAlarm> = {};
  for (const a of s.alarms) active[a.id] = a;
  const doorModes = dict<DoorMode>();
  for (const [door, mode] of s.doorModes) doorModes[door] = mode;
  const perDoorDict = <T>(entries: [string, T[]][]) => {
    const d = dict<readonly T[]>();
    for (const [door, list] of entries) if (list.length > 0) d[door] = list;
    return d;
  };
  const rooms = dict<RoomState>();
  for (const [door, r] of s.visits.rooms) rooms[door] = r;
  const lastExit = dict<ExitTimes>();
  for (const [door, list] of s.visits.lastExit) lastExit[door] = ExitTimes.fromEntries(list);
  const visitorBadges = dict<VisitorBadgeInfo>();
  for (const b of s.visits.visitorBadges) visitorBadges[b.badgeId] = b;
  const visits: VisitsState = {
    pending: perDoorDict<PendingVisitor>(s.visits.pending),
    escortWindows: perDoorDict(s.visits.escortWindows),
    handoverOffers: perDoorDict(s.visits.handoverOffers),
    rooms,
    lastExit,
    visitorBadges,
    lastEndOfDay: s.visits.lastEndOfDay,
  };
  return { lastSeq: s.lastSeq, invalidRows: s.invalidRows, alarms: { active }, doorModes, presence, visits };
}
