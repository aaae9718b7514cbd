/**
 * The integrity page's work: the chain head and the last signed checkpoint (checked against the
 * device's public key and the row it names), "verify now" (the whole chain, in a child process so
 * the door never waits) and the signed evidence export for an auditor.
 *
 * Evidence export (`sekisho-evidence/1`, JSON lines):
 *   1. a header: controller, site, range, who exported it, the public key, the hash of the row
 *      before the range and the signed checkpoints inside it;
 *   2. one line per journal row in the seq range: `{seq, hash, bytes}` (bytes exactly as stored);
 *   3. a trailer: `{end: true, rows, sha256, signature}` — SHA-256 over every byte before the
 *      trailer, and an Ed25519 signature by the device key over `sekisho-evidence/1:<sha256>`.
 * `verifyEvidence()` checks all of it offline: signature, chain links and checkpoints.
 */
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dataFields, type RecordDataOf } from '../controller/domain/index.js';
import {
  type Checkpoint,
  chainHash,
  GENESIS_HASH,
  type Journal,
  publicKeyId,
  type VerifyResult,
  verifyCheckpoint,
} from '../controller/journal/index.js';

export type { ProtectionCheck } from '../controller/journal/index.js';

export const EVIDENCE_FORMAT = 'sekisho-evidence/1';

export interface VerificationRecord {
  at: number;
  by: string | null;
  result: Pick<
    VerifyResult,
    'ok' | 'rows' | 'headSeq' | 'firstBadSeq' | 'kind' | 'problem' | 'checkpoints'
  > & {
    /** sekisho verify's warnings (e.g. a protective trigger missing), when there were any. */
    warnings?: string[];
    /** false when a protective trigger was missing or altered. */
    protectionsIntact?: boolean;
  };
  ms: number;
}

export type Verifier = () => Promise<VerifyResult>;

/**
 * The default verifier: `verify-child` in a child process, on a read-only connection. Run from the
 * TypeScript sources (tests, development) the child is `verify-child.ts` under tsx; run from the
 * build (`npm run build`, as deployed) it is the plain `verify-child.js` beside this file, and
 * nothing loads tsx.
 */
export function childVerifier(dbFile: string, publicKey: KeyObject): Verifier {
  const fromSources = import.meta.url.endsWith('.ts');
  const script = join(import.meta.dirname, fromSources ? 'verify-child.ts' : 'verify-child.js');
  const loader = fromSources
    ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
    : [];
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return () =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...loader, script, dbFile], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(`verifier exited with ${code}: ${err.trim().slice(0, 500)}`));
        try {
          resolve(JSON.parse(out) as VerifyResult);
        } catch {
          reject(new Error(`verifier answered no JSON: ${out.slice(0, 200)}`));
        }
      });
      child.stdin.end(pem);
    });
}

export interface CheckpointStatus {
  checkpoint: Checkpoint | null;
  signatureValid: boolean;
  /** The journal row at the checkpoint's seq still has the signed hash. */
  matchesJournal: boolean;
  /** Rows written since the checkpoint. */
  rowsSince: number;
}

export class Integrity {
  readonly #journal: Journal;
  readonly #publicKey: KeyObject;
  readonly #verifier: Verifier;
  #running: Promise<VerificationRecord> | null = null;

  constructor(journal: Journal, publicKey: KeyObject, verifier: Verifier) {
    this.#journal = journal;
    this.#publicKey = publicKey;
    this.#verifier = verifier;
  }

  get running(): boolean {
    return this.#running !== null;
  }

