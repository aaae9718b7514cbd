/**
 * Offline upgrades (docs/operations.md, "Upgrades"): the signed release artefact (artefact.ts), the
 * release folders and their links (layout.ts), the service's stop and start (service.ts), the
 * upgrade (install.ts) and the rollback (rollback.ts), and the journal as they see it (storage.ts).
 */
export {
  EXIT_CODES,
  type Platform,
  packRelease,
  RELEASE_MAGIC,
  RELEASE_SUFFIX,
  type ReleaseHeader,
  ReleaseManifest,
  thisPlatform,
  UpgradeError,
  type UpgradeFailure,
  unpackRelease,
  verifyRelease,
} from './artefact.js';
export { type UpgradeOptions, type UpgradeResult, upgrade } from './install.js';
export { compareVersions, type Layout, layout, RELEASE_INFO, readInstalled } from './layout.js';
export {
  DECLARED_GAP_SCHEMA,
  EXPORT_FILE,
  type RollbackOptions,
  type RollbackResult,
  rollback,
} from './rollback.js';
export { type CommandRunner, noRestart, runCommand, type ServiceControl, systemdService } from './service.js';
export { readState, STATE_FILE, UPGRADES_DIR, type UpgradeState } from './storage.js';
