import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WAL_SIZE_LIMIT } from '../../controller/journal/db.js';
import type { SqliteDatabase } from '../../controller/journal/index.js';
import { WalCheckpointer } from '../../controller/journal/wal-checkpointer.js';
import { createLogger, silentLogger } from '../../controller/log.js';
import { startInProcess } from '../helpers/in-process.js';
import { until } from '../helpers/util.js';
import { openJournal, sampleInput, tempDir } from './helpers.js';

const autoPages = (db: SqliteDatabase) => Number(db.pragma('wal_autocheckpoint', { simple: true }));
const walSize = (file: string) => statSync(`${file}-wal`).size;
const nextTurn = () => new Promise((r) => setImmediate(r));
const STEADY = 1500;

/**
 * Door-like commits, one row of 4 kB each (about 9 MB of log in all with 1 KiB pages), with a turn of
 * the event loop after every tenth; the largest size of the WAL file seen.
 */
async function steadyCommits(
  file: string,
  db: SqliteDatabase,
  journal: ReturnType<typeof openJournal>['journal'],
) {
  let biggest = 0;
  for (let i = 0; i < STEADY; i++) {
    journal.append({ ...sampleInput(i), data: { pad: 'x'.repeat(4000) } });
    if (i % 10 === 9) {
      biggest = Math.max(biggest, walSize(file));
      await nextTurn();
    }
  }
  expect(journal.head().seq).toBe(STEADY);
  expect(db.inTransaction).toBe(false);
  return biggest;
}

