/**
 * The door state machine: `stepDoor(state, event, timing)` → `{ state, actions }`.
 *
 * The shell feeds it events (grants from decisions, exit button presses, debounced contact and
 * tamper levels, mode changes, and `tick`s at `nextDeadline()`), performs the returned actions in
 * order (lock/buzzer outputs, journal records, alarms) and never keeps door state of its own.
 *
 * Behaviour
 *
 * - **Unlock**: a grant or exit request unlocks for `unlockMs`; another one while unlocked extends
 *   the time (`unlockedUntil` = the later of the two) without a second lock action. The exit button
 *   unlocks in lockdown too (life safety); grants in lockdown come only from override badges (the
 *   access decision sees to that), so the machine accepts every grant it is given.
 * - **Relock**: always when `unlockedUntil` passes (door open or not — a strike re-latches when the
 *   door closes, a maglock grips). With `relockOnClose`, also as soon as the door closes after an
 *   opening that happened while unlocked. Switching to lockdown relocks at once.
 * - **Authorised vs forced**: an opening is judged against the lock as it physically is when the
 *   contact opens — the lock state in `state`, i.e. the last lock action the shell performed. An
 *   opening while unlocked is authorised; an opening while locked is **forced**: `forced_open`
 *   (critical) at once. The forced condition clears when the door closes; the alarm itself stays
 *   latched until acknowledged (see alarms.ts).
 * - **Held open**: an opening that is not forced and lasts past `heldOpenMs − preAlarmMs` turns the
 *   buzzer on and records `held_open_prealarm`; past `heldOpenMs` it raises `held_open` (major) and
 *   keeps the buzzer on (with `preAlarmMs = 0` the buzzer starts with the alarm). Closing turns the
 *   buzzer off and clears the `held_open` condition if it was raised. A forced opening is not also
 *   "held": `forced_open` already covers it.
 * - **Tamper**: active → `door_tamper` (major); inactive → its condition clears.
 * - **Contact unknown at start**: the first reading is not a transition. Found open, it is recorded
 *   as `door_opened { authorized: false, initial: true }` (or authorised if a grant came first) and
 *   is never "forced" — we cannot know how it opened — but the held-open timer starts from that
 *   reading, so a door left open still raises `held_open`. Found closed, nothing is recorded.
 *   `forced_open` needs a later closed → open transition while locked.
 * - **Restart**: alarm conditions still open in the journal (see `openConditions()` in alarms.ts)
 *   can be handed to `initialDoorState` so that the first readings clear them (door found closed,
 *   tamper found normal) instead of leaving latched alarms that can never clear. With restored
 *   conditions the contact starts `unknown` whatever the caller knows: feed the current level as a
 *   `contact` event (the Board reports the first stable level of every input anyway).
 *
 * Time: events carry their own `at`; a `tick` processes whatever deadline has passed. Timers
 * (relock, pre-alarm, held alarm) are handled on every event, so a late tick is caught up by the
 * next event of any kind, in order.
 */
import type {
  DoorClosedRecord,
  DoorOpenedRecord,
  HeldOpenPrealarmRecord,
  LockChangeRecord,
} from './records.js';
import type { AlarmSeverity, AlarmType, DoorMode, LockCause } from './types.js';

/** A door's timing, as its config entry gives it. */
export interface DoorTiming {
  /** How long the lock stays open after a grant or exit request when the door is not opened. */
  unlockMs: number;
  /** An open door after a grant longer than this raises `held_open`. */
  heldOpenMs: number;
  /** The buzzer warns this long before `held_open` is raised; 0 = no pre-alarm. */
  preAlarmMs: number;
  /** Relock as soon as the door closes again after a grant, instead of waiting for unlockMs. */
  relockOnClose: boolean;
}

export function doorTiming(door: DoorTiming): DoorTiming {
  return {
    unlockMs: door.unlockMs,
    heldOpenMs: door.heldOpenMs,
    preAlarmMs: door.preAlarmMs,
    relockOnClose: door.relockOnClose,
  };
}

export type ContactState = 'open' | 'closed' | 'unknown';
export type HeldStage = 'none' | 'prealarm' | 'alarm';

export interface DoorState {
  lock: 'locked' | 'unlocked';
  contact: ContactState;
  /** When the current unlock ends (UTC ms); null while locked. */
  unlockedUntil: number | null;
  /** The current opening began while the lock was unlocked (false while closed). */
  openingAuthorized: boolean;
  /** When the current opening began (or was first seen); null while closed or unknown. */
  openedAt: number | null;
  held: HeldStage;
  /** The buzzer output as last commanded. */
  buzzer: boolean;
  tamper: boolean;
  mode: DoorMode;
  /** The door is open after a forced opening (the `forced_open` condition holds). */
  forcedActive: boolean;
}

