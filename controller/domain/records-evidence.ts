/**
 * The record types of the journal's own evidence: the declared gaps (`journal_truncated`, written by
 * the controller when it finds its journal behind what it had signed or published; `journal_restored`,
 * written by `sekisho restore`) and the acknowledgement of a restore by a different person
 * (docs/journal.md, "Declared gaps").
 *
 * A gap row may carry a seq above the previous row's + 1: its `lostFrom`..`lostThrough` names exactly
 * the seqs it skips, and its hash chains to the previous row that exists. The journal's trigger and
 * `verifyJournal` accept such a jump from these two types only, and only when the range matches.
 */
import { z } from 'zod';

/** The record types that may declare a gap in the seqs. */
export const GAP_RECORD_TYPES = ['journal_truncated', 'journal_restored'] as const;
export type GapRecordType = (typeof GAP_RECORD_TYPES)[number];

/** What showed that the journal had reached a seq it no longer has. */
export const TruncationEvidence = z.enum(['checkpoint', 'snapshot', 'mqtt']);
export type TruncationEvidence = z.infer<typeof TruncationEvidence>;

/**
 * The controller found its journal's head behind its own signed checkpoint or snapshot, or behind the
 * checkpoint published on MQTT. Rows `lostFrom` to `lostThrough` existed and are gone; this row takes
 * seq `lostThrough + 1` (or, when the seqs were already reused before the check could run —
 * `reused: true` — the next seq, and `lostThrough` names the published head it contradicts).
 */
export const JournalTruncatedRecord = z.object({
  lostFrom: z.int().min(1),
  lostThrough: z.int().min(0),
  /** The head the controller found (the previous existing row). */
  foundHeadSeq: z.int().min(0),
  foundHeadHash: z.string(),
  evidence: TruncationEvidence,
  /** The signed statement that reached further: its seq, hash and when it was signed. */
  evidenceSeq: z.int().min(1),
  evidenceHash: z.string(),
  evidenceAt: z.number(),
  /** The MQTT check ran after rows were appended: seqs after `foundHeadSeq` were already reused. */
  reused: z.boolean().optional(),
});
export type JournalTruncatedRecord = z.infer<typeof JournalTruncatedRecord>;

/**
 * What the start learnt from the checkpoint retained on the broker before its first row
 * (`controller_started.publishedHead`, written only with MQTT configured):
 * `matched` the journal holds it; `behind` the journal was cut back below it (a `journal_truncated`
 * row precedes the start's rows); `diverged` the journal holds another row at its seq; `none` the
 * broker retains no checkpoint; `invalid` one is retained but does not verify with the device key;
 * `unreachable` not read within `mqtt.headWaitS` (checked later, after the start's rows);
 * `skipped` `mqtt.headWaitS` is 0.
 */
export const PublishedHeadResult = z.enum([
  'matched',
  'behind',
  'diverged',
  'none',
  'invalid',
  'unreachable',
  'skipped',
]);
export type PublishedHeadResult = z.infer<typeof PublishedHeadResult>;

export const PublishedHeadRecord = z.object({
  result: PublishedHeadResult,
  /** Whether the broker's answer was in before the first row (`matched`, `behind`, `diverged`, `none`, `invalid`). */
  checked: z.boolean(),
  /** The retained checkpoint's seq, when one was read and verified. */
  seq: z.int().min(1).optional(),
  /** Why it was not read (`unreachable`) or not usable (`invalid`). */
  problem: z.string().optional(),
});
export type PublishedHeadRecord = z.infer<typeof PublishedHeadRecord>;

/** Where `sekisho restore` learnt the highest seq that had existed. */
export const LostRangeBasis = z.enum(['replaced_journal', 'lost_through', 'checkpoint', 'unknown']);
export type LostRangeBasis = z.infer<typeof LostRangeBasis>;

/**
 * A backup was restored (after a card failure): the rows after the backup's head are lost. Written by
 * `sekisho restore` as the first row after the backup's head. `lostThrough` null: the highest seq
 * that existed is unknown (no replaced journal, no `--lost-through`, no `--checkpoint`: only with
 * `--lost-unknown`), so the seqs were not skipped and the next start must read the broker's head; `lostThrough` = `lostFrom - 1`: nothing was lost.
 */
export const JournalRestoredRecord = z.object({
  lostFrom: z.int().min(1),
  lostThrough: z.int().min(0).nullable(),
  basis: LostRangeBasis,
  backup: z.string(),
  backupCreatedAt: z.number(),
  backupHeadSeq: z.int().min(0),
  backupHeadHash: z.string(),
  /** The published checkpoint given with `--checkpoint`, if any (its signature was checked). */
  checkpoint: z.object({ seq: z.int(), hash: z.string(), at: z.number() }).nullable(),
});
export type JournalRestoredRecord = z.infer<typeof JournalRestoredRecord>;

/** A person other than the one who ran the restore acknowledged it (the `actor` column). */
export const JournalRestoreAcknowledgedRecord = z.object({
  restoredSeq: z.int().min(1),
  note: z.string(),
});
export type JournalRestoreAcknowledgedRecord = z.infer<typeof JournalRestoreAcknowledgedRecord>;

/** An acknowledgement refused: `restored` = they ran the restore; `no_person` = no person's credential. */
export const JournalRestoreAckRefusedRecord = z.object({
  restoredSeq: z.int().min(1),
  reason: z.enum(['restored', 'no_person']),
  by: z.string().nullable(),
});
export type JournalRestoreAckRefusedRecord = z.infer<typeof JournalRestoreAckRefusedRecord>;

export const EvidenceRecordSchemas = {
  journal_truncated: JournalTruncatedRecord,
  journal_restored: JournalRestoredRecord,
  journal_restore_acknowledged: JournalRestoreAcknowledgedRecord,
  journal_restore_ack_refused: JournalRestoreAckRefusedRecord,
} as const;
