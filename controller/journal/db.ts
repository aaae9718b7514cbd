/**
 * Opening the controller's SQLite database and migrating its schemas.
 *
 * A schema is an ordered list of migrations: migration i brings a database from version i to
 * version i + 1, inside one transaction together with the new version, so a crash mid-migration
 * leaves the previous version intact. `runMigrations` applies any such list. The journal's schema
 * (MIGRATIONS here) keeps its version in `PRAGMA user_version`; the accounts' tables
 * (controller/accounts/schema.ts) keep theirs in a table of their own, so the two never compete for
 * a version number.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

export interface Migration {
  /** A short description, shown in errors. */
  readonly name: string;
  /** Runs inside the migration's transaction. */
  readonly up: (db: SqliteDatabase) => void;
}

/** Version 1: the journal, its outbox and its signed checkpoints. */
const journalSchema: Migration = {
  name: 'journal, outbox, checkpoints',
  up(db) {
    db.exec(`
      CREATE TABLE journal (
        seq    INTEGER PRIMARY KEY,
        at     INTEGER NOT NULL,
        type   TEXT NOT NULL,
        door   TEXT,
        person TEXT,
        actor  TEXT,
        bytes  TEXT NOT NULL,
        hash   TEXT NOT NULL
      );
      CREATE INDEX journal_at ON journal(at);
      CREATE INDEX journal_person_at ON journal(person, at);
      CREATE INDEX journal_door_at ON journal(door, at);
      CREATE INDEX journal_type_at ON journal(type, at);

      -- Append-only: rows are never changed or removed, and new rows continue the sequence.
      CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
      BEGIN SELECT RAISE(ABORT, 'journal rows are append-only: UPDATE refused'); END;
      CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
      BEGIN SELECT RAISE(ABORT, 'journal rows are append-only: DELETE refused'); END;
      CREATE TRIGGER journal_seq_contiguous BEFORE INSERT ON journal
      WHEN NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM journal), 0) + 1
      BEGIN SELECT RAISE(ABORT, 'journal rows are append-only: seq must continue the sequence'); END;

      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY REFERENCES journal(seq)
      );

      CREATE TABLE checkpoints (
        seq        INTEGER PRIMARY KEY,
        hash       TEXT NOT NULL,
        at         INTEGER NOT NULL,
        controller TEXT NOT NULL,
        signature  TEXT NOT NULL,
        key_id     TEXT NOT NULL
      );
      CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
      BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE refused'); END;
      CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
      BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE refused'); END;
      CREATE TRIGGER checkpoints_increasing BEFORE INSERT ON checkpoints
      WHEN NEW.seq <= COALESCE((SELECT MAX(seq) FROM checkpoints), 0)
      BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: seq must increase'); END;
    `);
  },
};

/** Version 2: people, badges and door permissions (the registry). */
const registrySchema: Migration = {
  name: 'registry: people, badges, permissions',
  up(db) {
    db.exec(`
      CREATE TABLE people (
        id                TEXT PRIMARY KEY,
        display_id        TEXT NOT NULL,
        name              TEXT NOT NULL,
        category          TEXT NOT NULL CHECK (category IN ('staff', 'contractor', 'visitor')),
        valid_from        INTEGER,
        valid_until       INTEGER,
        active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        lockdown_override INTEGER NOT NULL DEFAULT 0 CHECK (lockdown_override IN (0, 1)),
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL
      );
      CREATE INDEX people_display_id ON people(display_id);

      CREATE TABLE badges (
        id              TEXT PRIMARY KEY,
        person_id       TEXT NOT NULL REFERENCES people(id),
        credential_hash TEXT NOT NULL,
        masked          TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('active', 'lost', 'revoked')),
        valid_from      INTEGER,
        valid_until     INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
      );
      -- One live (non-revoked) badge per credential; revoked cards may be issued again.
      CREATE UNIQUE INDEX badges_credential_live ON badges(credential_hash) WHERE status <> 'revoked';
      CREATE INDEX badges_credential ON badges(credential_hash);
      CREATE INDEX badges_person ON badges(person_id);

      CREATE TABLE permissions (
        person_id   TEXT NOT NULL REFERENCES people(id),
        door_id     TEXT NOT NULL,
        schedule_id TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (person_id, door_id, schedule_id)
      ) WITHOUT ROWID;
      CREATE INDEX permissions_door ON permissions(door_id);
    `);
  },
};

