/** Continuity across archives: archive → archive → live journal (`sekisho verify --archives`). */
import type { KeyObject } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { iso } from './archive.js';
import { ARCHIVE_MAGIC, type ArchiveManifest, verifyArchiveFile } from './archive-file.js';
import type { SqliteDatabase } from './db.js';
import { type Checkpoint, GENESIS_HASH, readArchiveBases } from './journal.js';
import { type VerifyResult, verifyJournal } from './verify.js';

export interface ArchiveChainCheck {
  ok: boolean;
  /** The archives found, oldest first. */
  archives: { file: string; manifest: ArchiveManifest; fileSha256: string }[];
  /** Everything wrong, one sentence each. */
  problems: string[];
  /** Not proof of tampering: e.g. an archive no base names (left by an interrupted `sekisho archive`). */
  notes: string[];
  journal: VerifyResult;
}

/**
 * Verifies every archive file in `dir` on its own, then the chain across them: the first starts at
 * the genesis hash, each starts where the previous one ends, every archive base in the database
 * names one of them (by head and whole-file SHA-256), and the live journal verifies from the latest
 * base. A missing, extra, swapped or altered archive is named.
 */
export function verifyArchiveChain(db: SqliteDatabase, dir: string, publicKey: KeyObject): ArchiveChainCheck {
  const problems: string[] = [];
  const notes: string[] = [];
  const checkpoints = db
    .prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM checkpoints')
    .all() as Checkpoint[];
  const archives: ArchiveChainCheck['archives'] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (!statSync(path).isFile() || !startsWithMagic(path)) continue;
    const c = verifyArchiveFile(path, { publicKey, checkpoints });
    if (!c.ok || !c.manifest) {
      problems.push(`${name}: ${c.problems.join('; ')}`);
      continue;
    }
    archives.push({ file: path, manifest: c.manifest, fileSha256: c.fileSha256 });
  }
  archives.sort((a, b) => a.manifest.prevBase.seq - b.manifest.prevBase.seq);

  const bases = readArchiveBases(db);
  const named = new Set<string>();
  for (const b of bases) {
    const a = archives.find((x) => x.manifest.head.seq === b.seq);
    if (!a) {
      problems.push(`no archive file in ${dir} for the archive base at seq ${b.seq} (signed ${iso(b.at)})`);
      continue;
    }
    named.add(a.file);
    if (a.manifest.head.hash !== b.hash || a.fileSha256 !== b.archiveSha256)
      problems.push(
        `${a.file} is not the archive the base at seq ${b.seq} names (its ${a.fileSha256 !== b.archiveSha256 ? 'SHA-256' : 'head hash'} differs)`,
      );
  }
  let expected = { seq: 0, hash: GENESIS_HASH };
  const last = bases.at(-1);
  for (const a of archives) {
    if (!named.has(a.file)) {
      notes.push(
        `${a.file} (rows ${a.manifest.prevBase.seq + 1} to ${a.manifest.head.seq}) is not named by any archive base`,
      );
      continue;
    }
    const p = a.manifest.prevBase;
    if (p.seq !== expected.seq || p.hash !== expected.hash)
      problems.push(
        p.seq > expected.seq
          ? `rows ${expected.seq + 1} to ${p.seq} are in no archive: an archive file is missing before ${a.file}`
          : `${a.file} starts after seq ${p.seq}, which does not continue the previous archive (seq ${expected.seq})`,
      );
    expected = a.manifest.head;
  }
  if (last && (expected.seq !== last.seq || expected.hash !== last.hash) && problems.length === 0)
    problems.push(`the archives end at seq ${expected.seq}, the live journal starts after seq ${last.seq}`);
  const journal = verifyJournal(db, { publicKey });
  if (!journal.ok) problems.push(`live journal: row seq ${journal.firstBadSeq}: ${journal.problem}`);
  if (journal.archiveBase === undefined && archives.length > 0 && bases.length === 0)
    notes.push('the journal has no archive base: nothing was archived from it');
  return { ok: problems.length === 0, archives, problems, notes, journal };
}

function startsWithMagic(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(ARCHIVE_MAGIC.length);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return n === buf.length && buf.toString('latin1') === ARCHIVE_MAGIC;
  } finally {
    closeSync(fd);
  }
}
