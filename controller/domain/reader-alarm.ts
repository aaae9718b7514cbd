/**
 * A reader's reports as the journal and the `reader_offline` alarm see them, pure.
 *
 * The reader port reports online/offline transitions, one `offline`/`flood` status per flood
 * episode, and when a flood incident settles (see firmware-bridge/budget.ts: floods that follow
 * each other within `quietMs` are one incident, with growing cool-downs). The rules:
 *
 * - **Recorded**: every transition is a `reader_online`/`reader_offline` row, and so is every flood
 *   episode (with its number in the incident and its cool-down), even when the reader was already
 *   offline, or already reported flooding. The journal keeps the full count.
 * - **Raised**: going offline raises `reader_offline`; so does a flood, even on a reader already
 *   offline for another reason — but one incident raises **one** alarm: the later episodes of an
 *   incident are recorded without raising another. Leaving a flood for another offline reason
 *   raises nothing (the flood's alarm covers it).
 * - **Cleared**: coming back online clears the condition of the reader's `reader_offline` alarms —
 *   except during a flood incident. A reader back between two floods of an incident keeps its
 *   alarm; the condition clears once the incident settles (the port stayed within its budget for
 *   `quietMs`) with the reader online, or at its next return online after that.
 *
 * Across a restart of the controller the incident is forgotten (the reader's budget is too); a
 * flood then is a new incident with a new alarm.
 */
import type { ReaderStatusRecord } from './records.js';

/** The flood episode a `flood` status reports (firmware-bridge's FloodEpisode). */
export interface ReaderFloodEpisode {
  /** 1 for an incident's first flood. */
  episode: number;
  /** Its cool-down, ms. */
  coolDownMs: number;
}

/** What the controller keeps of a reader between reports. */
export interface ReaderCondition {
  online: boolean;
  reason: string;
  /** Set while the last report was a flood: its episode. */
  flood?: ReaderFloodEpisode;
  /**
   * The flood incident not yet settled: how many episodes it has had, and whether its alarm was
   * raised. Absent when there is none.
   */
  incident?: { episodes: number; alarmed: boolean };
}

export type ReaderReport =
  /** A status of the reader port; `flood` set on (and only on) the status of a flood episode. */
  | { kind: 'status'; online: boolean; reason: string; flood?: ReaderFloodEpisode }
  /** The port's flood incident is over. */
  | { kind: 'flood-settled' };

export interface ReaderStep {
  state: ReaderCondition;
  /** The journal row to write, if any. */
  record: { type: 'reader_online' | 'reader_offline'; data: ReaderStatusRecord } | null;
  /** Raise `reader_offline` for the reader (with this detail), or clear the condition of its ones. */
  alarm: { action: 'raise'; detail: string } | { action: 'clear' } | null;
}

/** The reason a reader is recorded with before its port has said anything. */
export const READER_STARTING = 'starting';

/** The `reader_offline` alarm's detail for a reader gone offline for `reason` (or flooding). */
function readerOfflineDetail(readerId: string, reason: string, flooding: boolean): string {
  return flooding
    ? `reader ${readerId}: flood (far more bytes than its line can carry; not decoded)`
    : `reader ${readerId}: ${reason}`;
}

/**
 * Apply one report. `prev` undefined: nothing known of the reader yet (its first report is always
 * recorded, and clears a condition left over from before a restart if the reader is online).
 */
export function stepReader(
  readerId: string,
  prev: ReaderCondition | undefined,
  report: ReaderReport,
): ReaderStep {
  if (report.kind === 'flood-settled') {
    if (!prev?.incident)
      return { state: prev ?? { online: false, reason: READER_STARTING }, record: null, alarm: null };
    const { incident: _, ...state } = prev;
    // Offline (for another reason by now): its return online will clear.
    return { state, record: null, alarm: prev.online ? { action: 'clear' } : null };
  }

  const { online, reason, flood } = report;
  const leavingFlood = prev?.flood !== undefined && flood === undefined;
  const recorded =
    !prev || prev.online !== online || prev.reason === READER_STARTING || flood !== undefined || leavingFlood;
  let incident = prev?.incident;
  if (flood) {
    // A first episode while an incident is open (its settling was never reported): still that one.
    incident = { episodes: (incident?.episodes ?? 0) + 1, alarmed: incident?.alarmed ?? false };
  }
  const state: ReaderCondition = {
    online,
    reason,
    ...(flood && { flood: { episode: flood.episode, coolDownMs: flood.coolDownMs } }),
    ...(incident && { incident }),
  };
  if (!recorded) return { state, record: null, alarm: null };

  const data: ReaderStatusRecord = flood
    ? { reader: readerId, reason, episode: flood.episode, coolDownMs: flood.coolDownMs }
    : { reader: readerId, reason };
  const record = { type: online ? ('reader_online' as const) : ('reader_offline' as const), data };
  let alarm: ReaderStep['alarm'] = null;
  if (online) {
    if (!incident) alarm = { action: 'clear' };
  } else if (flood) {
    if (!incident!.alarmed) {
      alarm = { action: 'raise', detail: readerOfflineDetail(readerId, reason, true) };
      state.incident = { ...incident!, alarmed: true };
    }
  } else if (!leavingFlood) {
    alarm = { action: 'raise', detail: readerOfflineDetail(readerId, reason, false) };
  }
  return { state, record, alarm };
}