/**
 * Version 3: visitor badges (a temporary badge's visit: host, purpose, declared equipment, doors,
 * lifecycle issued → in_use → returned) and who may escort visitors.
 */
const visitorSchema: Migration = {
  name: 'visitor badges, escort permissions',
  up(db) {
    db.exec(`
      CREATE TABLE escorts (
        person_id  TEXT PRIMARY KEY REFERENCES people(id),
        granted_at INTEGER NOT NULL,
        granted_by TEXT NOT NULL
      ) WITHOUT ROWID;

      -- The badge itself (credential hash, validity window, status) is a row of badges.
      CREATE TABLE visitor_badges (
        badge_id    TEXT PRIMARY KEY REFERENCES badges(id),
        person_id   TEXT NOT NULL REFERENCES people(id),
        host_id     TEXT NOT NULL REFERENCES people(id),
        purpose     TEXT NOT NULL,
        equipment   TEXT NOT NULL,  -- JSON array of strings (declared carry-in, §7(1)②オ)
        doors       TEXT NOT NULL,  -- JSON array of door ids; [] = wherever the escort may go
        status      TEXT NOT NULL CHECK (status IN ('issued', 'in_use', 'returned')),
        issued_at   INTEGER NOT NULL,
        issued_by   TEXT NOT NULL,
        in_use_at   INTEGER,
        returned_at INTEGER,
        returned_by TEXT,
        return_note TEXT,
        CHECK ((status = 'returned') = (returned_at IS NOT NULL))
      );
      CREATE INDEX visitor_badges_unreturned ON visitor_badges(issued_at) WHERE status <> 'returned';
      CREATE INDEX visitor_badges_person ON visitor_badges(person_id);
      CREATE INDEX visitor_badges_host ON visitor_badges(host_id);
    `);
  },
};

/**
 * Version 4: archive bases. `sekisho archive` moves journal rows older than the retention period
 * into a signed archive file, records a signed base (the seq and hash the live chain continues
 * from) and only then deletes the archived rows. The DELETE trigger is replaced by one that refuses
 * every deletion except of rows at or below the latest archive base.
 */
const archiveSchema: Migration = {
  name: 'archive bases; journal deletion only below the latest archive base',
  up(db) {
    db.exec(`
      CREATE TABLE archive_bases (
        seq            INTEGER PRIMARY KEY,
        hash           TEXT NOT NULL,
        at             INTEGER NOT NULL,
        controller     TEXT NOT NULL,
        archive_sha256 TEXT NOT NULL,
        signature      TEXT NOT NULL,
        key_id         TEXT NOT NULL
      );
      CREATE TRIGGER archive_bases_no_update BEFORE UPDATE ON archive_bases
      BEGIN SELECT RAISE(ABORT, 'archive bases are append-only: UPDATE refused'); END;
      CREATE TRIGGER archive_bases_no_delete BEFORE DELETE ON archive_bases
      BEGIN SELECT RAISE(ABORT, 'archive bases are append-only: DELETE refused'); END;
      -- A base names an existing row by its stored hash, above the previous base and below the
      -- head (the head row is never archived, so the live chain always has a row to continue from).
      CREATE TRIGGER archive_bases_valid BEFORE INSERT ON archive_bases
      WHEN NEW.seq <= COALESCE((SELECT MAX(seq) FROM archive_bases), 0)
        OR NOT EXISTS (SELECT 1 FROM journal WHERE seq = NEW.seq AND hash = NEW.hash)
        OR NEW.seq >= (SELECT MAX(seq) FROM journal)
      BEGIN SELECT RAISE(ABORT, 'archive bases are append-only: a base must name a journal row above the last base and below the head, by its hash'); END;

      DROP TRIGGER journal_no_delete;
      CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
      WHEN OLD.seq > COALESCE((SELECT MAX(seq) FROM archive_bases), 0)
      BEGIN SELECT RAISE(ABORT, 'journal rows are append-only: DELETE refused (only rows at or below the latest signed archive base may be removed)'); END;
    `);
  },
};

