/**
 * The accounts' tables are versioned in `dashboard_schema` by the journal's migration runner
 * (runMigrations with a version table): a database migrated by the former dashboard-only runner
 * opens unchanged, a newer one is refused, and a failing migration leaves the previous version.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_MIGRATIONS, migrateAccounts } from '../../controller/accounts/schema.js';
import {
  type Migration,
  openDatabase,
  runMigrations,
  SCHEMA_VERSION,
  type SqliteDatabase,
  schemaVersion,
  versionTable,
} from '../../controller/journal/index.js';
import { tempDir } from '../journal/helpers.js';

function schemaOf(db: SqliteDatabase): string[] {
  return db
    .prepare<[], { sql: string }>('SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name')
    .all()
    .map((r) => r.sql);
}

const version = (db: SqliteDatabase) =>
  db.prepare<[], { version: number }>('SELECT version FROM dashboard_schema').all();

describe('the accounts schema', () => {
  it('creates the accounts, sessions, requests, log index and API token tables at the latest version', () => {
    const db = openDatabase(join(tempDir(), 'c.db'));
    try {
      migrateAccounts(db);
      migrateAccounts(db); // a second start changes nothing
      expect(version(db)).toEqual([{ version: ACCOUNT_MIGRATIONS.length }]);
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION); // the journal's version is its own
      const tables = db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map((r) => r.name);
      expect(tables).toEqual(
        expect.arrayContaining([
          'dashboard_schema',
          'dashboard_users',
          'dashboard_activations',
          'dashboard_sessions',
          'dashboard_requests',
          'dashboard_access_index',
          'dashboard_alarm_index',
          'dashboard_index_state',
          'api_tokens',
        ]),
      );
    } finally {
      db.close();
    }
  });

  it('opens a database the former dashboard runner migrated, keeping its data and schema', () => {
    const dir = tempDir();
    const fresh = openDatabase(join(dir, 'fresh.db'));
    migrateAccounts(fresh);
    const expected = schemaOf(fresh);
    fresh.close();

    // What the former runner (dashboards/schema.ts) left: its version table, then step 1 and its
    // version in one transaction.
    const file = join(dir, 'old.db');
    const old = openDatabase(file);
    old.exec('CREATE TABLE IF NOT EXISTS dashboard_schema (version INTEGER NOT NULL)');
    old
      .transaction(() => {
        ACCOUNT_MIGRATIONS[0]!.up(old);
        old.prepare('DELETE FROM dashboard_schema').run();
        old.prepare('INSERT INTO dashboard_schema (version) VALUES (?)').run(1);
      })
      .immediate();
    old
      .prepare(
        `INSERT INTO dashboard_users (id, username, display_name, role, password_hash, created_at, updated_at,
           password_changed_at) VALUES ('u1', 'admin1', 'Admin', 'admin', 'x', 1, 1, 1)`,
      )
      .run();
    old.close();

    const db = openDatabase(file);
    try {
      migrateAccounts(db); // the later migrations run on top of it
      expect(version(db)).toEqual([{ version: ACCOUNT_MIGRATIONS.length }]);
      expect(schemaOf(db)).toEqual(expected);
      expect(db.prepare('SELECT username FROM dashboard_users').all()).toEqual([{ username: 'admin1' }]);
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer Sekisho', () => {
    const db = openDatabase(join(tempDir(), 'c.db'));
    try {
      migrateAccounts(db);
      db.prepare('UPDATE dashboard_schema SET version = ?').run(ACCOUNT_MIGRATIONS.length + 1);
      expect(() => migrateAccounts(db)).toThrow(
        new RegExp(`\\(dashboard_schema\\): schema version ${ACCOUNT_MIGRATIONS.length + 1} is newer`),
      );
    } finally {
      db.close();
    }
  });

  it('a failing migration leaves the previous version and tables intact', () => {
    const db = openDatabase(join(tempDir(), 'c.db'));
    try {
      const slot = versionTable('dashboard_schema');
      const broken: Migration = {
        name: 'add a table, then fail',
        up(d) {
          d.exec('CREATE TABLE half_done (x INTEGER)');
          throw new Error('boom');
        },
      };
      const n = ACCOUNT_MIGRATIONS.length;
      expect(runMigrations(db, ACCOUNT_MIGRATIONS, slot, 'accounts')).toEqual(
        ACCOUNT_MIGRATIONS.map((_, i) => i + 1),
      );
      expect(() => runMigrations(db, [...ACCOUNT_MIGRATIONS, broken], slot, 'accounts')).toThrow(
        `accounts: migration to schema version ${n + 1} (add a table, then fail) failed: boom`,
      );
      expect(version(db)).toEqual([{ version: n }]);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").all()).toEqual([]);
    } finally {
      db.close();
    }
  });
});
