/**
 * The controller on SD-card-class storage (issue #21): `npm run bench -- --only sdcard`.
 *
 * `config/sim.yaml`'s controller, as deployed (the build, the unit's node flags and environment), as
 * a separate process with the flush preload (bench/lib/flushcount.c): every flush of every process
 * of its tree takes 5 ms longer, or 50 ms, or 5 ms with a 500 ms stall every few seconds (a card
 * busy with its garbage collection). Its readers are real ptys (socat) fed RDM6300 frames; the door
 * is opened and closed over the simulation routes; a probe loaded into the process (bench/lib/
 * probe.mjs) reports when the lock output moved and when Mosquitto PUBACKed an alarm. A mixed run —
 * badges granted (each with its door cycle), refused badges, forced doors — in bursts (each event as
 * soon as the last one is done) and at a realistic pace (events 0.5–1.5 s apart). Every figure is
 * set beside the limit of one flush, timed on the same disk with the same preload in the same run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { encodeRdm6300Frame } from '../firmware-bridge/index.js';
import { lockOutputLevel } from '../hardware/index.js';
import { makePtyPair, type PtyPair } from '../tests/helpers/pty.js';
import {
  bareFlushes,
  buildFlushcount,
  type CountDiff,
  type DiskStats,
  diffCounts,
  diffDisk,
  diskStats,
  type FlushSettings,
  flushEnv,
  processTree,
  readCounts,
} from './lib/flushcount.js';
import { mqttRoundTrips } from './lib/limits.js';
import type { Figure } from './lib/report.js';
import { fmt, rng, type Summary, sleep, summarize } from './lib/stats.js';
import { command, SERVICE_NODE_ARGS } from './process.js';

const ROOT = join(import.meta.dirname, '..');
const PROBE = join(import.meta.dirname, 'lib', 'probe.mjs');
const DOOR = 'machine-room';
const LOCK = `${DOOR}.lock`;
const CONTACT = `${DOOR}.contact`;
/** config/sim.yaml's demo badges: granted at any time (two people, so entries and exits alternate). */
const GRANTED = ['0A1B2C3D4E', '99AABBCCDD'];
/** Refused: a badge reported lost (demo data) and one nobody holds. */
const REFUSED = ['1122334455', 'DEADBEEF00'];
/** After a run, how long its deferred writes (WAL checkpoints, the log index's sync, the outbox) get. */
const SETTLE_MS = 12_000;
const IDLE_MS = 10_000;

export interface SdcardSize {
  /** Steps (one event group each: a grant with its door cycle, a refusal, a forced door) per case. */
  burst: { fast: number; slow: number; stall: number };
  realistic: number;
  /** Forced doors in the alarm's own run. */
  alarms: number;
  bareFlushes: number;
  warmup: number;
}

export const sdcardSize = (quick: boolean): SdcardSize =>
  quick
    ? { burst: { fast: 150, slow: 40, stall: 120 }, realistic: 12, alarms: 60, bareFlushes: 30, warmup: 10 }
    : {
        burst: { fast: 1450, slow: 300, stall: 600 },
        realistic: 40,
        alarms: 200,
        bareFlushes: 200,
        warmup: 30,
      };

interface Case {
  name: string;
  key: 'fast' | 'slow' | 'stall';
  flush: FlushSettings;
}

const CASES: Case[] = [
  { name: 'flush +5 ms', key: 'fast', flush: { delayUs: 5000 } },
  { name: 'flush +50 ms', key: 'slow', flush: { delayUs: 50_000 } },
  {
    name: 'flush +5 ms, 500 ms stall every 5 s',
    key: 'stall',
    flush: { delayUs: 5000, stall: { ms: 500, everyMs: 5000 } },
  },
];

type Step = 'grant' | 'refuse' | 'forced';
/** Ten steps: seven grants with their door cycles, two refusals, one forced door. */
const MIX: Step[] = [
  'grant',
  'grant',
  'refuse',
  'grant',
  'grant',
  'forced',
  'grant',
  'grant',
  'refuse',
  'grant',
];
const EVENTS: Record<Step, number> = { grant: 3, refuse: 1, forced: 2 };

interface ProbeEvent {
  kind: string;
  ns: bigint;
  a: string;
  b: string;
}

