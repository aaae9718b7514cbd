/** doctor's storage checks: free space, the folder's permissions, sizes, flush time, integrity and the chain. */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { verifyJournal } from '../journal/index.js';
import { modeText, openToOthers } from '../secret-files.js';
import { journalFile, type Storage } from '../storage.js';
import { type Add, whoAmI } from './check.js';

export /** The database's integrity and the journal's chain and signed checkpoints. */
function storageChecks(s: Storage, add: Add): void {
  try {
    const ic = s.db.pragma('quick_check', { simple: true });
    add(ic === 'ok' ? 'OK' : 'FAIL', 'database integrity', String(ic));
    const v = verifyJournal(s.db, { publicKey: s.secrets.publicKey });
    add(
      v.ok ? 'OK' : 'FAIL',
      'journal chain',
      v.ok
        ? `intact, ${v.rows} rows, ${v.checkpoints} signed checkpoints`
        : `first bad row seq ${v.firstBadSeq}: ${v.problem}`,
    );
  } catch (err) {
    add('FAIL', 'storage', (err as Error).message);
  }
}

export /**
 * Free space (against storage.lowSpaceMiB, the runtime's `storage_low` floor, when given), the
 * storage folder's permissions and owner, and the journal's size.
 */
function diskChecks(dir: string, add: Add, floorMiB?: number): void {
  try {
    const fs = statfsSync(existsSync(dir) ? dir : '/');
    const free = fs.bavail * fs.bsize;
    const mb = Math.round(free / 1e6);
    const floor = floorMiB === undefined ? 0 : floorMiB * 1024 * 1024;
    let status: 'OK' | 'WARN' | 'FAIL' = 'OK';
    let why = '';
    if (free < 50e6) {
      status = 'FAIL';
      why = ' — the journal needs room to grow: free some space or move to a larger card';
    } else if (free < floor) {
      status = 'WARN';
      why = ` — below storage.lowSpaceMiB (${floorMiB} MiB): the controller raises storage_low; free some space (docs/operations.md, "Free space and backup generations")`;
    } else if (free < 200e6) {
      status = 'WARN';
      why = ' — the journal needs room to grow: free some space or move to a larger card';
    }
    add(status, 'disk', `${mb} MB free for ${dir}${why}`);
  } catch (err) {
    add('FAIL', 'disk', String(err));
  }
  if (!existsSync(dir)) return;
  const st = statSync(dir);
  const uid = process.getuid?.();
  if (openToOthers(st.mode))
    add(
      'WARN',
      'storage permissions',
      `${dir} is mode ${modeText(st.mode)}: others may read the journal and device keys — chmod 700 ${dir}`,
    );
  else if (uid !== undefined && uid !== 0 && st.uid !== uid)
    add(
      'WARN',
      'storage permissions',
      `${dir} belongs to uid ${st.uid}, not to ${whoAmI()}: run doctor as the service user`,
    );
  else add('OK', 'storage permissions', `${dir} is private (mode ${modeText(st.mode)})`);
  flushCheck(dir, add);
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  const db = size(journalFile(dir));
  const wal = size(`${journalFile(dir)}-wal`);
  if (db > 0)
    add(
      wal > 64e6 ? 'WARN' : 'OK',
      'journal size',
      `${(db / 1e6).toFixed(1)} MB, write-ahead log ${(wal / 1e6).toFixed(1)} MB${wal > 64e6 ? ' — the log is not being checkpointed: a long-running reader holds it open?' : ''}`,
    );
}

/**
 * The median flush time above which doctor warns. Every grant waits for one flush before the lock
 * moves, so on a card slower than this the door is noticeably slow; A1/A2 cards and eMMC flush in
 * a few milliseconds (docs/install.md, "The storage card").
 */
export const FLUSH_WARN_MS = 20;
/** Timed flushes (after one untimed, which allocates the file's first block). */
export const FLUSH_SAMPLES = 5;

export /**
 * The storage's flush time, measured: a 4 KiB write and an fsync, FLUSH_SAMPLES times, on a temporary
 * file of its own in the storage folder (made exclusively, never following a link; removed after).
 */
function flushCheck(dir: string, add: Add): void {
  const file = join(dir, `.doctor-flush-${process.pid}.tmp`);
  const page = Buffer.alloc(4096, 0x5a);
  const times: number[] = [];
  let fd: number | undefined;
  try {
    fd = openSync(file, 'wx', 0o600);
    for (let i = 0; i <= FLUSH_SAMPLES; i++) {
      const t0 = performance.now();
      writeSync(fd, page, 0, page.length, i * page.length);
      fsyncSync(fd);
      if (i > 0) times.push(performance.now() - t0);
    }
  } catch (err) {
    add('WARN', 'storage flush', `could not measure the flush time in ${dir}: ${(err as Error).message}`);
    return;
  } finally {
    if (fd !== undefined) {
      closeSync(fd);
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const max = times[times.length - 1]!;
  const ms = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(1));
  const what = `median ${ms(median)} ms, slowest ${ms(max)} ms over ${FLUSH_SAMPLES} flushes of a 4 KiB write`;
  if (median > FLUSH_WARN_MS)
    add(
      'WARN',
      'storage flush',
      `${what} — slow (above ${FLUSH_WARN_MS} ms): every grant waits for a flush before the lock moves; use an A1/A2 card or an industrial (pSLC) card or eMMC (docs/install.md, "The storage card")`,
    );
  else add('OK', 'storage flush', what);
}