  checkpointStatus(): CheckpointStatus {
    const cp = this.#journal.latestCheckpoint() ?? null;
    const head = this.#journal.head();
    if (!cp) return { checkpoint: null, signatureValid: false, matchesJournal: false, rowsSince: head.seq };
    const row = this.#journal.get(cp.seq);
    return {
      checkpoint: cp,
      signatureValid: verifyCheckpoint(cp, this.#publicKey),
      matchesJournal: row?.hash === cp.hash,
      rowsSince: head.seq - cp.seq,
    };
  }

  /** The last "verify now" recorded in the journal (one indexed read). */
  lastVerification(): VerificationRecord | null {
    const row = this.#journal.query({ types: ['journal_verified'], limit: 1 })[0];
    if (!row) return null;
    const d = dataFields(row);
    return {
      at: row.at,
      by: row.actor,
      ms: Number(d.ms ?? 0),
      result: {
        ok: d.ok === true,
        rows: Number(d.rows ?? 0),
        headSeq: Number(d.headSeq ?? 0),
        checkpoints: Number(d.checkpoints ?? 0),
        ...(typeof d.firstBadSeq === 'number' ? { firstBadSeq: d.firstBadSeq } : {}),
        ...(typeof d.kind === 'string' ? { kind: d.kind as VerifyResult['kind'] } : {}),
        ...(typeof d.problem === 'string' ? { problem: d.problem } : {}),
        ...(Array.isArray(d.warnings) ? { warnings: d.warnings.map(String) } : {}),
        ...(d.protectionsIntact === false ? { protectionsIntact: false } : {}),
      },
    };
  }

  /**
   * Walks the whole chain (one run at a time; a second caller shares it) and records the outcome
   * as a `journal_verified` row by `actor`.
   */
  verifyNow(
    actor: string,
    now: () => number,
    record: (data: RecordDataOf<'journal_verified'>) => void,
  ): Promise<VerificationRecord> {
    if (this.#running) return this.#running;
    const run = (async (): Promise<VerificationRecord> => {
      await Promise.resolve();
      const t0 = now();
      const r = await this.#verifier();
      const ms = Math.max(0, now() - t0);
      const summary = {
        ok: r.ok,
        rows: r.rows,
        headSeq: r.headSeq,
        checkpoints: r.checkpoints,
        ...(r.firstBadSeq !== undefined ? { firstBadSeq: r.firstBadSeq } : {}),
        ...(r.kind !== undefined ? { kind: r.kind } : {}),
        ...(r.problem !== undefined ? { problem: r.problem } : {}),
        ...(r.warnings.length > 0 ? { warnings: r.warnings } : {}),
        // An older verifier child (during an upgrade) reports no protections: say nothing then.
        ...(r.protections && !r.protections.intact ? { protectionsIntact: false } : {}),
      };
      record({ ...summary, ms });
      return { at: now(), by: actor, ms, result: summary };
    })();
    this.#running = run.finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** The seq range of the rows in [from, to) (by time, widened to whole seqs), or null if none. */
  seqRange(from: number, to: number): { fromSeq: number; toSeq: number } | null {
    const last = this.#journal.query({ from, to, limit: 1 })[0];
    if (!last) return null;
    const before = this.#journal.query({ to: from, limit: 1 })[0];
    const fromSeq = Math.min((before?.seq ?? 0) + 1, last.seq);
    return { fromSeq, toSeq: last.seq };
  }

  /** The signed export of rows fromSeq..toSeq as JSON lines, produced page by page. */
  async *exportEvidence(opts: {
    fromSeq: number;
    toSeq: number;
    controller: string;
    site: string;
    exportedAt: number;
    exportedBy: string;
    signingKey: KeyObject;
    keyId: string;
  }): AsyncGenerator<string> {
    const sha = createHash('sha256');
    const emit = (line: string) => {
      const text = `${line}\n`;
      sha.update(text, 'utf8');
      return text;
    };
    // The first exported row carries its own prevHash (the archive base's hash after archiving).
    const prev = this.#journal.get(opts.fromSeq)?.prevHash ?? GENESIS_HASH;
    const checkpoints = this.#journal
      .checkpoints()
      .filter((c) => c.seq >= opts.fromSeq && c.seq <= opts.toSeq);
    yield emit(
      JSON.stringify({
        format: EVIDENCE_FORMAT,
        controller: opts.controller,
        site: opts.site,
        fromSeq: opts.fromSeq,
        toSeq: opts.toSeq,
        prevHash: prev,
        exportedAt: opts.exportedAt,
        exportedBy: opts.exportedBy,
        keyId: opts.keyId,
        publicKey: this.#publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        checkpoints,
      }),
    );
    let rows = 0;
    let buf = '';
    for (const row of this.#journal.iterate(opts.fromSeq)) {
      if (row.seq > opts.toSeq) break;
      buf += emit(JSON.stringify({ seq: row.seq, hash: row.hash, bytes: row.bytes }));
      rows++;
      if (rows % 500 === 0) {
        yield buf;
        buf = '';
        await new Promise((r) => setImmediate(r));
      }
    }
    if (buf) yield buf;
    const digest = sha.digest('hex');
    const signature = sign(
      null,
      Buffer.from(`${EVIDENCE_FORMAT}:${digest}`, 'utf8'),
      opts.signingKey,
    ).toString('base64');
    yield `${JSON.stringify({ end: true, rows, sha256: digest, signature })}\n`;
  }
}

/** An evidence export that verifies: `status` says whether against a pinned key (docs/api.md). */
export interface EvidenceVerified {
  ok: true;
  rows: number;
  keyId: string;
  /**
   * `intact`: checked with the pinned public key given. `intact_key_not_pinned`: checked only with
   * the key the export carries — which whoever made a forged export put there too: it proves the
   * export is self-consistent, not that the device signed it.
   */
  status: 'intact' | 'intact_key_not_pinned';
  keyPinned: boolean;
  /** Said whenever the key was not pinned; compare `keyId` with the pinned copy (docs/roles.md). */
  warnings: string[];
}

/**
 * Checks an evidence export offline: the trailer's signature (with `publicKeyPem` if given, else the
 * key in the header — then the result says `key not pinned` loudly), each row's hash and its link
 * to the previous one, and every checkpoint inside the range.
 */
export function verifyEvidence(
  text: string,
  publicKeyPem?: string,
): EvidenceVerified | { ok: false; problem: string } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < 2) return { ok: false, problem: 'too short' };
  const trailerLine = lines.pop()!;
  let header: Record<string, unknown>;
  let trailer: Record<string, unknown>;
  try {
    header = JSON.parse(lines[0]!) as Record<string, unknown>;
    trailer = JSON.parse(trailerLine) as Record<string, unknown>;
  } catch {
    return { ok: false, problem: 'not JSON lines' };
  }
  if (header.format !== EVIDENCE_FORMAT) return { ok: false, problem: 'unknown format' };
  const body = lines.map((l) => `${l}\n`).join('');
  const digest = createHash('sha256').update(body, 'utf8').digest('hex');
  if (trailer.sha256 !== digest) return { ok: false, problem: 'the content does not match its SHA-256' };
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem ?? String(header.publicKey));
  } catch {
    return { ok: false, problem: 'bad public key' };
  }
  if (
    !verify(
      null,
      Buffer.from(`${EVIDENCE_FORMAT}:${digest}`, 'utf8'),
      key,
      Buffer.from(String(trailer.signature), 'base64'),
    )
  )
    return { ok: false, problem: 'the signature does not verify' };
  let prev = typeof header.prevHash === 'string' ? header.prevHash : null;
  let expectSeq = Number(header.fromSeq);
  const hashes = new Map<number, string>();
  for (const line of lines.slice(1)) {
    const r = JSON.parse(line) as { seq: number; hash: string; bytes: string };
    if (r.seq !== expectSeq) return { ok: false, problem: `row ${expectSeq} is missing` };
    const inner = JSON.parse(r.bytes) as { seq?: number };
    if (inner.seq !== r.seq) return { ok: false, problem: `row ${r.seq}: its bytes name seq ${inner.seq}` };
    if (prev !== null && chainHash(prev, r.bytes) !== r.hash)
      return { ok: false, problem: `row ${r.seq}: the hash chain is broken` };
    hashes.set(r.seq, r.hash);
    prev = r.hash;
    expectSeq++;
  }
  if (lines.length - 1 !== trailer.rows) return { ok: false, problem: 'the row count does not match' };
  for (const cp of (header.checkpoints ?? []) as Checkpoint[]) {
    if (!verifyCheckpoint(cp, key)) return { ok: false, problem: `checkpoint ${cp.seq}: bad signature` };
    if (hashes.has(cp.seq) && hashes.get(cp.seq) !== cp.hash)
      return { ok: false, problem: `checkpoint ${cp.seq}: the row's hash differs from the signed one` };
  }
  // The id of the key that verified, not the header's claim.
  const keyId = publicKeyId(key);
  const pinned = publicKeyPem !== undefined;
  return {
    ok: true,
    rows: lines.length - 1,
    keyId,
    status: pinned ? 'intact' : 'intact_key_not_pinned',
    keyPinned: pinned,
    warnings: pinned
      ? []
      : [
          `key not pinned: checked with the public key inside the export (key id ${keyId}), which a forger would put there too; ` +
            'give the pinned public key (kept off the device, docs/roles.md) to prove the device signed it',
        ],
  };
}
