/**
 * The record types of the witness check on the Integrity page (a reviewer compared the journal
 * with a witness history: controller/witness/compare.ts, dashboards/routes/witness.ts).
 */
import { z } from 'zod';

/** Someone compared the journal with an uploaded witness history; what the check found. */
export const WitnessCheckedRecord = z.object({
  ok: z.boolean(),
  /** The history failed its own check or was kept with another key: no verdict on the journal. */
  refused: z.boolean(),
  /** The history's line count and the SHA-256 of its last line (which identify the file checked). */
  historyLines: z.number(),
  lastLineSha256: z.string().nullable(),
  /** Witnessed events compared with journal rows, and signed checkpoints used. */
  compared: z.number(),
  checkpoints: z.number(),
  firstBadSeq: z.number().optional(),
  kind: z.string().optional(),
  problem: z.string().optional(),
  /** What was uploaded: a witness history (absent in older rows) or a bare checkpoints file. */
  format: z.enum(['witness', 'checkpoints']).optional(),
});
export type WitnessCheckedRecord = z.infer<typeof WitnessCheckedRecord>;

export const WitnessRecordSchemas = {
  witness_checked: WitnessCheckedRecord,
} as const;
