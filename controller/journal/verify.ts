// One cohesive thing: the chain walk and the diagnosis of its first bad row share one decoding of
// the stored rows; split them and the verifier no longer reads as one.
/**
 * `sekisho verify`: walks the journal in seq order, recomputing the hash chain, and names the first
 * row that was changed, removed, inserted or reordered. Checkpoints (the local table and any
 * copies published off the device) are checked for their signature and against the chain, which
 * also detects truncation and a re-hashed (rewritten) chain.
 */
import type { KeyObject } from 'node:crypto';
import Database from 'better-sqlite3';
import { GAP_RECORD_TYPES, type GapRecordType } from '../domain/records-evidence.js';
import { visibleText } from '../domain/text.js';
import { checkSideSecrets, type SideSecret } from './commitments.js';
import { MIGRATIONS, migrate, type SqliteDatabase, schemaVersion } from './db.js';
import {
  type ArchiveBase,
  type Checkpoint,
  type CheckpointRow,
  canonicalJson,
  chainHash,
  GENESIS_HASH,
  mayHoldCommitments,
  RECORD_VERSIONS,
  readArchiveBases,
  recordBytes,
  toCheckpoint,
  verifyArchiveBase,
} from './journal.js';
import { publicKeyId } from './secrets.js';
import { startSignatureCheck } from './signature-check.js';

export type VerifyProblemKind =
  /** A seq is absent: a row was deleted. */
  | 'missing'
  /** A row that was never appended sits in the chain (later rows renumbered, or a bad hash). */
  | 'inserted'
  /** A row holds the bytes of another seq: rows swapped, renumbered or removed and renumbered. */
  | 'reordered'
  /** The bytes of a row were edited (its stored hash no longer matches). */
  | 'bytes_altered'
  /** The hash column of a row was edited. */
  | 'hash_altered'
  /** The hash does not match prevHash ‖ bytes and the cause cannot be narrowed down. */
  | 'hash_mismatch'
  /** An indexed column (at, type, door, person, actor) differs from the row's bytes. */
  | 'column_altered'
  /** The bytes are not a canonical record although the hash matches (forged with a recomputed hash). */
  | 'malformed'
  /** A checkpoint's signature does not verify with the given public key. */
  | 'checkpoint_signature'
  /** A row's hash differs from a signed checkpoint: the chain up to it was rewritten. */
  | 'checkpoint_mismatch'
  /** A checkpoint covers rows the journal no longer has: the journal was truncated. */
  | 'truncated'
  /** An archive base's signature does not verify: it was altered or forged. */
  | 'archive_base_signature'
  /**
   * Format v2: a secret kept beside a row does not open the commitment in the row's bytes, is
   * missing, or is kept for a row or path that has none: the side table was altered.
   */
  | 'secret_altered';

export interface VerifyOptions {
  /** The device's public key. Without it, checkpoint signatures are not checked. */
  publicKey?: KeyObject;
  /** This controller's checkpoints kept off the device (MQTT retained topic, exports), checked like local ones. */
  trustedCheckpoints?: readonly Checkpoint[];
  /** Called every 50,000 rows with the rows checked so far and the head seq. */
  onProgress?: (rows: number, headSeq: number) => void;
}

export interface VerifyResult {
  ok: boolean;
  /** Rows checked (up to the first problem). */
  rows: number;
  /** The last row in the table (as stored, whether or not it verifies). */
  headSeq: number;
  headHash: string;
  /** The first bad seq: a missing seq for a deletion, the intruder for an insertion. */
  firstBadSeq?: number;
  kind?: VerifyProblemKind;
  /** One sentence for people. */
  problem?: string;
  /** The checkpoint at fault, for checkpoint problems. */
  checkpointSeq?: number;
  /** Checkpoints checked (local and trusted). */
  checkpoints: number;
  signaturesChecked: boolean;
  /** Findings that are not proof of tampering, e.g. a missing protective trigger (one sentence each). */
  warnings: string[];
  /** Whether the database still refuses changes: its protective triggers as the migrations create them. */
  protections: ProtectionCheck;
  /** The latest archive base: the live chain starts after it (rows up to it are in archive files). */
  archiveBase?: Pick<ArchiveBase, 'seq' | 'hash' | 'at' | 'archiveSha256'>;
  /**
   * Every declared gap walked (`journal_truncated`, `journal_restored` rows), in seq order: the rows
   * `lostFrom` to `lostThrough` are gone and the journal says so (null: unknown how many).
   */
  gaps: DeclaredGap[];
}