export type DoorEvent =
  | { kind: 'grant'; at: number }
  | { kind: 'exit_request'; at: number }
  | { kind: 'contact'; open: boolean; at: number }
  | { kind: 'tamper'; active: boolean; at: number }
  | { kind: 'tick'; at: number }
  | { kind: 'mode'; mode: DoorMode; at: number };

export type DoorRecordAction =
  | { kind: 'record'; type: 'door_opened'; data: DoorOpenedRecord }
  | { kind: 'record'; type: 'door_closed'; data: DoorClosedRecord }
  | { kind: 'record'; type: 'door_unlocked'; data: LockChangeRecord }
  | { kind: 'record'; type: 'door_locked'; data: LockChangeRecord }
  | { kind: 'record'; type: 'held_open_prealarm'; data: HeldOpenPrealarmRecord };

export type DoorAction =
  | { kind: 'lock'; locked: boolean; cause: LockCause }
  | { kind: 'buzzer'; on: boolean }
  | { kind: 'alarm_raise'; alarm: AlarmType; severity: AlarmSeverity; detail: string }
  | { kind: 'alarm_condition_cleared'; alarm: AlarmType }
  | DoorRecordAction;

export interface DoorStep {
  state: DoorState;
  actions: DoorAction[];
}

/** What a restart carries over from the journal. */
export interface DoorRestore {
  mode?: DoorMode;
  /** Alarm types whose condition was still open on this door (forced_open, held_open, door_tamper). */
  openConditions?: readonly AlarmType[];
}

export const FORCED_OPEN_SEVERITY: AlarmSeverity = 'critical';
export const HELD_OPEN_SEVERITY: AlarmSeverity = 'major';
export const DOOR_TAMPER_SEVERITY: AlarmSeverity = 'major';

/**
 * The state at start: locked, buzzer off. `contactOpen` is the contact level if already known
 * (undefined: unknown until the first `contact` event). `at` is the moment of start: a door known
 * to be open times its held-open alarm from then. Prefer `undefined` and let the first reading
 * arrive as a `contact` event: then the machine records a door found open (`door_opened` with
 * `initial: true`); with a known level it returns no actions, so nothing is recorded.
 */
export function initialDoorState(
  at: number,
  contactOpen: boolean | undefined,
  restore?: DoorRestore,
): DoorState {
  const open = restore?.openConditions ?? [];
  const restoring = open.includes('forced_open') || open.includes('held_open');
  const contact: ContactState =
    restoring || contactOpen === undefined ? 'unknown' : contactOpen ? 'open' : 'closed';
  return {
    lock: 'locked',
    contact,
    unlockedUntil: null,
    openingAuthorized: false,
    openedAt: contact === 'open' ? at : null,
    held: open.includes('held_open') ? 'alarm' : 'none',
    buzzer: false,
    tamper: open.includes('door_tamper'),
    mode: restore?.mode ?? 'normal',
    forcedActive: open.includes('forced_open'),
  };
}

/** When the shell must send the next `tick` (UTC ms), or null when nothing is pending. */
export function nextDeadline(state: DoorState, timing: DoorTiming): number | null {
  let next: number | null = state.lock === 'unlocked' ? state.unlockedUntil : null;
  const consider = (t: number) => {
    if (next === null || t < next) next = t;
  };
  if (heldTimerRuns(state) && state.openedAt !== null) {
    if (state.held === 'none' && timing.preAlarmMs > 0) consider(prealarmAt(state.openedAt, timing));
    if (state.held !== 'alarm') consider(state.openedAt + timing.heldOpenMs);
  }
  return next;
}

function heldTimerRuns(state: DoorState): boolean {
  return state.contact === 'open' && !state.forcedActive;
}

function prealarmAt(openedAt: number, timing: DoorTiming): number {
  return openedAt + Math.max(0, timing.heldOpenMs - timing.preAlarmMs);
}

/** Advance the door by one event. Pure: `state` is not modified. */
export function stepDoor(state: DoorState, event: DoorEvent, timing: DoorTiming): DoorStep {
  const s: DoorState = { ...state };
  const actions: DoorAction[] = [];
  switch (event.kind) {
    case 'tick':
      advance(s, event.at, timing, actions);
      break;
    case 'grant':
    case 'exit_request':
      // Unlock (or extend) first, so a late tick does not relock and unlock again.
      unlock(s, event.at, timing, event.kind, actions);
      advance(s, event.at, timing, actions);
      break;
    case 'contact':
      if (event.open) {
        // Judge the opening against the lock as it physically is, then catch up on timers.
        opened(s, event.at, actions);
        advance(s, event.at, timing, actions);
      } else {
        // Catch up first: a held-open alarm that fell due before the close is still raised.
        advance(s, event.at, timing, actions);
        closed(s, timing, actions);
      }
      break;
    case 'tamper':
      advance(s, event.at, timing, actions);
      if (event.active && !s.tamper) {
        s.tamper = true;
        actions.push({
          kind: 'alarm_raise',
          alarm: 'door_tamper',
          severity: DOOR_TAMPER_SEVERITY,
          detail: 'tamper switch opened',
        });
      } else if (!event.active && s.tamper) {
        s.tamper = false;
        actions.push({ kind: 'alarm_condition_cleared', alarm: 'door_tamper' });
      }
      break;
    case 'mode':
      advance(s, event.at, timing, actions);
      s.mode = event.mode;
      if (event.mode === 'lockdown' && s.lock === 'unlocked') relock(s, 'lockdown', actions);
      break;
  }
  return { state: s, actions };
}

