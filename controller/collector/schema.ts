/**
 * The collector's PostgreSQL schema, as numbered migrations kept in the repository. Each runs once,
 * in its own transaction, and is recorded in `collector_schema`; a database newer than this code is
 * refused (an older collector must not write into a layout it does not know).
 *
 * The layout is made for five years of many rooms:
 * - `journal_rows` holds every verified row exactly as hashed (`bytes`), range-partitioned by month
 *   of the row's own time (`at`, UTC), indexed for time, person, card (badge id) and room;
 * - one row per (controller, seq): a partitioned table's unique keys must include `at`, so the
 *   store checks the batch's seq range before inserting, one controller's batches at a time;
 * - `forks` keeps every other byte string claimed for a seq already stored — never dropped;
 * - `controllers` holds each controller's pinned public key and how far the centre verified it.
 * Rows are append-only: a trigger refuses UPDATE and DELETE on them; only dropping a whole month
 * partition older than the retention period removes rows (the owner's act, not the collector's
 * role's).
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'controllers, rows by month, forks',
    sql: `
CREATE TABLE controllers (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  public_key text NOT NULL,
  key_id text NOT NULL,
  enrolled_at timestamptz NOT NULL DEFAULT now(),
  verified_seq bigint NOT NULL DEFAULT 0,
  verified_hash text,
  verified_at timestamptz,
  last_row_at timestamptz
);

CREATE TABLE journal_rows (
  controller text NOT NULL,
  seq bigint NOT NULL,
  at timestamptz NOT NULL,
  type text NOT NULL,
  door text,
  person text,
  actor text,
  badge text,
  person_name text,
  hash text NOT NULL,
  prev_hash text NOT NULL,
  bytes text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (controller, seq, at)
) PARTITION BY RANGE (at);

CREATE INDEX journal_rows_at ON journal_rows (at DESC);
CREATE INDEX journal_rows_person ON journal_rows (person, at DESC) WHERE person IS NOT NULL;
CREATE INDEX journal_rows_badge ON journal_rows (badge, at DESC) WHERE badge IS NOT NULL;
CREATE INDEX journal_rows_room ON journal_rows (controller, door, at DESC);
CREATE INDEX journal_rows_type ON journal_rows (type, at DESC);

CREATE TABLE forks (
  controller text NOT NULL,
  seq bigint NOT NULL,
  hash text NOT NULL,
  prev_hash text NOT NULL,
  bytes text NOT NULL,
  stored_hash text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (controller, seq, hash)
);

CREATE FUNCTION collector_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'collected rows are append-only (% on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER journal_rows_append_only BEFORE UPDATE OR DELETE ON journal_rows
  FOR EACH ROW EXECUTE FUNCTION collector_refuse_change();
-- The collector's own role does not own the tables, so it cannot create a partition itself: this
-- function, run with its owner's rights, creates exactly the month a row needs and nothing else.
CREATE FUNCTION collector_ensure_month(t timestamptz) RETURNS text
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET timezone = 'UTC' AS $$
DECLARE
  lo timestamptz := date_trunc('month', t);
  hi timestamptz := date_trunc('month', t) + interval '1 month';
  name text := 'journal_rows_y' || to_char(lo, 'YYYY') || 'm' || to_char(lo, 'MM');
BEGIN
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF journal_rows FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
  RETURN name;
END $$;
REVOKE ALL ON FUNCTION collector_ensure_month(timestamptz) FROM PUBLIC;

CREATE TRIGGER forks_append_only BEFORE UPDATE OR DELETE ON forks
  FOR EACH ROW EXECUTE FUNCTION collector_refuse_change();
`,
  },
];

/**
 * What the collector's own login role may do (docs/fleet.md): read and append rows, record how far
 * it verified, create a month through collector_ensure_month. It owns nothing, so it cannot update,
 * delete, truncate or drop rows, nor disable the append-only triggers.
 */
export function collectorRoleGrants(role: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new Error(`not a plain role name: ${role}`);
  return `
GRANT USAGE ON SCHEMA public TO ${role};
GRANT SELECT ON collector_schema TO ${role};
GRANT SELECT, INSERT ON journal_rows, forks TO ${role};
GRANT SELECT, INSERT, UPDATE (verified_seq, verified_hash, verified_at, last_row_at) ON controllers TO ${role};
GRANT EXECUTE ON FUNCTION collector_ensure_month(timestamptz) TO ${role};
`;
}

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
