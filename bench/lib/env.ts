/** What the benchmarks ran on: machine, Node, SQLite, file system, and the load while they ran. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import Database from 'better-sqlite3';

export interface Machine {
  date: string;
  nproc: number;
  cpu: string;
  memGiB: number;
  kernel: string;
  node: string;
  sqlite: string;
  /** File system of the folder the journal lives in (`df -T`). */
  fs: string;
  command: string;
}

export function machine(dir: string, command: string): Machine {
  const mem = new Database(':memory:');
  const sqlite = (mem.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  mem.close();
  let fs = 'unknown';
  try {
    const line = execFileSync('df', ['-T', dir], { encoding: 'utf8' }).trim().split('\n')[1] ?? '';
    const [dev, type] = line.split(/\s+/);
    fs = `${type} (${dev})`;
  } catch {
    // df missing
  }
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    sqlite,
    fs,
    command,
  };
}

/** The 1-minute load average now, and a description of the load over a run from samples. */
export class LoadWatch {
  private readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 5000);
    this.timer.unref();
  }
  sample(): void {
    this.samples.push(loadavg()[0]!);
  }
  stop(): { min: number; max: number; mean: number; samples: number } {
    clearInterval(this.timer);
    this.sample();
    const s = this.samples;
    return {
      min: Math.min(...s),
      max: Math.max(...s),
      mean: s.reduce((a, b) => a + b, 0) / s.length,
      samples: s.length,
    };
  }
}

/**
 * VmRSS and VmHWM (peak) of a process, in MiB, from /proc; and how the RSS splits into anonymous
 * memory (the process's own: heaps, stacks) and file pages (mostly the node binary's code, shared
 * and clean: the kernel can drop and re-read them).
 */
export function rssOf(pid: number): { rss: number; peak: number; anon: number; file: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    rss: kb('VmRSS') / 1024,
    peak: kb('VmHWM') / 1024,
    anon: kb('RssAnon') / 1024,
    file: (kb('RssFile') + kb('RssShmem')) / 1024,
  };
}
