/**
 * What the controller writes to its card: bytes per physical event, for the card's lifetime
 * (docs/operations.md, "How long the card lasts"; docs/benchmarks.md).
 *
 * `sekisho start` as deployed (the build, the unit's flags, the dashboard with its log index, MQTT
 * when a broker is there) on a fresh storage with a few staff; badges over the HTTP sim route, each
 * grant followed by the door opened and closed — five rows at the door (access, unlocked, opened,
 * closed, locked). The figure is the `write_bytes` of the process's /proc/<pid>/io: what it sent to
 * the block layer (page-sized writes to the WAL, the WAL checkpoints into journal.db, fsyncs), after
 * the WAL checkpoints of the load ran. Not counted: the file system's own journal and metadata
 * (ext4's jbd2 writes on the process's behalf) and the card's internal write amplification — the
 * docs state those as assumptions.
 *
 * The limit, in the same run: bare durable SQLite commits of a journal-sized row (WAL,
 * synchronous=FULL, one row a transaction, checkpointed), five of them, measured the same way on
 * this process's own /proc/self/io.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../controller/config/index.js';
import { createLogger } from '../controller/log.js';
import { Controller } from '../controller/runtime/index.js';
import { openStorage } from '../controller/storage.js';
import { SimBoard } from '../hardware/index.js';
import { DOOR, type Staff } from './lib/dataset.js';
import { bareCommits } from './lib/limits.js';
import { benchConfig } from './lib/setup.js';
import { sleep } from './lib/stats.js';
import { SimBadges, startProcess } from './process.js';

/** The `write_bytes` of a process (its own, or a child's: same user). */
export function writeBytes(pid: number | 'self'): number {
  const m = /^write_bytes:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/io has no write_bytes (task I/O accounting is off?)`);
  return Number(m[1]);
}

export interface WearFigure {
  presentations: number;
  granted: number;
  rows: number;
  /** write_bytes during the load, WAL checkpoints included. */
  bytes: number;
  bytesPerPresentation: number;
  bytesPerRow: number;
  /** write_bytes per second of an idle controller (no events), over `idleS`. */
  idleBytesPerS: number;
  idleS: number;
  /** Five bare durable commits of a journal-sized row (the limit). */
  bareBytesPerFiveCommits: number;
}

const STAFF = 20;
/**
 * Longer than the dashboard's log index sync (10 s) and the WAL checkpointer's interval (500 ms):
 * after it, the load's rows are indexed and its pages copied into journal.db.
 */
const SETTLE_MS = 12_000;

export async function wear(work: string, n: number, rowLen: number, mqttUrl?: string): Promise<WearFigure> {
  const storage = join(work, 'wear-data');
  const { file } = benchConfig({ storageDir: storage, entry: 'sim', exit: 'sim', mqttUrl });
  const staff = seed(file);
  const s = await startProcess(file, storage);
  try {
    const badges = new SimBadges(s);
    const head = async () => {
      const r = await fetch(`${s.base}/api/status`, { headers: { authorization: `Bearer ${s.token}` } });
      return ((await r.json()) as { journal: { headSeq: number } }).journal.headSeq;
    };
    const present = async (count: number) => {
      let granted = 0;
      for (let i = 0; i < count; i++) {
        if ((await badges.present(staff[i % staff.length]!)).granted) {
          granted++;
          await badges.walkThrough();
        }
      }
      return granted;
    };
    // Warm-up: the first pages of every table and index exist, the WAL has wrapped once; then the
    // deferred writes of the warm-up (the log index, the MQTT outbox) are done before the idle window.
    await present(100);
    await sleep(SETTLE_MS);
    const pid = s.proc.pid!;
    const idle0 = writeBytes(pid);
    const idleS = 20;
    await sleep(idleS * 1000);
    const w0 = writeBytes(pid);
    const idleBytesPerS = (w0 - idle0) / idleS;
    const h0 = await head();
    const granted = await present(n);
    // The load's deferred writes too: its WAL checkpoints, log index batches, outbox deliveries.
    await sleep(SETTLE_MS);
    const bytes = writeBytes(pid) - w0 - idleBytesPerS * (SETTLE_MS / 1000);
    const rows = (await head()) - h0;
    const b0 = writeBytes('self');
    const commits = 2000;
    bareCommits(work, commits, rowLen);
    const bare = ((writeBytes('self') - b0) / (commits + 1200)) * 5; // bareCommits warms up with 1200
    return {
      presentations: n,
      granted,
      rows,
      bytes,
      bytesPerPresentation: bytes / n,
      bytesPerRow: bytes / rows,
      idleBytesPerS,
      idleS,
      bareBytesPerFiveCommits: bare,
    };
  } finally {
    await s.stop();
  }
}

/**
 * One signed checkpoint with its snapshot of the derived state, as the controller makes one every
 * `storage.checkpointEveryS` (300 s) while rows are written: a Controller in this process on the same
 * storage, a badge (not counted), then the checkpoint and the WAL checkpoint that copies its pages.
 */
export async function checkpointWrites(work: string, times: number): Promise<number> {
  const storage = join(work, 'wear-data');
  const { loaded } = benchConfig({ storageDir: storage, entry: 'sim', exit: 'sim' });
  const c = await Controller.start({ loaded, board: new SimBoard(), log: createLogger({ level: 'error' }) });
  try {
    const staff = c.registry.findBadgeByCredential(credentialOf(0));
    if (!staff) throw new Error('the wear storage has no staff');
    let bytes = 0;
    for (let i = 0; i < times; i++) {
      c.simulateBadge(i % 2 ? 'exit' : 'entry', credentialOf(0));
      c.db.pragma('wal_checkpoint(PASSIVE)');
      const b0 = writeBytes('self');
      c.checkpoint();
      c.db.pragma('wal_checkpoint(PASSIVE)');
      bytes += writeBytes('self') - b0;
    }
    return bytes / times;
  } finally {
    await c.stop('bench end');
  }
}

const credentialOf = (i: number) => (0x0a00000000 + i).toString(16).toUpperCase().padStart(10, '0');

/** A few staff with the `always` schedule at the door, before the first start. */
function seed(configFile: string): Staff[] {
  const st = openStorage(loadConfig(configFile));
  try {
    const at = Date.now();
    const out: Staff[] = [];
    for (let i = 0; i < STAFF; i++) {
      const credential = credentialOf(i);
      const p = st.registry.addPerson(
        { name: `職員 ${i}`, displayId: `W-${i}`, category: 'staff' },
        'bench',
        at,
      );
      st.registry.grantDoor(p.id, DOOR, 'always', 'bench', at);
      const badge = st.registry.addBadge({ personId: p.id, credential }, 'bench', at);
      out.push({ personId: p.id, badgeId: badge.id, credential, name: p.name });
    }
    return out;
  } finally {
    st.db.close();
  }
}