/**
 * Version 5: signed snapshots of the derived state, a cache that bounds replay at start (see
 * snapshots.ts). Not evidence: rows may be replaced or deleted, so there are no triggers.
 */
const snapshotSchema: Migration = {
  name: 'derived-state snapshots',
  up(db) {
    db.exec(`
      CREATE TABLE snapshots (
        seq       INTEGER PRIMARY KEY,
        hash      TEXT NOT NULL,
        at        INTEGER NOT NULL,
        state     TEXT NOT NULL,
        signature TEXT NOT NULL,
        key_id    TEXT NOT NULL
      );
    `);
  },
};

/**
 * Version 6: indexes for reading the registry a page at a time instead of whole (the dashboard's
 * people list and pickers with 100,000 people): people in (name, id) order — all, by category, by
 * active — for keyset paging, an ID card looked up without regard to case, and a badge found by the
 * last four characters of its number (its masked form).
 */
const registryPagingSchema: Migration = {
  name: 'registry paging and lookup indexes',
  up(db) {
    db.exec(`
      CREATE INDEX people_name ON people(name, id);
      -- active last: counting a category's active people reads the index alone.
      CREATE INDEX people_category_name ON people(category, name, id, active);
      CREATE INDEX people_active_name ON people(active, name, id);
      CREATE INDEX people_display_id_nocase ON people(display_id COLLATE NOCASE);
      CREATE INDEX badges_masked ON badges(masked COLLATE NOCASE);
    `);
  },
};

/**
 * Version 7: declared gaps. A seq is never used twice: when rows are found missing (the controller's
 * `journal_truncated`) or lost with a failed card (`sekisho restore`'s `journal_restored`), the next
 * row skips past every seq known to have existed, and its data names the skipped range. The
 * contiguity trigger allows exactly that jump, from those two types only (docs/journal.md).
 */
const declaredGapSchema: Migration = {
  name: 'declared gaps: journal_truncated and journal_restored may skip the seqs they name',
  up(db) {
    db.exec(`
      DROP TRIGGER IF EXISTS journal_seq_contiguous;
      CREATE TRIGGER journal_seq_contiguous BEFORE INSERT ON journal
      WHEN NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM journal), 0) + 1
        AND NOT (
          NEW.type IN ('journal_truncated', 'journal_restored')
          AND NEW.seq > COALESCE((SELECT MAX(seq) FROM journal), 0) + 1
          AND json_valid(NEW.bytes)
          AND json_extract(NEW.bytes, '$.data.lostFrom') IS COALESCE((SELECT MAX(seq) FROM journal), 0) + 1
          AND json_extract(NEW.bytes, '$.data.lostThrough') IS NEW.seq - 1
        )
      BEGIN SELECT RAISE(ABORT, 'journal rows are append-only: seq must continue the sequence (or a declared gap must name the seqs it skips)'); END;
    `);
  },
};

/**
 * Version 8: a person's reading (フリガナ, katakana) and its romaji search key (domain/romaji.ts),
 * for finding people by kana and romaji. Both NULL for the people added before (no reading yet).
 */
const readingSchema: Migration = {
  name: 'people: reading (フリガナ) and its search key',
  up(db) {
    db.exec(`
      ALTER TABLE people ADD COLUMN reading TEXT;
      ALTER TABLE people ADD COLUMN reading_key TEXT;
    `);
  },
};

