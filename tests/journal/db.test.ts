import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uncataloguedType } from '../../controller/domain/index.js';
import {
  Journal,
  MIGRATIONS,
  type Migration,
  openDatabase,
  SCHEMA_VERSION,
  type SqliteDatabase,
  schemaVersion,
  verifyJournal,
} from '../../controller/journal/index.js';
import { Registry } from '../../controller/registry/index.js';
import { fill, sqlite, T0, tempDir } from './helpers.js';

function schemaOf(db: SqliteDatabase): string[] {
  return db
    .prepare<[], { sql: string }>('SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name')
    .all()
    .map((r) => r.sql);
}

describe('openDatabase', () => {
  it('creates the parent folder 0700 and the database file 0600 (and its WAL)', () => {
    const root = tempDir();
    const file = join(root, 'data', 'nested', 'journal.db');
    const db = openDatabase(file);
    try {
      new Journal(db, { controllerId: 'c' }).append({ type: uncataloguedType('x'), at: T0, data: {} });
      expect(statSync(join(root, 'data', 'nested')).mode & 0o777).toBe(0o700);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it.each(Array.from({ length: SCHEMA_VERSION }, (_, v) => v))(
    'migrates from schema version %i to the latest, keeping the data',
    (from) => {
      const dir = tempDir();
      const fresh = openDatabase(join(dir, 'fresh.db'));
      const expected = schemaOf(fresh);
      fresh.close();

      const file = join(dir, 'old.db');
      const old = openDatabase(file, { migrations: MIGRATIONS.slice(0, from) });
      expect(schemaVersion(old)).toBe(from);
      if (from >= 1) fill(new Journal(old, { controllerId: 'c' }), 5);
      old.close();

      const db = openDatabase(file);
      try {
        expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
        expect(schemaOf(db)).toEqual(expected);
        const journal = new Journal(db, { controllerId: 'c' });
        expect(journal.head().seq).toBe(from >= 1 ? 5 : 0);
        // The latest schema works end to end.
        new Registry(db, journal, { hmacKey: Buffer.alloc(32, 7) }).addPerson(
          { displayId: 'S-1', name: 'A', category: 'staff' },
          'admin',
          T0,
        );
        expect(verifyJournal(db)).toMatchObject({ ok: true, rows: from >= 1 ? 6 : 1 });
      } finally {
        db.close();
      }
    },
  );

  it('a failing migration leaves the previous version intact', () => {
    const file = join(tempDir(), 'j.db');
    openDatabase(file).close();
    const broken: Migration = {
      name: 'add a table, then fail',
      up(db) {
        db.exec('CREATE TABLE half_done (a)');
        throw new Error('boom');
      },
    };
    expect(() => openDatabase(file, { migrations: [...MIGRATIONS, broken] })).toThrow(
      `migration to schema version ${SCHEMA_VERSION + 1} (add a table, then fail) failed: boom`,
    );
    const db = openDatabase(file);
    try {
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer version', () => {
    const file = join(tempDir(), 'j.db');
    openDatabase(file).close();
    sqlite(file, `PRAGMA user_version = ${SCHEMA_VERSION + 1};`);
    expect(() => openDatabase(file)).toThrow(/newer than this Sekisho knows/);
    expect(() => openDatabase(file, { readonly: true })).toThrow(/newer than this Sekisho knows/);
  });

  it('opens read-only for verification: reads work, writes are refused', () => {
    const file = join(tempDir(), 'j.db');
    const rw = openDatabase(file);
    fill(new Journal(rw, { controllerId: 'c' }), 3);
    rw.close();
    const db = openDatabase(file, { readonly: true });
    try {
      expect(verifyJournal(db)).toMatchObject({ ok: true, rows: 3 });
      expect(() =>
        new Journal(db, { controllerId: 'c' }).append({ type: uncataloguedType('x'), at: T0, data: {} }),
      ).toThrow(/readonly/i);
    } finally {
      db.close();
    }
    expect(() => openDatabase(join(tempDir(), 'absent.db'), { readonly: true })).toThrow();
  });
});
