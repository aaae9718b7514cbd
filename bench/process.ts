/**
 * The real `sekisho` command as a child process: `verify` over the journal, `start` until the door is
 * secured and the dashboard serves, and its resident memory after a load of badges and door changes.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../tests/helpers/controller.js';
import type { Staff } from './lib/dataset.js';
import { DOOR } from './lib/dataset.js';
import { rssOf } from './lib/env.js';
import { now, sleep } from './lib/stats.js';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t = now();
  return new Promise((resolve) => {
    const cmd = command(args, { form: 'cli' });
    const p = spawn(process.execPath, cmd.argv, { env: { ...process.env, SEKISHO_LOG: 'warn', ...cmd.env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr, ms: now() - t }));
  });
}

export interface VerifyFigure {
  ok: boolean;
  rows: number;
  checkpoints: number;
  /** The verification itself, as the command reports it. */
  secs: number;
  /** Spawn to exit. */
  wallS: number;
}

export async function cliVerify(configFile: string): Promise<VerifyFigure> {
  const r = await run(['verify', '--config', configFile]);
  const m = /journal intact: (\d+) rows, .*?, (\d+) signed checkpoints verified \(([\d.]+) s\)/.exec(
    r.stdout,
  );
  if (!m) return { ok: false, rows: 0, checkpoints: 0, secs: Number.NaN, wallS: r.ms / 1000 };
  return {
    ok: r.code === 0,
    rows: Number(m[1]),
    checkpoints: Number(m[2]),
    secs: Number(m[3]),
    wallS: r.ms / 1000,
  };
}

export interface Started {
  proc: ChildProcess;
  base: string;
  /** The simulation token (scopes read and sim) from <storage>/api-token. */
  token: string;
  /** A token with the metrics scope, made with `sekisho token` once the controller serves. */
  metricsToken: string;
  /** Spawn → "door secured, dashboard on …" printed (the door is driven secured before). */
  readyMs: number;
  locked: boolean;
  output: () => string;
  stop: () => Promise<void>;
}

export interface StartOptions {
  /**
   * 'deployed' (default): the build (bin/sekisho-dist.mjs over DEPLOYED.dist) with the node flags and
   * environment of deploy/sekisho.service; 'cli': the same build as the installed `sekisho` command
   * runs it (scripts/install.sh's wrapper: no node flags, no unit environment); 'sources':
   * bin/sekisho.mjs, the TypeScript under tsx.
   */
  form?: 'deployed' | 'cli' | 'sources';
  /** Node flags instead of the unit's (deployed form only). */
  nodeArgs?: string[];
  timeoutMs?: number;
  /** Extra environment (after the service unit's). */
  env?: Record<string, string>;
}

const ROOT = join(import.meta.dirname, '..');
const UNIT = readFileSync(join(ROOT, 'deploy', 'sekisho.service'), 'utf8');

/**
 * The environment deploy/sekisho.service gives the controller that changes how it runs
 * (MALLOC_ARENA_MAX): the process figures are of the controller as it is deployed.
 */
export const SERVICE_ENV: Record<string, string> = (() => {
  const env: Record<string, string> = {};
  for (const m of UNIT.matchAll(/^Environment=(MALLOC_[A-Z_]+)=(\S+)$/gm)) env[m[1]!] = m[2]!;
  return env;
})();

/** The node flags of the unit's ExecStart (between the node binary and the entry). */
export const SERVICE_NODE_ARGS: string[] = (() => {
  const m = /^ExecStart=\S+\s+(.*?)\s*\S+sekisho-dist\.mjs\s/m.exec(UNIT);
  if (!m) throw new Error('deploy/sekisho.service: no ExecStart running sekisho-dist.mjs');
  return m[1]!.split(/\s+/).filter(Boolean);
})();

/** The build the deployed form runs: `node scripts/build.mjs --out tmp/bench-dist`, made by buildForBench. */
export const DEPLOYED = { bin: join(ROOT, 'bin', 'sekisho-dist.mjs'), dist: join(ROOT, 'tmp', 'bench-dist') };

/** Builds the sources into DEPLOYED.dist (as `npm run build` does into dist/). */
export function buildForBench(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--out', DEPLOYED.dist], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`the build failed: ${r.stderr || r.stdout}`);
}

/** The command line and environment of `sekisho <args>` in the given form. */
export function command(
  args: string[],
  opts: StartOptions = {},
): { argv: string[]; env: Record<string, string> } {
  if (opts.form === 'sources') return { argv: [BIN, ...args], env: { ...opts.env } };
  if (opts.form === 'cli')
    return { argv: [DEPLOYED.bin, ...args], env: { SEKISHO_DIST: DEPLOYED.dist, ...opts.env } };
  return {
    argv: [...(opts.nodeArgs ?? SERVICE_NODE_ARGS), DEPLOYED.bin, ...args],
    env: { ...SERVICE_ENV, SEKISHO_DIST: DEPLOYED.dist, ...opts.env },
  };
}