/** The probe's reports from the controller process, in order, with waits on them. */
class ProbeLog {
  readonly events: ProbeEvent[] = [];
  private waiters: {
    from: number;
    match: (e: ProbeEvent) => boolean;
    resolve: (e: ProbeEvent | null) => void;
  }[] = [];
  constructor(stream: Readable) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buf += d;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const [kind, ns, a, b] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
        if (!kind || !ns) continue;
        this.events.push({ kind, ns: BigInt(ns), a: a ?? '', b: b ?? '' });
        const at = this.events.length - 1;
        this.waiters = this.waiters.filter((w) => {
          if (at < w.from || !w.match(this.events[at]!)) return true;
          w.resolve(this.events[at]!);
          return false;
        });
      }
    });
  }
  mark(): number {
    return this.events.length;
  }
  /** The first event from index `from` on that matches, or null after timeoutMs. */
  wait(from: number, match: (e: ProbeEvent) => boolean, timeoutMs: number): Promise<ProbeEvent | null> {
    for (let i = from; i < this.events.length; i++)
      if (match(this.events[i]!)) return Promise.resolve(this.events[i]!);
    return new Promise((resolve) => {
      const w = {
        from,
        match,
        resolve: (e: ProbeEvent | null) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}

interface Running {
  proc: ChildProcess;
  base: string;
  token: string;
  probe: ProbeLog;
  stop(): Promise<void>;
}

/** config/sim.yaml with the bench's storage, ptys, broker, a free port and undebounced contact. */
function simConfig(storage: string, entry: string, exit: string, mqttUrl: string, dir: string): string {
  const cfg = parse(readFileSync(join(ROOT, 'config', 'sim.yaml'), 'utf8')) as Record<string, unknown> & {
    readers: { id: string; path: string; repeatSuppressMs?: number }[];
    doors: { contact: Record<string, unknown> }[];
  };
  cfg.storage = { ...(cfg.storage as object), path: storage };
  cfg.dashboard = { ...(cfg.dashboard as object), port: 0 };
  for (const r of cfg.readers) {
    r.path = r.id === 'entry' ? entry : exit;
    r.repeatSuppressMs = 0; // the same card again within seconds is the bench's point
  }
  // The alarm is timed from the contact's change, as bench/alarm.ts does: no debounce to wait out.
  cfg.doors[0]!.contact.debounceMs = 0;
  cfg.mqtt = { url: mqttUrl, reconnectS: 1, homeAssistant: { enabled: false } };
  const file = join(dir, 'sim.yaml');
  writeFileSync(file, stringify(cfg));
  return file;
}

async function startController(file: string, storage: string, env: Record<string, string>): Promise<Running> {
  const cmd = command(['start', '--config', file], { nodeArgs: [...SERVICE_NODE_ARGS, '--import', PROBE] });
  const proc = spawn(process.execPath, cmd.argv, {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      SEKISHO_LOG: 'warn',
      ...cmd.env,
      ...env,
      PROBE_WAL_SHM: join(storage, 'journal.db-shm'),
    },
  });
  const probe = new ProbeLog(proc.stdio[3] as Readable);
  // A diagnostic (docs/benchmarks.md): SDCARD_NICE=-10 raises the priority of the controller's main
  // thread — the one on the door's path — to see how much of a tail is other processes' CPU time.
  const nice = process.env.SDCARD_NICE;
  if (nice !== undefined && proc.pid !== undefined) setPriority(proc.pid, Number(nice));
  let out = '';
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sekisho start not ready in time:\n${out}`)), 120_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /door secured, dashboard on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(() => reject(new Error(`sekisho start exited early:\n${out}`)));
  });
  return {
    proc,
    base,
    token: readFileSync(join(storage, 'api-token'), 'utf8').trim(),
    probe,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

interface Rig {
  c: Running;
  entryFd: number;
  exitFd: number;
  unlocked: boolean;
  inside: Set<string>;
  turn: number;
}

const nowNs = () => process.hrtime.bigint();
const msBetween = (a: bigint, b: bigint) => Number(b - a) / 1e6;

async function contact(rig: Rig, open: boolean): Promise<void> {
  const r = await fetch(`${rig.c.base}/api/sim/doors/${DOOR}/contact`, {
    method: 'POST',
    headers: { authorization: `Bearer ${rig.c.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ open }),
  });
  if (!r.ok) throw new Error(`POST contact ${open}: ${r.status} ${await r.text()}`);
}

/** Writes a frame with its last byte apart (as at 9600 baud); the time of the last byte. */
async function present(fd: number, credential: string): Promise<bigint> {
  const frame = encodeRdm6300Frame(credential);
  writeSync(fd, frame.subarray(0, frame.length - 1));
  await sleep(1);
  const t0 = nowNs();
  writeSync(fd, frame.subarray(frame.length - 1));
  return t0;
}

/**
 * One grant's path through the controller, from the probe's marks (bench/lib/probe.mjs), ms from the
 * frame's last byte: when the controller read it, began handling the badge, began and ended its
 * commit, moved the lock; and what else held the thread while the frame waited to be read.
 */
export interface GrantTrace {
  /** Last byte written → the chunk with it read by the reader's codec (the thread was busy meanwhile). */
  read: number;
  /** … → Controller.handleBadge entered. */
  handle: number;
  /** … → the visit rules' step began (lookups and decision done; NaN: no mark). */
  decided: number;
  /** … → the writer's transaction opened (BEGIN IMMEDIATE returned; NaN: no mark). */
  begun: number;
  /** … → the event's commit began (decision, visit rules, rows staged). */
  commitStart: number;
  /** … → the commit returned (its flush done). */
  commitEnd: number;
  /** … → the lock output moved. */
  unlock: number;
  /** Rows in the commit, and the WAL frames (pages) it wrote (NaN: not read). */
  rows: number;
  frames: number;
  /**
   * What held the thread while the frame waited (overlap with [last byte, read], ms), by kind:
   * `event` (another event's commit: the previous door cycle's), `wal`, `snap`, `sign`, `ack`,
   * `index`, `tx`, `gc`.
   */
  behind: Record<string, number>;
}

/** The time a grant waited behind another event's commit (in bursts the bench's pace makes it). */
export const queuedBehindEvent = (g: GrantTrace): number => g.behind.event ?? 0;

