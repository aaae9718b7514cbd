/**
 * The record types of software upgrades (`sekisho upgrade`, controller/upgrade/): a signed release
 * installed, an upgrade that failed after it began, and a rollback to the previous version. Written
 * by the command while the service is stopped, so the journal names who changed the software, from
 * which version to which, and with which artefact (docs/operations.md, "Upgrades").
 */
import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** A version of Sekisho as installed: its package version and the journal schema it knows. */
export const SoftwareVersion = z.object({
  version: z.string(),
  /** The journal schema version the code writes (PRAGMA user_version); null when not known. */
  schemaVersion: z.int().min(0).nullable(),
});
export type SoftwareVersion = z.infer<typeof SoftwareVersion>;

/**
 * A signed release artefact was verified and installed; the service restarts on it next. Written
 * before the switch, in the schema the previous version knows (the new one migrates at its start).
 */
export const SoftwareUpgradedRecord = z.object({
  from: SoftwareVersion,
  to: SoftwareVersion,
  /** The artefact's file name and the SHA-256 of the whole file. */
  artefact: z.string(),
  artefactSha256: sha256,
  /** The release key that signed it (its key id: SHA-256 of the public key, 16 hex digits). */
  releaseKeyId: z.string(),
  arch: z.string(),
  nodeAbi: z.string(),
  /** The folder it was installed in (what /opt/sekisho now points to). */
  installedIn: z.string(),
  /** The backup taken before the schema migration (file name and SHA-256); null when none migrates. */
  backup: z.string().nullable(),
  backupSha256: sha256.nullable(),
});
export type SoftwareUpgradedRecord = z.infer<typeof SoftwareUpgradedRecord>;

/** The upgrade stopped after it had begun; the previous version was put back. */
export const SoftwareUpgradeFailedRecord = z.object({
  from: SoftwareVersion,
  to: SoftwareVersion,
  artefactSha256: sha256,
  /** The step that failed: switch, start. */
  step: z.string(),
  reason: z.string(),
});
export type SoftwareUpgradeFailedRecord = z.infer<typeof SoftwareUpgradeFailedRecord>;

/**
 * `sekisho upgrade --rollback`: /opt/sekisho points to the previous version again. When the upgrade
 * had migrated the schema, the journal is the pre-upgrade backup's, and the rows written since are
 * kept beside it (`setAside`: the whole replaced journal, and `exported`: those rows as JSON Lines
 * with its SHA-256); `rowsSetAside` names their seqs (null when none were replaced).
 */
export const SoftwareRolledBackRecord = z.object({
  from: SoftwareVersion,
  to: SoftwareVersion,
  journalRestored: z.boolean(),
  backup: z.string().nullable(),
  rowsSetAside: z.object({ from: z.int().min(1), through: z.int().min(0) }).nullable(),
  setAside: z.string().nullable(),
  exported: z.string().nullable(),
  exportedSha256: sha256.nullable(),
  /**
   * Whether the seqs of the rows set aside are skipped (a declared gap, `journal_restored`: schema 7
   * and later) or continue again from the backup's head (an older schema has no declared gaps: the
   * same seqs then name other rows in the set-aside journal).
   */
  seqsReused: z.boolean(),
});
export type SoftwareRolledBackRecord = z.infer<typeof SoftwareRolledBackRecord>;

export const UpgradeRecordSchemas = {
  software_upgraded: SoftwareUpgradedRecord,
  software_upgrade_failed: SoftwareUpgradeFailedRecord,
  software_rolled_back: SoftwareRolledBackRecord,
} as const;