/** A gap row as verify reports it. */
export interface DeclaredGap {
  seq: number;
  type: GapRecordType;
  at: number;
  actor: string | null;
  lostFrom: number;
  lostThrough: number | null;
}

type RawRow = [
  seq: number,
  at: unknown,
  type: unknown,
  door: unknown,
  person: unknown,
  actor: unknown,
  bytes: unknown,
  hash: unknown,
];

interface Finding {
  seq: number;
  kind: VerifyProblemKind;
  problem: string;
}

const PAGE = 1000; // measured: small pages beat both big pages and .iterate()
const PROGRESS_EVERY = 50_000;
export function verifyJournal(db: SqliteDatabase, options: VerifyOptions = {}): VerifyResult {
  const own = !db.inTransaction;
  if (own) db.exec('BEGIN'); // one read snapshot for rows and checkpoints alike
  try {
    return run(db, options);
  } finally {
    if (own) db.exec('COMMIT');
  }
}

function run(db: SqliteDatabase, options: VerifyOptions): VerifyResult {
  const head = db
    .prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1')
    .get();
  const result: VerifyResult = {
    ok: true,
    rows: 0,
    headSeq: head?.seq ?? 0,
    headHash: typeof head?.hash === 'string' ? head.hash : GENESIS_HASH,
    checkpoints: 0,
    signaturesChecked: options.publicKey !== undefined,
    warnings: [],
    protections: checkProtections(db),
    gaps: [],
  };
  result.warnings.push(...result.protections.warnings);
  const fail = (f: Finding, checkpointSeq?: number): VerifyResult => {
    result.ok = false;
    result.firstBadSeq = f.seq;
    result.kind = f.kind;
    result.problem = f.problem;
    if (checkpointSeq !== undefined) result.checkpointSeq = checkpointSeq;
    return result;
  };

  // Checkpoints: signatures first, then sorted by seq for the walk.
  const local = db
    .prepare<[], CheckpointRow>('SELECT * FROM checkpoints ORDER BY seq')
    .all()
    .map(toCheckpoint);
  // Off-device ones first at an equal seq: a re-signed local copy must not count as "last matched".
  const checkpoints = [...(options.trustedCheckpoints ?? []), ...local].sort((a, b) => a.seq - b.seq);
  result.checkpoints = checkpoints.length;
  // Archive bases: every one must be signed by the device; the live chain starts after the latest.
  const bases = readArchiveBases(db);
  const base = bases.at(-1);
  if (base) {
    result.archiveBase = { seq: base.seq, hash: base.hash, at: base.at, archiveSha256: base.archiveSha256 };
    if (!head) {
      result.headSeq = base.seq;
      result.headHash = base.hash;
    }
  }
  if (options.publicKey) {
    const expectedKeyId = publicKeyId(options.publicKey);
    for (const b of bases) {
      if (!verifyArchiveBase(b, options.publicKey)) {
        const key = b.keyId === expectedKeyId ? '' : ` (it names key ${b.keyId}, expected ${expectedKeyId})`;
        return fail({
          seq: b.seq,
          kind: 'archive_base_signature',
          problem:
            `the archive base at seq ${b.seq} does not carry a valid signature${key}: it was altered or forged, ` +
            `so rows 1 to ${b.seq} may have been deleted without being archived`,
        });
      }
    }
  }
  // Checkpoint signatures are checked by a worker thread while this thread walks the chain (and
  // then helps with the rest); a bad signature is reported before any finding of the walk.
  const signatures = options.publicKey ? startSignatureCheck(checkpoints, options.publicKey) : null;
  const walked = walk(db, result, checkpoints, base, options, fail);
  const bad = signatures ? signatures.finish() : -1;
  if (bad >= 0) {
    const cp = checkpoints[bad]!;
    const expectedKeyId = publicKeyId(options.publicKey!);
    const key = cp.keyId === expectedKeyId ? '' : ` (it names key ${cp.keyId}, expected ${expectedKeyId})`;
    return fail(
      {
        seq: cp.seq,
        kind: 'checkpoint_signature',
        problem: `the checkpoint at seq ${cp.seq} does not carry a valid signature${key}: it was altered or forged`,
      },
      cp.seq,
    );
  }
  return walked;
}