/** The grant's trace from the probe's events: the last byte at `t0`, its unlock at index `iu`. */
function traceGrant(events: readonly ProbeEvent[], from: number, t0: bigint, iu: number): GrantTrace | null {
  const ms = (x: bigint) => msBetween(t0, x);
  let id = -1;
  for (let i = from; i < iu; i++)
    if (events[i]!.kind === 'd' && events[i]!.ns >= t0) {
      id = i;
      break;
    }
  const after = (start: number, kind: string) => {
    for (let i = Math.max(start, 0); i < iu; i++) if (events[i]!.kind === kind) return i;
    return -1;
  };
  const ib = after(id, 'b');
  const iv = after(ib, 'v');
  const iJ = after(ib, 'J');
  const ic = after(ib, 'c');
  const iC = after(ic, 'C');
  if (id < 0 || ib < 0 || ic < 0 || iC < 0) return null;
  const read = events[id]!.ns;
  // Spans that began before the frame was read and ended after its last byte: they held the thread.
  const behind: Record<string, number> = {};
  const add = (kind: string, start: bigint, end: bigint) => {
    const lo = start > t0 ? start : t0;
    const hi = end < read ? end : read;
    if (hi > lo) behind[kind] = (behind[kind] ?? 0) + msBetween(lo, hi);
  };
  const back = Math.max(0, from - 400);
  for (let i = back; i < id; i++) {
    const e = events[i]!;
    if (e.kind === 'g') {
      const dur = BigInt(Math.round(Number(e.a) * 1e6));
      add('gc', e.ns, e.ns + dur);
      continue;
    }
    if (e.kind !== 'c' && e.kind !== 't') continue;
    const endKind = e.kind.toUpperCase();
    let j = i + 1;
    while (j < events.length && !(events[j]!.kind === endKind && (e.kind === 'c' || events[j]!.a === e.a)))
      j++;
    const end = j < events.length ? events[j]!.ns : read;
    add(e.kind === 'c' ? 'event' : e.a, e.ns, end);
  }
  return {
    read: ms(read),
    handle: ms(events[ib]!.ns),
    decided: iv >= 0 && iv < ic ? ms(events[iv]!.ns) : Number.NaN,
    begun: iJ >= 0 && iJ < ic ? ms(events[iJ]!.ns) : Number.NaN,
    commitStart: ms(events[ic]!.ns),
    commitEnd: ms(events[iC]!.ns),
    unlock: ms(events[iu]!.ns),
    rows: Number(events[ic]!.a),
    frames: events[iC]!.b === '' ? Number.NaN : Number(events[iC]!.b),
    behind,
  };
}

interface RunResult {
  steps: Record<Step, number>;
  events: number;
  /** Last frame byte → lock output unlocked, ms, with the last byte's time. */
  unlock: { ms: number; at: bigint }[];
  /** The grants' paths (those the probe's marks could be matched for). */
  traces: GrantTrace[];
  /** Grants whose probe marks could not be matched (shown; the end-to-end figure still counts them). */
  untraced: number;
  /** Contact opened while locked → the PUBACK of its alarm, ms. */
  puback: number[];
  /** Its stages, ms: contact → the event's commit begun, the commit, → published, → PUBACK. */
  pubackStages: { toCommit: number; commit: number; toPublish: number; toAck: number }[];
  failures: Record<string, number>;
  wallS: number;
  /** The WAL frames (pages) each event commit of the run wrote (Journal.commitOpen). */
  frames: number[];
}

/** `steps` steps of the mix; between events `gap()` ms (0 in bursts). */
async function mixedRun(
  rig: Rig,
  steps: number,
  gap: () => number,
  timeoutMs: number,
  mix: readonly Step[] = MIX,
): Promise<RunResult> {
  const r: RunResult = {
    steps: { grant: 0, refuse: 0, forced: 0 },
    events: 0,
    unlock: [],
    traces: [],
    untraced: 0,
    puback: [],
    pubackStages: [],
    failures: {},
    wallS: 0,
    frames: [],
  };
  const fail = (why: string) => (r.failures[why] = (r.failures[why] ?? 0) + 1);
  const pause = async () => {
    const g = gap();
    if (g > 0) await sleep(g);
  };
  const p = rig.c.probe;
  const first = p.mark();
  const start = nowNs();
  for (let i = 0; i < steps; i++) {
    const step = mix[rig.turn++ % mix.length]!;
    r.steps[step]++;
    r.events += EVENTS[step];
    if (step === 'grant') {
      const who = GRANTED[i % GRANTED.length]!;
      const out = rig.inside.has(who);
      const m = p.mark();
      const t0 = await present(out ? rig.exitFd : rig.entryFd, who);
      const u = await p.wait(
        m,
        (e) => e.kind === 'o' && e.a === LOCK && e.b === (rig.unlocked ? '1' : '0'),
        timeoutMs,
      );
      if (!u) {
        fail('grant: no unlock');
        await pause();
        continue;
      }
      r.unlock.push({ ms: msBetween(t0, u.ns), at: t0 });
      const trace = traceGrant(p.events, m, t0, p.events.lastIndexOf(u));
      if (trace) r.traces.push(trace);
      else r.untraced++;
      if (out) rig.inside.delete(who);
      else rig.inside.add(who);
      await pause();
      await contact(rig, true);
      await pause();
      const m2 = p.mark();
      await contact(rig, false);
      const relock = await p.wait(
        m2,
        (e) => e.kind === 'o' && e.a === LOCK && e.b === (rig.unlocked ? '0' : '1'),
        timeoutMs,
      );
      if (!relock) fail('grant: no relock on close');
    } else if (step === 'refuse') {
      const m = p.mark();
      await present(rig.entryFd, REFUSED[i % REFUSED.length]!);
      const e = await p.wait(m, (x) => x.kind === 'e' && x.a === 'access', timeoutMs);
      if (!e) fail('refusal: no access event');
      else if (e.b !== 'denied') fail(`refusal: ${e.b}`);
    } else {
      const m = p.mark();
      await contact(rig, true);
      const opened = await p.wait(m, (e) => e.kind === 'i' && e.a === CONTACT && e.b === '1', timeoutMs);
      const ack = await p.wait(m, (e) => e.kind === 'p' && e.a === 'raised', timeoutMs);
      if (opened && ack) {
        r.puback.push(msBetween(opened.ns, ack.ns));
        const io = p.events.lastIndexOf(opened);
        const ia = p.events.lastIndexOf(ack);
        const find = (kind: string, from: number) => {
          for (let j = from; j < ia; j++) if (p.events[j]!.kind === kind) return j;
          return -1;
        };
        const ic = find('c', io);
        const iC = find('C', ic);
        const ip = find('a', iC);
        if (ic >= 0 && iC >= 0 && ip >= 0) {
          const at = (j: number) => p.events[j]!.ns;
          r.pubackStages.push({
            toCommit: msBetween(opened.ns, at(ic)),
            commit: msBetween(at(ic), at(iC)),
            toPublish: msBetween(at(iC), at(ip)),
            toAck: msBetween(at(ip), ack.ns),
          });
        }
      } else fail('forced door: no alarm PUBACK');
      await pause();
      await contact(rig, false);
    }
    await pause();
  }
  r.wallS = msBetween(start, nowNs()) / 1000;
  for (const e of p.events.slice(first)) if (e.kind === 'C' && e.b !== '') r.frames.push(Number(e.b));
  return r;
}

