/**
 * The door path, in the bench process: a real Controller whose two ReaderPorts read real socat ptys,
 * on the simulated board. Measured from the moment the last byte of an RDM6300 frame is written into
 * the pty to the moment the lock output changes (SimBoard.onOutput), with the access row's commit
 * (Controller.onRow) as an intermediate mark.
 */
import { writeSync } from 'node:fs';
import { dataFields } from '../controller/domain/index.js';
import type { JournalRow } from '../controller/journal/index.js';
import type { Controller } from '../controller/runtime/index.js';
import { encodeRdm6300Frame } from '../firmware-bridge/index.js';
import { lockOutputLevel, type SimBoard } from '../hardware/index.js';
import type { Staff } from './lib/dataset.js';
import { DOOR } from './lib/dataset.js';
import { now, sleep } from './lib/stats.js';

export interface DoorRig {
  controller: Controller;
  board: SimBoard;
  /** Writable fds of the reader ptys' far ends. */
  entryFd: number;
  exitFd: number;
}

/** Watches the lock output and the committed rows; one outstanding wait at a time. */
class Watch {
  private lockWaiter: { level: boolean; resolve: (t: number) => void } | null = null;
  private rowWaiter: {
    match: (r: JournalRow) => boolean;
    resolve: (r: { row: JournalRow; t: number }) => void;
  } | null = null;
  /** The time the latest access row was committed. */
  lastAccess: { row: JournalRow; t: number } | null = null;

  constructor(rig: DoorRig) {
    const lockName = `${DOOR}.lock`;
    rig.board.onOutput((name, on) => {
      if (name !== lockName || !this.lockWaiter || this.lockWaiter.level !== on) return;
      const w = this.lockWaiter;
      this.lockWaiter = null;
      w.resolve(now());
    });
    // The bench's probe on the commit. Inside the writer's event transaction (Writer.event) a row is
    // committed when Journal.commitOpen returns, not when append does; outside one, when the
    // outermost transaction() returns (append joins it, or is one of its own). (The controller's row
    // listeners run later still, after the lock has moved.)
    const journal = rig.controller.journal;
    const staged: JournalRow[] = [];
    let open = false;
    let depth = 0;
    const committed = () => {
      const t = now();
      for (const row of staged.splice(0)) {
        if (row.type === 'access') this.lastAccess = { row, t };
        if (this.rowWaiter?.match(row)) {
          const w = this.rowWaiter;
          this.rowWaiter = null;
          w.resolve({ row, t });
        }
      }
    };
    const append = journal.append.bind(journal);
    journal.append = (...args: Parameters<typeof append>) => {
      const row = append(...args);
      staged.push(row);
      if (!open && depth === 0) committed();
      return row;
    };
    const transaction = journal.transaction.bind(journal);
    journal.transaction = <T>(fn: () => T): T => {
      depth++;
      let ok = false;
      try {
        const r = transaction(fn);
        ok = true;
        return r;
      } finally {
        depth--;
        if (!open && depth === 0) {
          if (ok) committed();
          else staged.length = 0; // rolled back: never committed
        }
      }
    };
    const begin = journal.begin.bind(journal);
    journal.begin = () => {
      begin();
      open = true;
    };
    const commitOpen = journal.commitOpen.bind(journal);
    journal.commitOpen = () => {
      commitOpen();
      open = false;
      committed();
    };
    const rollbackOpen = journal.rollbackOpen.bind(journal);
    journal.rollbackOpen = () => {
      open = false;
      staged.length = 0; // rolled back: never committed
      rollbackOpen();
    };
  }

  /** Resolves with the time the lock output goes to `level`, or NaN after timeoutMs. */
  lock(level: boolean, timeoutMs = 2000): Promise<number> {
    return new Promise<number>((resolve) => {
      const waiter = {
        level,
        resolve: (t: number) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
      const timer = setTimeout(() => {
        if (this.lockWaiter === waiter) this.lockWaiter = null;
        resolve(Number.NaN);
      }, timeoutMs);
      this.lockWaiter = waiter;
    });
  }

  /** Resolves with the next committed row that matches, or null after timeoutMs. */
  row(match: (r: JournalRow) => boolean, timeoutMs = 2000): Promise<{ row: JournalRow; t: number } | null> {
    return new Promise((resolve) => {
      const waiter = {
        match,
        resolve: (r: { row: JournalRow; t: number }) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        if (this.rowWaiter === waiter) this.rowWaiter = null;
        resolve(null);
      }, timeoutMs);
      this.rowWaiter = waiter;
    });
  }
}

const watches = new WeakMap<DoorRig, Watch>();
function watchOf(rig: DoorRig): Watch {
  let w = watches.get(rig);
  if (!w) {
    w = new Watch(rig);
    watches.set(rig, w);
  }
  return w;
}

