/**
 * The tables beside the journal's in the controller's database: accounts, sessions and API tokens
 * (controller/accounts), requests (controller/approvals) and the dashboard's log index
 * (dashboards/logindex.ts), released together as version 1. They are versioned apart from the
 * journal's schema (controller/journal/db.ts), in the table `dashboard_schema`, by the same runner.
 *
 * None of these tables is a record: every change they hold is also a journal row (accounts,
 * requests, tokens) or is rebuilt from the journal (the log index). Sessions are throw-away.
 */
import { type Migration, runMigrations, type SqliteDatabase, versionTable } from '../journal/index.js';

/** Append new migrations; never edit or reorder released ones. */
export const ACCOUNT_MIGRATIONS: readonly Migration[] = [
  {
    name: 'accounts, sessions, requests, log index',
    up: (db) =>
      db.exec(`
      CREATE TABLE dashboard_users (
        id                   TEXT PRIMARY KEY,
        username             TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name         TEXT NOT NULL,
        role                 TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'operator', 'auditor')),
        password_hash        TEXT NOT NULL,
        must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
        active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        valid_until          INTEGER,
        failed_logins        INTEGER NOT NULL DEFAULT 0,
        locked_until         INTEGER,
        created_at           INTEGER NOT NULL,
        updated_at           INTEGER NOT NULL,
        password_changed_at  INTEGER NOT NULL
      );

      -- The session cookie holds a random token; only its SHA-256 is stored here.
      CREATE TABLE dashboard_sessions (
        token_hash  TEXT PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES dashboard_users(id),
        csrf_token  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        last_seen   INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX dashboard_sessions_user ON dashboard_sessions(user_id);

      CREATE TABLE dashboard_requests (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        kind           TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
        requested_by   TEXT NOT NULL,
        requested_at   INTEGER NOT NULL,
        subject_user   TEXT,
        payload        TEXT NOT NULL,
        reason         TEXT NOT NULL,
        decided_by     TEXT,
        decided_at     INTEGER,
        decision_note  TEXT,
        result         TEXT
      );
      CREATE INDEX dashboard_requests_status ON dashboard_requests(status, id);
      CREATE INDEX dashboard_requests_kind ON dashboard_requests(kind, status, id);

      -- The entry/exit log (access rows) and the alarms, indexed for every filter of the log and
      -- the reports. A cache of the journal: rebuilt from it, never the record itself.
      CREATE TABLE dashboard_access_index (
        seq        INTEGER PRIMARY KEY,
        at         INTEGER NOT NULL,
        door       TEXT,
        person     TEXT,
        badge      TEXT,
        direction  TEXT NOT NULL,
        result     TEXT NOT NULL,
        reason     TEXT NOT NULL,
        visitor    INTEGER NOT NULL,
        escort     TEXT
      );
      CREATE INDEX dai_at ON dashboard_access_index(at, seq);
      CREATE INDEX dai_person ON dashboard_access_index(person, at, seq);
      CREATE INDEX dai_badge ON dashboard_access_index(badge, at, seq);
      CREATE INDEX dai_door ON dashboard_access_index(door, at, seq);
      CREATE INDEX dai_result ON dashboard_access_index(result, at, seq);
      CREATE INDEX dai_reason ON dashboard_access_index(reason, at);
      CREATE INDEX dai_visitor ON dashboard_access_index(at, seq) WHERE visitor = 1;

      CREATE TABLE dashboard_alarm_index (
        id           INTEGER PRIMARY KEY,
        at           INTEGER NOT NULL,
        type         TEXT NOT NULL,
        severity     TEXT NOT NULL,
        door         TEXT,
        detail       TEXT NOT NULL,
        acked_by     TEXT,
        acked_at     INTEGER,
        ack_comment  TEXT,
        cleared_at   INTEGER
      );
      CREATE INDEX dali_at ON dashboard_alarm_index(at, id);
      CREATE INDEX dali_type ON dashboard_alarm_index(type, at);

      CREATE TABLE dashboard_index_state (
        name      TEXT PRIMARY KEY,
        last_seq  INTEGER NOT NULL
      ) WITHOUT ROWID;
    `),
  },
  {
    name: 'API tokens',
    up: (db) =>
      db.exec(`
      -- Named, scoped API tokens (controller/accounts/tokens.ts). Only the SHA-256 of the token is
      -- stored; a revoked token's row is deleted (its history is in the journal).
      CREATE TABLE api_tokens (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL UNIQUE,
        scopes          TEXT NOT NULL,
        secret_hash     TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        created_by      TEXT NOT NULL,
        rotated_at      INTEGER,
        expires_at      INTEGER,
        last_used_at    INTEGER,
        last_used_from  TEXT
      ) WITHOUT ROWID;
    `),
  },
  {
    // Dual control of account secrets (controller/accounts/users.ts, "Activation"): only the
    // hashes of the two halves, never a half.
    name: 'account activations',
    up: (db) =>
      db.exec(`
      CREATE TABLE dashboard_activations (
        user_id         TEXT PRIMARY KEY REFERENCES dashboard_users(id),
        purpose         TEXT NOT NULL CHECK (purpose IN ('account_create', 'password_reset')),
        request_id      INTEGER NOT NULL UNIQUE,
        applicant_hash  TEXT,
        approver_hash   TEXT NOT NULL,
        issued_at       INTEGER NOT NULL,
        expires_at      INTEGER NOT NULL
      ) WITHOUT ROWID;
    `),
  },
  {
    // The wall screen's role (controller/accounts/roles.ts, "monitor"). SQLite cannot change a
    // CHECK constraint in place: the accounts table is rebuilt. Its children (sessions,
    // activations) are set aside and put back, so that dropping the old table breaks no foreign key
    // (foreign_keys is on, and cannot be turned off inside the migration's transaction).
    name: 'monitor role: screen address, masked names, sessions without idle timeout',
    up: (db) =>
      db.exec(`
      CREATE TEMP TABLE keep_sessions AS SELECT * FROM dashboard_sessions;
      CREATE TEMP TABLE keep_activations AS SELECT * FROM dashboard_activations;
      DELETE FROM dashboard_sessions;
      DELETE FROM dashboard_activations;
      CREATE TABLE dashboard_users_new (
        id                   TEXT PRIMARY KEY,
        username             TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name         TEXT NOT NULL,
        role                 TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'operator', 'auditor', 'monitor')),
        password_hash        TEXT NOT NULL,
        must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
        active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        valid_until          INTEGER,
        failed_logins        INTEGER NOT NULL DEFAULT 0,
        locked_until         INTEGER,
        created_at           INTEGER NOT NULL,
        updated_at           INTEGER NOT NULL,
        password_changed_at  INTEGER NOT NULL,
        -- A monitor's screen: the one address its sessions may be used from (null: none yet, it
        -- cannot log in), and whether it is shown names.
        monitor_address      TEXT,
        mask_names           INTEGER NOT NULL DEFAULT 0 CHECK (mask_names IN (0, 1))
      );
      INSERT INTO dashboard_users_new (id, username, display_name, role, password_hash, must_change_password,
        active, valid_until, failed_logins, locked_until, created_at, updated_at, password_changed_at)
        SELECT id, username, display_name, role, password_hash, must_change_password, active, valid_until,
          failed_logins, locked_until, created_at, updated_at, password_changed_at FROM dashboard_users;
      DROP TABLE dashboard_users;
      ALTER TABLE dashboard_users_new RENAME TO dashboard_users;
      -- A monitor's session does not end for idleness (its absolute lifetime still holds).
      ALTER TABLE dashboard_sessions ADD COLUMN idle_exempt INTEGER NOT NULL DEFAULT 0;
      INSERT INTO dashboard_sessions (token_hash, user_id, csrf_token, created_at, last_seen, expires_at)
        SELECT token_hash, user_id, csrf_token, created_at, last_seen, expires_at FROM temp.keep_sessions;
      INSERT INTO dashboard_activations SELECT * FROM temp.keep_activations;
      DROP TABLE temp.keep_sessions;
      DROP TABLE temp.keep_activations;
    `),
  },
];

/** Creates or upgrades these tables. Refuses a database written by a newer Sekisho. */
export function migrateAccounts(db: SqliteDatabase): void {
  runMigrations(db, ACCOUNT_MIGRATIONS, versionTable('dashboard_schema'), `${db.name} (dashboard_schema)`);
}
