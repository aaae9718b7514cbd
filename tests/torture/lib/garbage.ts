/**
 * Serial garbage through a real pty into the RDM6300 reader of a running `sekisho start`: random
 * bytes, line noise full of start and end bytes, truncated frames, and well-formed frames of an
 * enrolled card with bad checksums. Nothing may grant, the process must live, and the reader must
 * still decide a real card afterwards. The door's answer time over HTTP is sampled during the flood.
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
  bytes: number;
  badChecksumFrames: number;
  truncatedFrames: number;
  seconds: number;
  mbPerS: number;
  /** Access rows written during the flood, and how many of them granted (must be 0). */
  decisions: number;
  grants: number;
  alive: boolean;
  /** A real frame of the enrolled card after the flood. */
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

export async function serialGarbage(opts: GarbageOptions): Promise<GarbageResult> {
  const log = opts.log ?? (() => undefined);
  const rand = rng(opts.seed);
  const dir = tempDir('sekisho-torture-garbage-');
  const storage = join(dir, 'data');
  const pty = await makePtyPair(join(dir, 'pty'));
  const configFile = writeConfig(
    dir,
    doorConfig(dir, [
      { id: 'entry', path: pty.b, protocol: 'rdm6300', repeatSuppressMs: 0 },
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
    decisions: 0,
    grants: 0,
    alive: false,
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
  const t0 = performance.now();
  let nextLog = 10 * 1024 * 1024;
  try {
    while (res.bytes < total) {
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
      const chunk = Buffer.concat(parts);
      writeSync(fd, chunk);
      res.bytes += chunk.length;
      if (res.bytes >= nextLog) {
        nextLog += 10 * 1024 * 1024;
        log(`  ${(res.bytes / 1048576).toFixed(0)} MB of garbage written`);
        await sleep(1); // let the probe run in this process too
      }
    }
    res.seconds = (performance.now() - t0) / 1000;
    res.mbPerS = res.bytes / 1048576 / res.seconds;
    await sleep(1000); // the reader catches up with what the pty buffered
    flooding = false;
    await probe;
    const rows = db.prepare("SELECT bytes FROM journal WHERE type = 'access' AND seq > ?").all(startSeq) as {
      bytes: string;
    }[];
    const fromPty = rows.map((r) => JSON.parse(r.bytes).data as { reader: string; result: string });
    res.decisions = fromPty.filter((d) => d.reader === 'entry').length;
    res.grants = fromPty.filter((d) => d.reader === 'entry' && d.result === 'granted').length;
    if (res.grants > 0) res.failures.push(`${res.grants} grants from garbage`);
    const status = await a.call<{ readers: { online: boolean }[] }>('GET', '/api/status');
    res.alive = status.status === 200 && p.proc.exitCode === null;
    if (!res.alive) res.failures.push('the controller did not survive the garbage');
    // The reader still works: a real frame of the card, after a quiet moment (partial frames go stale).
    await sleep(600);
    const before = head();
    writeSync(fd, encodeRdm6300Frame(card));
    for (let i = 0; i < 100 && !res.grantedAfter; i++) {
      await sleep(20);
      const r = db.prepare("SELECT bytes FROM journal WHERE type = 'access' AND seq > ?").all(before) as {
        bytes: string;
      }[];
      res.grantedAfter = r.some((x) => JSON.parse(x.bytes).data.result === 'granted');
    }
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
