/** Opens the controller's storage folder: device secrets, the database, the journal and the registry. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { LoadedConfig } from './config/index.js';
import { defaultVisitorBadgeUntil, visitSettings } from './domain/index.js';
import {
  type DeviceSecrets,
  Journal,
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

export function openStorage(loaded: LoadedConfig): Storage {
  mkdirSync(loaded.storageDir, { recursive: true, mode: 0o700 });
  const secrets = loadOrCreateDeviceSecrets(loaded.storageDir);
  const dbFile = journalFile(loaded.storageDir);
  const db = openDatabase(dbFile);
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
