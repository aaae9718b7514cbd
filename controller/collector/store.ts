/**
 * The collector's store of record: PostgreSQL (schema.ts). It takes rows whose hashes the collector
 * has already recomputed and stores each exactly once by (controller, seq); the same seq with other
 * bytes is a fork, kept in `forks` beside the first, never dropped and never overwriting it. The
 * searchable columns are read from the hashed bytes themselves, not from anything sent beside them.
 */
import pg from 'pg';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

/** A row as published: the bytes that were hashed, and the chain fields. */
export interface CollectedRow {
  seq: number;
  hash: string;
  prevHash: string;
  bytes: string;
}

export interface InsertResult {
  /** Seqs stored now. */
  inserted: number[];
  /** Seqs already stored with the same hash (a re-publish). */
  duplicates: number[];
  /** Seqs already stored with another hash: kept in `forks`. */
  forks: { seq: number; storedHash: string; hash: string }[];
}

export interface ControllerState {
  id: string;
  keyId: string;
  enrolledAt: number;
  verifiedSeq: number;
  verifiedHash: string | null;
  verifiedAt: number | null;
  lastRowAt: number | null;
  forks: number;
}

export interface RowFilter {
  /** Inclusive, UTC ms. */
  from?: number;
  /** Exclusive, UTC ms. */
  to?: number;
  controllers?: readonly string[];
  door?: string;
  person?: string;
  badge?: string;
  types?: readonly string[];
  /** Cursor: rows strictly older than this (at, controller, seq) in the result order. */
  before?: { at: number; controller: string; seq: number };
  limit: number;
}

export interface StoredRow {
  controller: string;
  seq: number;
  at: number;
  type: string;
  door: string | null;
  person: string | null;
  actor: string | null;
  badge: string | null;
  personName: string | null;
  hash: string;
  prevHash: string;
  bytes: string;
}

/** A specific refusal of the store (the caller maps it; nothing was written). */
export class CollectorStoreError extends Error {
  constructor(
    readonly code:
      | 'schema_newer'
      | 'schema_older'
      | 'unknown_controller'
      | 'key_mismatch'
      | 'bad_row'
      | 'bad_filter'
      | 'retention_too_short',
    message: string,
  ) {
    super(message);
    this.name = 'CollectorStoreError';
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
/** The policy keeps access records five years; nothing younger is removed. */
export const RETENTION_YEARS = 5;

interface RowFields {
  at: number;
  type: string;
  door: string | null;
  person: string | null;
  actor: string | null;
  badge: string | null;
  personName: string | null;
}

/** The searchable fields of a row, read from its hashed bytes. */
export function fieldsOf(row: CollectedRow): RowFields {
  if (!Number.isSafeInteger(row.seq) || row.seq < 1)
    throw new CollectorStoreError('bad_row', `bad seq ${row.seq}`);
  if (!HEX64.test(row.hash) || !HEX64.test(row.prevHash))
    throw new CollectorStoreError(
      'bad_row',
      `seq ${row.seq}: hash and prevHash must be 64 lowercase hex digits`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.bytes);
  } catch {
    throw new CollectorStoreError('bad_row', `seq ${row.seq}: the bytes are not JSON`);
  }
  const o = parsed as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.seq !== row.seq)
    throw new CollectorStoreError(
      'bad_row',
      `seq ${row.seq}: the bytes name another seq (${String(o?.seq)})`,
    );
  if (typeof o.at !== 'number' || !Number.isSafeInteger(o.at) || typeof o.type !== 'string')
    throw new CollectorStoreError('bad_row', `seq ${row.seq}: the bytes lack a time or a type`);
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);
  const data = o.data && typeof o.data === 'object' ? (o.data as Record<string, unknown>) : {};
  return {
    at: o.at,
    type: o.type,
    door: text(o.door),
    person: text(o.person),
    actor: text(o.actor),
    badge: text(data.badge),
    personName: text(data.personName),
  };
}

