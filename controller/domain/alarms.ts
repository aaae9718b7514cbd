/**
 * The alarm lifecycle, pure.
 *
 * An alarm's id is the journal seq of its `alarm_raised` row (the shell assigns it when it commits
 * the row). An alarm is **latched**: it stays active until it has been acknowledged by a user *and*
 * its condition has cleared (door closed, tamper restored, reader back …), in either order. Then it
 * leaves the active set; its history stays in the journal.
 *
 * The functions here return a new state and never modify their input. An unknown id (an alarm that
 * is already gone, or never existed) leaves the state unchanged; a second acknowledgement or clear
 * of the same alarm keeps the first.
 */
import type { AlarmSeverity, AlarmType, ControllerAlarmType, VisitAlarmType } from './types.js';

export interface AlarmAck {
  /** The acknowledging user's id (the row's `actor`), or null if unknown. */
  by: string | null;
  at: number;
  comment: string;
}

export interface ActiveAlarm {
  /** The seq of the `alarm_raised` journal row. */
  id: number;
  type: AlarmType;
  severity: AlarmSeverity;
  door: string | null;
  /**
   * The person the alarm is about (the `person` column of its `alarm_raised` row), e.g. the visitor
   * of `visitor_unescorted`. Absent for alarms about a door or the controller.
   */
  person?: string;
  /** What on the door raised it (a reader id), when the door has several; see AlarmRaisedRecord. */
  source?: string;
  detail: string;
  raisedAt: number;
  conditionCleared: boolean;
  conditionClearedAt: number | null;
  acknowledged: AlarmAck | null;
}

/**
 * The active alarms. `active` is keyed by alarm id; integer keys enumerate in ascending order, so
 * `Object.values(state.active)` is oldest first.
 */
export interface AlarmState {
  readonly active: Readonly<Record<number, ActiveAlarm>>;
}

export interface AlarmRaise {
  id: number;
  type: AlarmType;
  severity: AlarmSeverity;
  door: string | null;
  /** The person the alarm is about, if any (see `ActiveAlarm.person`). */
  person?: string | null;
  source?: string | null;
  detail: string;
  at: number;
}

/**
 * The severity each alarm type of the door machine and the shell is raised with unless a caller has
 * reason to differ. The visit rules' alarms are in `VISIT_ALARM_SEVERITY`; `alarmSeverity()` covers
 * every type.
 */
export const DEFAULT_ALARM_SEVERITY: Readonly<Record<ControllerAlarmType, AlarmSeverity>> = {
  forced_open: 'critical',
  held_open: 'major',
  door_tamper: 'major',
  reader_offline: 'major',
  reader_tamper: 'major',
  controller_fault: 'critical',
  storage_fault: 'critical',
  storage_low: 'major',
  break_glass: 'critical',
  power_failure: 'critical',
  power_monitor_offline: 'major',
  journal_truncated: 'critical',
};

/** The severity of the alarms raised by the visit rules (visits.ts). */
export const VISIT_ALARM_SEVERITY: Readonly<Record<VisitAlarmType, AlarmSeverity>> = {
  visitor_unescorted: 'major',
  room_unsecured: 'major',
  visitor_badge_not_returned: 'minor',
};

/** The default severity of any alarm type. */
export function alarmSeverity(type: AlarmType): AlarmSeverity {
  return Object.hasOwn(VISIT_ALARM_SEVERITY, type)
    ? VISIT_ALARM_SEVERITY[type as VisitAlarmType]
    : DEFAULT_ALARM_SEVERITY[type as ControllerAlarmType];
}

export function emptyAlarmState(): AlarmState {
  return { active: {} };
}

// The mutating forms, shared with the fold (which owns its copy and must not copy per row).

/** @internal Raise into an owned record. */
export function raiseInto(active: Record<number, ActiveAlarm>, r: AlarmRaise): void {
  if (Object.hasOwn(active, r.id)) return;
  active[r.id] = {
    id: r.id,
    type: r.type,
    severity: r.severity,
    door: r.door,
    ...(r.person == null ? {} : { person: r.person }),
    ...(r.source == null ? {} : { source: r.source }),
    detail: r.detail,
    raisedAt: r.at,
    conditionCleared: false,
    conditionClearedAt: null,
    acknowledged: null,
  };
}

