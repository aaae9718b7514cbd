/**
 * The journal: Sekisho's source of truth. SQLite (WAL, synchronous=FULL), an append-only
 * hash-chained journal with its outbox and signed checkpoints, the verifier, the device secrets
 * and the registry of people, badges and door permissions. See docs/journal.md.
 */

export {
  ARCHIVE_MAGIC,
  type ArchiveChainCheck,
  type ArchiveCheck,
  ArchiveError,
  ArchiveManifest,
  type ArchiveOptions,
  type ArchiveResult,
  archiveJournal,
  retentionCutoff,
  verifyArchiveChain,
  verifyArchiveFile,
} from './archive.js';
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
  RECORD_VERSION,
  readArchiveBases,
  recordBytes,
  type StoredColumns,
  type UncataloguedInput,
  verifyArchiveBase,
  verifyCheckpoint,
} from './journal.js';
export {
  type BadgeFilter,
  type NewBadge,
  type NewPerson,
  type NewVisitorBadge,
  type PersonPatch,
  REGISTRY_RECORD_TYPES,
  Registry,
  RegistryError,
  type RegistryErrorCode,
  type RegistryOptions,
  type RegistryRecordType,
  type VisitorBadge,
  type VisitorBadgeFilter,
} from './registry.js';
export {
  credentialHash,
  type DeviceSecrets,
  HMAC_KEY_FILE,
  loadDeviceSecrets,
  loadOrCreateDeviceSecrets,
  maskCredential,
  PUBLIC_KEY_FILE,
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
export { type VerifyOptions, type VerifyProblemKind, type VerifyResult, verifyJournal } from './verify.js';
