/** Small helpers every kind of test uses: temp folders, waiting, and the sqlite3 command-line shell. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository's root folder. */
export const ROOT = resolve(import.meta.dirname, '../..');

/** A new folder under the system's temp folder (not removed: the caller or the OS cleans up). */
export function tempDir(prefix = 'sekisho-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Poll `fn` until it returns a truthy value (which is returned) or the time runs out. */
export async function until<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export const SQLITE3 = '/usr/bin/sqlite3';

/**
 * Runs SQL through the real sqlite3 command-line shell, as an attacker with file access would.
 * Returns its output; throws (with sqlite3's message) at the first statement that fails.
 */
export function sqlite(file: string, sql: string): string {
  return execFileSync(SQLITE3, ['-batch', '-bail', file], {
    input: sql,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