function unlock(s: DoorState, at: number, timing: DoorTiming, cause: LockCause, actions: DoorAction[]): void {
  const until = at + timing.unlockMs;
  if (s.lock === 'unlocked') {
    if (s.unlockedUntil === null || until > s.unlockedUntil) s.unlockedUntil = until;
    return;
  }
  s.lock = 'unlocked';
  s.unlockedUntil = until;
  actions.push({ kind: 'lock', locked: false, cause });
  actions.push({ kind: 'record', type: 'door_unlocked', data: { cause } });
}

function relock(s: DoorState, cause: LockCause, actions: DoorAction[]): void {
  s.lock = 'locked';
  s.unlockedUntil = null;
  actions.push({ kind: 'lock', locked: true, cause });
  actions.push({ kind: 'record', type: 'door_locked', data: { cause } });
}

function setBuzzer(s: DoorState, on: boolean, actions: DoorAction[]): void {
  if (s.buzzer === on) return;
  s.buzzer = on;
  actions.push({ kind: 'buzzer', on });
}

function opened(s: DoorState, at: number, actions: DoorAction[]): void {
  if (s.contact === 'open') return;
  const initial = s.contact === 'unknown';
  const authorized = s.lock === 'unlocked';
  s.contact = 'open';
  s.openedAt = at;
  s.openingAuthorized = authorized;
  if (initial) {
    // Not a transition: never "forced". Restored conditions stay as they were.
    actions.push({ kind: 'record', type: 'door_opened', data: { authorized, initial: true } });
    if (s.held === 'alarm') setBuzzer(s, true, actions);
    return;
  }
  actions.push({ kind: 'record', type: 'door_opened', data: { authorized } });
  if (!authorized) {
    s.forcedActive = true;
    actions.push({
      kind: 'alarm_raise',
      alarm: 'forced_open',
      severity: FORCED_OPEN_SEVERITY,
      detail: 'door opened while locked, without a grant or exit request',
    });
  }
}

function closed(s: DoorState, timing: DoorTiming, actions: DoorAction[]): void {
  if (s.contact === 'closed') return;
  const wasOpen = s.contact === 'open';
  const relockNow = wasOpen && s.openingAuthorized && timing.relockOnClose && s.lock === 'unlocked';
  s.contact = 'closed';
  s.openedAt = null;
  s.openingAuthorized = false;
  if (wasOpen) actions.push({ kind: 'record', type: 'door_closed', data: {} });
  if (relockNow) relock(s, 'closed', actions);
  setBuzzer(s, false, actions);
  if (s.held === 'alarm') actions.push({ kind: 'alarm_condition_cleared', alarm: 'held_open' });
  s.held = 'none';
  if (s.forcedActive) {
    s.forcedActive = false;
    actions.push({ kind: 'alarm_condition_cleared', alarm: 'forced_open' });
  }
}

/** Everything that falls due by `at`: relock, pre-alarm, held-open alarm. */
function advance(s: DoorState, at: number, timing: DoorTiming, actions: DoorAction[]): void {
  if (s.lock === 'unlocked' && s.unlockedUntil !== null && at >= s.unlockedUntil)
    relock(s, 'timeout', actions);
  if (!heldTimerRuns(s) || s.openedAt === null) return;
  if (s.held === 'none' && timing.preAlarmMs > 0 && at >= prealarmAt(s.openedAt, timing)) {
    s.held = 'prealarm';
    setBuzzer(s, true, actions);
    actions.push({ kind: 'record', type: 'held_open_prealarm', data: {} });
  }
  if (s.held !== 'alarm' && at >= s.openedAt + timing.heldOpenMs) {
    s.held = 'alarm';
    setBuzzer(s, true, actions);
    actions.push({
      kind: 'alarm_raise',
      alarm: 'held_open',
      severity: HELD_OPEN_SEVERITY,
      detail: `door held open longer than ${Math.round(timing.heldOpenMs / 1000)} s`,
    });
  }
}