interface Window {
  counts: CountDiff;
  disk: DiskStats | null;
  seconds: number;
}

/** Runs `fn`, then lets its deferred writes happen; what every process of the tree counted meanwhile. */
async function counted<T>(
  dir: string,
  storage: string,
  settleMs: number,
  fn: () => Promise<T>,
): Promise<{ value: T; w: Window }> {
  const c0 = readCounts(dir);
  const d0 = diskStats(storage);
  const t0 = nowNs();
  const value = await fn();
  if (settleMs) await sleep(settleMs);
  const w = {
    counts: diffCounts(c0, readCounts(dir)),
    disk: diffDisk(d0, diskStats(storage)),
    seconds: msBetween(t0, nowNs()) / 1000,
  };
  return { value, w };
}

export interface CaseResult {
  name: string;
  flush: FlushSettings;
  /** Bare 4 KiB write + fsync on the storage's disk, same preload, no stall: the limit. */
  bareFlush: Summary;
  idle: { flushesPerS: number; bytesPerS: number; seconds: number; byProcess: CountDiff['byProcess'] };
  /** Forced doors one after the other (each opened, its alarm PUBACKed, closed): the PUBACK's own run. */
  alarms: {
    n: number;
    puback: Summary;
    /** Its stages (RunResult.pubackStages), p50/p99 each. */
    stages: Record<'toCommit' | 'commit' | 'toPublish' | 'toAck', Summary>;
    failures: Record<string, number>;
    wallS: number;
  };
  processes: { pid: number; comm: string }[];
  treeNotCounted: number[];
  runs: {
    pace: 'bursts' | 'realistic';
    steps: Record<Step, number>;
    events: number;
    wallS: number;
    flushes: number;
    flushesPerEvent: number;
    bytesPerEvent: number;
    fsync: number;
    fdatasync: number;
    msync: number;
    stalledFlushes: number;
    byProcess: CountDiff['byProcess'];
    disk: (DiskStats & { perEvent: { writes: number; kib: number; flushes: number } }) | null;
    unlock: Summary;
    /** Badge → unlock without the wait behind another event's commit (queuedBehindEvent). */
    perPresentation: Summary;
    /** The grants' stages (GrantTrace), each from the previous mark, ms. */
    stages: Record<
      'read' | 'toHandle' | 'toDecided' | 'toBegun' | 'toCommit' | 'commit' | 'toUnlock' | 'queued',
      Summary
    >;
    /** What held the thread while frames waited: total ms and grants, by kind (GrantTrace.behind). */
    behind: Record<string, { ms: number; grants: number; maxMs: number }>;
    /** WAL frames (pages) per event commit: every commit of the run, and the grants' own. */
    pages: { all: Summary; grant: Summary };
    /** The slowest grants' traces. */
    slowest: GrantTrace[];
    untraced: number;
    puback: Summary;
    failures: Record<string, number>;
    stall?: { delayed: number; delayedOutside: number; arrivedInStall: number; thresholdMs: number };
  }[];
}

export interface SdcardResult {
  cases: CaseResult[];
  mqttRoundTrip: Summary;
}

/** The three flush cases, each on a fresh storage, each in bursts and at a realistic pace. */
export async function sdcard(
  work: string,
  mqttUrl: string,
  quick: boolean,
  log: (s: string) => void,
  /** Which cases (their keys: fast, slow, stall); all by default. */
  only?: readonly string[],
) {
  const size = sdcardSize(quick);
  const so = buildFlushcount();
  const dir = join(work, 'sdcard');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const entry = await makePtyPair(join(dir, 'pty-entry'));
  const exit = await makePtyPair(join(dir, 'pty-exit'));
  const ptys: PtyPair[] = [entry, exit];
  const result: SdcardResult = {
    cases: [],
    mqttRoundTrip: summarize(await mqttRoundTrips(mqttUrl, 200, 420)),
  };
  try {
    for (const k of CASES.filter((x) => !only || only.includes(x.key)))
      result.cases.push(await oneCase(k, dir, so, entry, exit, mqttUrl, size, log));
  } finally {
    for (const p of ptys) await p.stop();
  }
  return result;
}

