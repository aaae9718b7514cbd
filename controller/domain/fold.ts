/**
 * Derived state, rebuilt by folding journal rows in seq order: latched alarms, door modes, and who
 * is inside each door.
 *
 * - **Alarms**: `alarm_raised` (id = the row's seq, door = the row's door), `alarm_condition_cleared`
 *   and `alarm_acknowledged` (by = the row's actor), with the latch of alarms.ts.
 * - **Door modes**: `mode_changed` on the row's door (rows without a door are invalid). Doors never
 *   changed are `normal` (see `doorMode()`).
 * - **Presence**: `access` rows with result `granted` and a person: `in` puts the person inside the
 *   row's door since the row's time (a second `in` without an `out` moves `since` to the later
 *   entry), `out` takes them out. Denied reads and exit-button presses change nothing.
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
  raiseInto,
} from './alarms.js';
import {
  AccessRecord,
  AlarmAcknowledgedRecord,
  AlarmConditionClearedRecord,
  AlarmRaisedRecord,
  type JournalRow,
  ModeChangedRecord,
} from './records.js';
import { AlarmSeverity, AlarmType, DoorMode, PersonCategory } from './types.js';

export interface PresenceEntry {
  personId: string;
  /** When they entered (the granted `in` row's time). */
  since: number;
  category?: PersonCategory;
}

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
  /** Rows of a known type whose data did not match its schema (ignored). */
  readonly invalidRows: number;
}

type Dict<T> = Record<string, T>;

function dict<T>(from?: Readonly<Dict<T>>): Dict<T> {
  const d = Object.create(null) as Dict<T>;
  return from === undefined ? d : Object.assign(d, from);
}

export function initialDerivedState(): DerivedState {
  return { lastSeq: 0, alarms: { active: {} }, doorModes: dict(), presence: dict(), invalidRows: 0 };
}

/**
 * A copy-on-write working copy: each part is shared with the starting state until the first row
 * that changes it, then copied once and updated in place for the rest of the fold.
 */
class Draft {
  lastSeq: number;
  invalidRows: number;
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

  enter(door: string, entry: PresenceEntry): void {
    const all = this.ownPresence();
    const inside = this.ownedDoors.has(door) ? all[door] : dict(all[door]);
    if (inside === undefined) return; // unreachable: owned doors are always present
    this.ownedDoors.add(door);
    all[door] = inside;
    delete inside[entry.personId]; // a re-entry moves to the end, like a new entry
    inside[entry.personId] = entry;
  }

  leave(door: string, personId: string): void {
    const current = this.presence[door];
    if (current === undefined || !Object.hasOwn(current, personId)) return;
    const all = this.ownPresence();
    if (Object.keys(current).length === 1) {
      delete all[door];
      this.ownedDoors.delete(door);
      return;
    }
    const inside = this.ownedDoors.has(door) ? (current as Dict<PresenceEntry>) : dict(current);
    this.ownedDoors.add(door);
    all[door] = inside;
    delete inside[personId];
  }

  result(): DerivedState {
    const b = this.base;
    return {
      lastSeq: this.lastSeq,
      alarms: this.alarmsOwned ? { active: this.alarms } : b.alarms,
      doorModes: this.doorModes,
      presence: this.presence,
      invalidRows: this.invalidRows,
    };
  }
}

function apply(d: Draft, row: JournalRow): void {
  if (row.seq <= d.lastSeq) return;
  d.lastSeq = row.seq;
  switch (row.type) {
    case 'access': {
      const r = AccessRecord.safeParse(row.data);
      if (!r.success) {
        d.invalidRows++;
        return;
      }
      if (r.data.result !== 'granted' || row.person === null || row.door === null) return;
      if (r.data.direction === 'in') {
        const entry: PresenceEntry = { personId: row.person, since: row.at };
        if (r.data.category != null) entry.category = r.data.category;
        d.enter(row.door, entry);
      } else {
        d.leave(row.door, row.person);
      }
      return;
    }
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
      // Other record types (door, reader, controller, admin …) do not change derived state.
      return;
  }
}

/**
 * Fold many rows (any iterable, e.g. a journal cursor) in seq order. Each part of the state is
 * copied at most once, however many rows there are.
 */
export function foldRows(state: DerivedState, rows: Iterable<JournalRow>): DerivedState {
  const d = new Draft(state);
  for (const row of rows) apply(d, row);
  return d.result();
}

/** Fold one row: a new state sharing every part the row does not change. */
export function foldRow(state: DerivedState, row: JournalRow): DerivedState {
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
});

export const DerivedSnapshot = z.object({
  version: z.literal(1),
  lastSeq: z.int().min(0),
  invalidRows: z.int().min(0),
  alarms: z.array(ActiveAlarmSnapshot),
  doorModes: z.array(z.tuple([z.string(), DoorMode])),
  presence: z.array(z.tuple([z.string(), z.array(PresenceSnapshot)])),
});
export type DerivedSnapshot = z.infer<typeof DerivedSnapshot>;

/**
 * A JSON-safe snapshot of the derived state; it covers the journal up to `lastSeq`. Restore it and
 * fold the rows after `lastSeq` to get the same state as a full replay.
 */
export function snapshotDerivedState(state: DerivedState): DerivedSnapshot {
  return {
    version: 1,
    lastSeq: state.lastSeq,
    invalidRows: state.invalidRows,
    alarms: listAlarms(state.alarms).map((a) => ({
      ...a,
      acknowledged: a.acknowledged && { ...a.acknowledged },
    })),
    doorModes: Object.entries(state.doorModes),
    presence: Object.entries(state.presence).map(([door, inside]) => [
      door,
      Object.values(inside).map((p) => ({ ...p })),
    ]),
  };
}

function listAlarms(alarms: AlarmState): ActiveAlarm[] {
  return Object.values(alarms.active).sort((a, b) => a.id - b.id);
}

/** The derived state from a snapshot; throws a ZodError if it is not a valid snapshot. */
export function restoreDerivedState(snapshot: unknown): DerivedState {
  const s = DerivedSnapshot.parse(snapshot);
  const presence = dict<Dict<PresenceEntry>>();
  for (const [door, entries] of s.presence) {
    if (entries.length === 0) continue;
    const inside = dict<PresenceEntry>();
    for (const p of entries) {
      const entry: PresenceEntry = { personId: p.personId, since: p.since };
      if (p.category !== undefined) entry.category = p.category;
      inside[p.personId] = entry;
    }
    presence[door] = inside;
  }
  const active: Record<number, ActiveAlarm> = {};
  for (const a of s.alarms) active[a.id] = a;
  const doorModes = dict<DoorMode>();
  for (const [door, mode] of s.doorModes) doorModes[door] = mode;
  return { lastSeq: s.lastSeq, invalidRows: s.invalidRows, alarms: { active }, doorModes, presence };
}
