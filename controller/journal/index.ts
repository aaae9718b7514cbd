/**
 * The journal: Sekisho's source of truth. SQLite (WAL, synchronous=FULL), an append-only
 * hash-chained journal with its outbox and signed checkpoints, the verifier and the device
 * secrets. See docs/journal.md.
 */

export {
  type ArchiveOptions,
  type ArchiveResult,
  archiveJournal,
  retentionCutoff,
} from './archive.js';
export { type ArchiveChainCheck, verifyArchiveChain } from './archive-chain.js';
export {
  ARCHIVE_MAGIC,
  type ArchiveCheck,
  ArchiveError,
  ArchiveManifest,
  verifyArchiveFile,
} from './archive-file.js';
export {
  checkSideSecrets,
  commitmentOf,
  committedPaths,
  holdsSecret,
  isCommitment,
  isSecretKey,
  SECRET_KEY,
  type SideSecret,
} from './commitments.js';
export {
  MIGRATIONS,
  type Migration,
  migrate,
  type OpenOptions,
  openDatabase,
  runMigrations,
  SCHEMA_VERSION,
  type SqliteDatabase,
  schemaVersion,
  USER_VERSION,
  type VersionSlot,
  versionTable,
} from './db.js';
export {
  type AppendOptions,
  type ArchiveBase,
  archiveBaseBytes,
  type Checkpoint,
  canonicalJson,
  chainHash,
  checkpointBytes,
  GENESIS_HASH,
  type InputColumns,
  Journal,
  JournalDataError,
  type JournalFilter,
  type JournalHead,
  type JournalInput,
  type JournalRow,
  journalFilterWhere,
  mayHoldCommitments,
  RECORD_VERSION,
  RECORD_VERSIONS,
  readArchiveBases,
  recordBytes,
  type StoredColumns,
  type UncataloguedInput,
  verifyArchiveBase,
  verifyCheckpoint,
} from './journal.js';
export { QUERY_LIMIT, QueryLimit } from './query-limit.js';
export {
  credentialHash,
  type DeviceSecrets,
  HMAC_KEY_FILE,
  loadDeviceSecrets,
  loadOrCreateDeviceSecrets,
  maskCredential,
  PUBLIC_KEY_FILE,
  publicKeyFingerprint,
  publicKeyId,
  SIGNING_KEY_FILE,
} from './secrets.js';
export {
  checkSnapshot,
  loadLatestSnapshot,
  SNAPSHOTS_KEPT,
  type SnapshotInput,
  type SnapshotLookup,
  type SnapshotRejection,
  type StoredSnapshot,
  saveSnapshot,
  snapshotBytes,
  snapshotStateSha256,
} from './snapshots.js';
export {
  checkPublishedHead,
  findTruncation,
  headCheckRequired,
  type PublishedHeadCheck,
  publishedCheckpoint,
  type ReachedEvidence,
  type Truncation,
} from './truncation.js';
export {
  checkProtections,
  type DeclaredGap,
  type ProtectionCheck,
  type TriggerProblem,
  type VerifyOptions,
  type VerifyProblemKind,
  type VerifyResult,
  verifyJournal,
} from './verify.js';
