/**
 * A group entry (a waiting visitor, then their escort) when storage fails between the group's rows:
 * the escort's access row is committed, the visitor's is refused by SQLite. The door must not open;
 * the visitor's row is recorded as refused (`storage_unavailable`) and an `unlock_skipped` row naming
 * the escort's grant is written once storage recovers.
 *
 * The fault is a real refusal from SQLite on the controller's own connection: `PRAGMA max_page_count`
 * set to the database's current size makes any write that needs a new page fail with SQLITE_FULL
 * ("database or disk is full"), the error a full disk gives. Whether the escort's row still fits in
 * the pages the database has, and the visitor's does not, depends on how full the last pages are: the
 * test starts fresh controllers with 0, 1, 2 … filler rows until a run lands exactly in that window
 * (every tenth or so does; see `findWindow`). Real SQLite file, simulated board, vitest's fake clock.
 */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dataFields, presenceView } from '../../controller/domain/index.js';
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
/** Filler counts tried before giving up; the window comes round about every ten rows. */
const MAX_FILLER = 60;

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
  const out = c.simulateBadge('entry', ESCORT_CARD);
  const committed = [...c.journal.iterate(head + 1)];
  return { ...s, head, out, lockWrites, committed, filler };
}

const accessOf = (rows: JournalRow[], person: string) =>
  rows.filter((r) => r.type === 'access' && r.person === person);

/** The escort's row went through and the visitor's did not. */
const inWindow = (s: Scene) =>
  accessOf(s.committed, s.escortId).length === 1 && accessOf(s.committed, s.visitorId).length === 0;

function recover(c: Controller): void {
  c.db.pragma(`max_page_count = ${NO_PAGE_LIMIT}`);
  vi.advanceTimersByTime(2000); // the retry timer writes the queued records
}

/**
 * Fresh controllers with 0, 1, 2 … filler rows until the refusal falls between the escort's row and
 * the visitor's (and `also` holds). Throws, saying what each try gave, if it never does.
 */
async function findWindow(
  also: (s: Scene) => boolean = () => true,
  extra: Record<string, unknown> = {},
): Promise<Scene> {
  const tried: string[] = [];
  for (let filler = 0; filler <= MAX_FILLER; filler++) {
    const s = escortArrivesOnFullStorage(await prepare(filler, extra), filler);
    if (inWindow(s) && also(s)) return s;
    tried.push(`${filler}: ${s.committed.map((r) => r.type).join(',') || '-'}`);
    recover(s.c);
    await s.c.stop('next try');
  }
  throw new Error(`the refusal never fell between the escort's and the visitor's row:\n${tried.join('\n')}`);
}

describe('unlock skipped: the escort’s row committed, the visitor’s refused by SQLite', () => {
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

  it('the door stays locked; the visitor is recorded refused and unlock_skipped names the escort’s grant', async () => {
    const s = await findWindow();
    const { c, board } = s;
    const unlocked = lockOutputLevel({ failMode: 'fail-secure' }, false);

    // While storage refuses: the escort's grant is in the journal, the door did not open.
    const [grant] = accessOf(s.committed, s.escortId);
    expect(grant!.data).toMatchObject({ result: 'granted', reason: 'granted', direction: 'in' });
    expect(dataFields(grant!).visitors).toEqual([{ person: s.visitorId, name: 'Tamura' }]);
    expect(s.committed.map((r) => r.type)).not.toContain('door_unlocked');
    // The escort's card is answered with what happened at the door, not with the committed grant.
    expect(s.out.decision).toEqual({ granted: false, reason: 'storage_unavailable' });
    expect(s.lockWrites).not.toContain(unlocked);
    expect(board.readOutput('machine-room.lock')).not.toBe(unlocked);
    expect(c.status().doors[0]).toMatchObject({ locked: true });
    expect(c.status().journal.storageOk).toBe(false);
    expect(c.status().journal.pendingWrites).toBeGreaterThanOrEqual(2); // the visitor's row, unlock_skipped
    expect(c.journal.query({ types: ['unlock_skipped'], limit: 10 })).toEqual([]);

    recover(c);
    expect(c.status().journal).toMatchObject({ storageOk: true, pendingWrites: 0 });
    const rows = [...c.journal.iterate(s.head + 1)];
    // The visitor's row, written on recovery, says what happened: refused, storage unavailable.
    const visitorRows = accessOf(rows, s.visitorId);
    expect(visitorRows).toHaveLength(1);
    expect(visitorRows[0]!.data).toMatchObject({
      result: 'denied',
      reason: 'storage_unavailable',
      decided: 'granted',
      escort: s.escortId,
    });
    // Written once, after the visitor's row, naming the escort's committed grant.
    const skipped = rows.filter((r) => r.type === 'unlock_skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({
      door: 'machine-room',
      data: { reason: 'storage_unavailable', grants: [grant!.seq], entering: [s.escortId] },
    });
    expect(skipped[0]!.seq).toBeGreaterThan(visitorRows[0]!.seq);
    expect(accessOf(rows, s.escortId)).toEqual([grant]);
    // Nothing ever opened the door, during the fault or after it.
    expect(rows.map((r) => r.type)).not.toContain('door_unlocked');
    expect(s.lockWrites).not.toContain(unlocked);
    expect(board.readOutput('machine-room.lock')).not.toBe(unlocked);
    expect(c.activeAlarms().map((a) => a.type)).toContain('storage_fault');
  });

  // ---------------------------------------------------------------------------------------------
  // Two defects this path showed in visitStep (both fixed): the visitor's badge was marked in use
  // though the door stayed shut, and the escort stayed recorded inside.

  it('the visitor badge is not marked "in use" when the visitor’s entry was refused', async () => {
    // Every window up to MAX_FILLER: in some of them the in-use mark (a small registry row written
    // straight to SQLite, not through the controller's queue) still fits.
    let windows = 0;
    for (let filler = 0; filler <= MAX_FILLER && windows < 4; filler++) {
      const s = escortArrivesOnFullStorage(await prepare(filler), filler);
      const hit = inWindow(s);
      recover(s.c);
      if (hit) {
        windows++;
        const rows = [...s.c.journal.iterate(s.head + 1)];
        expect(accessOf(rows, s.visitorId)[0]!.data).toMatchObject({ result: 'denied' });
        // The visitor never entered: their badge must still be "issued", with no in-use row …
        expect(s.c.registry.getVisitorBadge(s.badgeId)!.status, `filler ${filler}`).toBe('issued');
        // … and no row may jump the queue of the records written on recovery.
        expect(rows.map((r) => r.type)).not.toContain('visitor_badge_in_use');
      }
      await s.c.stop('next try');
    }
    expect(windows).toBe(4);
  }, 90_000);

  it('the escort, whose door never opened, is not recorded inside (hard anti-passback would lock them out)', async () => {
    const s = await findWindow(() => true, {
      visitors: { antiPassback: { mode: 'hard', forgiveAfterS: 3600 } },
    });
    recover(s.c);
    vi.advanceTimersByTime(20_000); // the escort window is over; the escort tries again
    expect(presenceView(s.c.derived, 'machine-room').map((p) => p.personId)).toEqual([]);
    expect(s.c.simulateBadge('entry', ESCORT_CARD).decision).toEqual({ granted: true, reason: 'granted' });
  });
});
