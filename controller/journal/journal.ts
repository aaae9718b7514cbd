/**
 * The append-only, hash-chained journal: every fact Sekisho knows is one row.
 *
 * Each row stores its canonical bytes exactly as written and
 *   hash = hex(SHA-256(prevHash as 64 ASCII hex digits ‖ bytes as UTF-8)),
 * with 64 zeros as the genesis prevHash. Triggers refuse UPDATE and DELETE. The outbox row that
 * announces a journal row is written in the same transaction; signed checkpoints let a copy held
 * off the device prove that the journal was not truncated or rewritten.
 *
 * One cohesive thing, over 500 lines: the chain, the outbox, the checkpoints and the queries share one
 * connection's prepared statements and the one transaction of an append; split, each part would reach
 * into the others' statements.
 */
import { hash as digest, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import type {
  KnownRecord,
  KnownRecordType,
  StoredRecord,
  UncataloguedRecord,
  UncataloguedType,
} from '../domain/records.js';
import { commitSecrets, restoreSecrets, type SideSecret } from './commitments.js';
import type { SqliteDatabase } from './db.js';
import { QUERY_LIMIT } from './query-limit.js';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * Version of the canonical row format new rows are written in, the `v` field of the bytes. Version 2
 * hashes a commitment to each secret instead of the secret (commitments.ts); version 1 rows, written
 * before, keep their bytes and chain and are read and verified as they are.
 */
export const RECORD_VERSION = 2;

/** The row formats this code reads and verifies. */
export const RECORD_VERSIONS: readonly number[] = [1, 2];

/** Whether bytes may hold commitments (a cheap test before reading the side secrets). */
export function mayHoldCommitments(bytes: string): boolean {
  return bytes.startsWith('{"v":2,') && bytes.includes('{"c":"');
}

/** The columns of a row to append, besides its type and data. */
export interface InputColumns {
  /** UTC milliseconds, passed in by the caller. */
  at: number;
  door?: string | null;
  person?: string | null;
  /** Who did it, for administrative records (a dashboard user, `system`, `cli:root`). */
  actor?: string | null;
}

/**
 * A row to append: a type of the catalogue (controller/domain/records.ts) with that type's data, so
 * that the compiler refuses a wrong shape. The data must be JSON-safe (null, booleans, finite
 * numbers, strings, arrays and plain objects); the journal checks that, not the schema (no parsing
 * on the door's path). `JournalInput<'access'>` is one type's input.
 */
export type JournalInput<T extends KnownRecordType = KnownRecordType> = InputColumns & KnownRecord<T>;

/**
 * An input of a type outside the catalogue, for tests of the journal's format (and tools that copy
 * rows): its type is made with `uncataloguedType()`.
 */
export type UncataloguedInput = InputColumns & UncataloguedRecord;

/** The columns every stored row has, besides its type and data. */
export interface StoredColumns {
  seq: number;
  /** `<controllerId>:<seq>`: globally unique, what consumers de-duplicate by. */
  id: string;
  at: number;
  door: string | null;
  person: string | null;
  actor: string | null;
  hash: string;
  prevHash: string;
  /** The canonical bytes the hash covers, exactly as stored. */
  bytes: string;
}

/**
 * A stored row. Its type is a catalogued one with that type's data, or — a journal written by a
 * newer Sekisho — a type this version does not know (`UncataloguedType`, data any JSON object): such
 * a row still reads, verifies and exports; the folds ignore it. The data is typed, not parsed: it was
 * written through the typed `append` (the bytes are hash-chained), and what acts on it parses it with
 * the schema. `JournalRow<'access'>` is one catalogued type's row.
 */
export type JournalRow<T extends KnownRecordType | UncataloguedType = KnownRecordType | UncataloguedType> =
  StoredColumns & (T extends KnownRecordType ? KnownRecord<T> : UncataloguedRecord);

export interface JournalHead {
  seq: number;
  hash: string;
}

export interface JournalFilter {
  /** Inclusive lower bound on `at`, UTC ms. */
  from?: number;
  /** Exclusive upper bound on `at`, UTC ms. */
  to?: number;
  person?: string;
  door?: string;
  /** Only these record types (an empty list matches nothing). */
  types?: readonly string[];
  /** Cursor: only rows older than the row with this seq (in the result order). */
  beforeSeq?: number;
  /** 1 to 10,000. */
  limit: number;
}

export interface AppendOptions {
  /** Also announce the row in the outbox (for the MQTT publisher). Default true. */
  outbox?: boolean;
}

/** A signed statement "the journal of `controller` had head `hash` at `seq`, at time `at`". */
export interface Checkpoint {
  seq: number;
  hash: string;
  at: number;
  controller: string;
  /** Ed25519 signature over checkpointBytes(), base64. */
  signature: string;
  keyId: string;
}

/**
 * A signed statement "rows up to `seq` (whose hash is `hash`) were moved into the archive file
 * whose SHA-256 is `archiveSha256`, at time `at`": the live chain continues from it.
 */
export interface ArchiveBase {
  seq: number;
  hash: string;
  at: number;
  controller: string;
  /** SHA-256 of the whole archive file, hex. */
  archiveSha256: string;
  /** Ed25519 signature over archiveBaseBytes(), base64. */
  signature: string;
  keyId: string;
}

/** Thrown for input the journal refuses to write (nothing is written). */
export class JournalDataError extends Error {
  override name = 'JournalDataError';
}

const TYPE_PATTERN = /^[a-z][a-z0-9_.]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const PAGE = 1000;
const MAX_LIMIT = QUERY_LIMIT.max;
const MAX_DEPTH = 32;

/** SHA-256 over the previous hash's ASCII hex digits followed by the row's UTF-8 bytes, hex. */
export function chainHash(prevHash: string, bytes: string): string {
  // One-shot crypto.hash (Node >= 20.12) is about twice as fast as createHash per row; prevHash
  // is ASCII, so hashing the UTF-8 of the concatenation is exactly prevHash ‖ UTF-8(bytes).
  return digest('sha256', prevHash + bytes, 'hex');
}

/**
 * JSON with object keys sorted recursively (by UTF-16 code units). Throws JournalDataError for
 * anything JSON cannot carry faithfully: undefined, NaN/Infinity, functions, bigint, symbols,
 * class instances (Date, Map, Buffer…), sparse arrays, circular or over-deep structures.
 */
export function canonicalJson(value: unknown, path = 'data'): string {
  return canonical(value, path, 0);
}

function canonical(value: unknown, path: string, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value))
        throw new JournalDataError(`${path} is ${value}: not representable in JSON`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new JournalDataError(`${path} is a ${typeof value}: not representable in JSON`);
  }
  if (depth >= MAX_DEPTH) throw new JournalDataError(`${path} is nested too deeply (or circular)`);
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new JournalDataError(`${path}[${i}] is a hole in a sparse array`);
      parts.push(canonical(value[i], `${path}[${i}]`, depth + 1));
    }
    return `[${parts.join(',')}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const kind = (value as object).constructor?.name ?? 'object';
    throw new JournalDataError(`${path} is a ${kind}: only plain objects are allowed (convert it first)`);
  }
  if (Object.getOwnPropertySymbols(value).length > 0) {
    throw new JournalDataError(`${path} has symbol keys: not representable in JSON`);
  }
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const key of keys) {
    parts.push(
      `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1)}`,
    );
  }
  return `{${parts.join(',')}}`;
}

interface PreparedInput {
  version: number;
  type: string;
  at: number;
  door: string | null;
  person: string | null;
  actor: string | null;
  /** The data as hashed: each secret replaced by its commitment. */
  dataJson: string;
  /** The data as given (with its secrets), when it holds any; else the data is dataJson parsed. */
  clearData?: Record<string, unknown>;
  secrets?: SideSecret[];
}

const newNonce = () => randomBytes(32).toString('hex');

/**
 * `version` 2 commits each secret (commitments.ts); 1 is the format before, written only into a
 * database of schema 7 or older, which has no table for the secrets (tests and tools that open one
 * without migrating it; the controller always migrates first).
 */
function prepareInput(input: JournalInput | UncataloguedInput, version: number): PreparedInput {
  if (input === null || typeof input !== 'object')
    throw new JournalDataError('journal input must be an object');
  const { type, at, data } = input;
  if (typeof type !== 'string' || !TYPE_PATTERN.test(type)) {
    throw new JournalDataError(`type ${JSON.stringify(type)} must match ${TYPE_PATTERN}`);
  }
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) {
    throw new JournalDataError(
      `at must be UTC milliseconds (a non-negative safe integer), got ${String(at)}`,
    );
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new JournalDataError('data must be a plain object');
  }
  const dataJson = canonicalJson(data); // checks the whole data is JSON-safe first
  const committed = version >= 2 ? commitSecrets(data as Record<string, unknown>, newNonce) : null;
  return {
    version,
    type,
    at,
    door: optionalText(input.door, 'door'),
    person: optionalText(input.person, 'person'),
    actor: optionalText(input.actor, 'actor'),
    dataJson: committed ? canonicalJson(committed.data) : dataJson,
    ...(committed && {
      clearData: JSON.parse(dataJson) as Record<string, unknown>,
      secrets: committed.secrets,
    }),
  };
}

function optionalText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0) {
    throw new JournalDataError(`${field} must be a non-empty string or null`);
  }
  return value;
}

function quoteOrNull(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}

/** The canonical bytes of a row: fixed field order, data already canonical JSON. */
export function recordBytes(
  seq: number,
  fields: { at: number; type: string; door: string | null; person: string | null; actor: string | null },
  dataJson: string,
  version: number = RECORD_VERSION,
): string {
  return (
    `{"v":${version},"seq":${seq},"at":${fields.at},"type":${JSON.stringify(fields.type)},` +
    `"door":${quoteOrNull(fields.door)},"person":${quoteOrNull(fields.person)},` +
    `"actor":${quoteOrNull(fields.actor)},"data":${dataJson}}`
  );
}

/** The canonical bytes a checkpoint signature covers. */
export function checkpointBytes(cp: Pick<Checkpoint, 'seq' | 'hash' | 'at' | 'controller'>): string {
  return `{"seq":${cp.seq},"hash":${JSON.stringify(cp.hash)},"at":${cp.at},"controller":${JSON.stringify(cp.controller)}}`;
}

/** The canonical bytes an archive base signature covers. */
export function archiveBaseBytes(
  base: Pick<ArchiveBase, 'seq' | 'hash' | 'at' | 'controller' | 'archiveSha256'>,
): string {
  return (
    `{"seq":${base.seq},"hash":${JSON.stringify(base.hash)},"at":${base.at},` +
    `"controller":${JSON.stringify(base.controller)},"archiveSha256":${JSON.stringify(base.archiveSha256)}}`
  );
}

/** Checks an archive base's Ed25519 signature (and its shape) against a public key. */
export function verifyArchiveBase(base: ArchiveBase, publicKey: KeyObject | string): boolean {
  if (
    base === null ||
    typeof base !== 'object' ||
    !Number.isSafeInteger(base.seq) ||
    base.seq < 1 ||
    typeof base.hash !== 'string' ||
    !HEX64.test(base.hash) ||
    !Number.isSafeInteger(base.at) ||
    typeof base.controller !== 'string' ||
    typeof base.archiveSha256 !== 'string' ||
    !HEX64.test(base.archiveSha256) ||
    typeof base.signature !== 'string'
  ) {
    return false;
  }
  try {
    return verify(
      null,
      Buffer.from(archiveBaseBytes(base), 'utf8'),
      publicKey,
      Buffer.from(base.signature, 'base64'),
    );
  } catch {
    return false;
  }
}

type ArchiveBaseRow = {
  seq: number;
  hash: string;
  at: number;
  controller: string;
  archive_sha256: string;
  signature: string;
  key_id: string;
};

export function toArchiveBase(row: ArchiveBaseRow): ArchiveBase {
  return {
    seq: row.seq,
    hash: row.hash,
    at: row.at,
    controller: row.controller,
    archiveSha256: row.archive_sha256,
    signature: row.signature,
    keyId: row.key_id,
  };
}

/**
 * The archive bases recorded in the database, oldest first ([] for a schema without the table,
 * i.e. before version 4, or when nothing was ever archived).
 */
export function readArchiveBases(db: SqliteDatabase): ArchiveBase[] {
  const table = db
    .prepare<[], { n: number }>(
      "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'archive_bases'",
    )
    .get();
  if (!table || table.n === 0) return [];
  return db.prepare<[], ArchiveBaseRow>('SELECT * FROM archive_bases ORDER BY seq').all().map(toArchiveBase);
}

/**
 * Checks a checkpoint's Ed25519 signature (and its shape) against a public key, given as a
 * KeyObject or SPKI PEM. Standalone so that an off-device consumer can check a published one.
 */
/** Whether a checkpoint has the shape its signature can cover (a bad shape is a bad checkpoint). */
export function checkpointShapeOk(cp: Checkpoint): boolean {
  return (
    cp !== null &&
    typeof cp === 'object' &&
    Number.isSafeInteger(cp.seq) &&
    cp.seq >= 1 &&
    typeof cp.hash === 'string' &&
    HEX64.test(cp.hash) &&
    Number.isSafeInteger(cp.at) &&
    typeof cp.controller === 'string' &&
    typeof cp.signature === 'string'
  );
}

export function verifyCheckpoint(cp: Checkpoint, publicKey: KeyObject | string): boolean {
  if (!checkpointShapeOk(cp)) return false;
  try {
    return verify(
      null,
      Buffer.from(checkpointBytes(cp), 'utf8'),
      publicKey,
      Buffer.from(cp.signature, 'base64'),
    );
  } catch {
    return false;
  }
}

type DbRow = {
  seq: number;
  bytes: string;
  hash: string;
  prev_hash: string | null;
};

type CheckpointRow = {
  seq: number;
  hash: string;
  at: number;
  controller: string;
  signature: string;
  key_id: string;
};

// A declared gap row chains from the previous row that exists, not from seq - 1.
const ROW_COLUMNS =
  'j.seq, j.bytes, j.hash, COALESCE((SELECT p.hash FROM journal p WHERE p.seq = j.seq - 1), ' +
  "CASE WHEN j.type IN ('journal_truncated', 'journal_restored') THEN " +
  '(SELECT p.hash FROM journal p WHERE p.seq < j.seq ORDER BY p.seq DESC LIMIT 1) END) AS prev_hash';

/**
 * The WHERE terms and parameters of a filter's time range, person, door and types (not its cursor),
 * for columns prefixed with `prefix` (e.g. 'j.'). Journal.query() builds on it; the bench runs the
 * same terms bare.
 */
export function journalFilterWhere(
  filter: Pick<JournalFilter, 'from' | 'to' | 'person' | 'door' | 'types'>,
  prefix = '',
): { where: string[]; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const term = (sql: string, ...values: (string | number)[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (filter.from !== undefined) term(`${prefix}at >= ?`, filter.from);
  if (filter.to !== undefined) term(`${prefix}at < ?`, filter.to);
  if (filter.person !== undefined) term(`${prefix}person = ?`, filter.person);
  if (filter.door !== undefined) term(`${prefix}door = ?`, filter.door);
  if (filter.types) term(`${prefix}type IN (${filter.types.map(() => '?').join(', ')})`, ...filter.types);
  return { where, params };
}

export class Journal {
  readonly controllerId: string;
  readonly #db: SqliteDatabase;
  #head: JournalHead;
  readonly #insert;
  readonly #insertOutbox;
  // Prepared at first use: a database of an older schema (before version 8) has no such table.
  #insertSecretStmt: ReturnType<SqliteDatabase['prepare']> | null = null;
  #secretsStmt: ReturnType<SqliteDatabase['prepare']> | null = null;
  readonly #headStmt;
  readonly #getStmt;
  readonly #pageStmt;
  readonly #outboxPeekStmt;
  readonly #outboxAckStmt;
  readonly #outboxCountStmt;
  readonly #outboxCountAfterStmt;
  readonly #atOfStmt;
  readonly #insertCheckpoint;
  readonly #getCheckpoint;
  readonly #checkpointsStmt;
  readonly #latestCheckpointStmt;
  readonly #queryCache = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  readonly #runInTransaction;

  /** The format new rows are written in: RECORD_VERSION, or 1 on a schema without journal_secrets. */
  readonly #version: number;

  /** Whether append() writes an outbox row when the caller does not say (true when MQTT is configured). */
  readonly #outboxByDefault: boolean;

  constructor(db: SqliteDatabase, options: { controllerId: string; outboxByDefault?: boolean }) {
    this.#outboxByDefault = options?.outboxByDefault ?? true;
    if (typeof options?.controllerId !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(options.controllerId)) {
      throw new JournalDataError('controllerId must be 1-64 characters of letters, digits, _ . -');
    }
    this.controllerId = options.controllerId;
    this.#db = db;
    // One INSERT per row. The WHERE clause guards the in-memory head: if another connection or a
    // rolled-back foreign transaction moved the real head, nothing is inserted and we re-read it.
    this.#insert = db.prepare<
      [
        number,
        number,
        string,
        string | null,
        string | null,
        string | null,
        string,
        string,
        number,
        number,
        number,
        string,
      ]
    >(
      `INSERT INTO journal (seq, at, type, door, person, actor, bytes, hash)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?
       WHERE NOT EXISTS (SELECT 1 FROM journal WHERE seq > ?)
         AND (? = 0 OR EXISTS (SELECT 1 FROM journal WHERE seq = ? AND hash = ?))`,
    );
    this.#insertOutbox = db.prepare<[number]>('INSERT INTO outbox (seq) VALUES (?)');
    this.#headStmt = db.prepare<[], { seq: number; hash: string }>(
      'SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1',
    );
    this.#getStmt = db.prepare<[number], DbRow>(`SELECT ${ROW_COLUMNS} FROM journal j WHERE j.seq = ?`);
    this.#pageStmt = db.prepare<[number, number], DbRow>(
      `SELECT ${ROW_COLUMNS} FROM journal j WHERE j.seq >= ? ORDER BY j.seq LIMIT ?`,
    );
    this.#outboxPeekStmt = db.prepare<[number, number], DbRow>(
      `SELECT ${ROW_COLUMNS} FROM outbox o JOIN journal j ON j.seq = o.seq WHERE o.seq > ? ORDER BY o.seq LIMIT ?`,
    );
    this.#outboxAckStmt = db.prepare<[number]>('DELETE FROM outbox WHERE seq = ?');
    this.#outboxCountStmt = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM outbox');
    this.#outboxCountAfterStmt = db.prepare<[number], { n: number; max: number | null }>(
      'SELECT COUNT(*) AS n, MAX(seq) AS max FROM outbox WHERE seq > ?',
    );
    this.#atOfStmt = db.prepare<[number], { at: number }>('SELECT at FROM journal WHERE seq = ?');
    this.#insertCheckpoint = db.prepare<[number, string, number, string, string, string]>(
      'INSERT INTO checkpoints (seq, hash, at, controller, signature, key_id) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#getCheckpoint = db.prepare<[number], CheckpointRow>('SELECT * FROM checkpoints WHERE seq = ?');
    this.#checkpointsStmt = db.prepare<[], CheckpointRow>('SELECT * FROM checkpoints ORDER BY seq');
    this.#latestCheckpointStmt = db.prepare<[], CheckpointRow>(
      'SELECT * FROM checkpoints ORDER BY seq DESC LIMIT 1',
    );
    this.#runInTransaction = db.transaction((fn: () => unknown) => fn());
    const side = db
      .prepare<[], { n: number }>(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'journal_secrets'",
      )
      .get();
    this.#version = side && side.n > 0 ? RECORD_VERSION : 1;
    this.#head = this.#readHead();
  }

  /**
   * Runs fn in one immediate transaction, so that registry changes and their journal rows commit
   * together. A call inside another transaction joins it. When the outermost call returns, the
   * transaction is committed (and, with synchronous=FULL, durable).
   */
  transaction<T>(fn: () => T): T {
    if (this.#db.inTransaction) return fn();
    try {
      return this.#runInTransaction.immediate(fn) as T;
    } catch (err) {
      try {
        this.#head = this.#readHead(); // the rolled-back rows are gone
      } catch {
        // Storage unreadable: keep the old head; the INSERT guard re-reads it before any write.
      }
      throw err;
    }
  }

  /**
   * Opens an immediate transaction that append() and transaction() join until commitOpen() or
   * rollbackOpen(): the controller's writer keeps one open across the steps of one event, so that
   * the event's rows cost one commit (controller/runtime/writer.ts).
   */
  begin(): void {
    this.#db.exec('BEGIN IMMEDIATE');
  }

  /** Commits the transaction begin() opened (with synchronous=FULL: durable when it returns). */
  commitOpen(): void {
    this.#db.exec('COMMIT');
  }

  /** Rolls back the transaction begin() opened, if SQLite has not already; the head is read again. */
  rollbackOpen(): void {
    try {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
    } finally {
      try {
        this.#head = this.#readHead();
      } catch {
        // Storage unreadable: keep the old head; the INSERT guard re-reads it before any write.
      }
    }
  }

  /**
   * Appends one row and returns it once committed, unless called inside transaction(): then it
   * is committed with the enclosing transaction. Throws JournalDataError (writing nothing) for
   * input that is not JSON-safe.
   */
  append(input: JournalInput | UncataloguedInput, options: AppendOptions = {}): JournalRow {
    const prepared = prepareInput(input, this.#version);
    const outbox = options.outbox ?? this.#outboxByDefault;
    return this.transaction(() => this.#insertRow(prepared, outbox));
  }

  /** Appends several rows in one transaction (all or none). */
  appendMany(
    inputs: readonly (JournalInput | UncataloguedInput)[],
    options: AppendOptions = {},
  ): JournalRow[] {
    const prepared = inputs.map((input) => prepareInput(input, this.#version));
    const outbox = options.outbox ?? this.#outboxByDefault;
    return this.transaction(() => prepared.map((p) => this.#insertRow(p, outbox)));
  }

  /**
   * Appends a declared gap: a `journal_truncated` or `journal_restored` row that takes seq
   * `lostThrough + 1`, skipping every seq from the head + 1 to `lostThrough` (its data's `lostFrom`
   * and `lostThrough` name them; they are set here). Its hash chains to the head. With `lostThrough`
   * at or below the head (or null: unknown) nothing is skipped and the row takes the next seq, with
   * the data it was given. Never reuses a seq: that is what it is for.
   */
  appendGap(
    input: JournalInput<'journal_truncated'> | JournalInput<'journal_restored'>,
    options: AppendOptions = {},
  ): JournalRow {
    const outbox = options.outbox ?? this.#outboxByDefault;
    return this.transaction(() => {
      this.#head = this.#readHead();
      const lostFrom = this.#head.seq + 1;
      const wanted = input.data.lostThrough;
      const skip = typeof wanted === 'number' && wanted >= lostFrom;
      const data = skip ? { ...input.data, lostFrom, lostThrough: wanted } : input.data;
      const prepared = prepareInput({ ...input, data } as JournalInput, this.#version);
      return this.#insertRow(prepared, outbox, skip ? wanted + 1 : undefined);
    });
  }

  #insertRow(p: PreparedInput, outbox: boolean, gapSeq?: number): JournalRow {
    for (let attempt = 0; ; attempt++) {
      const prev = this.#head;
      const seq = gapSeq ?? prev.seq + 1;
      const bytes = recordBytes(seq, p, p.dataJson, p.version);
      const hash = chainHash(prev.hash, bytes);
      const info = this.#insert.run(
        seq,
        p.at,
        p.type,
        p.door,
        p.person,
        p.actor,
        bytes,
        hash,
        prev.seq,
        prev.seq,
        prev.seq,
        prev.hash,
      );
      if (info.changes === 1) {
        if (p.secrets) {
          this.#insertSecretStmt ??= this.#db.prepare(
            'INSERT INTO journal_secrets (seq, path, nonce, value) VALUES (?, ?, ?, ?)',
          );
          for (const x of p.secrets) this.#insertSecretStmt.run([seq, x.path, x.nonce, x.value]);
        }
        if (outbox) this.#insertOutbox.run(seq);
        this.#head = { seq, hash };
        return storedRow({
          seq,
          id: `${this.controllerId}:${seq}`,
          type: p.type,
          at: p.at,
          door: p.door,
          person: p.person,
          actor: p.actor,
          data: p.clearData ?? (JSON.parse(p.dataJson) as Record<string, unknown>),
          hash,
          prevHash: prev.hash,
          bytes,
        });
      }
      if (attempt > 0)
        throw new Error('journal head changed underneath this writer; refusing to fork the chain');
      this.#head = this.#readHead();
    }
  }

  #readHead(): JournalHead {
    const row = this.#headStmt.get();
    return row ? { seq: row.seq, hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  head(): JournalHead {
    return { ...this.#head };
  }

  get(seq: number): JournalRow | undefined {
    const row = this.#getStmt.get(seq);
    return row ? this.#toRow(row) : undefined;
  }

  /** Rows in seq order from fromSeq, read in pages (the connection stays usable meanwhile). */
  *iterate(fromSeq = 1): IterableIterator<JournalRow> {
    let next = fromSeq;
    for (;;) {
      const page = this.#pageStmt.all(next, PAGE);
      for (const row of page) yield this.#toRow(row);
      if (page.length < PAGE) return;
      next = page[page.length - 1]!.seq + 1;
    }
  }

  /**
   * Rows matching the filter, newest first (by `at`, then `seq`), at most `limit`. Page with
   * `beforeSeq` = the seq of the last row of the previous page.
   */
  query(filter: JournalFilter): JournalRow[] {
    const { limit } = filter;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_LIMIT}`);
    }
    if (filter.types && filter.types.length === 0) return [];
    const { where, params } = journalFilterWhere(filter, 'j.');
    if (filter.beforeSeq !== undefined) {
      const cursor = this.#atOfStmt.get(filter.beforeSeq);
      if (cursor) {
        where.push('(j.at, j.seq) < (?, ?)');
        params.push(cursor.at, filter.beforeSeq);
      } else if (filter.beforeSeq <= this.#head.seq) {
        throw new RangeError(`beforeSeq ${filter.beforeSeq} is not a journal row`);
      }
    }
    const sql =
      `SELECT ${ROW_COLUMNS} FROM journal j` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY j.at DESC, j.seq DESC LIMIT ?';
    let stmt = this.#queryCache.get(sql);
    if (!stmt) {
      if (this.#queryCache.size > 64) this.#queryCache.clear();
      stmt = this.#db.prepare(sql);
      this.#queryCache.set(sql, stmt);
    }
    return (stmt.all([...params, limit]) as DbRow[]).map((row) => this.#toRow(row));
  }

  /** Outbox rows (with their journal rows) after afterSeq, in seq order. */
  outboxPeek(afterSeq = 0, limit = 100): JournalRow[] {
    return this.#outboxPeekStmt.all(afterSeq, limit).map((row) => this.#toRow(row));
  }

  /**
   * Removes delivered rows from the outbox in one transaction, committed without waiting for the
   * disk (synchronous=NORMAL for this commit only; WAL mode keeps the database consistent). A power
   * cut may forget the removal and the rows are delivered again — the outbox is at-least-once — but
   * the door's next commit no longer waits behind this one's fsync. The journal's own rows are
   * always committed with synchronous=FULL. Returns how many rows were removed.
   */
  outboxAckMany(seqs: readonly number[]): number {
    const db = this.#db;
    const ack = () => {
      let removed = 0;
      for (const seq of seqs) if (this.#outboxAckStmt.run(seq).changes === 1) removed++;
      return removed;
    };
    if (db.inTransaction) return ack(); // joins the caller's commit, whatever its durability
    const level = db.pragma('synchronous', { simple: true });
    db.pragma('synchronous = NORMAL');
    try {
      return this.transaction(ack);
    } finally {
      db.pragma(`synchronous = ${Number(level)}`);
    }
  }

  outboxCount(): number {
    return this.#outboxCountStmt.get()!.n;
  }

  /**
   * Outbox rows after afterSeq, whoever wrote them, and the highest seq among them (null if none).
   * A range on the primary key: it reads only those rows, however long the outbox is.
   */
  outboxCountAfter(afterSeq: number): { n: number; max: number | null } {
    return this.#outboxCountAfterStmt.get(afterSeq)!;
  }

  /**
   * Signs the current head with the device key and stores the checkpoint. If the head already
   * has one, that one is returned.
   */
  checkpoint(at: number, signingKey: KeyObject, keyId: string): Checkpoint {
    if (!Number.isSafeInteger(at) || at < 0) throw new JournalDataError('at must be UTC milliseconds');
    return this.transaction(() => {
      const head = this.#readHead();
      if (head.seq === 0) throw new Error('the journal is empty: nothing to checkpoint');
      const existing = this.#getCheckpoint.get(head.seq);
      if (existing) return toCheckpoint(existing);
      const unsigned = { seq: head.seq, hash: head.hash, at, controller: this.controllerId };
      const signature = sign(null, Buffer.from(checkpointBytes(unsigned), 'utf8'), signingKey).toString(
        'base64',
      );
      this.#insertCheckpoint.run(head.seq, head.hash, at, this.controllerId, signature, keyId);
      return { ...unsigned, signature, keyId };
    });
  }

  checkpoints(): Checkpoint[] {
    return this.#checkpointsStmt.all().map(toCheckpoint);
  }

  latestCheckpoint(): Checkpoint | undefined {
    const row = this.#latestCheckpointStmt.get();
    return row ? toCheckpoint(row) : undefined;
  }

  /** The previous hash of the first row after an archive base: the base's hash. */
  #archivedPrevHash(seq: number): string {
    if (seq <= 1) return GENESIS_HASH;
    const base = readArchiveBases(this.#db).find((b) => b.seq === seq - 1);
    return base?.hash ?? GENESIS_HASH;
  }

  /** The secrets kept beside a row (format v2), in path order. */
  sideSecrets(seq: number): SideSecret[] {
    this.#secretsStmt ??= this.#db.prepare(
      'SELECT path, nonce, value FROM journal_secrets WHERE seq = ? ORDER BY path',
    );
    return this.#secretsStmt.all(seq) as SideSecret[];
  }

  #toRow(row: DbRow): JournalRow {
    const rec = JSON.parse(row.bytes) as {
      at: number;
      type: string;
      door: string | null;
      person: string | null;
      actor: string | null;
      data: Record<string, unknown>;
    };
    return storedRow({
      seq: row.seq,
      id: `${this.controllerId}:${row.seq}`,
      type: rec.type,
      at: rec.at,
      door: rec.door,
      person: rec.person,
      actor: rec.actor,
      data: mayHoldCommitments(row.bytes) ? restoreSecrets(rec.data, this.sideSecrets(row.seq)) : rec.data,
      hash: row.hash,
      prevHash: row.prev_hash ?? this.#archivedPrevHash(row.seq),
      bytes: row.bytes,
    });
  }
}

/**
 * A row as written or read back, typed by its type: the one place a stored record gets its type. It
 * is trusted, not parsed (see JournalRow); this costs nothing on the door's path.
 */
function storedRow(row: StoredColumns & { type: string; data: Record<string, unknown> }): JournalRow {
  return row as StoredColumns & StoredRecord;
}

export function toCheckpoint(row: CheckpointRow): Checkpoint {
  return {
    seq: row.seq,
    hash: row.hash,
    at: row.at,
    controller: row.controller,
    signature: row.signature,
    keyId: row.key_id,
  };
}

export type { ArchiveBaseRow, CheckpointRow };