/** The walk over the rows in seq order: the chain, the columns, and the checkpoints' hashes. */
function walk(
  db: SqliteDatabase,
  result: VerifyResult,
  checkpoints: readonly Checkpoint[],
  base: ArchiveBase | undefined,
  options: VerifyOptions,
  fail: (f: Finding, checkpointSeq?: number) => VerifyResult,
): VerifyResult {
  const page = db
    .prepare<[number, number]>(
      'SELECT seq, at, type, door, person, actor, bytes, hash FROM journal WHERE seq > ? ORDER BY seq LIMIT ?',
    )
    .raw();
  const one = db
    .prepare<[number]>('SELECT seq, at, type, door, person, actor, bytes, hash FROM journal WHERE seq = ?')
    .raw();
  const fetch = (seq: number): RawRow | undefined => one.get(seq) as RawRow | undefined;

  let expected = base ? base.seq + 1 : 1;
  let prev1 = base ? base.hash : GENESIS_HASH; // hash of row expected - 1
  let prev2: string | null = null; // hash of row expected - 2 (GENESIS_HASH for expected = 2)
  let cpIndex = 0;
  let lastMatched = 0;
  let after = base ? base.seq : Number.MIN_SAFE_INTEGER;
  if (base) {
    // Checkpoints at or below the base cover archived rows: only the one at the base can be compared.
    while (cpIndex < checkpoints.length && checkpoints[cpIndex]!.seq <= base.seq) {
      const cp = checkpoints[cpIndex]!;
      if (cp.seq === base.seq && cp.hash !== base.hash) {
        return fail(
          {
            seq: cp.seq,
            kind: 'checkpoint_mismatch',
            problem: `the archive base at seq ${base.seq} differs from the checkpoint signed at ${iso(cp.at)} for that seq`,
          },
          cp.seq,
        );
      }
      lastMatched = cp.seq;
      cpIndex++;
    }
    const leftover = db
      .prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM journal WHERE seq <= ?')
      .get(base.seq)!.n;
    if (leftover > 0)
      result.warnings.push(
        `${leftover} row(s) at or below the archive base (seq ${base.seq}) are still in the table; they were archived and are not checked here`,
      );
  }
  let nextProgress = PROGRESS_EVERY;
  const secrets = readSideSecrets(db);

  for (;;) {
    const rows = page.all(after, PAGE) as RawRow[];
    for (const row of rows) {
      const seq = row[0];
      const gapType = isGapType(row[2]) ? row[2] : null;
      let declared: DeclaredGap | null = null;
      if (gapType) {
        // A declared gap: accepted only when its data names exactly the seqs it skips.
        const gap = declaredGap(row, gapType, expected);
        if (typeof gap === 'string') return fail({ seq: expected, kind: 'missing', problem: gap });
        declared = gap;
        if (seq > expected) prev2 = null; // no row at seq - 1 to compare with
      }
      if (seq !== expected && !(gapType && seq > expected)) {
        if (seq > expected) {
          const range = seq - expected > 1 ? `rows ${expected} to ${seq - 1} are` : `row ${expected} is`;
          return fail({
            seq: expected,
            kind: 'missing',
            problem: `${range} missing: deleted from the journal`,
          });
        }
        return fail({
          seq,
          kind: 'inserted',
          problem: `a row with seq ${seq} was inserted before the start of the chain`,
        });
      }
      const bytes = row[6];
      const hash = row[7];
      const fast =
        typeof bytes === 'string' &&
        typeof row[1] === 'number' &&
        RECORD_VERSIONS.includes(bytes.charCodeAt(5) - 48) &&
        bytes.startsWith(expectedPrefix(row, bytes.charCodeAt(5) - 48)) &&
        bytes.charCodeAt(bytes.length - 1) === 125 &&
        chainHash(prev1, bytes) === hash;
      if (!fast) {
        const finding = diagnose(row, prev1, prev2, fetch);
        if (finding) return fail(finding);
      }
      const side = secrets.get(seq);
      if (side || (typeof bytes === 'string' && mayHoldCommitments(bytes))) {
        const finding = checkRowSecrets(seq, bytes as string, side ?? []);
        if (finding) return fail(finding);
        secrets.delete(seq);
      }
      while (cpIndex < checkpoints.length && checkpoints[cpIndex]!.seq <= seq) {
        const cp = checkpoints[cpIndex]!;
        if (cp.seq === seq && cp.hash !== hash) {
          return fail(
            {
              seq,
              kind: 'checkpoint_mismatch',
              problem:
                `row ${seq}'s hash differs from the checkpoint signed at ${iso(cp.at)}: ` +
                `the chain after seq ${lastMatched} was rewritten and re-hashed`,
            },
            cp.seq,
          );
        }
        lastMatched = cp.seq;
        cpIndex++;
      }
      if (declared) result.gaps.push(declared);
      prev2 = prev1;
      prev1 = hash as string;
      expected = seq + 1;
      result.rows++;
      if (result.rows >= nextProgress) {
        nextProgress += PROGRESS_EVERY;
        options.onProgress?.(result.rows, result.headSeq);
      }
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1]![0];
  }

  for (const seq of secrets.keys()) {
    if (base && seq <= base.seq) continue; // left behind by an archive; verify warns about such rows
    return fail({
      seq,
      kind: 'secret_altered',
      problem: `a secret is kept beside seq ${seq}, which is not a journal row: the side table was altered`,
    });
  }
  if (base && expected === base.seq + 1) {
    // The head row is never archived: a live chain with no row after its base lost its rows.
    return fail({
      seq: expected,
      kind: 'missing',
      problem: `no row follows the archive base at seq ${base.seq}: rows from seq ${expected} on were deleted`,
    });
  }
  const beyond = checkpoints[cpIndex];
  if (beyond) {
    const last = expected - 1;
    return fail(
      {
        seq: last + 1,
        kind: 'truncated',
        problem:
          `the journal ends at seq ${last}, but a checkpoint signed at ${iso(beyond.at)} covers seq ${beyond.seq}: ` +
          `rows ${last + 1} to ${beyond.seq} were removed (truncated)`,
      },
      beyond.seq,
    );
  }
  options.onProgress?.(result.rows, result.headSeq);
  return result;
}