/** `journal_rows_y2026m12` and its bounds, for the UTC month holding `at`. */
export function monthPartition(at: number): { name: string; from: string; to: string } {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const from = new Date(Date.UTC(y, m, 1)).toISOString();
  const to = new Date(Date.UTC(y, m + 1, 1)).toISOString();
  return { name: `journal_rows_y${y}m${String(m + 1).padStart(2, '0')}`, from, to };
}

export class CollectorStore {
  readonly #pool: pg.Pool;
  /** Months known to exist (by name), so a batch asks for a partition once per month. */
  readonly #partitions = new Set<string>();

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /**
   * Connects. With `migrate` (the tables' owner) it brings the schema up to this code's version;
   * without (the collector's own role) it only checks that the schema is that version. A newer
   * schema is refused either way.
   */
  static async open(config: pg.PoolConfig, opts: { migrate?: boolean } = {}): Promise<CollectorStore> {
    // UTC sessions: partition bounds and times read back the same whatever the server's zone.
    const pool = new pg.Pool({ max: 4, options: '-c TimeZone=UTC', ...config });
    // An idle connection dropped by a restarting server must not take the process down; the next
    // query gets a fresh connection or a clear error.
    pool.on('error', () => {});
    const store = new CollectorStore(pool);
    try {
      if (opts.migrate ?? true) await store.#migrate();
      else await store.#checkVersion();
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #migrate(): Promise<void> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      // One migrator at a time, whatever process runs it.
      await c.query('SELECT pg_advisory_xact_lock(7301946001)');
      await c.query(
        `CREATE TABLE IF NOT EXISTS collector_schema (
           version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM collector_schema');
      const current = rows[0]?.v ?? 0;
      if (current > SCHEMA_VERSION)
        throw new CollectorStoreError(
          'schema_newer',
          `the collector database has schema version ${current}, newer than this collector's ${SCHEMA_VERSION}: run the newer collector`,
        );
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO collector_schema (version, name) VALUES ($1, $2)', [m.version, m.name]);
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async #checkVersion(): Promise<void> {
    let current = 0;
    try {
      current = await this.schemaVersion();
    } catch (e) {
      if ((e as { code?: string }).code !== '42P01') throw e; // undefined_table: never migrated
    }
    if (current !== SCHEMA_VERSION)
      throw new CollectorStoreError(
        current > SCHEMA_VERSION ? 'schema_newer' : 'schema_older',
        `the collector database has schema version ${current}, this collector needs ${SCHEMA_VERSION}` +
          (current > SCHEMA_VERSION
            ? ': run the newer collector'
            : ': run `sekisho collector migrate` as the owner'),
      );
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.#pool.query<{ v: number }>('SELECT max(version) AS v FROM collector_schema');
    return rows[0]!.v;
  }

  /**
   * Pins a controller's public key (SPKI PEM) at enrolment. Enrolling again with the same key is a
   * no-op; another key is refused — a replaced key is a deliberate act, not a side effect.
   */
  async enrol(id: string, publicKeyPem: string, keyId: string): Promise<void> {
    const { rows } = await this.#pool.query<{ public_key: string }>(
      `INSERT INTO controllers (id, public_key, key_id) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING public_key`,
      [id, publicKeyPem, keyId],
    );
    if (rows[0]!.public_key.trim() !== publicKeyPem.trim())
      throw new CollectorStoreError('key_mismatch', `controller ${id} is enrolled with another public key`);
  }

