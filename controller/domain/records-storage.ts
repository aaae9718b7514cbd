/**
 * The record types of the storage's upkeep: the backup generations `sekisho backup` removes
 * (controller/backup/rotate.ts). The `storage_low` alarm is an `alarm_raised` row like any other.
 */
import { z } from 'zod';

/** One removed backup: enough to match it with a copy kept elsewhere. */
export const RemovedBackup = z.object({
  file: z.string(),
  createdAt: z.number(),
  headSeq: z.number(),
  bytes: z.number(),
  sha256: z.string(),
});
export type RemovedBackup = z.infer<typeof RemovedBackup>;

/** After a verified new backup, the oldest of this device's backups in its folder were removed. */
export const BackupsRemovedRecord = z.object({
  folder: z.string(),
  /** The generations kept (the new backup among them). */
  keep: z.number(),
  /** The new backup they were counted from. */
  newest: z.string(),
  removed: z.array(RemovedBackup),
  /** Files that were to be removed but could not be (they are still there). */
  failed: z.array(z.object({ file: z.string(), error: z.string() })),
});
export type BackupsRemovedRecord = z.infer<typeof BackupsRemovedRecord>;

export const StorageRecordSchemas = {
  backups_removed: BackupsRemovedRecord,
} as const;
