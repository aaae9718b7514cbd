/**
 * Serial garbage through a real pty into the RDM6300 reader of a running `sekisho start`: random
 * bytes, line noise full of start and end bytes, truncated frames, and well-formed frames of an
 * enrolled card with bad checksums. Nothing may grant, the process must live, and the reader must
 * still decide a real card afterwards. The door's answer time over HTTP is sampled meanwhile.
 *
 * Two phases, because a port far above its line rate is a flood whose bytes are not decoded at all
 * (the reader's byte budget, firmware-bridge/budget.ts):
 * 1. decoder: the garbage is paced at PACE_BYTES_PER_S, inside this reader's budget (raised for
 *    the test to BUDGET_FACTOR × 960 bytes/s), so every byte goes through the RDM6300 decoder. A
 *    flood reported during this phase is a failure: the decoder would not have been exercised.
 * 2. flood: the same garbage again, as fast as the pty takes it — the attack as it comes. Whether
 *    the budget trips depends on the machine's speed, so it is reported, not required; no grant
 *    and a working reader afterwards (once any cool-down has passed) are required.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encodeRdm6300Frame } from '../../../firmware-bridge/index.js';
import { doorConfig, tempDir, writeConfig } from '../../helpers/controller.js';
import { makePtyPair } from '../../helpers/pty.js';
import { api, DOOR, enrolStaff, percentiles, rng, sleep, spawnController } from './common.js';

export interface GarbageOptions {
  megabytes: number;
  seed: number;
  log?: (s: string) => void;
}

export interface GarbageResult {
  seed: number;
  /** Bytes written in the decoder phase (paced, within the budget). */
  bytes: number;
  badChecksumFrames: number;
  truncatedFrames: number;
  seconds: number;
  /** The decoder phase's rate (paced). */
  mbPerS: number;
  /** Bytes written in the flood phase, as fast as the pty took them. */
  floodBytes: number;
  floodMbPerS: number;
  /** Whether the reader reported `flood` during the flood phase (depends on the machine's speed). */
  floodReported: boolean;
  /** Access rows written during the flood, and how many of them granted (must be 0). */
  decisions: number;
  grants: number;
  alive: boolean;
  /** A real frame of the enrolled card after the decoder phase. */
  grantedAfterDecoder: boolean;
  /** A real frame of the enrolled card after the flood (and its cool-down). */
  grantedAfter: boolean;
  /** HTTP sim badge (other reader) round trips during the flood. */
  doorMs: ReturnType<typeof percentiles>;
  failures: string[];
}

function noise(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  const mode = rand();
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (mode < 0.4) b[i] = Math.floor(r * 256);
    else if (mode < 0.7)
      b[i] = r < 0.15 ? 0x02 : r < 0.3 ? 0x03 : '0123456789ABCDEF'.charCodeAt(Math.floor(r * 16 * 3) % 16);
    else b[i] = r < 0.05 ? 0x02 : r < 0.1 ? 0x03 : r < 0.2 ? 0x0d : 0x30 + Math.floor(r * 64);
  }
  return b;
}

/** The decoder phase's pace. */
const PACE_BYTES_PER_S = 2 * 1024 * 1024;
/** This reader's budget: 5000 × 960 bytes/s ≈ 4.6 MB/s, over twice the pace. */
const BUDGET_FACTOR = 5000;
const COOL_DOWN_MS = 1000;

/** One chunk of garbage: noise with bad, cut and broken frames of `card`. */
function garbageChunk(rand: () => number, card: string, res: GarbageResult): Buffer {
  const parts: Buffer[] = [noise(rand, 4096 + Math.floor(rand() * 60_000))];
  for (let i = 0; i < 8; i++) {
    const r = rand();
    if (r < 0.5) {
      parts.push(encodeRdm6300Frame(card, { badChecksum: true }));
      res.badChecksumFrames++;
    } else if (r < 0.8) {
      const f = encodeRdm6300Frame(card);
      parts.push(f.subarray(0, 1 + Math.floor(rand() * (f.length - 2)))); // cut short
      // …and abandoned by a start byte: otherwise the random noise after it can supply the missing
      // checksum digit and end byte (≈1 in 30,000), completing the real card's frame — a genuine
      // read of bytes the card sends, not a false decode, but indistinguishable from one here.
      parts.push(Buffer.from([0x02]));
      res.truncatedFrames++;
    } else {
      const f = Buffer.from(encodeRdm6300Frame(card));
      f[1 + Math.floor(rand() * 12)] = 0x02; // a start byte inside the frame
      parts.push(f);
      res.truncatedFrames++;
    }
    parts.push(noise(rand, Math.floor(rand() * 64)));
  }
  return Buffer.concat(parts);
}