  async publicKey(id: string): Promise<string | null> {
    const { rows } = await this.#pool.query<{ public_key: string }>(
      'SELECT public_key FROM controllers WHERE id = $1',
      [id],
    );
    return rows[0]?.public_key ?? null;
  }

  /**
   * Stores rows of one controller whose hashes were recomputed. One transaction: all of the batch or
   * none. A seq already stored with the same hash is a duplicate; with another hash, a fork.
   */
  async insert(controller: string, rows: readonly CollectedRow[]): Promise<InsertResult> {
    const result: InsertResult = { inserted: [], duplicates: [], forks: [] };
    if (rows.length === 0) return result;
    const fields = rows.map(fieldsOf);
    const months = new Map<string, ReturnType<typeof monthPartition>>();
    for (const f of fields) {
      const p = monthPartition(f.at);
      if (!this.#partitions.has(p.name)) months.set(p.name, p);
    }
    const c = await this.#pool.connect();
    try {
      for (const p of months.values()) await this.#ensurePartition(c, p);
      await c.query('BEGIN');
      const known = await c.query('SELECT 1 FROM controllers WHERE id = $1 FOR SHARE', [controller]);
      if (known.rowCount === 0)
        throw new CollectorStoreError('unknown_controller', `controller ${controller} is not enrolled`);
      // One batch of a controller at a time: the seq check below and the insert must not interleave.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('sekisho-collector:' || $1))", [controller]);
      const seqs = rows.map((r) => r.seq);
      const stored = await c.query<{ seq: string; hash: string }>(
        'SELECT seq, hash FROM journal_rows WHERE controller = $1 AND seq BETWEEN $2 AND $3',
        [controller, Math.min(...seqs), Math.max(...seqs)],
      );
      const storedHash = new Map(stored.rows.map((r) => [Number(r.seq), r.hash]));
      const newRows: number[] = [];
      rows.forEach((r, i) => {
        const first = storedHash.get(r.seq);
        if (first === undefined) {
          storedHash.set(r.seq, r.hash); // a seq twice in one batch: the second is compared
          newRows.push(i);
        } else if (first === r.hash) result.duplicates.push(r.seq);
        else result.forks.push({ seq: r.seq, storedHash: first, hash: r.hash });
      });
      if (newRows.length > 0) {
        const col = <T>(pick: (r: CollectedRow, f: RowFields) => T) =>
          newRows.map((i) => pick(rows[i]!, fields[i]!));
        await c.query(
          `INSERT INTO journal_rows (controller, seq, at, type, door, person, actor, badge, person_name, hash, prev_hash, bytes)
           SELECT $1, s, to_timestamp(a / 1000.0), ty, d, p, ac, b, pn, h, ph, by
           FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                       $9::text[], $10::text[], $11::text[], $12::text[]) AS t(s, a, ty, d, p, ac, b, pn, h, ph, by)`,
          [
            controller,
            col((r) => r.seq),
            col((_, f) => f.at),
            col((_, f) => f.type),
            col((_, f) => f.door),
            col((_, f) => f.person),
            col((_, f) => f.actor),
            col((_, f) => f.badge),
            col((_, f) => f.personName),
            col((r) => r.hash),
            col((r) => r.prevHash),
            col((r) => r.bytes),
          ],
        );
        result.inserted = newRows.map((i) => rows[i]!.seq);
      }
      for (const f of result.forks) {
        const r = rows.find((x) => x.seq === f.seq && x.hash === f.hash)!;
        await c.query(
          `INSERT INTO forks (controller, seq, hash, prev_hash, bytes, stored_hash)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [controller, r.seq, r.hash, r.prevHash, r.bytes, f.storedHash],
        );
      }
      const newest = Math.max(...fields.map((f) => f.at));
      await c.query(
        `UPDATE controllers SET last_row_at = greatest(coalesce(last_row_at, to_timestamp(0)), to_timestamp($2 / 1000.0))
         WHERE id = $1`,
        [controller, newest],
      );
      await c.query('COMMIT');
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async #ensurePartition(c: pg.PoolClient, p: ReturnType<typeof monthPartition>): Promise<void> {
    // Its own statement, outside the batch's transaction: the lock on the parent is brief.
    await c.query('SELECT collector_ensure_month($1::timestamptz)', [p.from]);
    this.#partitions.add(p.name);
  }

  /** Records that the centre verified this controller's chain up to (seq, hash). Never moves back. */
  async setVerified(controller: string, seq: number, hash: string, at: number): Promise<void> {
    await this.#pool.query(
      `UPDATE controllers SET verified_seq = $2, verified_hash = $3, verified_at = to_timestamp($4 / 1000.0)
       WHERE id = $1 AND verified_seq < $2`,
      [controller, seq, hash, at],
    );
  }

  async controllers(): Promise<ControllerState[]> {
    const { rows } = await this.#pool.query(
      `SELECT c.id, c.key_id, c.enrolled_at, c.verified_seq, c.verified_hash, c.verified_at, c.last_row_at,
              (SELECT count(*) FROM forks f WHERE f.controller = c.id) AS forks
       FROM controllers c ORDER BY c.id`,
    );
    const ms = (d: Date | null) => (d ? d.getTime() : null);
    return rows.map((r) => ({
      id: r.id,
      keyId: r.key_id,
      enrolledAt: r.enrolled_at.getTime(),
      verifiedSeq: Number(r.verified_seq),
      verifiedHash: r.verified_hash,
      verifiedAt: ms(r.verified_at),
      lastRowAt: ms(r.last_row_at),
      forks: Number(r.forks),
    }));
  }

  /** Rows of all rooms, newest first. */
  async search(filter: RowFilter): Promise<StoredRow[]> {
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > 10_000)
      throw new CollectorStoreError('bad_filter', 'limit must be an integer from 1 to 10000');
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (filter.from !== undefined) where.push(`at >= to_timestamp(${arg(filter.from)} / 1000.0)`);
    if (filter.to !== undefined) where.push(`at < to_timestamp(${arg(filter.to)} / 1000.0)`);
    if (filter.controllers) where.push(`controller = ANY(${arg(filter.controllers)}::text[])`);
    if (filter.door !== undefined) where.push(`door = ${arg(filter.door)}`);
    if (filter.person !== undefined) where.push(`person = ${arg(filter.person)}`);
    if (filter.badge !== undefined) where.push(`badge = ${arg(filter.badge)}`);
    if (filter.types) where.push(`type = ANY(${arg(filter.types)}::text[])`);
    if (filter.before) {
      const b = filter.before;
      where.push(
        `(at, controller, seq) < (to_timestamp(${arg(b.at)} / 1000.0), ${arg(b.controller)}, ${arg(b.seq)}::bigint)`,
      );
    }
    const { rows } = await this.#pool.query(
      `SELECT controller, seq, (extract(epoch FROM at) * 1000)::bigint AS at_ms, type, door, person, actor, badge,
              person_name, hash, prev_hash, bytes
       FROM journal_rows ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY at DESC, controller DESC, seq DESC LIMIT ${arg(filter.limit)}`,
      args,
    );
    return rows.map((r) => ({
      controller: r.controller,
      seq: Number(r.seq),
      at: Number(r.at_ms),
      type: r.type,
      door: r.door,
      person: r.person,
      actor: r.actor,
      badge: r.badge,
      personName: r.person_name,
      hash: r.hash,
      prevHash: r.prev_hash,
      bytes: r.bytes,
    }));
  }

  async forks(
    controller: string,
  ): Promise<{ seq: number; hash: string; storedHash: string; bytes: string }[]> {
    const { rows } = await this.#pool.query(
      'SELECT seq, hash, stored_hash, bytes FROM forks WHERE controller = $1 ORDER BY seq, received_at',
      [controller],
    );
    return rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, storedHash: r.stored_hash, bytes: r.bytes }));
  }

  /**
   * Removes the months wholly older than `years` (at least the policy's five) before `now`: their
   * partitions are dropped. Returns the partitions dropped. Needs the
   * tables' owner (the collector's own role may not).
   */
  async applyRetention(now: number, years = RETENTION_YEARS): Promise<string[]> {
    if (years < RETENTION_YEARS)
      throw new CollectorStoreError(
        'retention_too_short',
        `the policy keeps records ${RETENTION_YEARS} years; ${years} is shorter`,
      );
    const d = new Date(now);
    const cutoff = Date.UTC(d.getUTCFullYear() - years, d.getUTCMonth(), d.getUTCDate());
    const { rows } = await this.#pool.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname = 'journal_rows'`,
    );
    const dropped: string[] = [];
    for (const r of rows) {
      const to = /TO \('([^']+)'\)/.exec(r.bound)?.[1];
      if (!to) continue;
      const upper = Date.parse(to.replace(' ', 'T').replace(/\+00$/, 'Z'));
      if (!(upper <= cutoff)) continue;
      await this.#pool.query(`DROP TABLE ${r.name}`);
      this.#partitions.delete(r.name);
      dropped.push(r.name);
    }
    return dropped.sort();
  }
}