async function oneCase(
  k: Case,
  dir: string,
  so: string,
  entry: PtyPair,
  exit: PtyPair,
  mqttUrl: string,
  size: SdcardSize,
  log: (s: string) => void,
): Promise<CaseResult> {
  const caseDir = join(dir, k.key);
  const storage = join(caseDir, 'data');
  // The preload's record files live on tmpfs when there is one: on the storage's file system their
  // pages, dirtied at each process's start and by every count, were the processes' own write_bytes —
  // 8 KiB for each clock check's timedatectl, most of the idle writes measured before.
  const countDir = existsSync('/dev/shm')
    ? mkdtempSync(join('/dev/shm', `sekisho-flushcount-${k.key}-`))
    : join(caseDir, 'counts');
  mkdirSync(countDir, { recursive: true });
  mkdirSync(storage, { recursive: true, mode: 0o700 });
  const file = simConfig(storage, entry.b, exit.b, mqttUrl, caseDir);
  log(`sdcard: ${k.name} …`);
  // The limit is sampled before the controller starts and again after each run, so that it sees the
  // same machine as the figures (on a loaded machine the disk's own flush time moves a lot).
  const bareEnv = flushEnv(so, null, { delayUs: k.flush.delayUs });
  const bareSamples = bareFlushes(storage, bareEnv, size.bareFlushes);
  const c = await startController(file, storage, flushEnv(so, countDir, k.flush));
  const lockCfg = (
    parse(readFileSync(file, 'utf8')) as { doors: { lock: { failMode: 'fail-secure' | 'fail-safe' } }[] }
  ).doors[0]!.lock;
  const rig: Rig = {
    c,
    entryFd: openSync(entry.a, 'w'),
    exitFd: openSync(exit.a, 'w'),
    unlocked: lockOutputLevel(lockCfg, false),
    inside: new Set(),
    turn: 0,
  };
  const timeoutMs = 5000 + (k.flush.stall?.ms ?? 0) * 4;
  try {
    // Warm-up: readers online, MQTT connected (an event PUBACKed), the first pages of every table.
    await sleep(1000);
    const warm = await mixedRun(rig, size.warmup, () => 0, timeoutMs);
    if (warm.unlock.length === 0)
      throw new Error(`no grant in the warm-up: ${JSON.stringify(warm.failures)}`);
    rig.turn = 0;
    await sleep(SETTLE_MS);
    const idle = await counted(countDir, storage, 0, () => sleep(IDLE_MS));
    const idleRate = {
      flushesPerS: idle.w.counts.flushes / idle.w.seconds,
      bytesPerS: idle.w.counts.writeBytes / idle.w.seconds,
      seconds: idle.w.seconds,
      byProcess: idle.w.counts.byProcess,
    };
    log(
      `  idle ${fmt(idleRate.seconds)} s: ${fmt(idleRate.flushesPerS, 2)} flushes/s, ${fmt(idleRate.bytesPerS / KIB, 2)} KiB/s (${idleRate.byProcess.map((x) => `${x.comm} ${x.pid}: ${x.flushes} flushes, ${fmt(x.writeBytes / KIB)} KiB`).join('; ') || 'no process wrote'}; load ${loadAverage()})`,
    );
    const runs: CaseResult['runs'] = [];
    const pick = rng(21);
    for (const pace of ['bursts', 'realistic'] as const) {
      const steps = pace === 'bursts' ? size.burst[k.key] : size.realistic;
      log(`  ${pace}: ${steps} steps …`);
      const { value: r, w } = await counted(countDir, storage, SETTLE_MS, () =>
        mixedRun(rig, steps, pace === 'bursts' ? () => 0 : () => 500 + pick() * 1000, timeoutMs),
      );
      bareSamples.push(...bareFlushes(storage, bareEnv, size.bareFlushes));
      // The settle's idle share is not the run's; the idle writes during the run are.
      const flushes = w.counts.flushes - idleRate.flushesPerS * (SETTLE_MS / 1000);
      const bytes = w.counts.writeBytes - idleRate.bytesPerS * (SETTLE_MS / 1000);
      const unlock = summarize(r.unlock.map((x) => x.ms));
      const tr = r.traces;
      const behind: CaseResult['runs'][number]['behind'] = {};
      for (const g of tr)
        for (const [kind, v] of Object.entries(g.behind)) {
          const b = behind[kind] ?? { ms: 0, grants: 0, maxMs: 0 };
          behind[kind] = b;
          b.ms += v;
          b.grants++;
          b.maxMs = Math.max(b.maxMs, v);
        }
      writeFileSync(join(caseDir, `traces-${pace}.json`), JSON.stringify(tr));
      const run: CaseResult['runs'][number] = {
        pace,
        steps: r.steps,
        events: r.events,
        wallS: r.wallS,
        flushes: w.counts.flushes,
        flushesPerEvent: flushes / r.events,
        bytesPerEvent: bytes / r.events,
        fsync: w.counts.fsync,
        fdatasync: w.counts.fdatasync,
        msync: w.counts.msync,
        stalledFlushes: w.counts.stalled,
        byProcess: w.counts.byProcess,
        disk: w.disk
          ? {
              ...w.disk,
              perEvent: {
                writes: w.disk.writes / r.events,
                kib: (w.disk.sectorsWritten * 512) / 1024 / r.events,
                flushes: w.disk.flushes / r.events,
              },
            }
          : null,
        unlock,
        perPresentation: summarize(tr.map((g) => g.unlock - queuedBehindEvent(g))),
        stages: {
          read: summarize(tr.map((g) => g.read)),
          toHandle: summarize(tr.map((g) => g.handle - g.read)),
          toDecided: summarize(tr.map((g) => g.decided - g.handle).filter(Number.isFinite)),
          toBegun: summarize(tr.map((g) => g.begun - g.decided).filter(Number.isFinite)),
          toCommit: summarize(tr.map((g) => g.commitStart - (Number.isFinite(g.begun) ? g.begun : g.handle))),
          commit: summarize(tr.map((g) => g.commitEnd - g.commitStart)),
          toUnlock: summarize(tr.map((g) => g.unlock - g.commitEnd)),
          queued: summarize(tr.map(queuedBehindEvent)),
        },
        behind,
        pages: {
          all: summarize(r.frames),
          grant: summarize(tr.map((g) => g.frames).filter((x) => Number.isFinite(x))),
        },
        slowest: [...tr].sort((a, b) => b.unlock - a.unlock).slice(0, 5),
        untraced: r.untraced,
        puback: summarize(r.puback),
        failures: r.failures,
      };
      const bare = summarize(bareSamples);
      if (k.flush.stall) {
        // Delayed: slower than a flush's worst case by half a stall. Arrived during a stall: its last
        // byte came in a stall window, or so shortly before one that its commit's flush fell in it.
        const { ms: stallMs, everyMs } = k.flush.stall;
        const thresholdMs = bare.max + stallMs / 2;
        const lead = bare.max + 20;
        const inStall = (at: bigint) => {
          const phase = Number(at % BigInt(everyMs * 1e6)) / 1e6;
          return phase < stallMs || phase > everyMs - lead;
        };
        const delayed = r.unlock.filter((x) => x.ms > thresholdMs);
        run.stall = {
          delayed: delayed.length,
          delayedOutside: delayed.filter((x) => !inStall(x.at)).length,
          arrivedInStall: r.unlock.filter((x) => inStall(x.at)).length,
          thresholdMs,
        };
      }
      runs.push(run);
      log(
        `    ${fmt(run.flushesPerEvent)} flushes and ${fmt(run.bytesPerEvent / 1024)} KiB per event; unlock p50 ${fmt(unlock.p50)} / p99 ${fmt(unlock.p99)} ms, per presentation p99 ${fmt(run.perPresentation.p99)} ms (flush p99 ${fmt(bare.p99)} ms; load ${loadAverage()})`,
      );
      log(`    stages p50/p99 ms: ${stageText(run.stages)}`);
      log(`    behind: ${behindText(behind)}`);
      log(
        `    pages per commit p50/p99/max: all ${fmt(run.pages.all.p50)}/${fmt(run.pages.all.p99)}/${fmt(run.pages.all.max)} (${run.pages.all.n} commits), grants ${fmt(run.pages.grant.p50)}/${fmt(run.pages.grant.p99)}/${fmt(run.pages.grant.max)}`,
      );
      for (const g of run.slowest) log(`    slow: ${traceText(g)}`);
    }
    // The alarm's own run: forced doors one after the other, so that its p99 has samples enough.
    log(`  alarms: ${size.alarms} forced doors …`);
    const a = await mixedRun(rig, size.alarms, () => 0, timeoutMs, ['forced']);
    const st = (f: (x: RunResult['pubackStages'][number]) => number) => summarize(a.pubackStages.map(f));
    const alarms = {
      n: a.puback.length,
      puback: summarize(a.puback),
      stages: {
        toCommit: st((x) => x.toCommit),
        commit: st((x) => x.commit),
        toPublish: st((x) => x.toPublish),
        toAck: st((x) => x.toAck),
      },
      failures: a.failures,
      wallS: a.wallS,
    };
    log(
      `    PUBACK p50 ${fmt(alarms.puback.p50)} / p99 ${fmt(alarms.puback.p99)} ms over ${alarms.n}; ${alarmStageText(alarms.stages)}`,
    );
    const counts = readCounts(countDir);
    const tree = processTree(c.proc.pid!);
    return {
      name: k.name,
      flush: k.flush,
      bareFlush: summarize(bareSamples),
      idle: idleRate,
      alarms,
      processes: [...counts.values()].map((x) => ({ pid: x.pid, comm: x.comm })),
      treeNotCounted: [...tree].filter((pid) => !counts.has(pid)),
      runs,
    };
  } finally {
    closeSync(rig.entryFd);
    closeSync(rig.exitFd);
    await c.stop();
    if (countDir.startsWith('/dev/shm/')) rmSync(countDir, { recursive: true, force: true });
  }
}