/**
 * Version 9: journal format v2 (docs/journal.md, "Format v2: commitments"). A secret in a new row's
 * data is hashed as a commitment; the secret and its nonce are kept here, beside the row, written in
 * the row's transaction. Existing rows (format v1) are not touched: their chain is unchanged. Rows
 * are never changed; they leave only with their journal row, by archiving (at or below the latest
 * archive base).
 */
const commitmentSchema: Migration = {
  name: 'journal format v2: secrets kept beside their rows',
  up(db) {
    db.exec(`
      CREATE TABLE journal_secrets (
        seq   INTEGER NOT NULL,
        path  TEXT NOT NULL,
        nonce TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (seq, path)
      ) WITHOUT ROWID;
      CREATE TRIGGER journal_secrets_no_update BEFORE UPDATE ON journal_secrets
      BEGIN SELECT RAISE(ABORT, 'journal secrets are append-only: UPDATE refused'); END;
      CREATE TRIGGER journal_secrets_no_delete BEFORE DELETE ON journal_secrets
      WHEN OLD.seq > COALESCE((SELECT MAX(seq) FROM archive_bases), 0)
      BEGIN SELECT RAISE(ABORT, 'journal secrets are append-only: DELETE refused (only with rows at or below the latest signed archive base)'); END;
      -- Written with their row: only the newest row may gain a secret.
      CREATE TRIGGER journal_secrets_with_row BEFORE INSERT ON journal_secrets
      WHEN NEW.seq IS NOT (SELECT MAX(seq) FROM journal)
      BEGIN SELECT RAISE(ABORT, 'journal secrets are append-only: a secret is written with its row, the newest'); END;
    `);
  },
};

/** Every schema version in order. Append new migrations; never edit or reorder released ones. */
export const MIGRATIONS: readonly Migration[] = [
  journalSchema,
  registrySchema,
  visitorSchema,
  archiveSchema,
  snapshotSchema,
  registryPagingSchema,
  declaredGapSchema,
  readingSchema,
  commitmentSchema,
];

/** The schema version this code writes and expects. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export interface OpenOptions {
  /** Defaults to MIGRATIONS; tests pass a prefix to build older schema versions. */
  migrations?: readonly Migration[];
  /** Open read-only (e.g. for `sekisho verify`): no migration, the file must exist. */
  readonly?: boolean;
  /** How long a writer waits for another connection's lock, ms. Default 5000. */
  busyTimeoutMs?: number;
}

/**
 * The page size of a new database, bytes. Every commit writes each page it changed to the
 * write-ahead log whole: an event's commit changes five to eight pages (the journal table, its four
 * indexes, the outbox), each by a row of a few hundred bytes. With SQLite's default 4,096 that was
 * 25–30 KiB written per event; with 1,024 it is a quarter of that (docs/benchmarks.md, Checkpoints).
 * An existing database keeps the size it was made with.
 */
export const PAGE_SIZE = 1024;

/** SQLite's page cache per connection, KiB. */
export const CACHE_KIB = 2048;

/** Bytes the write-ahead log's file is cut back to when the log restarts. */
export const WAL_SIZE_LIMIT = 32 * 1024 * 1024;

/**
 * Opens (creating if needed) the database file with WAL, synchronous=FULL, foreign keys on and a
 * busy timeout, and migrates it to the latest schema. The parent folder is created with mode 0700
 * and the database file is made 0600 (SQLite gives its -wal and -shm files the same mode).
 */
