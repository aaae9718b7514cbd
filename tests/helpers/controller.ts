/**
 * Runs the real `sekisho` command as a child process against a config written into a temp folder.
 * Used by the integration tests: real SQLite files, real serial ptys, real HTTP.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/sekisho.mjs');

export function tempDir(prefix = 'sekisho-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
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

export async function startController(
  configFile: string,
  storageDir: string,
  timeoutMs = 20_000,
): Promise<Running> {
  const proc = spawn(process.execPath, [BIN, 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SEKISHO_LOG: process.env.SEKISHO_LOG ?? 'info' },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const base = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`controller did not start in time:\n${out}`)), timeoutMs);
    const onData = () => {
      const m = /listening (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`controller exited with ${code} before it was ready:\n${out}`));
    });
  });
  const token = readFileSync(join(storageDir, 'api-token'), 'utf8').trim();
  const api = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
  return {
    proc,
    base,
    token,
    output: () => out,
    api,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      return await exited;
    },
    async kill9() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited.catch(() => undefined);
    },
  };
}

/** Poll `fn` until it returns a truthy value or the time runs out. */
export async function until<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
