/**
 * One event, one transaction (controller/runtime/writer.ts): a group entry (a waiting visitor, then
 * their escort) when storage fails while the group's rows are written. The group is never half
 * committed: neither access row is in the journal while storage refuses, the door does not open, and
 * on recovery both rows are written as refused (`storage_unavailable`, with what was decided). Before
 * one transaction per event, the escort's row could be committed as granted and the visitor's refused,
 * which took an `unlock_skipped` record to explain.
 *
 * The fault is a real refusal from SQLite on the controller's own connection: `PRAGMA max_page_count`
 * set to the database's current size makes any write that needs a new page fail with SQLITE_FULL
 * ("database or disk is full"), the error a full disk gives. Where in the group the refusal falls
 * depends on how full the last pages are: fresh controllers with 0, 1, 2 … filler rows move it through
 * every position (the window between the escort's and the visitor's row comes round about every ten
 * rows). Real SQLite file, simulated board, vitest's fake clock.
 */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { presenceView } from '../../controller/domain/index.js';
import type { JournalRow } from '../../controller/journal/index.js';
import type { AccessOutcome, Controller } from '../../controller/runtime/index.js';
import { lockOutputLevel, type SimBoard } from '../../hardware/index.js';
import { tempDir } from '../helpers/controller.js';
import { startInProcess } from '../helpers/in-process.js';

const T0 = Date.UTC(2026, 10, 26, 1, 0, 0); // Thursday 10:00 in Tokyo
const ESCORT_CARD = '0A1B2C3D4E';
const VISITOR_CARD = '5566778899';
/** SQLite's default limit, to lift the refusal ("storage recovers"). */
const NO_PAGE_LIMIT = 1_073_741_823;
/** Filler counts tried: past one round of the ten-row window. */
const FILLERS = 12;

interface Scene {
  c: Controller;
  board: SimBoard;
  escortId: string;
  visitorId: string;
  badgeId: string;
  /** The journal head just before the escort's card. */
  head: number;
  /** The escort's card, as the controller answered it. */
  out: AccessOutcome;
  /** Every level written to the lock output from the escort's card on. */
  lockWrites: boolean[];
  /** Rows committed by the escort's card while storage refused (before recovery). */
  committed: JournalRow[];
  /** Rows of the card's group SQLite took (inside the transaction) before it refused one. */
  taken: number;
  filler: number;
}

const started: Controller[] = [];

/** A controller with an escort and a visitor badge, `filler` rows, the visitor waiting at the door. */
async function prepare(filler: number, extra: Record<string, unknown> = {}) {
  const dir = tempDir('sekisho-unlock-skipped-');
  const { c, board } = await startInProcess(dir, {
    readers: [
      { id: 'entry', path: 'sim', protocol: 'rdm6300' },
      { id: 'exit', path: 'sim', protocol: 'rdm6300' },
    ],
    extra,
  });
  started.push(c);
  const r = c.registry;
  const at = Date.now();
  const escort = r.addPerson({ displayId: 'S-1', name: 'Yamada', category: 'staff' }, 'test', at);
  r.addBadge({ personId: escort.id, credential: ESCORT_CARD }, 'test', at);
  r.grantDoor(escort.id, 'machine-room', 'always', 'test', at);
  r.setMayEscort(escort.id, true, 'test', at);
  const vb = r.issueVisitorBadge(
    {
      visitor: { displayId: 'V-1', name: 'Tamura' },
      credential: VISITOR_CARD,
      hostId: escort.id,
      purpose: 'UPS inspection',
      doors: ['machine-room'],
    },
    'test',
    at,
  );
  for (let i = 0; i < filler; i++)
    r.addPerson({ displayId: `F-${i}`, name: 'filler', category: 'contractor' }, 'test', at);
  vi.advanceTimersByTime(1); // the board reports the start levels (door closed)
  const wait = c.simulateBadge('entry', VISITOR_CARD);
  expect(wait.decision).toEqual({ granted: false, reason: 'escort_required' });
  return { c, board, escortId: escort.id, visitorId: vb.personId, badgeId: vb.badgeId };
}

/** The escort presents their card while the database may not grow by a single page. */
function escortArrivesOnFullStorage(s: Awaited<ReturnType<typeof prepare>>, filler: number): Scene {
  const { c, board } = s;
  const lockWrites: boolean[] = [];
  board.onOutput((name, level) => {
    if (name === 'machine-room.lock') lockWrites.push(level);
  });
  const head = c.journal.head().seq;
  const pages = Number(c.db.pragma('page_count', { simple: true }));
  expect(Number(c.db.pragma(`max_page_count = ${pages}`, { simple: true }))).toBe(pages);
  // Counts the inserts SQLite took: a refused group with one taken was refused half-way.
  let taken = 0;
  const append = c.journal.append.bind(c.journal);
  c.journal.append = (...args: Parameters<typeof append>) => {
    const row = append(...args);
    taken++;
    return row;
  };
  const out = c.simulateBadge('entry', ESCORT_CARD);
  c.journal.append = append;
  const committed = [...c.journal.iterate(head + 1)];
  return { ...s, head, out, lockWrites, committed, taken, filler };
}

