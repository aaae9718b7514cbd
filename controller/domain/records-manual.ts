/**
 * Degraded entry (issue #16): an entry or exit made with the mechanical key while the controller
 * could not decide, written on the paper 入退室管理簿 and transcribed afterwards with
 * `sekisho record-manual-entry` (controller/approvals/manual-entry.ts). It is journaled only once
 * a different person has approved the transcription, as `manual_entry_recorded` — never as an
 * `access` row — and it changes no derived state: presence, alarms and visits are the controller's
 * own observations, and a transcription is history.
 *
 * Also the pure part of "when was the controller unable to decide": the outage intervals and the
 * one a paper time falls in.
 */
import { z } from 'zod';
import { Direction, PersonCategory } from './types.js';

/** Why the controller could not decide: down (stopped or crashed), its journal unwritable, the door's reader silent. */
export const OutageKind = z.enum(['controller_down', 'storage_fault', 'reader_offline']);
export type OutageKind = z.infer<typeof OutageKind>;

/** A recorded outage: from, until (UTC ms; `until` null = still going when transcribed). */
export const Outage = z.object({
  kind: OutageKind,
  from: z.number(),
  until: z.number().nullable(),
  /** The journal row that shows it began (controller_stopped, alarm_raised, reader_offline, …). */
  seq: z.number(),
});
export type Outage = z.infer<typeof Outage>;

/**
 * A paper entry or exit, transcribed and approved. `person` column = who passed the door, `door`
 * column = the door, `actor` = the approver; `at` = when it was approved (recorded), while
 * `paperAt` is the time written on paper.
 */
export const ManualEntryRecordedRecord = z.object({
  requestId: z.number(),
  direction: Direction,
  /** The time written on the paper ledger (UTC ms; minutes as written). */
  paperAt: z.number(),
  /** Where on the paper ledger: page and line, as written on the form (e.g. "3-12"). */
  paperRef: z.string(),
  /** Who transcribed it (the request's filer) and when. */
  transcribedBy: z.string(),
  transcribedAt: z.number(),
  /** The different person who approved it. */
  approvedBy: z.string(),
  /** The filer's reason (what happened, why the key). */
  reason: z.string(),
  /** The person as they were when it was recorded. */
  personName: z.string(),
  displayId: z.string(),
  category: PersonCategory,
  /** A visitor's escort (person id) and name as written on paper; null for staff and contractors. */
  escort: z.string().nullable(),
  escortName: z.string().nullable(),
  /** The recorded outage the paper time falls in, or null (filed with --outside-outage: flagged). */
  outage: Outage.nullable(),
  /** Whether the person held a permission for the door when it was recorded. */
  permitted: z.boolean(),
});
export type ManualEntryRecordedRecord = z.infer<typeof ManualEntryRecordedRecord>;

export const ManualRecordSchemas = {
  manual_entry_recorded: ManualEntryRecordedRecord,
} as const;

/**
 * How far a paper time may lie outside a recorded outage and still count as inside it: a time
 * written by hand from a wall clock or a phone is minutes off, and the key is often used just
 * before the controller's own row of the outage is written (a reader that just went silent).
 */
export const OUTAGE_SLACK_MS = 15 * 60_000;

/**
 * The outage `at` falls in (within `slack` either side), or null. An outage still going (`until`
 * null) lasts until `now`. Of several, the one that began last.
 */
export function outageAt(
  outages: readonly Outage[],
  at: number,
  now: number,
  slack = OUTAGE_SLACK_MS,
): Outage | null {
  let best: Outage | null = null;
  for (const o of outages) {
    const until = o.until ?? now;
    if (at >= o.from - slack && at <= until + slack && (best === null || o.from > best.from)) best = o;
  }
  return best;
}

/** A journal row as `controllerOutages` reads it. */
export interface LifecycleRow {
  seq: number;
  at: number;
  type: 'controller_started' | 'controller_stopped';
}

/**
 * The intervals in which the controller was down, from its start and stop rows in seq order:
 * a stop to the next start; a start with no stop before it (a crash, a power cut) from
 * `lastAlive(start)` — the last row the controller itself wrote before that start — to the start;
 * a stop with no start after it is still going (`until` null).
 */
export function controllerOutages(
  rows: readonly LifecycleRow[],
  lastAlive: (start: LifecycleRow, previous: LifecycleRow) => { seq: number; at: number },
): Outage[] {
  const out: Outage[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const prev = i > 0 ? rows[i - 1]! : undefined;
    if (r.type === 'controller_started' && prev) {
      if (prev.type === 'controller_stopped')
        out.push({ kind: 'controller_down', from: prev.at, until: r.at, seq: prev.seq });
      else {
        const alive = lastAlive(r, prev);
        out.push({ kind: 'controller_down', from: alive.at, until: r.at, seq: alive.seq });
      }
    }
    if (r.type === 'controller_stopped' && i === rows.length - 1)
      out.push({ kind: 'controller_down', from: r.at, until: null, seq: r.seq });
  }
  return out;
}
