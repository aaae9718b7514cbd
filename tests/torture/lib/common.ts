/**
 * What every torture scenario shares: the real `sekisho start` as a child process that can be killed
 * at any moment (also while it starts), people enrolled through the CLI, and the checks made on the
 * storage after every crash — SQLite's integrity_check, the hash chain and signed checkpoints, every
 * unlock preceded by its grant, every acknowledged decision present.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SIGNING_KEY_FILE, verifyJournal } from '../../../controller/journal/index.js';
import { BIN, cliJson, cli as runCli } from '../../helpers/controller.js';

export const DOOR = 'machine-room';
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A deterministic PRNG (mulberry32): a failing run can be repeated with its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Proc {
  proc: ChildProcess;
  /** Resolves with the base URL once the controller serves; rejects if it exits first. */
  ready: Promise<string>;
  exited: Promise<number | null>;
  output: () => string;
  token: () => string;
  kill9: () => Promise<void>;
  stop: () => Promise<number | null>;
}

/** Spawns `sekisho start`; does not wait (a kill may come at any moment, also during start-up). */
export function spawnController(configFile: string, storageDir: string): Proc {
  const proc = spawn(process.execPath, [BIN, 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SEKISHO_LOG: 'warn' },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    const onData = () => {
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) {
        proc.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`controller exited (${code}) before it was ready:\n${out}`)));
  });
  ready.catch(() => undefined);
  return {
    proc,
    ready,
    exited,
    output: () => out,
    token: () => readFileSync(join(storageDir, 'api-token'), 'utf8').trim(),
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return await exited;
    },
  };
}

export interface Api {
  base: string;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
}

export function api(base: string, token: string): Api {
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

export interface Enrolled {
  personId: string;
  credential: string;
}

/** Enrols staff with access to the door, through the CLI (before the controller starts). */
export function enrolStaff(configFile: string, count: number, prefix = 0x1a): Enrolled[] {
  const out: Enrolled[] = [];
  for (let i = 0; i < count; i++) {
    const p = cliJson<{ id: string }>([
      'person',
      'add',
      '--config',
      configFile,
      '--name',
      `Torture Staff ${i}`,
      '--id',
      `T-${i}`,
      '--category',
      'staff',
    ]);
    const g = runCli(['person', 'grant', p.id, '--config', configFile, '--door', DOOR]);
    if (g.status !== 0) throw new Error(`grant failed: ${g.stderr}`);
    const credential = (prefix * 0x1_0000_0000 + 0x1000 + i).toString(16).toUpperCase().padStart(10, '0');
    const b = runCli(['badge', 'add', '--config', configFile, '--person', p.id, '--number', credential]);
    if (b.status !== 0) throw new Error(`badge add failed: ${b.stderr}`);
    out.push({ personId: p.id, credential });
  }
  return out;
}

interface RawRow {
  seq: number;
  type: string;
  bytes: string;
}

export interface StorageCheck {
  integrity: string;
  verified: boolean;
  problem: string | null;
  rows: number;
  headSeq: number;
  /** door_unlocked rows with no grant, exit request or override before them since the last relock. */
  unlocksWithoutGrant: number[];
  /** Acknowledged seqs (HTTP 200 with a seq) that are not the row they were acknowledged as. */
  missingAcks: number[];
  ms: number;
}

/**
 * The checks after a crash, on the files as the crash left them (a fresh read-only connection, which
 * sees the committed WAL frames as a restart would).
 */
export function checkStorage(
  storageDir: string,
  acknowledged: ReadonlyMap<number, string> = new Map(),
): StorageCheck {
  const t0 = performance.now();
  const file = join(storageDir, 'journal.db');
  if (!existsSync(file))
    return {
      integrity: 'no journal yet',
      verified: true,
      problem: null,
      rows: 0,
      headSeq: 0,
      unlocksWithoutGrant: [],
      missingAcks: [...acknowledged.keys()],
      ms: 0,
    };
  const db = new Database(file, { readonly: true });
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    // The public key from the signing key as stored (nothing is written: the disk may be full).
    const publicKey = createPublicKey(readFileSync(join(storageDir, SIGNING_KEY_FILE)));
    const v = verifyJournal(db, { publicKey });
    const unlocksWithoutGrant: number[] = [];
    let armed = false;
    const rows = db
      .prepare('SELECT seq, type, bytes FROM journal ORDER BY seq')
      .iterate() as Iterable<RawRow>;
    const bySeq = new Map<number, string>();
    for (const r of rows) {
      if (r.type === 'access') {
        const d = JSON.parse(r.bytes).data as { result: string };
        if (d.result === 'granted') armed = true;
        if (acknowledged.has(r.seq)) bySeq.set(r.seq, `access:${d.result}`);
      } else if (r.type === 'exit_request') armed = true;
      else if (r.type === 'door_unlocked') {
        if (!armed) unlocksWithoutGrant.push(r.seq);
      } else if (r.type === 'door_locked') armed = false;
    }
    const missingAcks = [...acknowledged]
      .filter(([seq, what]) => bySeq.get(seq) !== what)
      .map(([seq]) => seq);
    return {
      integrity,
      verified: v.ok,
      problem: v.ok ? null : `seq ${v.firstBadSeq}: ${v.problem}`,
      rows: v.rows,
      headSeq: v.headSeq,
      unlocksWithoutGrant,
      missingAcks,
      ms: performance.now() - t0,
    };
  } finally {
    db.close();
  }
}

export function percentiles(xs: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
  return { n: s.length, p50: at(50), p99: at(99), max: s[s.length - 1] ?? Number.NaN };
}
