/**
 * Backup generations: after a verified new backup, the oldest of this device's backups in the same
 * folder are removed so that `keep` remain, the new one among them.
 *
 * Only what Sekisho made is ever removed: a regular file (not a link) directly in that folder whose
 * name ends in `.sekisho-backup`, that reads as a bundle (header, valid manifest, the size its
 * manifest accounts for) and whose manifest names this controller, this site and this device key.
 * Anything else — another controller's backups on a shared NAS folder, the backups of a previous
 * card's key, a file that only looks like one, a folder, a link — is left alone. The new backup is
 * never removed.
 *
 * Age is the journal's, not the clock's: the generations are ordered by the journal head each one
 * holds (seqs are never reused), then by when it was made, then by name. A wrong clock cannot make
 * an old backup look new.
 */
import { lstatSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type BackupManifest, readBundle, sha256File } from './bundle.js';

export const BACKUP_SUFFIX = '.sekisho-backup';

/** One of this device's backups in the folder. */
export interface BackupGeneration {
  file: string;
  createdAt: number;
  headSeq: number;
  bytes: number;
}

export interface RotationPlan {
  folder: string;
  keep: number | 'all';
  /** Newest first; the new backup is the first. */
  kept: BackupGeneration[];
  /** Oldest last, as they would be removed. */
  remove: BackupGeneration[];
  /** Files with the backup suffix that are not this device's backups, and why (never touched). */
  ignored: { file: string; why: string }[];
}

export interface RemovedBackup extends BackupGeneration {
  /** SHA-256 of the whole file, read just before removing it (to match it with a copy elsewhere). */
  sha256: string;
}

export interface RotationResult {
  removed: RemovedBackup[];
  failed: { file: string; error: string }[];
}

/** The identity a backup must carry to be one of this device's generations. */
type Identity = Pick<BackupManifest, 'controllerId' | 'siteId' | 'keyId'>;

/** Which backups in the new backup's folder stay and which go; reads only, changes nothing. */
export function planRotation(newBackup: string, keep: number | 'all'): RotationPlan {
  const file = resolve(newBackup);
  const folder = dirname(file);
  const own = readBundle(file).manifest;
  const newest = statSync(file);
  const ignored: RotationPlan['ignored'] = [];
  const others: BackupGeneration[] = [];
  for (const name of readdirSync(folder).sort()) {
    if (!name.endsWith(BACKUP_SUFFIX)) continue;
    const path = join(folder, name);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(path);
    } catch {
      continue; // gone meanwhile
    }
    if (st.dev === newest.dev && st.ino === newest.ino) continue;
    if (!st.isFile()) {
      ignored.push({ file: path, why: st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file' });
      continue;
    }
    let m: BackupManifest;
    try {
      m = readBundle(path).manifest;
    } catch (err) {
      ignored.push({ file: path, why: `not a readable Sekisho backup (${(err as Error).message})` });
      continue;
    }
    const foreign = differs(m, own);
    if (foreign) {
      ignored.push({ file: path, why: foreign });
      continue;
    }
    others.push({ file: path, createdAt: m.createdAt, headSeq: m.head.seq, bytes: st.size });
  }
  others.sort((a, b) => b.headSeq - a.headSeq || b.createdAt - a.createdAt || (a.file < b.file ? 1 : -1));
  const first: BackupGeneration = {
    file,
    createdAt: own.createdAt,
    headSeq: own.head.seq,
    bytes: newest.size,
  };
  const keptOthers = keep === 'all' ? others.length : Math.max(0, keep - 1);
  return {
    folder,
    keep,
    kept: [first, ...others.slice(0, keptOthers)],
    remove: others.slice(keptOthers),
    ignored,
  };
}

function differs(m: Identity, own: Identity): string | null {
  if (m.controllerId !== own.controllerId || m.siteId !== own.siteId)
    return `another controller's backup (${m.siteId}/${m.controllerId})`;
  if (m.keyId !== own.keyId) return `made with another device key (${m.keyId})`;
  return null;
}

/**
 * Removes the planned files, each checked again just before (still the same regular file, still a
 * backup of this device): a file replaced meanwhile is left alone and reported as failed.
 */
export function removeGenerations(plan: RotationPlan, own: Identity): RotationResult {
  const result: RotationResult = { removed: [], failed: [] };
  for (const g of plan.remove) {
    try {
      const st = lstatSync(g.file);
      if (!st.isFile()) throw new Error('no longer a regular file');
      const m = readBundle(g.file).manifest;
      const foreign = differs(m, own);
      if (foreign || m.head.seq !== g.headSeq) throw new Error(`changed since it was listed`);
      const sha256 = sha256File(g.file);
      unlinkSync(g.file);
      result.removed.push({ ...g, sha256 });
    } catch (err) {
      result.failed.push({ file: g.file, error: (err as Error).message });
    }
  }
  return result;
}

/** Whether two paths are on the same file system (a backup there dies with the card). */
export function sameFileSystem(a: string, b: string): boolean {
  return statSync(a).dev === statSync(b).dev;
}
