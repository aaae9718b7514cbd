/**
 * Runs the real `sekisho` command as a child process against a config written into a temp folder.
 * Used by the integration tests: real SQLite files, real serial ptys, real HTTP.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

import { ROOT } from './util.js';

export { ROOT, tempDir, until } from './util.js';

export const BIN = join(ROOT, 'bin/sekisho.mjs');

/** An entry and an exit reader, both simulated (badges are presented through /api/sim/badge). */
export function simReaders(): Record<string, unknown>[] {
  return [
    { id: 'entry', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 },
    { id: 'exit', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 },
  ];
}

/** A config for one door with the sim board; readers are given by the caller. */
export function doorConfig(
  dir: string,
  readers: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
) {
  return {
    site: { id: 'test-site', name: 'Test site' },
    controller: { id: 'test-ctl' },
    storage: { path: join(dir, 'data') },
    dashboard: { host: '127.0.0.1', port: 0 },
    board: { kind: 'sim' },
    readers,
    doors: [
      {
        id: 'machine-room',
        name: 'マシン室',
        entryReader: readers[0]!.id,
        ...(readers[1] ? { exitReader: readers[1].id } : {}),
        exitButton: { pin: 27, debounceMs: 0 },
        contact: { pin: 17, debounceMs: 0 },
        lock: { pin: 22, activeLow: true, failMode: 'fail-secure' },
        buzzer: { pin: 23 },
        tamper: { pin: 24, debounceMs: 0 },
        unlockMs: 5000,
        heldOpenMs: 30000,
        preAlarmMs: 10000,
      },
    ],
    ...extra,
  };
}

export function writeConfig(dir: string, cfg: unknown): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify(cfg));
  return file;
}

/** Run a CLI command to completion. */
export function cli(args: string[], opts: { input?: string } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    input: opts.input,
    timeout: 30_000,
    env: { ...process.env, SEKISHO_LOG: 'warn' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function cliJson<T>(args: string[]): T {
  const r = cli([...args, '--json']);
  if (r.status !== 0) throw new Error(`sekisho ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface Proc {
  proc: ChildProcess;
  /** Resolves with the base URL once the controller serves; rejects if it exits first. */
  ready: Promise<string>;
  exited: Promise<number | null>;
  output: () => string;
  /** The simulation API token, scopes read and sim (read when asked: the controller writes it during start-up). */
  token: () => string;
  /** SIGKILL (unless it has ended) and wait for the exit. */
  kill9: () => Promise<void>;
  /** SIGTERM (unless it has ended) and wait for the exit; returns the exit code. */
  stop: () => Promise<number | null>;
}

export interface SpawnOptions {
  /** SEKISHO_LOG for the child (default: the test's own, or info). */
  log?: string;
  /** The entry to run (default: BIN, the TypeScript sources under tsx); e.g. a build's bin/sekisho-dist.mjs. */
  bin?: string;
  /** More environment variables for the child. */
  env?: Record<string, string>;
}

/** Spawns `sekisho start`; does not wait (a kill may come at any moment, also during start-up). */
export function spawnController(configFile: string, storageDir: string, opts: SpawnOptions = {}): Proc {
  const proc = spawn(process.execPath, [opts.bin ?? BIN, 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env, SEKISHO_LOG: opts.log ?? process.env.SEKISHO_LOG ?? 'info' },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const ready = new Promise<string>((res, rej) => {
    const onData = () => {
      const m = /listening (https?:\/\/\S+)/.exec(out);
      if (m) {
        proc.stdout!.off('data', onData);
        res(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => rej(new Error(`controller exited with ${code} before it was ready:\n${out}`)));
  });
  ready.catch(() => undefined);
  const ended = () => proc.exitCode !== null || proc.signalCode !== null;
  return {
    proc,
    ready,
    exited,
    output: () => out,
    token: () => readFileSync(join(storageDir, 'api-token'), 'utf8').trim(),
    async kill9() {
      if (!ended()) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!ended()) proc.kill('SIGTERM');
      return await exited;
    },
  };
}

export interface Api {
  base: string;
  /** One request with the bearer token; a body that is not JSON comes back as `{ text }`. */
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
}

/** A client of the controller's /api with its token. Every request gives up after 15 s. */
export function apiClient(base: string, token: string): Api {
  return {
    base,
    async call<T>(method: string, path: string, body?: unknown) {
      const res = await fetch(base + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = { text };
      }
      return { status: res.status, body: parsed as T };
    },
  };
}

export interface Running {
  proc: ChildProcess;
  base: string;
  token: string;
  output: () => string;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

/** Starts `sekisho start` and waits until it serves (or fails after `timeoutMs`). */
export async function startController(
  configFile: string,
  storageDir: string,
  timeoutMs = 20_000,
  opts: SpawnOptions = {},
): Promise<Running> {
  const p = spawnController(configFile, storageDir, opts);
  let timer: NodeJS.Timeout | undefined;
  const base = await Promise.race([
    p.ready,
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`controller did not start in time:\n${p.output()}`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  const token = p.token();
  const client = apiClient(base, token);
  return {
    proc: p.proc,
    base,
    token,
    output: p.output,
    api: <T>(method: string, path: string, body?: unknown) => client.call<T>(method, path, body),
    stop: p.stop,
    kill9: p.kill9,
  };
}
