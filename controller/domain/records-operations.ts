/**
 * The record types of the controller's operation: the MQTT link (`controller/mqtt/publisher.ts`),
 * backups (`controller/backup/`, `sekisho backup`), archiving (`controller/journal/archive.ts`) and
 * what the dashboard journals about itself (verification runs, exports).
 */
import { z } from 'zod';

/** The MQTT link came up or went down. */
export const MqttLinkRecord = z.object({
  /** host:port. */
  broker: z.string(),
  tls: z.boolean(),
  /** Rows waiting in the outbox. */
  backlog: z.number(),
  /** mqtt_disconnected: why. */
  reason: z.string().optional(),
  /** Changes of the link not recorded since the last row (they came too fast). */
  unrecordedChanges: z.number().optional(),
});
export type MqttLinkRecord = z.infer<typeof MqttLinkRecord>;

export const MqttBacklogFullRecord = z.object({ backlog: z.number(), maxBacklog: z.number() });
export type MqttBacklogFullRecord = z.infer<typeof MqttBacklogFullRecord>;

export const MqttBacklogResumedRecord = z.object({
  backlog: z.number(),
  skipped: z.number(),
  firstSkippedSeq: z.number().nullable(),
  lastSkippedSeq: z.number().nullable(),
});
export type MqttBacklogResumedRecord = z.infer<typeof MqttBacklogResumedRecord>;

export const BackupCreatedRecord = z.object({
  file: z.string(),
  bytes: z.number(),
  sha256: z.string(),
  headSeq: z.number(),
  headHash: z.string(),
  verified: z.boolean(),
  /** The backup was written to the storage's own file system: it dies with the card. */
  sameFileSystem: z.boolean().optional(),
});
export type BackupCreatedRecord = z.infer<typeof BackupCreatedRecord>;

export const BackupRestoredRecord = z.object({
  /** The backup's file name. */
  backup: z.string(),
  backupCreatedAt: z.number(),
  backupHeadSeq: z.number(),
  backupHeadHash: z.string(),
  /** Where the replaced files were moved, or null. */
  setAside: z.string().nullable(),
  replacedHeadSeq: z.number().nullable(),
  /** The objections overridden with --force. */
  forced: z.array(z.string()),
});
export type BackupRestoredRecord = z.infer<typeof BackupRestoredRecord>;

export const JournalArchivedRecord = z.object({
  file: z.string(),
  sha256: z.string(),
  fromSeq: z.number(),
  toSeq: z.number(),
  rows: z.number(),
  firstAt: z.number(),
  lastAt: z.number(),
  before: z.number(),
  retentionYears: z.number(),
});
export type JournalArchivedRecord = z.infer<typeof JournalArchivedRecord>;

/** A verification of the whole chain run from the dashboard, with its outcome. */
export const JournalVerifiedRecord = z.object({
  ok: z.boolean(),
  rows: z.number(),
  headSeq: z.number(),
  checkpoints: z.number(),
  firstBadSeq: z.number().optional(),
  kind: z.string().optional(),
  problem: z.string().optional(),
  /** Findings that are no proof of tampering (sekisho verify's warnings); absent when none. */
  warnings: z.array(z.string()).optional(),
  /** false when a protective trigger was missing or altered; absent when they were in place. */
  protectionsIntact: z.boolean().optional(),
  ms: z.number(),
});
export type JournalVerifiedRecord = z.infer<typeof JournalVerifiedRecord>;

export const EvidenceExportedRecord = z.object({ fromSeq: z.number(), toSeq: z.number() });
export type EvidenceExportedRecord = z.infer<typeof EvidenceExportedRecord>;

/** The log was exported, with the filter as given. */
export const LogExportedRecord = z.object({
  format: z.literal('csv'),
  filter: z.record(z.string(), z.unknown()),
});
export type LogExportedRecord = z.infer<typeof LogExportedRecord>;

export const OperationRecordSchemas = {
  mqtt_connected: MqttLinkRecord,
  mqtt_disconnected: MqttLinkRecord,
  mqtt_backlog_full: MqttBacklogFullRecord,
  mqtt_backlog_resumed: MqttBacklogResumedRecord,
  backup_created: BackupCreatedRecord,
  backup_restored: BackupRestoredRecord,
  journal_archived: JournalArchivedRecord,
  journal_verified: JournalVerifiedRecord,
  evidence_exported: EvidenceExportedRecord,
  log_exported: LogExportedRecord,
} as const;