export async function serialGarbage(opts: GarbageOptions): Promise<GarbageResult> {
  const log = opts.log ?? (() => undefined);
  const rand = rng(opts.seed);
  const dir = tempDir('sekisho-torture-garbage-');
  const storage = join(dir, 'data');
  const pty = await makePtyPair(join(dir, 'pty'));
  const configFile = writeConfig(
    dir,
    doorConfig(dir, [
      {
        id: 'entry',
        path: pty.b,
        protocol: 'rdm6300',
        repeatSuppressMs: 0,
        // One cool-down length for every flood (no back-off): the phases wait for the reader by it.
        byteBudget: { factor: BUDGET_FACTOR, coolDownMs: COOL_DOWN_MS, maxCoolDownMs: COOL_DOWN_MS },
      },
      { id: 'exit', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 },
    ]),
  );
  const [staff] = enrolStaff(configFile, 1);
  const card = staff!.credential;
  const p = spawnController(configFile, storage);
  const base = await p.ready;
  const a = api(base, p.token());
  for (let i = 0; i < 200; i++) {
    const s = await a.call<{ readers: { online: boolean }[] }>('GET', '/api/status');
    if (s.body.readers[0]?.online) break;
    await sleep(25);
  }
  const db = new Database(join(storage, 'journal.db'), { readonly: true });
  const head = () => (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM journal').get() as { s: number }).s;
  const startSeq = head();
  const res: GarbageResult = {
    seed: opts.seed,
    bytes: 0,
    badChecksumFrames: 0,
    truncatedFrames: 0,
    seconds: 0,
    mbPerS: 0,
    floodBytes: 0,
    floodMbPerS: 0,
    floodReported: false,
    decisions: 0,
    grants: 0,
    alive: false,
    grantedAfterDecoder: false,
    grantedAfter: false,
    doorMs: percentiles([]),
    failures: [],
  };
  // The door keeps answering on its other reader during the flood.
  let flooding = true;
  const doorMs: number[] = [];
  const probe = (async () => {
    while (flooding) {
      const t = performance.now();
      try {
        await a.call('POST', '/api/sim/badge', { reader: 'exit', credential: 'ABCDEF0123' });
        doorMs.push(performance.now() - t);
      } catch {
        return;
      }
      await sleep(50);
    }
  })();
  const fd = openSync(pty.a, 'w');
  const total = opts.megabytes * 1024 * 1024;
  const floodRows = () =>
    (
      db.prepare("SELECT bytes FROM journal WHERE type = 'reader_offline' AND seq > ?").all(startSeq) as {
        bytes: string;
      }[]
    ).filter((r) => JSON.parse(r.bytes).data.reason === 'flood').length;
  const accessRows = (after: number, upTo = Number.MAX_SAFE_INTEGER) =>
    (
      db
        .prepare("SELECT bytes FROM journal WHERE type = 'access' AND seq > ? AND seq <= ?")
        .all(after, upTo) as {
        bytes: string;
      }[]
    ).map((r) => JSON.parse(r.bytes).data as { reader: string; result: string });
  /** Decisions on the garbage reader between two seqs (the real card's presentations excluded). */
  const count = (from: number, to: number) => {
    const rows = accessRows(from, to).filter((d) => d.reader === 'entry');
    res.decisions += rows.length;
    res.grants += rows.filter((d) => d.result === 'granted').length;
  };
  /** Present the real card until it is granted (a held card repeats its frame); false after ~3 s. */
  const realCardGranted = async (): Promise<boolean> => {
    await sleep(600); // a quiet moment: partial frames go stale
    const before = head();
    for (let i = 0; i < 30; i++) {
      writeSync(fd, encodeRdm6300Frame(card));
      await sleep(100);
      if (accessRows(before).some((d) => d.reader === 'entry' && d.result === 'granted')) return true;
    }
    return false;
  };
  try {
    // Phase 1, decoder: paced inside the budget, every byte decoded.
    const t0 = performance.now();
    let nextLog = 10 * 1024 * 1024;
    while (res.bytes < total) {
      const chunk = garbageChunk(rand, card, res);
      writeSync(fd, chunk);
      res.bytes += chunk.length;
      // Sleep for the chunk's share of the pace, never catching up: the rate stays at most the pace.
      await sleep((chunk.length / PACE_BYTES_PER_S) * 1000);
      if (res.bytes >= nextLog) {
        nextLog += 10 * 1024 * 1024;
        log(`  ${(res.bytes / 1048576).toFixed(0)} MB of paced garbage written`);
      }
    }
    res.seconds = (performance.now() - t0) / 1000;
    res.mbPerS = res.bytes / 1048576 / res.seconds;
    await sleep(1000); // the reader catches up with what the pty buffered
    if (floodRows() > 0)
      res.failures.push('the paced garbage was reported as a flood: the decoder was not exercised');
    count(startSeq, head());
    res.grantedAfterDecoder = await realCardGranted();
    if (!res.grantedAfterDecoder) res.failures.push('a real frame after the paced garbage was not granted');

    // Phase 2, flood: as fast as the pty takes it.
    await sleep(500); // a second presentation of the real card still being decided
    const floodFrom = head();
    const t1 = performance.now();
    nextLog = 10 * 1024 * 1024;
    let nextCheck = 1024 * 1024;
    // At least `total`, and on until the flood is reported or 4 windows' worth of budget were sent
    // (a short run's few MB can fit in one window's budget).
    const atLeast = Math.max(total, 4 * BUDGET_FACTOR * 960);
    while (res.floodBytes < total || (!res.floodReported && res.floodBytes < atLeast)) {
      const chunk = garbageChunk(rand, card, res);
      writeSync(fd, chunk);
      res.floodBytes += chunk.length;
      if (res.floodBytes >= nextCheck) {
        nextCheck += 1024 * 1024;
        res.floodReported ||= floodRows() > 0;
      }
      if (res.floodBytes >= nextLog) {
        nextLog += 10 * 1024 * 1024;
        log(`  ${(res.floodBytes / 1048576).toFixed(0)} MB of garbage flooded`);
        await sleep(1); // let the probe run in this process too
      }
    }
    res.floodMbPerS = res.floodBytes / 1048576 / ((performance.now() - t1) / 1000);
    await sleep(1000);
    flooding = false;
    await probe;
    res.floodReported ||= floodRows() > 0;
    count(floodFrom, head());
    if (res.grants > 0) res.failures.push(`${res.grants} grants from garbage`);
    const status = await a.call<{ readers: { online: boolean }[] }>('GET', '/api/status');
    res.alive = status.status === 200 && p.proc.exitCode === null;
    if (!res.alive) res.failures.push('the controller did not survive the garbage');
    // The reader still works: back online after any cool-down, then a real frame is granted.
    for (let i = 0; i < 200; i++) {
      const s = await a.call<{ readers: { online: boolean }[] }>('GET', '/api/status');
      if (s.body.readers[0]?.online) break;
      await sleep(50);
    }
    res.grantedAfter = await realCardGranted();
    if (!res.grantedAfter) res.failures.push('a real frame after the garbage was not granted');
    const lock = await a.call<Record<string, boolean>>('GET', '/api/sim/outputs');
    if (lock.body[`${DOOR}.lock`] === undefined) res.failures.push('no lock output');
  } finally {
    flooding = false;
    closeSync(fd);
    db.close();
    const code = await p.stop();
    if (code !== 0) res.failures.push(`exit code ${code} at the stop`);
    await pty.stop();
    if (res.failures.length === 0) rmSync(dir, { recursive: true, force: true });
  }
  res.doorMs = percentiles(doorMs);
  return res;
}