describe('WalCheckpointer', () => {
  it('checkpoints from its timer with the automatic checkpoint off, and turns it back on when stopped', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    expect(autoPages(db)).toBe(1000);
    const cp = WalCheckpointer.start(db, silentLogger, { intervalMs: 50 });
    expect(autoPages(db)).toBe(0);
    expect(cp.stats().running).toBe(true);
    // Enough rows for well over 1,000 pages in one go: no checkpoint runs inside these commits.
    for (let i = 0; i < 3000; i++) journal.append({ ...sampleInput(i), data: { pad: 'x'.repeat(2000), i } });
    expect(cp.stats().checkpoints).toBe(0);
    expect(walSize(file)).toBeGreaterThan(3000 * 2000);
    await until(() => cp.stats().checkpoints > 0, 'a checkpoint from the timer');
    // The whole log was copied into the database file: the next commit restarts the log.
    expect(cp.stats().copiedPages).toBe(cp.stats().walPages);
    expect(cp.stats().walPages).toBeGreaterThan(1000);
    expect(statSync(file).size).toBeGreaterThan(3000 * 2000);
    expect(cp.stats().maxMs).toBeGreaterThan(0);
    await cp.stop();
    expect(cp.stats().running).toBe(false);
    expect(autoPages(db)).toBe(1000);
    expect(journal.head().seq).toBe(3000);
  });

  it('leaves a small log alone, copies a large one once the writes pause, and a larger one at once', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    const cp = WalCheckpointer.start(db, silentLogger, { intervalMs: 20, minPages: 100, forcePages: 400 });
    cp.checkpoint(); // the schema's pages
    const base = cp.stats().checkpoints;
    // A few door-sized rows: far below minPages, never copied however long the controller idles.
    for (let i = 0; i < 10; i++) journal.append(sampleInput(i));
    await new Promise((r) => setTimeout(r, 200));
    expect(cp.stats().checkpoints).toBe(base);
    expect(cp.stats().waitingPages).toBeGreaterThan(0);
    expect(cp.stats().waitingPages).toBeLessThan(100);
    // Past minPages in one go, then quiet: copied at the next look that finds the log unchanged.
    let seq = 10;
    while (cp.stats().waitingPages < 100) {
      for (let i = 0; i < 20; i++) journal.append({ ...sampleInput(seq++), data: { pad: 'x'.repeat(4000) } });
      await new Promise((r) => setTimeout(r, 25));
    }
    await until(() => cp.stats().checkpoints === base + 1, 'the checkpoint once the writes paused');
    expect(cp.stats().walPages).toBeGreaterThanOrEqual(100);
    expect(cp.stats().copiedPages).toBe(cp.stats().walPages);
    // A stream that never pauses for a whole look: copied only once forcePages wait.
    const stream = setInterval(
      () => journal.append({ ...sampleInput(seq++), data: { pad: 'x'.repeat(4000) } }),
      2,
    );
    try {
      await until(() => cp.stats().checkpoints === base + 2, 'the forced checkpoint during the stream');
    } finally {
      clearInterval(stream);
    }
    expect(cp.stats().walPages).toBeGreaterThanOrEqual(400);
    await cp.stop();
  });

  it('keeps the log small under a steady stream of commits; without it the log grows with them', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    expect(Number(db.pragma('journal_size_limit', { simple: true }))).toBe(WAL_SIZE_LIMIT);
    // A stream never idle for a whole look: the log is copied each time forcePages (400) wait.
    const cp = WalCheckpointer.start(db, silentLogger, { intervalMs: 20, minPages: 200 });
    const biggest = await steadyCommits(file, db, journal);
    expect(cp.stats().checkpoints).toBeGreaterThan(0);
    expect(biggest).toBeLessThan(2 * 1024 * 1024);
    await cp.stop();

    // The control: the same commits with the automatic checkpoint off and no checkpointer.
    const file2 = join(tempDir(), 'journal.db');
    const other = openJournal(file2);
    other.db.pragma('wal_autocheckpoint = 0');
    expect(await steadyCommits(file2, other.db, other.journal)).toBeGreaterThan(6 * 1024 * 1024);
  });

  it('room() checkpoints at once between a bulk writer’s batches once the latest checkpoint is old enough', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    // The timer alone would not run during this writer's 120 batches; room() keeps the log small.
    const cp = WalCheckpointer.start(db, silentLogger, { intervalMs: 600_000, bulkIntervalMs: 0 });
    let biggest = 0;
    let seq = 0;
    for (let b = 0; b < 120; b++) {
      db.transaction(() => {
        for (let i = 0; i < 100; i++)
          journal.append({ ...sampleInput(seq++), data: { pad: 'x'.repeat(4000) } });
      })();
      biggest = Math.max(biggest, walSize(file));
      await cp.room();
    }
    // About 1 MB a batch (rows with their outbox and index pages): the log restarts after each.
    expect(biggest).toBeLessThan(4 * 1024 * 1024);
    expect(cp.stats().checkpoints).toBe(120);
    expect(journal.head().seq).toBe(12_000);

    // Not again before bulkIntervalMs has passed since the latest checkpoint.
    const slow = WalCheckpointer.start(db, silentLogger, { intervalMs: 600_000, bulkIntervalMs: 600_000 });
    journal.append(sampleInput(seq++));
    await slow.room();
    expect(slow.stats().checkpoints).toBe(0);
    await slow.stop(); // its last checkpoint copies the row
    expect(slow.stats().checkpoints).toBe(1);
    await cp.stop();
  });

  it('puts a checkpoint off while an iterator of the connection is open, and copies the log once it is closed', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    for (let i = 0; i < 50; i++) journal.append(sampleInput(i));
    const cp = WalCheckpointer.start(db, silentLogger, { intervalMs: 20, minPages: 1 });
    // An export between two of its chunks (opened before the timer can run).
    const rows = db.prepare('SELECT seq FROM journal ORDER BY seq').iterate();
    rows.next();
    await until(() => cp.stats().deferred > 0, 'a checkpoint put off');
    expect(cp.stats().checkpoints).toBe(0);
    expect(cp.stats().failures).toBe(0);
    rows.return?.();
    await until(() => cp.stats().checkpoints > 0, 'the checkpoint once the iterator is closed');
    expect(cp.stats().copiedPages).toBe(cp.stats().walPages);
    await cp.stop();
  });

  it('reports a checkpoint that fails (once in the log), never throws, and goes on once checkpoints work again', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (l) => lines.push(l) });
    const cp = WalCheckpointer.start(db, log, { intervalMs: 600_000 });
    for (let i = 0; i < 50; i++) journal.append(sampleInput(i));
    // SQLite's own I/O error: the log's frames are gone from under the connection.
    const wal = readFileSync(`${file}-wal`);
    truncateSync(`${file}-wal`, 0);
    expect(() => cp.checkpoint()).not.toThrow();
    expect(() => cp.checkpoint()).not.toThrow();
    expect(cp.stats().failures).toBe(2);
    expect(cp.stats().lastError).toMatch(/I\/O/);
    expect(lines.filter((l) => l.includes('WAL checkpoint failed'))).toHaveLength(1);
    // The frames are back: the next checkpoint copies them all.
    writeFileSync(`${file}-wal`, wal);
    cp.checkpoint();
    expect(cp.stats().failures).toBe(2);
    expect(cp.stats().checkpoints).toBe(1);
    expect(cp.stats().copiedPages).toBe(cp.stats().walPages);
    expect(lines.filter((l) => l.includes('WAL checkpoints work again'))).toHaveLength(1);
    expect(journal.head().seq).toBe(50);
    await cp.stop();
  });

  it('waits while a frame is arriving and checkpoints once it has; gives up after maxDeferMs on a line that never ends one', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    let arriving = true;
    const cp = WalCheckpointer.start(db, silentLogger, {
      intervalMs: 20,
      minPages: 1,
      busy: () => arriving,
      maxDeferMs: 60_000,
    });
    for (let i = 0; i < 50; i++) journal.append(sampleInput(i));
    await until(() => cp.stats().waitedForFrames > 0, 'a checkpoint waiting for the frame');
    await new Promise((r) => setTimeout(r, 150)); // several ticks: still waiting, no other checkpoint
    expect(cp.stats().checkpoints).toBe(0);
    expect(cp.stats().waitedForFrames).toBe(1);
    arriving = false;
    await until(() => cp.stats().checkpoints > 0, 'the checkpoint once the frame has arrived');
    expect(cp.stats().copiedPages).toBe(cp.stats().walPages);
    expect(cp.stats().waitsGivenUp).toBe(0);
    await cp.stop();

    // Noise that keeps a partial frame fresh must not hold the log back for ever.
    const noisy = WalCheckpointer.start(db, silentLogger, {
      intervalMs: 20,
      minPages: 1,
      busy: () => true,
      maxDeferMs: 50,
    });
    for (let i = 50; i < 100; i++) journal.append(sampleInput(i));
    await until(() => noisy.stats().checkpoints > 0, 'a checkpoint despite the noise');
    expect(noisy.stats().waitsGivenUp).toBeGreaterThan(0);
    await noisy.stop();
  });

  it('is what a running controller uses: its connection has the automatic checkpoint off until it stops', async () => {
    const dir = tempDir();
    const { c } = await startInProcess(dir);
    try {
      expect(autoPages(c.db)).toBe(0);
    } finally {
      await c.stop('test end');
    }
    expect(c.db.open).toBe(false);
  });
});