/** The side secrets by seq ({} for a schema before version 8, which has none). */
function readSideSecrets(db: SqliteDatabase): Map<number, SideSecret[]> {
  const bySeq = new Map<number, SideSecret[]>();
  const table = db
    .prepare<[], { n: number }>(
      "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'journal_secrets'",
    )
    .get();
  if (!table || table.n === 0) return bySeq;
  const rows = db
    .prepare<[], SideSecret & { seq: number }>(
      'SELECT seq, path, nonce, value FROM journal_secrets ORDER BY seq, path',
    )
    .all();
  for (const { seq, ...s } of rows) {
    const list = bySeq.get(seq);
    if (list) list.push(s);
    else bySeq.set(seq, [s]);
  }
  return bySeq;
}

/** A row's side secrets against the commitments in its bytes (format v2). */
function checkRowSecrets(seq: number, bytes: string, side: readonly SideSecret[]): Finding | null {
  const rec = parse(bytes);
  if (rec?.v !== 2) {
    return {
      seq,
      kind: 'secret_altered',
      problem: `secrets are kept beside row ${seq}, a format v${String(rec?.v)} row that commits none: the side table was altered`,
    };
  }
  const problems = checkSideSecrets(rec.data, side);
  if (problems.length === 0) return null;
  return {
    seq,
    kind: 'secret_altered',
    problem: `row ${seq} (${String(rec.type)}): ${problems.join('; ')}: the side table of secrets was altered`,
  };
}

