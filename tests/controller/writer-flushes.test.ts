/**
 * One transaction per physical event (controller/runtime/writer.ts): every row an event produces —
 * the door machine's, the visit rules', an alarm — is committed in one commit, so the event costs one
 * flush of the write-ahead log; and the checkpoint timer adds no commit of its own while rows keep
 * coming. Commits are counted where the writer makes them (Journal.commitOpen, the event's one
 * COMMIT) and where anything else does (Journal.transaction: the registry, the checkpoint timer).
 * Real SQLite file, simulated board, vitest's fake clock.
 */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Controller } from '../../controller/runtime/index.js';
import type { SimBoard } from '../../hardware/index.js';
import { tempDir } from '../helpers/controller.js';
import { startInProcess } from '../helpers/in-process.js';

const T0 = Date.UTC(2026, 10, 26, 1, 0, 0); // Thursday 10:00 in Tokyo
const CARD = '0A1B2C3D4E';

interface Counted {
  c: Controller;
  board: SimBoard;
  /** Commits since the last take(): the writer's, and anyone else's. */
  take(): { writer: number; other: number };
}

async function setup(storage: Record<string, unknown> = {}): Promise<Counted> {
  const dir = tempDir('sekisho-flushes-');
  const { c, board } = await startInProcess(dir, {
    extra: { storage: { path: `${dir}/data`, ...storage } },
  });
  const at = Date.now();
  const p = c.registry.addPerson({ displayId: 'S-1', name: 'Sato', category: 'staff' }, 'test', at);
  c.registry.addBadge({ personId: p.id, credential: CARD }, 'test', at);
  c.registry.grantDoor(p.id, 'machine-room', 'always', 'test', at);
  vi.advanceTimersByTime(1); // the board reports the start levels (door closed)
  let writer = 0;
  let other = 0;
  const commitOpen = c.journal.commitOpen.bind(c.journal);
  c.journal.commitOpen = () => {
    commitOpen();
    writer++;
  };
  const transaction = c.journal.transaction.bind(c.journal);
  c.journal.transaction = <T>(fn: () => T): T => {
    if (!c.db.inTransaction) other++;
    return transaction(fn);
  };
  return {
    c,
    board,
    take() {
      const n = { writer, other };
      writer = 0;
      other = 0;
      return n;
    },
  };
}

const contact = (board: SimBoard, open: boolean) => board.simulate('machine-room.contact', open);
const typesAfter = (c: Controller, seq: number) => [...c.journal.iterate(seq + 1)].map((r) => r.type);

describe('one transaction per physical event', () => {
  const started: Controller[] = [];
  beforeEach(() => {
    vi.useFakeTimers({
      now: T0,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
  });
  afterEach(async () => {
    for (const c of started.splice(0)) await c.stop('test end');
    vi.useRealTimers();
  });

  it('a grant, the door opened, closed and relocked, a refused card, a forced door: one commit each', async () => {
    const t = await setup();
    const { c, board } = t;
    started.push(c);
    t.take();

    let head = c.journal.head().seq;
    expect(c.simulateBadge('entry', CARD).decision.granted).toBe(true);
    expect(t.take()).toEqual({ writer: 1, other: 0 });
    expect(typesAfter(c, head)).toEqual(['access', 'door_unlocked']);

    head = c.journal.head().seq;
    contact(board, true);
    expect(t.take()).toEqual({ writer: 1, other: 0 });
    expect(typesAfter(c, head)).toEqual(['door_opened']);

    head = c.journal.head().seq;
    contact(board, false);
    expect(t.take()).toEqual({ writer: 1, other: 0 });
    // The door machine's rows and the visit rules' check of the room that followed them.
    const closed = typesAfter(c, head);
    expect(closed.slice(0, 2)).toEqual(['door_closed', 'door_locked']);

    head = c.journal.head().seq;
    expect(c.simulateBadge('entry', 'FFFF000001').decision.granted).toBe(false);
    expect(t.take()).toEqual({ writer: 1, other: 0 });
    expect(typesAfter(c, head)).toEqual(['access']);

    head = c.journal.head().seq;
    contact(board, true); // forced: no grant
    expect(t.take()).toEqual({ writer: 1, other: 0 });
    // With the visit rules' note that whoever is inside is no longer certain.
    expect(typesAfter(c, head)).toEqual(['door_opened', 'presence_uncertain', 'alarm_raised']);
    expect(c.activeAlarms().map((a) => a.type)).toEqual(['forced_open']);
  });

  it('an event whose commit fails is queued whole and the derived state put back, then written in one commit', async () => {
    const t = await setup();
    const { c, board } = t;
    started.push(c);
    const head = c.journal.head().seq;
    c.db.pragma('query_only = ON'); // SQLite refuses every write (SQLITE_READONLY)
    contact(board, true); // forced while storage refuses
    expect(c.status().journal).toMatchObject({ storageOk: false, pendingWrites: 2 });
    // Nothing of it is in the journal, nor in the state folded from it.
    expect(c.journal.head().seq).toBe(head);
    expect(c.activeAlarms()).toEqual([]);
    t.take();
    c.db.pragma('query_only = OFF');
    vi.advanceTimersByTime(2000); // the writer's retry
    expect(c.status().journal).toMatchObject({ storageOk: true, pendingWrites: 0 });
    // The queued group in one commit, then the storage_fault alarm and its condition cleared.
    expect(t.take().writer).toBe(2);
    expect(typesAfter(c, head)).toEqual([
      'door_opened',
      'alarm_raised',
      'alarm_raised',
      'alarm_condition_cleared',
    ]);
    expect(c.activeAlarms().map((a) => a.type)).toEqual(['forced_open', 'storage_fault']);
  });

  it('the checkpoint timer signs what a quiet spell left unsigned, and adds no commit while rows keep coming', async () => {
    const t = await setup({ checkpointEveryS: 5, checkpointEveryRows: 10_000 });
    const { c } = t;
    started.push(c);
    vi.advanceTimersByTime(6000);
    const signed = () => c.journal.latestCheckpoint()?.seq ?? 0;
    // Rows every 1.5 s for a minute: checkpoints ride in their commits; the timer never commits.
    t.take();
    for (let i = 0; i < 40; i++) {
      c.simulateBadge(i % 2 ? 'exit' : 'entry', CARD);
      vi.advanceTimersByTime(1500);
      // No row older than 5 s is unsigned.
      const oldest = [...c.journal.iterate(signed() + 1)][0];
      if (oldest) expect(Date.now() - oldest.at).toBeLessThanOrEqual(5000);
    }
    const n = t.take();
    expect(n.other).toBe(0);
    expect(n.writer).toBe(40);
    expect(signed()).toBeGreaterThan(0);
    // A quiet spell (after the last grant's relock): the last rows are signed by the timer within
    // 5 s, in a transaction of its own.
    vi.advanceTimersByTime(6000);
    c.simulateBadge('entry', 'FFFF000001');
    const last = c.journal.head().seq;
    t.take();
    vi.advanceTimersByTime(2000);
    expect(signed()).toBeLessThan(last);
    vi.advanceTimersByTime(3000);
    expect(signed()).toBe(last);
    expect(t.take().other).toBe(1);
  });
});
