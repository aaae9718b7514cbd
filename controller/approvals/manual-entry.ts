/**
 * The `manual_entry` request kind: an entry or exit made with the mechanical key and written on the
 * paper 入退室管理簿 while the controller could not decide, transcribed afterwards
 * (`sekisho record-manual-entry`, or `POST /api/requests`). A different person approves it; only
 * then is it journaled, as `manual_entry_recorded` (controller/domain/records-manual.ts). It never
 * takes the break-glass path: it is history, never urgent, and one person alone could otherwise
 * write anyone's presence into the record.
 *
 * Its check refuses an unknown person or door, a time in the future, a visitor without an escort
 * (or an escort for anyone else), a duplicate of one already filed or recorded, and a time outside
 * every recorded outage unless the filer says so (`outsideOutage`, then flagged in the row).
 */
import { z } from 'zod';
import { samePerson } from '../accounts/person.js';
import {
  controllerOutages,
  Direction,
  dataFields,
  type LifecycleRow,
  nameField,
  type Outage,
  outageAt,
} from '../domain/index.js';
import type { Journal, JournalRow } from '../journal/index.js';
import { formatLocal } from '../time.js';
import { ApprovalError } from './errors.js';
import type { ApplyContext, CheckContext, KindDef } from './kinds.js';

export const ManualEntryPayload = z.strictObject({
  personId: z.string().min(1).max(64),
  doorId: z.string().min(1).max(64),
  direction: Direction,
  /** The time written on paper (UTC ms). */
  paperAt: z.number().int().nonnegative(),
  /** A visitor's escort (person id); null for anyone else. */
  escortId: z.string().min(1).max(64).nullable().default(null),
  /** Page and line of the paper ledger, as written on the form (e.g. "3-12"). */
  paperRef: nameField(40),
  /** The filer knows the time falls in no recorded outage, and files it anyway (flagged). */
  outsideOutage: z.boolean().default(false),
});
export type ManualEntryPayload = z.output<typeof ManualEntryPayload>;

/** A future time is refused; this much ahead is a clock's or a wall clock's error, not the future. */
const FUTURE_SLACK_MS = 60_000;
/** How far before the paper time outages are looked for (a longer one is not found: flagged). */
const LOOKBACK_MS = 31 * 86_400_000;
const MAX_ROWS = 10_000;

/**
 * The recorded outages around `at` that concern `door`: the controller down (stopped, or crashed
 * until its next start), a storage fault (its alarm until the condition cleared), and the door's
 * readers offline (until back online).
 */
export function outagesAround(journal: Journal, door: string, at: number, now: number): Outage[] {
  const from = at - LOOKBACK_MS;
  const asc = (rows: JournalRow[]) => rows.reverse();
  const lifecycleTypes = ['controller_started', 'controller_stopped'];
  const lifecycle = asc(journal.query({ types: lifecycleTypes, from, limit: MAX_ROWS }));
  const before = journal.query({ types: lifecycleTypes, to: from, limit: 1 });
  const rows: LifecycleRow[] = [...before, ...lifecycle].map((r) => ({
    seq: r.seq,
    at: r.at,
    type: r.type as LifecycleRow['type'],
  }));
  const out = controllerOutages(rows, (start, previous) => {
    // The last row the controller (or its dashboard) wrote before it started again: the command
    // line's rows (actor cli:…) are written whether it runs or not.
    const recent = journal.query({ from: previous.at, to: start.at, limit: 200 });
    const alive = recent.find((r) => !r.actor?.startsWith('cli:')) ?? recent.at(-1) ?? previous;
    return { seq: alive.seq, at: alive.at };
  });

  for (const raised of journal.query({ types: ['alarm_raised'], from, to: now + 1, limit: MAX_ROWS })) {
    if (dataFields(raised).alarm !== 'storage_fault') continue;
    const cleared = asc(
      journal.query({ types: ['alarm_condition_cleared'], from: raised.at, limit: MAX_ROWS }),
    ).find((r) => dataFields(r).alarmId === raised.seq);
    out.push({ kind: 'storage_fault', from: raised.at, until: cleared?.at ?? null, seq: raised.seq });
  }

  const online = asc(journal.query({ types: ['reader_online'], door, from, limit: MAX_ROWS }));
  for (const off of journal.query({ types: ['reader_offline'], door, from, limit: MAX_ROWS })) {
    const reader = dataFields(off).reader;
    const back = online.find((r) => r.seq > off.seq && dataFields(r).reader === reader);
    out.push({ kind: 'reader_offline', from: off.at, until: back?.at ?? null, seq: off.seq });
  }
  return out;
}

function person(ctx: Pick<CheckContext, 'registry'>, id: string, what: string) {
  const p = ctx.registry.getPerson(id);
  if (!p) throw new ApprovalError('invalid_input', `no ${what} "${id}"`);
  return p;
}

