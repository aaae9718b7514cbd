/**
 * One process drives a storage folder's doors at a time: `sekisho start` or `sekisho commission`.
 * Each holds an exclusive SQLite lock on `<storage>/instance.lock` for its whole life. SQLite's locks
 * are the kernel's (fcntl): a process that dies, even by SIGKILL, lets go of its lock, so there is
 * no stale pid file to clear and no pid to be reused.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const INSTANCE_LOCK_FILE = 'instance.lock';

export type InstanceRole = 'controller' | 'commission' | 'restore';

/** The folder's doors are driven by another process (the running controller, or a commissioning). */
export class InstanceBusyError extends Error {}

export interface InstanceLock {
  /** Let go of the lock. Idempotent. */
  release(): void;
}

/**
 * Takes the folder's lock for `role`, or throws InstanceBusyError at once (never waits) when
 * another process holds it.
 */
export function holdInstanceLock(storageDir: string, role: InstanceRole): InstanceLock {
  mkdirSync(storageDir, { recursive: true, mode: 0o700 });
  const file = join(storageDir, INSTANCE_LOCK_FILE);
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('journal_mode = DELETE');
    // Kept after the first write transaction until the connection closes.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec(
      'CREATE TABLE IF NOT EXISTS holder (role TEXT NOT NULL, pid INTEGER NOT NULL, since INTEGER NOT NULL)',
    );
    db.exec('DELETE FROM holder');
    db.prepare('INSERT INTO holder (role, pid, since) VALUES (?, ?, ?)').run(role, process.pid, Date.now());
    db.exec('COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY'))
      throw new InstanceBusyError(busyMessage(storageDir, role));
    throw err;
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}

function busyMessage(storageDir: string, role: InstanceRole): string {
  if (role === 'restore')
    return (
      `the controller (or a commissioning, or another restore) is running on ${storageDir}: a restore ` +
      'replaces its journal, so not while it runs. Stop it first (sudo systemctl stop sekisho), then restore'
    );
  return role === 'commission'
    ? `the controller (or another commissioning) is running on ${storageDir}: it drives the doors, so ` +
        'commissioning cannot. Stop it first (sudo systemctl stop sekisho), commission, then start it again'
    : `another process drives the doors of ${storageDir} (a running controller, or "sekisho commission"): ` +
        'one at a time. Let it finish (or stop it), then start again';
}