const accessOf = (rows: JournalRow[], person: string) =>
  rows.filter((r) => r.type === 'access' && r.person === person);

function recover(c: Controller): void {
  c.db.pragma(`max_page_count = ${NO_PAGE_LIMIT}`);
  vi.advanceTimersByTime(2000); // the retry timer writes the queued records
}

describe('a group refused by SQLite half-way is not written at all', () => {
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

  it('wherever the refusal falls: nothing committed, the door stays locked, both recorded refused on recovery', async () => {
    const unlocked = lockOutputLevel({ failMode: 'fail-secure' }, false);
    let refused = 0;
    let halfWay = 0;
    for (let filler = 0; filler <= FILLERS; filler++) {
      const s = escortArrivesOnFullStorage(await prepare(filler), filler);
      const { c, board } = s;
      const at = `filler ${filler}`;
      if (c.status().journal.storageOk) {
        // The group fitted in the pages the database had: granted, and the door opened.
        expect(accessOf(s.committed, s.escortId), at).toHaveLength(1);
        expect(s.out.decision, at).toEqual({ granted: true, reason: 'granted' });
        recover(c);
        await c.stop('next try');
        continue;
      }
      refused++;
      if (s.taken > 0) halfWay++;
      // While storage refuses: no row of the group, the door did not open.
      expect(s.committed, at).toEqual([]);
      expect(s.out.decision, at).toEqual({ granted: false, reason: 'storage_unavailable' });
      expect(s.lockWrites, at).not.toContain(unlocked);
      expect(board.readOutput('machine-room.lock'), at).not.toBe(unlocked);
      expect(c.status().doors[0], at).toMatchObject({ locked: true });
      expect(c.status().journal.pendingWrites, at).toBeGreaterThanOrEqual(2);

      recover(c);
      expect(c.status().journal, at).toMatchObject({ storageOk: true, pendingWrites: 0 });
      const rows = [...c.journal.iterate(s.head + 1)];
      // Both rows, written on recovery, say what happened: refused, storage unavailable.
      const escortRows = accessOf(rows, s.escortId);
      const visitorRows = accessOf(rows, s.visitorId);
      expect(escortRows, at).toHaveLength(1);
      expect(visitorRows, at).toHaveLength(1);
      expect(escortRows[0]!.data, at).toMatchObject({
        result: 'denied',
        reason: 'storage_unavailable',
        decided: 'granted',
      });
      expect(visitorRows[0]!.data, at).toMatchObject({
        result: 'denied',
        reason: 'storage_unavailable',
        decided: 'granted',
        escort: s.escortId,
      });
      // Nothing opened the door, and nothing needs an unlock_skipped to explain a half-written group.
      const types = rows.map((r) => r.type);
      expect(types, at).not.toContain('door_unlocked');
      expect(types, at).not.toContain('unlock_skipped');
      expect(s.lockWrites, at).not.toContain(unlocked);
      expect(
        c.activeAlarms().map((a) => a.type),
        at,
      ).toContain('storage_fault');
      // The visitor never entered: their badge is still "issued", with no in-use row.
      expect(c.registry.getVisitorBadge(s.badgeId)!.status, at).toBe('issued');
      expect(types, at).not.toContain('visitor_badge_in_use');
      // Neither is recorded inside; the escort's next card (the window over) opens the door.
      expect(
        presenceView(c.derived, 'machine-room').map((p) => p.personId),
        at,
      ).toEqual([]);
      await c.stop('next try');
    }
    // Most fillers leave no room at all; in some the escort's row was taken and the visitor's refused.
    expect(refused).toBeGreaterThan(0);
    expect(halfWay).toBeGreaterThan(0);
  }, 90_000);

  it('under hard anti-passback the escort, whose door never opened, can enter once storage is back', async () => {
    for (let filler = 0; filler <= FILLERS; filler++) {
      const s = escortArrivesOnFullStorage(
        await prepare(filler, { visitors: { antiPassback: { mode: 'hard', forgiveAfterS: 3600 } } }),
        filler,
      );
      const ok = s.c.status().journal.storageOk;
      recover(s.c);
      if (ok) {
        await s.c.stop('next try');
        continue;
      }
      vi.advanceTimersByTime(20_000); // the escort window is over; the escort tries again
      expect(presenceView(s.c.derived, 'machine-room').map((p) => p.personId)).toEqual([]);
      expect(s.c.simulateBadge('entry', ESCORT_CARD).decision).toEqual({ granted: true, reason: 'granted' });
      return;
    }
    throw new Error('storage never refused the group');
  });
});