export async function startProcess(
  configFile: string,
  storageDir: string,
  opts: StartOptions = {},
): Promise<Started> {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const t0 = now();
  const cmd = command(['start', '--config', configFile], opts);
  const proc = spawn(process.execPath, cmd.argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SEKISHO_LOG: 'warn', ...cmd.env },
  });
  let out = '';
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const readyMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sekisho start not ready in time:\n${out}`)), timeoutMs);
    proc.stdout!.on('data', (d) => {
      out += d;
      if (/door secured, dashboard on/.test(out)) {
        clearTimeout(timer);
        resolve(now() - t0);
      }
    });
    void exited.then(() => reject(new Error(`sekisho start exited early:\n${out}`)));
  });
  const base = /dashboard on (http:\/\/\S+)/.exec(out)![1]!;
  const token = readFileSync(join(storageDir, 'api-token'), 'utf8').trim();
  const status = (await (
    await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as {
    doors: { locked: boolean }[];
  };
  // GET /metrics needs the metrics scope, which the simulation token does not have.
  const tokenArgs = (sub: string) => ['token', sub, 'bench-metrics', '--config', configFile];
  const tokenCmd = (args: string[]) =>
    spawnSync(process.execPath, command(args, opts).argv, {
      encoding: 'utf8',
      env: { ...process.env, SEKISHO_LOG: 'warn', ...command(args, opts).env },
    });
  let made = tokenCmd([...tokenArgs('create'), '--scope', 'metrics']);
  if (made.status !== 0 && made.stderr.includes('exists already')) made = tokenCmd(tokenArgs('rotate'));
  if (made.status !== 0) throw new Error(`sekisho token create failed: ${made.stderr}`);
  const metricsToken = made.stdout.trim();
  return {
    proc,
    base,
    token,
    metricsToken,
    readyMs,
    locked: status.doors.every((d) => d.locked),
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface LoadFigure {
  requests: number;
  /** HTTP sim badge round trips (request → response with the committed decision), ms. */
  http: number[];
  granted: number;
  rss: number;
  peak: number;
  /** The RSS's anonymous and file-backed parts (rssOf). */
  anon: number;
  file: number;
  /** The V8 heap in use and allocated, MiB. */
  heapUsed: number;
  heapTotal: number;
  /** RSS again, SETTLE_MS after the load. */
  settled: { rss: number; anon: number; file: number };
}

/** How long after a load its settled RSS is read (V8's memory reducer acts within about 10 s). */
export const SETTLE_MS = 15_000;

/**
 * Staff badging through the HTTP sim route of a started controller, as at the door: someone outside
 * presents at the entry reader, someone inside at the exit reader.
 */
export class SimBadges {
  readonly #inside = new Set<string>();

  constructor(private readonly s: Started) {}

  /** One badge: the round trip (request → committed decision → response, ms) and the decision. */
  async present(who: Staff): Promise<{ ms: number; granted: boolean }> {
    const reader = this.#inside.has(who.personId) ? 'exit' : 'entry';
    const t = now();
    const r = await this.post('/api/sim/badge', { reader, credential: who.credential });
    const ms = now() - t;
    if (r.granted) {
      if (reader === 'entry') this.#inside.add(who.personId);
      else this.#inside.delete(who.personId);
    }
    return { ms, granted: r.granted === true };
  }

  /** The door opened and closed (after a grant; it relocks on close). */
  async walkThrough(): Promise<void> {
    await this.post(`/api/sim/doors/${DOOR}/contact`, { open: true });
    await this.post(`/api/sim/doors/${DOOR}/contact`, { open: false });
  }

  private async post(path: string, body: unknown): Promise<{ granted?: boolean }> {
    const res = await fetch(`${this.s.base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.s.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await res.json()) as { granted?: boolean };
  }
}

/** Badges through the HTTP sim route (and the door opened and closed after each grant), then RSS. */
export async function loadAndRss(s: Started, staff: readonly Staff[], n: number): Promise<LoadFigure> {
  const badges = new SimBadges(s);
  const fig: LoadFigure = {
    requests: 0,
    http: [],
    granted: 0,
    rss: 0,
    peak: 0,
    anon: 0,
    file: 0,
    heapUsed: 0,
    heapTotal: 0,
    settled: { rss: 0, anon: 0, file: 0 },
  };
  for (let i = 0; i < n; i++) {
    const r = await badges.present(staff[i % staff.length]!);
    fig.http.push(r.ms);
    fig.requests++;
    if (r.granted) {
      fig.granted++;
      await badges.walkThrough();
    }
  }
  await sleep(500);
  const m = rssOf(s.proc.pid!);
  fig.rss = m.rss;
  fig.peak = m.peak;
  fig.anon = m.anon;
  fig.file = m.file;
  // What the process says of its own heaps (GET /metrics), to tell a JavaScript heap from native memory.
  const metrics = await (
    await fetch(`${s.base}/metrics`, { headers: { authorization: `Bearer ${s.metricsToken}` } })
  ).text();
  const gauge = (name: string) =>
    Number(new RegExp(`^sekisho_process_${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN) / 1048576;
  fig.heapUsed = gauge('heap_used_bytes');
  fig.heapTotal = gauge('heap_total_bytes');
  // Right after the load the V8 heap still holds garbage no major collection has taken yet (how much
  // depends on when the last one ran); once the allocation rate drops, V8's memory reducer collects
  // it. The resident memory of the controller between badges is the settled figure.
  await sleep(SETTLE_MS);
  const settled = rssOf(s.proc.pid!);
  fig.settled = { rss: settled.rss, anon: settled.anon, file: settled.file };
  return fig;
}
