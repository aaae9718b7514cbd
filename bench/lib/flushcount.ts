/**
 * The flush-counting and stalling preload (bench/lib/flushcount.c), built with gcc into tmp/, and
 * what it and the kernel count: flushes and written bytes per process of the controller's tree, and
 * the block device's own counters (/proc/diskstats).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SOURCE = join(ROOT, 'bench', 'lib', 'flushcount.c');

/** Builds tmp/flushcount.so from its source when missing or older; returns its path. */
export function buildFlushcount(): string {
  const out = join(ROOT, 'tmp', 'flushcount.so');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(SOURCE).mtimeMs) return out;
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  const r = spawnSync('gcc', ['-O2', '-Wall', '-shared', '-fPIC', '-o', out, SOURCE, '-ldl'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`gcc could not build ${SOURCE}: ${r.error?.message ?? r.stderr}`);
  return out;
}

export interface FlushSettings {
  /** Added to every flush, µs. */
  delayUs: number;
  /** A stall of stallMs every everyMs (CLOCK_MONOTONIC windows), or none. */
  stall?: { ms: number; everyMs: number };
}

/** The environment that loads the preload with these settings and counts into `dir`. */
export function flushEnv(so: string, dir: string | null, s: FlushSettings): Record<string, string> {
  const env: Record<string, string> = { LD_PRELOAD: so, FLUSHCOUNT_DELAY_US: String(s.delayUs) };
  if (dir) env.FLUSHCOUNT_DIR = dir;
  if (s.stall) {
    env.FLUSHCOUNT_STALL_MS = String(s.stall.ms);
    env.FLUSHCOUNT_STALL_EVERY_MS = String(s.stall.everyMs);
  }
  return env;
}

export interface ProcCount {
  pid: number;
  comm: string;
  fsync: number;
  fdatasync: number;
  msync: number;
  syncfs: number;
  syncFileRange: number;
  /** Delay the preload added, ms (fixed delays and stall waits). */
  addedMs: number;
  /** Flushes that started in a stall window and waited for its end. */
  stalled: number;
  /** /proc/<pid>/io write_bytes while alive, the value at exit after. */
  writeBytes: number;
  exited: boolean;
}

const MAGIC = 0x31746e756f636c66n;

/** Every record in the folder: one per process that loaded the preload. */
export function readCounts(dir: string): Map<number, ProcCount> {
  const out = new Map<number, ProcCount>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.fc')) continue;
    const b = readFileSync(join(dir, f));
    if (b.length < 160 || b.readBigUInt64LE(0) !== MAGIC) continue;
    const u = (off: number) => Number(b.readBigUInt64LE(off));
    const pid = u(8);
    const exited = u(88) === 1;
    let writeBytes = u(80);
    if (!exited) {
      try {
        writeBytes = procWriteBytes(pid);
      } catch {
        // exited between the two reads, killed (no exit value) or not ours to read: keep what the record has
      }
    }
    const comm = b.subarray(96, 160).toString('utf8').replace(/\0.*$/s, '');
    out.set(pid, {
      pid,
      comm,
      fsync: u(16),
      fdatasync: u(24),
      msync: u(32),
      syncfs: u(40),
      syncFileRange: u(48),
      addedMs: u(56) / 1e6,
      stalled: u(64),
      writeBytes,
      exited,
    });
  }
  return out;
}

export function procWriteBytes(pid: number | 'self'): number {
  const m = /^write_bytes:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/io has no write_bytes (task I/O accounting is off?)`);
  return Number(m[1]);
}

/** fsync + fdatasync + msync + syncfs: the calls that make the card flush. */
export const flushesOf = (c: ProcCount) => c.fsync + c.fdatasync + c.msync + c.syncfs;

export interface CountDiff {
  flushes: number;
  fsync: number;
  fdatasync: number;
  msync: number;
  writeBytes: number;
  stalled: number;
  /** Processes that counted anything, by command name: flushes and bytes. */
  byProcess: { pid: number; comm: string; flushes: number; writeBytes: number }[];
}

/** What happened between two readings, over every process (a process new since `a` counts whole). */
export function diffCounts(
  a: Map<number, ProcCount>,
  b: Map<number, ProcCount>,
  pids?: Set<number>,
): CountDiff {
  const d: CountDiff = {
    flushes: 0,
    fsync: 0,
    fdatasync: 0,
    msync: 0,
    writeBytes: 0,
    stalled: 0,
    byProcess: [],
  };
  for (const [pid, y] of b) {
    if (pids && !pids.has(pid)) continue;
    const x = a.get(pid);
    const flushes = flushesOf(y) - (x ? flushesOf(x) : 0);
    const writeBytes = y.writeBytes - (x?.writeBytes ?? 0);
    d.flushes += flushes;
    d.fsync += y.fsync - (x?.fsync ?? 0);
    d.fdatasync += y.fdatasync - (x?.fdatasync ?? 0);
    d.msync += y.msync - (x?.msync ?? 0);
    d.writeBytes += writeBytes;
    d.stalled += y.stalled - (x?.stalled ?? 0);
    if (flushes || writeBytes) d.byProcess.push({ pid, comm: y.comm, flushes, writeBytes });
  }
  return d;
}

/** The pid and its descendants now (from /proc/<pid>/stat's ppid). */
export function processTree(root: number): Set<number> {
  const parent = new Map<number, number>();
  for (const f of readdirSync('/proc')) {
    if (!/^\d+$/.test(f)) continue;
    try {
      const stat = readFileSync(`/proc/${f}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(f), ppid);
    } catch {
      // gone
    }
  }
  const tree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent)
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
  }
  return tree;
}

export interface DiskStats {
  device: string;
  writes: number;
  sectorsWritten: number;
  /** Flush requests completed (kernels ≥ 5.5), NaN when the kernel does not count them. */
  flushes: number;
}

/** The block device that holds `dir`, from /proc/diskstats (matched by major:minor). */
export function diskStats(dir: string): DiskStats | null {
  const dev = statSync(dir).dev;
  const major = (dev >> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (Number(f[0]) !== major || Number(f[1]) !== minor) continue;
    return {
      device: f[2]!,
      writes: Number(f[7]),
      sectorsWritten: Number(f[9]),
      flushes: f.length >= 19 ? Number(f[18]) : Number.NaN,
    };
  }
  return null;
}

export function diffDisk(a: DiskStats | null, b: DiskStats | null): DiskStats | null {
  if (!a || !b) return null;
  return {
    device: b.device,
    writes: b.writes - a.writes,
    sectorsWritten: b.sectorsWritten - a.sectorsWritten,
    flushes: b.flushes - a.flushes,
  };
}

/**
 * One flush, bare: a 4 KiB append and an fsync in a fresh node process with the same preload on the
 * same disk, `n` times; ms each. The limit every figure is set against.
 */
export function bareFlushes(dir: string, env: Record<string, string>, n: number): number[] {
  const script = `
const fs = require('node:fs');
const file = require('node:path').join(${JSON.stringify(dir)}, '.bench-flush-' + process.pid);
const fd = fs.openSync(file, 'wx', 0o600);
const page = Buffer.alloc(4096, 7);
const out = [];
for (let i = 0; i <= ${n}; i++) {
  const t0 = process.hrtime.bigint();
  fs.writeSync(fd, page, 0, page.length, (i % 64) * page.length);
  fs.fsyncSync(fd);
  if (i > 0) out.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
fs.closeSync(fd);
fs.unlinkSync(file);
process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`the bare flush probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as number[];
}