/** The machine's load average over 1, 5 and 15 minutes (figures are set beside it). */
export const loadAverage = (): string =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');

const STAGES = {
  read: 'last byte → read',
  toHandle: '→ handled',
  toDecided: '→ decided',
  toBegun: '→ transaction open',
  toCommit: '→ commit begun',
  commit: 'commit (flush)',
  toUnlock: '→ lock output',
  queued: 'of the read, behind another event',
} as const;

function stageText(st: CaseResult['runs'][number]['stages']): string {
  return (Object.keys(STAGES) as (keyof typeof STAGES)[])
    .map((k) => `${STAGES[k]} ${fmt(st[k].p50)}/${fmt(st[k].p99)}`)
    .join('; ');
}

function alarmStageText(s: CaseResult['alarms']['stages']): string {
  const part = (name: string, x: Summary) => `${name} ${fmt(x.p50)}/${fmt(x.p99)}`;
  return `stages p50/p99 ms (${s.commit.n} traced): ${[
    part('contact → commit begun', s.toCommit),
    part('commit', s.commit),
    part('→ published', s.toPublish),
    part('→ PUBACK', s.toAck),
  ].join('; ')}`;
}

function behindText(b: CaseResult['runs'][number]['behind']): string {
  const parts = Object.entries(b)
    .sort((x, y) => y[1].ms - x[1].ms)
    .map(([k, v]) => `${k} ${v.grants} grants, ${fmt(v.ms)} ms (max ${fmt(v.maxMs)})`);
  return parts.length ? parts.join('; ') : 'nothing';
}