/** Writes a frame with its last byte apart; returns the time the last byte was written. */
async function present(fd: number, credential: string): Promise<number> {
  const frame = encodeRdm6300Frame(credential);
  writeSync(fd, frame.subarray(0, frame.length - 1));
  await sleep(1); // the head arrives and waits in the codec, as it does at 9600 baud
  const t0 = now();
  writeSync(fd, frame.subarray(frame.length - 1));
  return t0;
}

export interface BadgeResult {
  /** Last byte written → lock output changed, ms. */
  unlock: number[];
  /** Last byte written → access row committed, ms. */
  commit: number[];
  /** Access row committed → lock output changed, ms (fold, listeners, door machine, output). */
  afterCommit: number[];
  failures: { reason: string; n: number }[];
  presentations: number;
  wallS: number;
}

/**
 * `n` presentations by the staff in turn: a person outside badges at the entry reader, a person
 * inside at the exit reader. After each unlock the door is opened and closed (relock on close), so
 * the next grant changes the lock output again — five journal rows per presentation, as at the door.
 */
export async function badgeToUnlock(rig: DoorRig, staff: readonly Staff[], n: number): Promise<BadgeResult> {
  const w = watchOf(rig);
  const cfg = rig.controller.config.doors[0]!;
  const unlocked = lockOutputLevel(cfg.lock, false);
  const inside = new Set(
    Object.keys(rig.controller.derived.presence[DOOR] ?? {}).filter((id) =>
      staff.some((s) => s.personId === id),
    ),
  );
  const result: BadgeResult = {
    unlock: [],
    commit: [],
    afterCommit: [],
    failures: [],
    presentations: 0,
    wallS: 0,
  };
  const fail = (reason: string) => {
    const f = result.failures.find((x) => x.reason === reason);
    if (f) f.n++;
    else result.failures.push({ reason, n: 1 });
  };
  const start = now();
  for (let i = 0; i < n; i++) {
    const who = staff[i % staff.length]!;
    const out = inside.has(who.personId);
    const lock = w.lock(unlocked);
    w.lastAccess = null;
    const t0 = await present(out ? rig.exitFd : rig.entryFd, who.credential);
    const t1 = await lock;
    result.presentations++;
    const acc = w.lastAccess as { row: JournalRow; t: number } | null;
    if (!Number.isFinite(t1)) {
      fail(
        acc ? `${String(dataFields(acc.row).result)}:${String(dataFields(acc.row).reason)}` : 'no decision',
      );
      await sleep(50);
      continue;
    }
    result.unlock.push(t1 - t0);
    if (acc) {
      result.commit.push(acc.t - t0);
      result.afterCommit.push(t1 - acc.t);
    }
    if (out) inside.delete(who.personId);
    else inside.add(who.personId);
    // Walk through: the door opens and closes, the lock relocks on close.
    const relock = w.lock(!unlocked);
    rig.board.simulate(`${DOOR}.contact`, true);
    rig.board.simulate(`${DOOR}.contact`, false);
    if (!Number.isFinite(await relock)) fail('no relock');
    await sleep(1); // let the MQTT publisher and the other after-commit work run, as between real badges
  }
  result.wallS = (now() - start) / 1000;
  return result;
}

export interface LostResult {
  /** setBadgeStatus('lost') call → committed, ms. */
  disable: number[];
  /** Lost (call started) → the next presentation's denial committed, ms. */
  lostToDenied: number[];
  /** Presentations after the loss that were granted (must be 0). */
  grantedAfterLoss: number;
}

/**
 * Lost badge → denied at the door: the badge is disabled through the registry (what the dashboard's
 * "lost" button and `sekisho badge lost` do), then presented at once at the entry reader.
 */
export async function lostBadge(rig: DoorRig, staff: readonly Staff[], n: number): Promise<LostResult> {
  const w = watchOf(rig);
  const res: LostResult = { disable: [], lostToDenied: [], grantedAfterLoss: 0 };
  const inside = rig.controller.derived.presence[DOOR] ?? {};
  const outside = staff.filter((s) => !(s.personId in inside));
  for (let i = 0; i < n; i++) {
    const who = outside[i % outside.length]!;
    const t0 = now();
    rig.controller.registry.setBadgeStatus(who.badgeId, 'lost', 'bench', Date.now(), 'bench: lost');
    const t1 = now();
    const denied = w.row((r) => r.type === 'access' && r.person === who.personId);
    await present(rig.entryFd, who.credential);
    const got = await denied;
    res.disable.push(t1 - t0);
    if (got) {
      if (dataFields(got.row).result === 'granted') {
        res.grantedAfterLoss++;
        // Undo the entry so the room stays as the other benchmarks expect.
        rig.board.simulate(`${DOOR}.contact`, true);
        rig.board.simulate(`${DOOR}.contact`, false);
      } else res.lostToDenied.push(got.t - t0);
    }
    rig.controller.registry.setBadgeStatus(who.badgeId, 'active', 'bench', Date.now(), 'bench: found');
    await sleep(2);
  }
  return res;
}
