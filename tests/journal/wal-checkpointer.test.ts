import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WAL_SIZE_LIMIT } from '../../controller/journal/db.js';
import type { SqliteDatabase } from '../../controller/journal/index.js';
import { WalCheckpointer } from '../../controller/journal/wal-checkpointer.js';
import { silentLogger } from '../../controller/log.js';
import { startInProcess } from '../helpers/in-process.js';
import { until } from '../helpers/util.js';
import { openJournal, sampleInput, tempDir } from './helpers.js';

const autoPages = (db: SqliteDatabase) => Number(db.pragma('wal_autocheckpoint', { simple: true }));

describe('WalCheckpointer', () => {
  it('checkpoints from its worker while the connection writes with the automatic checkpoint off', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    expect(autoPages(db)).toBe(1000);
    const cp = WalCheckpointer.start(db, silentLogger, 50);
    await until(() => cp.stats().running, 'the worker to start');
    expect(autoPages(db)).toBe(0);
    // Enough rows for well over 1,000 pages: without any checkpoint the WAL would hold them all.
    for (let i = 0; i < 3000; i++) journal.append({ ...sampleInput(i), data: { pad: 'x'.repeat(2000), i } });
    await until(() => cp.stats().checkpoints > 0, 'a checkpoint by the worker');
    // The worker copied the log into the database file: its pages are there without the WAL.
    await until(() => cp.stats().copiedPages === cp.stats().walPages, 'the whole log to be copied');
    expect(statSync(file).size).toBeGreaterThan(3000 * 2000);
    await cp.stop();
    expect(cp.stats().running).toBe(false);
    expect(autoPages(db)).toBe(1000);
    expect(journal.head().seq).toBe(3000);
  });

  it('keeps the log small under a writer that never stops, when the writer awaits room() between batches', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    expect(Number(db.pragma('journal_size_limit', { simple: true }))).toBe(WAL_SIZE_LIMIT);
    const cp = WalCheckpointer.start(db, silentLogger, 50);
    await until(() => cp.stats().running, 'the worker to start');
    // 120 batches of 100 rows of 4 kB (with their outbox and index pages, about 1 MB each), one after
    // another.
    let biggest = 0;
    let seq = 0;
    for (let b = 0; b < 120; b++) {
      db.transaction(() => {
        for (let i = 0; i < 100; i++)
          journal.append({ ...sampleInput(seq++), data: { pad: 'x'.repeat(4000) } });
      })();
      biggest = Math.max(biggest, statSync(`${file}-wal`).size);
      await new Promise((r) => setImmediate(r));
      await cp.room(300);
    }
    // The log restarted each time the worker saw it past 300 pages; its reports lag a few batches
    // behind, so the file held up to about ten batches (measured 9 MB). Without room() it grew past
    // 35 MB in 60 batches.
    expect(biggest).toBeLessThan(20 * 1024 * 1024);
    expect(journal.head().seq).toBe(12_000);
    await cp.stop();
  });

  it('keeps the log small under a steady stream of commits: past roomPages the controller thread copies the rest', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    const cp = WalCheckpointer.start(db, silentLogger, 20, 300);
    await until(() => cp.stats().running, 'the worker to start');
    // Door-like commits, one row each, with a turn of the event loop between every tenth: ~30 MB.
    let biggest = 0;
    for (let i = 0; i < 6000; i++) {
      journal.append({ ...sampleInput(i), data: { pad: 'x'.repeat(4000) } });
      if (i % 10 === 9) {
        biggest = Math.max(biggest, statSync(`${file}-wal`).size);
        await new Promise((r) => setImmediate(r));
      }
    }
    expect(cp.stats().catchUps).toBeGreaterThan(0);
    expect(biggest).toBeLessThan(12 * 1024 * 1024);
    await cp.stop();
  });

  it('room() does not wait when the worker is not running', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db } = openJournal(file);
    rmSync(file);
    const cp = WalCheckpointer.start(db, silentLogger, 50);
    await until(() => cp.stats().lastError !== null, 'the worker to fail');
    // Settled before the next turn of the event loop: no checkpoint is asked for, no timeout waited on.
    const first = await Promise.race([
      cp.room(0, 60_000).then(() => 'room'),
      new Promise<string>((r) => setImmediate(() => r('next turn'))),
    ]);
    expect(first).toBe('room');
    await cp.stop();
  });

  it('falls back to the automatic checkpoint when its worker cannot open the database', async () => {
    const file = join(tempDir(), 'journal.db');
    const { db } = openJournal(file);
    db.pragma('wal_autocheckpoint = 1000');
    rmSync(file); // the connection keeps its open file; the worker finds none to open
    const cp = WalCheckpointer.start(db, silentLogger, 50);
    await until(() => cp.stats().lastError !== null, 'the worker to fail');
    expect(cp.stats().running).toBe(false);
    expect(cp.stats().lastError).toMatch(/worker/);
    expect(autoPages(db)).toBe(1000);
    await cp.stop();
  });

  it('is what a running controller uses: its connection has the automatic checkpoint off until it stops', async () => {
    const dir = tempDir();
    const { c } = await startInProcess(dir);
    try {
      await until(() => autoPages(c.db) === 0, 'the worker to take over the checkpoints');
    } finally {
      await c.stop('test end');
    }
    expect(c.db.open).toBe(false);
  });
});
