/** Opens the controller's storage folder: device secrets, the database, the journal and the registry. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { LoadedConfig } from './config/index.js';
import { defaultVisitorBadgeUntil, visitSettings } from './domain/index.js';
import {
  type DeviceSecrets,
  Journal,
  loadDeviceSecrets,
  loadOrCreateDeviceSecrets,
  openDatabase,
} from './journal/index.js';
import { Registry } from './registry/index.js';

export interface Storage extends StorageFiles {
  journal: Journal;
  registry: Registry;
}

export function journalFile(storageDir: string): string {
  return join(storageDir, 'journal.db');
}

/** The storage's database and device secrets, without the journal and registry built on them. */
export interface StorageFiles {
  db: Database.Database;
  secrets: DeviceSecrets;
  dbFile: string;
}

/**
 * Opens the device secrets and the database. By default they are created at first use (secrets
 * made, schema migrated); `readonly` opens what exists and changes nothing. For a command that only
 * copies or checks the database (backup), which need not build a journal or registry on it.
 */
export function openStorageFiles(loaded: LoadedConfig, opts: { readonly?: boolean } = {}): StorageFiles {
  const dbFile = journalFile(loaded.storageDir);
  if (opts.readonly) {
    const secrets = loadDeviceSecrets(loaded.storageDir);
    return { db: openDatabase(dbFile, { readonly: true }), secrets, dbFile };
  }
  mkdirSync(loaded.storageDir, { recursive: true, mode: 0o700 });
  const secrets = loadOrCreateDeviceSecrets(loaded.storageDir);
  return { db: openDatabase(dbFile), secrets, dbFile };
}

/**
 * Opens the storage. By default it is created at first use (secrets made, schema migrated);
 * `readonly` opens what exists and changes nothing — for verify, log and doctor.
 */
export function openStorage(loaded: LoadedConfig, opts: { readonly?: boolean } = {}): Storage {
  const { db, secrets, dbFile } = openStorageFiles(loaded, opts);
  // Rows get an outbox row (for the MQTT publisher) only when a broker is configured.
  const journal = new Journal(db, {
    controllerId: loaded.config.controller.id,
    outboxByDefault: loaded.config.mqtt !== undefined,
  });
  const settings = visitSettings(loaded.config);
  const registry = new Registry(db, journal, {
    hmacKey: secrets.hmacKey,
    timeZone: loaded.config.timeZone,
    visitorBadgeUntil: (from) => defaultVisitorBadgeUntil(from, settings),
  });
  return { db, journal, registry, secrets, dbFile };
}
