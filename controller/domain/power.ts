/**
 * The power-fail rules, pure (policy §7(3)③): readings of the UPS (from NUT's ups.status, or from
 * the GPIO contacts) and a lost link to upsd become rows, alarms and, once the grace time on battery
 * has run out — at once on a low battery or a forced shutdown — the decision to shut down.
 *
 * As NUT's upsmon does, "low battery" counts only while on battery (OB LB), or with FSD: an LB flag
 * while on line (charging after an outage) is no reason to stop.
 */
import type { PowerFailingReason, PowerSource } from './records-power.js';

export interface PowerReading {
  /** The flags as read, e.g. "OB DISCHRG" (NUT) or "OB LB" (GPIO). */
  status: string;
  onBattery: boolean;
  lowBattery: boolean;
  forcedShutdown: boolean;
}

const FLAG = /^[A-Z][A-Z0-9_]{0,15}$/;

/**
 * NUT's ups.status ("OL", "OB DISCHRG", "OB LB", "FSD OB LB", …). Unknown flags are kept and
 * ignored (newer drivers add some); anything that is not a list of flags is an error. A list with
 * neither OL, OB nor FSD ("WAIT" while a driver has no data yet, "OFF", "BYPASS") says nothing
 * about the mains: `unknown`, with the flags.
 */
export function parseUpsStatus(raw: string): PowerReading | { error: string } | { unknown: string } {
  const flags = raw.trim().split(/\s+/);
  if (raw.length > 200 || flags.length === 0 || flags[0] === '' || !flags.every((f) => FLAG.test(f)))
    return { error: `ups.status "${printable(raw)}" is not a list of NUT status flags` };
  const has = (f: string) => flags.includes(f);
  if (!has('OL') && !has('OB') && !has('FSD')) return { unknown: flags.join(' ') };
  return {
    status: flags.join(' '),
    onBattery: has('OB'),
    lowBattery: has('LB'),
    forcedShutdown: has('FSD'),
  };
}

/** The reading the GPIO contacts give (no contact for "on line": it is the absence of "on battery"). */
export function gpioReading(onBattery: boolean, lowBattery: boolean): PowerReading {
  const status = onBattery ? (lowBattery ? 'OB LB' : 'OB') : lowBattery ? 'OL LB' : 'OL';
  return { status, onBattery, lowBattery, forcedShutdown: false };
}

/** Control characters and overlong text made safe for a message or a row. */
export function printable(text: string, max = 80): string {
  const clean = [...text].map((c) => (c < ' ' || c === '\x7f' ? '?' : c)).join('');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export interface PowerSettings {
  source: PowerSource;
  graceS: number;
  /** A lost link to upsd: reported only, or taken as on battery. */
  onLost: 'report' | 'failing';
}

export interface PowerState {
  onBattery: boolean;
  /** When this run saw the UPS go on battery (null: before this run, or not on battery). */
  since: number | null;
  status: string | null;
  /** The shutdown was decided: nothing more happens. */
  failing: boolean;
  /** upsd cannot be read since this time (null: it can, or it never could be tried). */
  lostSince: number | null;
  /** The on-battery state is only assumed from a lost link (`onLost: failing`). */
  assumed: boolean;
}

/**
 * The state at start. `alarmOpen`: a `power_failure` alarm from an earlier run still waits for its
 * condition to clear, so the first reading on line records `power_restored`.
 */
export function initialPowerState(alarmOpen: boolean): PowerState {
  return { onBattery: alarmOpen, since: null, status: null, failing: false, lostSince: null, assumed: false };
}

export type PowerEvent =
  | { kind: 'reading'; at: number; reading: PowerReading }
  | { kind: 'lost'; at: number; reason: string }
  | { kind: 'tick'; at: number };

export type PowerAction =
  | { kind: 'on_battery'; status: string }
  | { kind: 'restored'; status: string; secondsOnBattery: number | null }
  | { kind: 'monitor_lost'; reason: string }
  | { kind: 'monitor_restored'; status: string; secondsLost: number }
  | { kind: 'failing'; status: string; reason: PowerFailingReason; secondsOnBattery: number };

const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));

export function stepPower(
  state: PowerState,
  event: PowerEvent,
  s: PowerSettings,
): { state: PowerState; actions: PowerAction[] } {
  if (state.failing) return { state, actions: [] };
  const actions: PowerAction[] = [];
  let next = { ...state };
  const at = event.at;
  if (event.kind === 'reading') {
    const r = event.reading;
    if (next.lostSince !== null) {
      actions.push({ kind: 'monitor_restored', status: r.status, secondsLost: seconds(at - next.lostSince) });
      next.lostSince = null;
    }
    if (r.onBattery && (!next.onBattery || next.assumed)) {
      if (!next.onBattery) actions.push({ kind: 'on_battery', status: r.status });
      next = { ...next, onBattery: true, since: next.since ?? at, assumed: false };
    } else if (r.onBattery && next.since === null) {
      // On battery since before this run (its row and alarm are in the journal): the grace starts now.
      next.since = at;
    } else if (!r.onBattery && next.onBattery) {
      actions.push({
        kind: 'restored',
        status: r.status,
        secondsOnBattery: next.since === null ? null : seconds(at - next.since),
      });
      next = { ...next, onBattery: false, since: null, assumed: false };
    }
    next.status = r.status;
    const critical = r.forcedShutdown || (r.onBattery && r.lowBattery);
    if (critical) {
      const reason: PowerFailingReason = r.forcedShutdown ? 'forced_shutdown' : 'low_battery';
      return fail(next, actions, at, reason);
    }
  } else if (event.kind === 'lost') {
    if (next.lostSince === null) {
      actions.push({ kind: 'monitor_lost', reason: event.reason });
      next.lostSince = at;
      if (s.onLost === 'failing' && !next.onBattery) {
        actions.push({ kind: 'on_battery', status: 'LOST' });
        next = { ...next, onBattery: true, since: at, status: 'LOST', assumed: true };
      }
    }
  }
  const deadline = powerDeadline(next, s);
  if (deadline !== null && at >= deadline) return fail(next, actions, at, 'grace_elapsed');
  return { state: next, actions };
}

function fail(
  state: PowerState,
  actions: PowerAction[],
  at: number,
  reason: PowerFailingReason,
): { state: PowerState; actions: PowerAction[] } {
  actions.push({
    kind: 'failing',
    status: state.status ?? 'unknown',
    reason,
    secondsOnBattery: state.since === null ? 0 : seconds(at - state.since),
  });
  return { state: { ...state, failing: true }, actions };
}

/** When the grace time on battery runs out (a `tick` then decides the shutdown), or null. */
export function powerDeadline(state: PowerState, s: PowerSettings): number | null {
  if (state.failing || !state.onBattery || state.since === null) return null;
  return state.since + s.graceS * 1000;
}