function isGapType(type: unknown): type is GapRecordType {
  return (GAP_RECORD_TYPES as readonly unknown[]).includes(type);
}

/** The gap a gap row declares, or why it is not a valid declaration. */
function declaredGap(row: RawRow, type: GapRecordType, expected: number): DeclaredGap | string {
  const seq = row[0];
  const rec = parse(row[6]);
  const data = (rec?.data ?? {}) as { lostFrom?: unknown; lostThrough?: unknown };
  const { lostFrom, lostThrough } = data;
  const at = typeof rec?.at === 'number' ? rec.at : 0;
  const actor = typeof rec?.actor === 'string' ? rec.actor : null;
  if (seq > expected) {
    const range = seq - expected > 1 ? `rows ${expected} to ${seq - 1} are` : `row ${expected} is`;
    if (lostFrom !== expected || lostThrough !== seq - 1)
      return (
        `${range} missing: the ${type} row at seq ${seq} skips them but declares ` +
        `${JSON.stringify(lostFrom)} to ${JSON.stringify(lostThrough)}, not exactly that range (forged or altered)`
      );
    return { seq, type, at, actor, lostFrom: expected, lostThrough: seq - 1 };
  }
  return {
    seq,
    type,
    at,
    actor,
    lostFrom: typeof lostFrom === 'number' ? lostFrom : seq,
    lostThrough: typeof lostThrough === 'number' ? lostThrough : null,
  };
}

function expectedPrefix(row: RawRow, version: number): string {
  return (
    `{"v":${version},"seq":${row[0]},"at":${row[1]},"type":${JSON.stringify(row[2])},` +
    `"door":${row[3] === null ? 'null' : JSON.stringify(row[3])},` +
    `"person":${row[4] === null ? 'null' : JSON.stringify(row[4])},` +
    `"actor":${row[5] === null ? 'null' : JSON.stringify(row[5])},"data":{`
  );
}

type Parsed = {
  v?: unknown;
  seq?: unknown;
  at?: unknown;
  type?: unknown;
  door?: unknown;
  person?: unknown;
  actor?: unknown;
  data?: unknown;
};

function parse(bytes: unknown): Parsed | undefined {
  if (typeof bytes !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(bytes);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Parsed)
      : undefined;
  } catch {
    return undefined;
  }
}

function seqOf(bytes: unknown): number | undefined {
  const seq = parse(bytes)?.seq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : undefined;
}

function hashOf(prev: string, bytes: unknown): string | undefined {
  if (typeof bytes === 'string') return chainHash(prev, bytes);
  if (Buffer.isBuffer(bytes)) return chainHash(prev, bytes.toString('utf8'));
  return undefined;
}