function check(p: ManualEntryPayload, ctx: CheckContext): void {
  const who = person(ctx, p.personId, 'person');
  const door = ctx.config.doors.find((d) => d.id === p.doorId);
  if (!door) throw new ApprovalError('invalid_input', `no door "${p.doorId}"`);
  const tz = ctx.config.timeZone;
  const now = ctx.now;
  if (p.paperAt > now + FUTURE_SLACK_MS)
    throw new ApprovalError(
      'invalid_input',
      `the time on paper (${formatLocal(p.paperAt, tz)}) is in the future: check the date written on the ledger`,
    );
  if (who.category === 'visitor') {
    if (p.escortId === null)
      throw new ApprovalError(
        'invalid_input',
        'a visitor entered with an escort: name the escort written on paper',
      );
    if (p.escortId === p.personId)
      throw new ApprovalError('invalid_input', 'a visitor cannot be their own escort');
    const escort = person(ctx, p.escortId, 'escort');
    if (escort.category !== 'staff')
      throw new ApprovalError('invalid_input', 'the escort must be a staff member');
  } else if (p.escortId !== null) {
    throw new ApprovalError(
      'invalid_input',
      `an escort is recorded for a visitor only (${who.displayId} is ${who.category})`,
    );
  }

  const same = (q: Record<string, unknown>) =>
    q.personId === p.personId &&
    q.doorId === p.doorId &&
    q.direction === p.direction &&
    q.paperAt === p.paperAt;
  for (const r of ctx.pending('manual_entry')) {
    if (r.id === ctx.requestId) continue;
    if (same(r.payload))
      throw new ApprovalError('conflict', `the same entry is already filed (request ${r.id})`);
    if (r.payload.paperRef === p.paperRef)
      throw new ApprovalError('conflict', `paper line "${p.paperRef}" is already filed (request ${r.id})`);
  }
  for (const row of ctx.journal.query({ types: ['manual_entry_recorded'], limit: MAX_ROWS })) {
    const d = dataFields(row);
    if (same({ personId: row.person, doorId: row.door, direction: d.direction, paperAt: d.paperAt }))
      throw new ApprovalError('conflict', `the same entry is already recorded (journal row ${row.seq})`);
    if (d.paperRef === p.paperRef)
      throw new ApprovalError(
        'conflict',
        `paper line "${p.paperRef}" is already recorded (journal row ${row.seq})`,
      );
  }

  const outage = outageAt(outagesAround(ctx.journal, p.doorId, p.paperAt, now), p.paperAt, now);
  if (outage === null && !p.outsideOutage)
    throw new ApprovalError(
      'invalid_input',
      `${formatLocal(p.paperAt, tz)} falls in no recorded outage of ${door.id} (the controller down, a storage fault, ` +
        'its reader offline): the controller was deciding then. Check the time on paper; if it is right (a lock or ' +
        'reader that failed without a record), file it again with --outside-outage (outsideOutage: true): it is ' +
        'recorded flagged',
    );
}

function apply(p: ManualEntryPayload, ctx: ApplyContext): Record<string, unknown> {
  // The break-glass path decides a request by its own filer: never for a transcription.
  if (samePerson(ctx.requestedBy, ctx.actor))
    throw new ApprovalError(
      'forbidden',
      'a manual entry is recorded only when a different person approves it: it never takes the break-glass path',
    );
  const who = ctx.registry.getPerson(p.personId);
  if (!who) throw new ApprovalError('invalid_input', `no person "${p.personId}"`);
  const escort = p.escortId === null ? null : (ctx.registry.getPerson(p.escortId) ?? null);
  const outage = outageAt(outagesAround(ctx.journal, p.doorId, p.paperAt, ctx.at), p.paperAt, ctx.at);
  const permitted = ctx.registry.permissionsFor(p.personId).some((x) => x.doorId === p.doorId);
  const row = ctx.journal.append({
    type: 'manual_entry_recorded',
    at: ctx.at,
    door: p.doorId,
    person: p.personId,
    actor: ctx.actor,
    data: {
      requestId: ctx.requestId,
      direction: p.direction,
      paperAt: p.paperAt,
      paperRef: p.paperRef,
      transcribedBy: ctx.requestedBy,
      transcribedAt: ctx.requestedAt,
      approvedBy: ctx.actor,
      reason: ctx.reason,
      personName: who.name,
      displayId: who.displayId,
      category: who.category,
      escort: p.escortId,
      escortName: escort?.name ?? null,
      outage,
      permitted,
    },
  });
  return { seq: row.seq, outage: outage?.kind ?? null, permitted };
}

export const MANUAL_ENTRY: KindDef<ManualEntryPayload> = {
  payload: ManualEntryPayload,
  account: false,
  person: (p) => p.personId,
  check,
  apply,
  summary: (p) =>
    `${p.direction} ${p.personId} at ${p.doorId}, ${new Date(p.paperAt).toISOString()} on paper (${p.paperRef})`,
};