export function openDatabase(file: string, options: OpenOptions = {}): SqliteDatabase {
  const migrations = options.migrations ?? MIGRATIONS;
  const path = resolve(file);
  if (!options.readonly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path, {
    readonly: options.readonly ?? false,
    fileMustExist: options.readonly ?? false,
  });
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('foreign_keys = ON');
    // better-sqlite3 builds SQLite with a 16 MB page cache per connection; the controller's resident
    // memory goal is 100 MB. A page not cached is read from the kernel's file cache (microseconds).
    db.pragma(`cache_size = -${CACHE_KIB}`);
    if (options.readonly) {
      const version = schemaVersion(db);
      if (version > migrations.length) throw newerSchemaError(path, version, migrations.length);
      return db;
    }
    chmodSync(path, 0o600);
    // A new database gets small pages (the page size is fixed once the first table is written).
    if (Number(db.pragma('page_count', { simple: true })) === 0) db.pragma(`page_size = ${PAGE_SIZE}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal')
      throw new Error(`${path}: could not switch to WAL (got ${mode})`);
    db.pragma('synchronous = FULL');
    // When the log restarts after a burst (a migration, an archive, the first log index), its file is
    // cut back to this size instead of keeping its peak on disk (wal-checkpointer.ts).
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
    migrate(db, migrations, path);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export function schemaVersion(db: SqliteDatabase): number {
  return Number(db.pragma('user_version', { simple: true }));
}

/** Where a schema keeps its version. */
export interface VersionSlot {
  /** Makes the slot exist; runs outside any transaction, so it must be idempotent. */
  init?(db: SqliteDatabase): void;
  read(db: SqliteDatabase): number;
  write(db: SqliteDatabase, version: number): void;
}

/** The journal's schema version: `PRAGMA user_version`. */
export const USER_VERSION: VersionSlot = {
  read: schemaVersion,
  write: (db, version) => db.pragma(`user_version = ${version}`),
};

/** A version kept as the one row of `table`. */
export function versionTable(table: string): VersionSlot {
  return {
    init: (db) => db.exec(`CREATE TABLE IF NOT EXISTS ${table} (version INTEGER NOT NULL)`),
    read: (db) =>
      (db.prepare(`SELECT version FROM ${table}`).get() as { version: number } | undefined)?.version ?? 0,
    write(db, version) {
      db.prepare(`DELETE FROM ${table}`).run();
      db.prepare(`INSERT INTO ${table} (version) VALUES (?)`).run(version);
    },
  };
}

/**
 * Applies the migrations after the version in `slot`, each in its own immediate transaction with
 * its new version. Returns the versions applied. Refuses a database written by newer code.
 */
export function runMigrations(
  db: SqliteDatabase,
  migrations: readonly Migration[],
  slot: VersionSlot,
  label: string,
): number[] {
  slot.init?.(db);
  const from = slot.read(db);
  if (from > migrations.length) throw newerSchemaError(label, from, migrations.length);
  const applied: number[] = [];
  for (let version = from; version < migrations.length; version++) {
    const migration = migrations[version]!;
    const step = db.transaction(() => {
      // Re-read inside the lock: another process may have migrated meanwhile.
      if (slot.read(db) !== version) return false;
      migration.up(db);
      slot.write(db, version + 1);
      return true;
    });
    try {
      if (step.immediate()) applied.push(version + 1);
    } catch (err) {
      throw new Error(
        `${label}: migration to schema version ${version + 1} (${migration.name}) failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return applied;
}

/** Migrates the journal's schema (user_version). */
export function migrate(
  db: SqliteDatabase,
  migrations: readonly Migration[] = MIGRATIONS,
  label = 'database',
): number[] {
  return runMigrations(db, migrations, USER_VERSION, label);
}

/**
 * A database written by newer code: typically the previous version after an upgrade migrated the
 * journal (docs/operations.md, "Upgrades"). Names both versions and the way back.
 */
function newerSchemaError(label: string, found: number, known: number): Error {
  return new Error(
    `${label}: schema version ${found} is newer than this Sekisho knows (${known}): a newer version ` +
      `migrated it, and this one cannot read it (it never changes it). Either run the newer version ` +
      `again, or go back with "sudo sekisho upgrade --rollback" run by the newer version, which puts ` +
      `back the backup of schema ${known} or older taken before the upgrade and keeps the rows written ` +
      `since beside it; or restore that backup (sekisho restore --from ` +
      `<storage>/upgrades/before-*.sekisho-backup). docs/operations.md, "Upgrades"`,
  );
}