function traceText(g: GrantTrace): string {
  const held = Object.entries(g.behind)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
  return `${fmt(g.unlock)} ms: read ${fmt(g.read)}${held ? ` (behind ${held})` : ''}, handled ${fmt(g.handle)}, decided ${fmt(g.decided)}, open ${fmt(g.begun)}, commit ${fmt(g.commitStart)}–${fmt(g.commitEnd)} (${g.rows} rows, ${g.frames} pages), unlock ${fmt(g.unlock)}`;
}

const KIB = 1024;
/** Fewer samples than this make a p99 the run's maximum or near it: shown, not judged. */
const MIN_JUDGED = 50;

/** The bench table's lines for the section, each figure beside its limit and goal. */
export function sdcardFigures(r: SdcardResult): Figure[] {
  const out: Figure[] = [];
  const rt = r.mqttRoundTrip;
  for (const k of r.cases) {
    const f = k.bareFlush;
    const limitText = `one flush p50 ${fmt(f.p50)} / p99 ${fmt(f.p99)} ms (4 KiB write + fsync, same disk and preload)`;
    const procs = `${k.processes.length} process${k.processes.length === 1 ? '' : 'es'}${k.treeNotCounted.length ? `, ${k.treeNotCounted.length} of the tree without the preload` : ''}`;
    // Who wrote and flushed, over both runs: the controller and every child it started meanwhile.
    const who = new Map<string, { n: Set<number>; flushes: number; bytes: number }>();
    for (const run of k.runs)
      for (const p of run.byProcess) {
        const x = who.get(p.comm) ?? { n: new Set(), flushes: 0, bytes: 0 };
        x.n.add(p.pid);
        x.flushes += p.flushes;
        x.bytes += p.writeBytes;
        who.set(p.comm, x);
      }
    out.push({
      group: 'SD card',
      measure: `${k.name}: the processes of the controller's tree that wrote during the runs (all ran with the preload${k.treeNotCounted.length ? `, except ${k.treeNotCounted.length}` : ''})`,
      figure: [...who]
        .map(
          ([comm, x]) =>
            `${comm}${x.n.size > 1 ? ` ×${x.n.size}` : ''}: ${x.flushes} flushes, ${fmt(x.bytes / KIB)} KiB`,
        )
        .join('; '),
      limit: `idle: ${fmt(k.idle.flushesPerS, 2)} flushes/s, ${fmt(k.idle.bytesPerS / KIB, 2)} KiB/s (${fmt(k.idle.seconds)} s without events${k.idle.byProcess.length ? `: ${k.idle.byProcess.map((x) => `${x.comm} ${x.flushes} flushes, ${fmt(x.writeBytes / KIB)} KiB`).join('; ')}` : ''})`,
      ratio: '—',
      goal: '—',
      met: null,
    });
    for (const run of k.runs) {
      const tag = `${k.name}, ${run.pace}`;
      const mix = `${run.events} events: ${run.steps.grant} grants with door cycles, ${run.steps.refuse} refused, ${run.steps.forced} forced doors; ${fmt(run.wallS)} s`;
      const flushGoal = run.pace === 'bursts' ? 1.25 : 1.5;
      out.push({
        group: 'SD card',
        measure: `${tag}: flushes per physical event (${mix}; every process of the controller, ${procs}; housekeeping and ${SETTLE_MS / 1000} s after included)`,
        figure: `${fmt(run.flushesPerEvent)} (${run.fsync} fsync, ${run.fdatasync} fdatasync, ${run.msync} msync; idle ${fmt(k.idle.flushesPerS, 2)}/s)`,
        limit: '1 (one durable commit per event)',
        ratio: `${fmt(run.flushesPerEvent, 2)}×`,
        goal: `≤ ${flushGoal}`,
        met: run.flushesPerEvent <= flushGoal && !Object.keys(run.failures).length,
      });
      const d = run.disk;
      out.push({
        group: 'SD card',
        measure: `${tag}: KiB written per physical event (write_bytes of every process of the controller; the device: /proc/diskstats, every process on this machine)`,
        figure: `${fmt(run.bytesPerEvent / KIB)} KiB${d ? `; ${d.device}: ${fmt(d.perEvent.kib)} KiB, ${fmt(d.perEvent.writes)} writes, ${fmt(d.perEvent.flushes)} flushes per event` : ''}`,
        limit: '4 KiB (one page)',
        ratio: `${fmt(run.bytesPerEvent / 4096, 1)}×`,
        goal: '≤ 24 KiB',
        met: run.bytesPerEvent <= 24 * KIB,
      });
      const u = run.unlock;
      const fails = Object.entries(run.failures)
        .map(([w, n]) => `${w} ×${n}`)
        .join(', ');
      if (k.flush.stall && run.stall) {
        const s = run.stall;
        out.push({
          group: 'SD card',
          measure: `${tag}: badge → unlock (pty frame → lock output), ${u.n} grants; those delayed more than ${fmt(s.thresholdMs)} ms, and whether they arrived during a stall`,
          figure: `p50 ${fmt(u.p50)} / p99 ${fmt(u.p99)} / max ${fmt(u.max)} ms; ${s.delayed} delayed, ${s.delayedOutside} of them outside a stall; ${s.arrivedInStall} arrived during one${fails ? `; ${fails}` : ''}`,
          limit: limitText,
          ratio: '—',
          goal: 'a stall delays only the badges that arrive during it',
          // Judged only when some badge met a stall (otherwise the goal holds vacuously).
          met: s.delayedOutside > 0 || fails ? false : s.arrivedInStall > 0 ? true : null,
        });
      } else {
        const limit = k.flush.delayUs >= 50_000 ? 1.5 * f.p99 : f.p99 + 2;
        out.push({
          group: 'SD card',
          measure: `${tag}: badge → unlock (pty frame → lock output), ${u.n} grants`,
          figure: `p50 ${fmt(u.p50)} / p99 ${fmt(u.p99)} ms${fails ? `; ${fails}` : ''}`,
          limit: limitText,
          ratio: `p99 ${fmt(u.p99 / f.p99, 1)}×`,
          goal: `p99 ≤ ${k.flush.delayUs >= 50_000 ? '1.5 flushes' : 'one flush + 2 ms'} (${fmt(limit)} ms)${u.n < MIN_JUDGED ? `; not judged under ${MIN_JUDGED} samples` : ''}`,
          met: fails ? false : u.n < MIN_JUDGED ? null : u.p99 <= limit,
        });
      }
      // Where the time went (bench/lib/probe.mjs marks): shown, for finding the tail, not judged.
      out.push({
        group: 'SD card',
        measure: `${tag}: … its stages, p50/p99 ms (${run.stages.read.n} grants traced${run.untraced ? `, ${run.untraced} not` : ''}), and what held the thread while a frame waited to be read`,
        figure: `${stageText(run.stages)}; behind: ${behindText(run.behind)}`,
        limit: limitText,
        ratio: '—',
        goal: '—',
        met: null,
      });
      out.push({
        group: 'SD card',
        measure: `${tag}: WAL pages (1 KiB frames) written per event commit, p50/p99/max`,
        figure: `all ${run.pages.all.n} commits ${fmt(run.pages.all.p50)}/${fmt(run.pages.all.p99)}/${fmt(run.pages.all.max)}; the grants' ${fmt(run.pages.grant.p50)}/${fmt(run.pages.grant.p99)}/${fmt(run.pages.grant.max)}`,
        limit: '—',
        ratio: '—',
        goal: '—',
        met: null,
      });
      const pa = run.puback;
      out.push({
        group: 'SD card',
        measure: `${tag}: forced door → alarm PUBACK, ${pa.n} alarms of the mix (judged over the alarm run below)`,
        figure: `p50 ${fmt(pa.p50)} / p99 ${fmt(pa.p99)} ms`,
        limit: `one flush p99 ${fmt(f.p99)} ms; bare QoS 1 round trip p50 ${fmt(rt.p50)} / p99 ${fmt(rt.p99)} ms`,
        ratio: `p99 ${fmt(pa.p99 / f.p99, 1)}×`,
        goal: '—',
        met: null,
      });
    }
    const pa = k.alarms.puback;
    const fast = !k.flush.stall && k.flush.delayUs < 50_000;
    const afails = Object.entries(k.alarms.failures)
      .map(([w, n]) => `${w} ×${n}`)
      .join(', ');
    out.push({
      group: 'SD card',
      measure: `${k.name}, alarm run: forced door → alarm PUBACK (contact opened while locked → Mosquitto's PUBACK), ${pa.n} forced doors one after another, each closed again`,
      figure: `p50 ${fmt(pa.p50)} / p99 ${fmt(pa.p99)} ms${afails ? `; ${afails}` : ''}; ${alarmStageText(k.alarms.stages)}`,
      limit: `one flush p99 ${fmt(f.p99)} ms; bare QoS 1 round trip p50 ${fmt(rt.p50)} / p99 ${fmt(rt.p99)} ms`,
      ratio: `p99 ${fmt(pa.p99 / f.p99, 1)}×`,
      goal: fast
        ? `p99 ≤ one flush + 3 ms (${fmt(f.p99 + 3)} ms)${pa.n < MIN_JUDGED ? `; not judged under ${MIN_JUDGED} samples` : ''}`
        : '—',
      met: fast ? (afails ? false : pa.n >= MIN_JUDGED ? pa.p99 <= f.p99 + 3 : null) : null,
    });
  }
  return out;
}
