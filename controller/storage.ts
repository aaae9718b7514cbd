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
  Registry,
} from './journal/index.js';

export interface Storage {
  db: Database.Database;
  journal: Journal;
  registry: Registry;
  secrets: DeviceSecrets;
  dbFile: string;
}

export function journalFile(storageDir: string): string {
  return join(storageDir, 'journal.db');
}

/**
 * Opens the storage. By default it is created at first use (secrets made, schema migrated);
 * `readonly` opens what exists and changes nothing — for verify, log and doctor.
 */
export function openStorage(loaded: LoadedConfig, opts: { readonly?: boolean } = {}): Storage {
  const dbFile = journalFile(loaded.storageDir);
  let secrets: DeviceSecrets;
  let db: Database.Database;
  if (opts.readonly) {
    secrets = loadDeviceSecrets(loaded.storageDir);
    db = openDatabase(dbFile, { readonly: true });
  } else {
    mkdirSync(loaded.storageDir, { recursive: true, mode: 0o700 });
    secrets = loadOrCreateDeviceSecrets(loaded.storageDir);
    db = openDatabase(dbFile);
  }
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
