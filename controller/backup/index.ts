/**
 * `sekisho backup` and `sekisho restore`: an online, consistent copy of the journal database and
 * the device secrets in one file, verified after writing; and a restore that verifies the backup's
 * chain and signatures before it replaces anything, and keeps what it replaced.
 *
 * bundle.ts is the backup file's format (and reading and checking one), create.ts makes one,
 * restore.ts puts one back.
 *
 * Security: the bundle holds the HMAC key (with it and the database, badge numbers can be found by
 * trying every number) and the signing key (with it, checkpoints can be forged). It is as secret as
 * the controller itself (policy §5(1) class 1). Its SHA-256 digests detect damage, not a deliberate
 * change by someone who holds the bundle; the journal's chain and signed checkpoints detect changes
 * to rows, and only a public key kept off the device (`restore --public-key`) or checkpoints
 * published off the device prove that the bundle's own key was not used to re-sign a rewritten chain.
 */
export {
  BACKUP_FILES,
  BACKUP_MAGIC,
  type BackupCheck,
  BackupError,
  BackupManifest,
  type BundleLayout,
  type CheckOptions,
  checkBackup,
  describeManifest,
  readBundle,
  unpackAndCheck,
} from './bundle.js';
export { type BackupOptions, type BackupResult, createBackup } from './create.js';
export { type RestoreOptions, type RestoreResult, restoreBackup } from './restore.js';
export {
  BACKUP_SUFFIX,
  type BackupGeneration,
  planRotation,
  type RemovedBackup,
  type RotationPlan,
  type RotationResult,
  removeGenerations,
  sameFileSystem,
} from './rotate.js';
