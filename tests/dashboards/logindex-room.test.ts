import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrateAccounts } from '../../controller/accounts/schema.js';
import { WalCheckpointer } from '../../controller/journal/wal-checkpointer.js';
import { silentLogger } from '../../controller/log.js';
import { LogIndex } from '../../dashboards/logindex.js';
import { openJournal, T0, tempDir } from '../journal/helpers.js';

describe('LogIndex.sync over a long journal', () => {
  it('indexes every row and awaits room() between its batches (the WAL bound of a first sync)', async () => {
    const { db, journal } = openJournal(join(tempDir(), 'journal.db'));
    migrateAccounts(db);
    const rows = 5500;
    journal.transaction(() => {
      for (let i = 0; i < rows; i++)
        journal.append({
          type: 'access',
          at: T0 + i * 1000,
          door: 'machine-room',
          person: `p${i % 50}`,
          data: {
            reader: 'entry',
            direction: 'in',
            result: 'granted',
            reason: 'granted',
            badge: `b${i % 50}`,
            masked: null,
            format: 'em4100',
            category: 'staff',
          },
        });
    });
    // The controller's room (Controller.walRoom): the checkpointer's, here checkpointing at every call.
    const cp = WalCheckpointer.start(db, silentLogger, { intervalMs: 600_000, bulkIntervalMs: 0 });
    let rooms = 0;
    const indexedAtRoom: number[] = [];
    const index = new LogIndex(db, journal, async () => {
      rooms++;
      indexedAtRoom.push(index.lastSeq());
      await cp.room();
    });
    await index.sync();
    // Each room() copied the batches before it into the database file.
    expect(cp.stats().checkpoints).toBe(rooms);
    await cp.stop();
    expect(index.lastSeq()).toBe(journal.head().seq);
    // Batches of at most 2,000 rows (fewer if one takes over 5 ms): before each one after the
    // first, a turn of the event loop and room().
    expect(rooms).toBeGreaterThanOrEqual(2);
    expect(indexedAtRoom[0]).toBeGreaterThan(0);
    for (let i = 1; i < indexedAtRoom.length; i++) {
      expect(indexedAtRoom[i]).toBeGreaterThan(indexedAtRoom[i - 1]!);
      expect(indexedAtRoom[i]! - indexedAtRoom[i - 1]!).toBeLessThanOrEqual(2000);
    }
    expect(indexedAtRoom.at(-1)).toBeLessThan(journal.head().seq);
    expect(index.accessSeqs({ persons: ['p7'], limit: 1000 })).toHaveLength(rows / 50);
  });
});