/** The slow path: the row failed the fast check; find out what is wrong, or return null if nothing. */
function diagnose(
  row: RawRow,
  prev1: string,
  prev2: string | null,
  fetch: (seq: number) => RawRow | undefined,
): Finding | null {
  const [seq, , , , , , bytes, hash] = row;
  const rec = parse(bytes);
  const bytesSeq = seqOf(bytes);

  if (bytesSeq !== undefined && bytesSeq !== seq) {
    if (bytesSeq === seq - 1 && prev2 !== null && hashOf(prev2, bytes) === hash) {
      return {
        seq: seq - 1,
        kind: 'inserted',
        problem:
          `row ${seq - 1} was inserted: row ${seq} holds the original bytes of seq ${seq - 1} and chains ` +
          `directly from row ${seq - 2}; the rows after the intruder were renumbered`,
      };
    }
    const next = fetch(seq + 1);
    const nextSeq = next ? seqOf(next[6]) : undefined;
    if (bytesSeq === seq + 1 && nextSeq === seq) {
      return {
        seq,
        kind: 'reordered',
        problem: `rows ${seq} and ${seq + 1} were swapped (each holds the other's bytes)`,
      };
    }
    if (bytesSeq === seq + 1 && nextSeq === seq + 2) {
      return {
        seq,
        kind: 'reordered',
        problem: `the original row ${seq} was removed and the later rows renumbered (row ${seq} holds the bytes of seq ${seq + 1})`,
      };
    }
    return {
      seq,
      kind: 'reordered',
      problem: `row ${seq} holds the bytes of seq ${bytesSeq}: rows were reordered, renumbered or removed`,
    };
  }

  const computed = hashOf(prev1, bytes);
  if (computed !== hash) {
    const next = fetch(seq + 1);
    if (next) {
      const nextBytes = next[6];
      if (seqOf(nextBytes) === seq && hashOf(prev1, nextBytes) === next[7]) {
        return {
          seq,
          kind: 'inserted',
          problem: `row ${seq} was inserted: row ${seq + 1} holds the original bytes of seq ${seq} and chains from row ${seq - 1}`,
        };
      }
      if (typeof hash === 'string' && hashOf(hash, nextBytes) === next[7]) {
        return {
          seq,
          kind: 'bytes_altered',
          problem:
            `the bytes of row ${seq} were altered: they no longer match its hash, from which row ${seq + 1} ` +
            `still chains (or row ${seq - 1} was altered and its hash recomputed)`,
        };
      }
      if (computed !== undefined && hashOf(computed, nextBytes) === next[7]) {
        return {
          seq,
          kind: 'hash_altered',
          problem: `the hash column of row ${seq} was altered: its bytes are intact and row ${seq + 1} chains from their true hash`,
        };
      }
    }
    return {
      seq,
      kind: 'hash_mismatch',
      problem:
        `row ${seq}: the hash is not SHA-256(prevHash ‖ bytes): its bytes or hash were altered` +
        (seq > 1 ? `, or row ${seq - 1} was altered and its hash recomputed` : ''),
    };
  }

  // The chain holds; the row must also be a canonical record whose columns match its bytes.
  if (
    !rec ||
    !RECORD_VERSIONS.includes(rec.v as number) ||
    typeof rec.data !== 'object' ||
    rec.data === null
  ) {
    return {
      seq,
      kind: 'malformed',
      problem: `row ${seq} is not a canonical record although its hash matches: forged`,
    };
  }
  const columns = ['at', 'type', 'door', 'person', 'actor'] as const;
  for (let i = 0; i < columns.length; i++) {
    const name = columns[i]!;
    const column = row[i + 1];
    if (column !== rec[name]) {
      return {
        seq,
        kind: 'column_altered',
        problem: `row ${seq}: column ${name} is ${JSON.stringify(column)} but its recorded bytes say ${JSON.stringify(rec[name])}`,
      };
    }
  }
  let canonical: string | undefined;
  try {
    canonical = recordBytes(
      seq,
      rec as Parameters<typeof recordBytes>[1],
      canonicalJson(rec.data),
      rec.v as number,
    );
  } catch {
    canonical = undefined;
  }
  if (canonical !== bytes) {
    return {
      seq,
      kind: 'malformed',
      problem: `row ${seq} is not in canonical form although its hash matches: forged`,
    };
  }
  return null;
}

function iso(at: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? String(at) : d.toISOString();
}

// -------------------------------------------------------------------------------------------------
// Protective triggers

export interface TriggerProblem {
  /** The trigger's name. */
  name: string;
  /** The table it is (or was) on. */
  table: string;
  /** missing: dropped; altered: its SQL differs from the migration's; unexpected: no migration creates it. */
  problem: 'missing' | 'altered' | 'unexpected';
}

export interface ProtectionCheck {
  /** Every trigger the migrations create is present with the migrations' SQL, and no other is on their tables. */
  intact: boolean;
  /** The schema version the triggers were compared with (above user_version when that was lowered). */
  schemaVersion: number;
  /** The database's own `user_version`. */
  recordedVersion: number;
  problems: TriggerProblem[];
  /** One sentence per problem, for people (also in VerifyResult.warnings). */
  warnings: string[];
}

interface SchemaObject {
  type: string;
  table: string;
  sql: string;
}