/** @internal */
export function clearInto(active: Record<number, ActiveAlarm>, id: number, at: number): void {
  const a = active[id];
  if (a === undefined || a.conditionCleared) return;
  if (a.acknowledged !== null) delete active[id];
  else active[id] = { ...a, conditionCleared: true, conditionClearedAt: at };
}

/** @internal */
export function acknowledgeInto(active: Record<number, ActiveAlarm>, id: number, ack: AlarmAck): void {
  const a = active[id];
  if (a === undefined || a.acknowledged !== null) return;
  if (a.conditionCleared) delete active[id];
  else active[id] = { ...a, acknowledged: { by: ack.by, at: ack.at, comment: ack.comment } };
}

/** Whether applying this alarm row would change `active` (so the fold copies only then). @internal */
export function alarmRowChanges(
  active: Readonly<Record<number, ActiveAlarm>>,
  kind: 'raise' | 'clear' | 'ack',
  id: number,
): boolean {
  const a = active[id];
  if (kind === 'raise') return a === undefined;
  if (a === undefined) return false;
  return kind === 'clear' ? !a.conditionCleared : a.acknowledged === null;
}

export function applyAlarmRaised(state: AlarmState, raise: AlarmRaise): AlarmState {
  if (!alarmRowChanges(state.active, 'raise', raise.id)) return state;
  const active = { ...state.active };
  raiseInto(active, raise);
  return { active };
}

export function applyAlarmConditionCleared(state: AlarmState, id: number, at: number): AlarmState {
  if (!alarmRowChanges(state.active, 'clear', id)) return state;
  const active = { ...state.active };
  clearInto(active, id, at);
  return { active };
}

export function applyAlarmAcknowledged(state: AlarmState, id: number, ack: AlarmAck): AlarmState {
  if (!alarmRowChanges(state.active, 'ack', id)) return state;
  const active = { ...state.active };
  acknowledgeInto(active, id, ack);
  return { active };
}

/** Active alarms, oldest first. */
export function listActiveAlarms(state: AlarmState): ActiveAlarm[] {
  return Object.values(state.active).sort((a, b) => a.id - b.id);
}

/** The most recent active (latched) alarm of `type` on `door`, whether or not its condition holds. */
export function findActiveAlarm(
  state: AlarmState,
  type: AlarmType,
  door: string | null,
): ActiveAlarm | undefined {
  let found: ActiveAlarm | undefined;
  for (const a of Object.values(state.active)) {
    if (a.type === type && a.door === door && (found === undefined || a.id > found.id)) found = a;
  }
  return found;
}

/**
 * Active alarms of `type` on `door` whose condition still holds, oldest first: the ones to clear
 * when the door machine reports `alarm_condition_cleared` for that type. With `person` (a string),
 * only the alarms about that person; with `null`, only those about nobody in particular; omitted,
 * all of them. With `source` (a reader id), only that source's alarms (and any without a source).
 */
export function alarmsAwaitingClear(
  state: AlarmState,
  type: AlarmType,
  door: string | null,
  person?: string | null,
  source?: string,
): ActiveAlarm[] {
  return listActiveAlarms(state).filter(
    (a) =>
      a.type === type &&
      a.door === door &&
      !a.conditionCleared &&
      (person === undefined || (a.person ?? null) === person) &&
      // An alarm raised before sources were recorded is cleared by any source, as it always was.
      (source === undefined || a.source === undefined || a.source === source),
  );
}

/** The alarm types whose condition still holds on `door` — for `initialDoorState(…, { openConditions })`. */
export function openConditions(state: AlarmState, door: string | null): AlarmType[] {
  const types = new Set<AlarmType>();
  for (const a of Object.values(state.active)) if (a.door === door && !a.conditionCleared) types.add(a.type);
  return [...types].sort();
}