const expectedSchemas = new Map<number, Map<string, SchemaObject>>();

/**
 * The schema objects the first `version` migrations create, read back from an in-memory database
 * migrated with the very migrations of db.ts: a trigger changed there needs no second edit here.
 */
function expectedSchema(version: number): Map<string, SchemaObject> {
  let schema = expectedSchemas.get(version);
  if (!schema) {
    const mem = new Database(':memory:');
    try {
      migrate(mem, MIGRATIONS.slice(0, version), 'expected schema');
      schema = schemaObjects(mem);
    } finally {
      mem.close();
    }
    expectedSchemas.set(version, schema);
  }
  return schema;
}

function schemaObjects(db: SqliteDatabase): Map<string, SchemaObject> {
  const rows = db
    .prepare<[], { type: string; name: string; tbl_name: string; sql: string | null }>(
      "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table', 'index', 'trigger')",
    )
    .all();
  return new Map(rows.map((r) => [r.name, { type: r.type, table: r.tbl_name, sql: r.sql ?? '' }]));
}

/** SQL compared without regard to layout: runs of whitespace count as one space. */
function normalisedSql(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}

/** The found SQL as shown in a warning: shortened, and no control character reaches a terminal. */
function shownSql(sql: string): string {
  return visibleText(normalisedSql(sql)).slice(0, 300);
}

/**
 * Compares the database's triggers with those its migrations create: each must be present with the
 * same SQL (whitespace-normalised), and no other trigger may sit on the tables they guard. A
 * lowered `user_version` does not hide later migrations' triggers: the version is raised to the
 * newest one whose tables, indexes or triggers the database holds.
 */
export function checkProtections(db: SqliteDatabase): ProtectionCheck {
  const actual = schemaObjects(db);
  const recorded = schemaVersion(db);
  let version = Math.min(recorded, MIGRATIONS.length);
  for (let v = MIGRATIONS.length; v > version; v--) {
    const before = expectedSchema(v - 1);
    // Objects version v added or re-created (a trigger replaced under its old name counts).
    const made = [...expectedSchema(v)].filter(
      ([name, o]) => normalisedSql(before.get(name)?.sql ?? '') !== normalisedSql(o.sql),
    );
    if (made.some(([name, o]) => normalisedSql(actual.get(name)?.sql ?? '') === normalisedSql(o.sql))) {
      version = v;
      break;
    }
  }
  const expected = expectedSchema(version);
  const problems: TriggerProblem[] = [];
  const warnings: string[] = [];
  if (version > recorded)
    warnings.push(
      `the schema version was lowered to ${recorded}, but the database holds objects of version ${version}: ` +
        `someone changed the schema (its triggers are compared with version ${version})`,
    );
  const guarded = new Set<string>();
  for (const [name, want] of expected) {
    if (want.type !== 'trigger') continue;
    guarded.add(want.table);
    const found = actual.get(name);
    if (found?.type !== 'trigger') {
      problems.push({ name, table: want.table, problem: 'missing' });
      warnings.push(
        `protective trigger ${name} is missing: the database no longer refuses what it guarded on table ${want.table}; someone changed the schema`,
      );
    } else if (found.table !== want.table || normalisedSql(found.sql) !== normalisedSql(want.sql)) {
      problems.push({ name, table: want.table, problem: 'altered' });
      warnings.push(
        `protective trigger ${name} is altered: its SQL differs from the one schema version ${version} creates ` +
          `(found: ${shownSql(found.sql)}); someone changed the schema`,
      );
    }
  }
  for (const [name, found] of actual) {
    if (found.type !== 'trigger' || expected.has(name) || !guarded.has(found.table)) continue;
    problems.push({ name, table: found.table, problem: 'unexpected' });
    warnings.push(
      `trigger ${name} on table ${found.table} is not one the schema creates: someone changed the schema ` +
        `(found: ${shownSql(found.sql)})`,
    );
  }
  return {
    intact: problems.length === 0 && version === recorded,
    schemaVersion: version,
    recordedVersion: recorded,
    problems,
    warnings,
  };
}
