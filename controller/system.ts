/** Facts about the machine the controller runs on: clock synchronisation, version. */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { arch, release, type } from 'node:os';

/**
 * Where the sync state comes from: `timedatectl show --property=NTPSynchronized`, which reports the
 * kernel's own flag (adjtimex: cleared by whichever daemon synchronises the clock — systemd-timesyncd
 * or chrony — and set again when it loses its sources). Without timedatectl, systemd-timesyncd's
 * flag file (it exists once timesyncd has synchronised since boot) says yes; otherwise nothing can
 * tell (null).
 */
const TIMEDATECTL_ARGS = ['show', '--property=NTPSynchronized', '--value'];
/** Touched by systemd-timesyncd each time it synchronises (after it sets the clock). */
export const TIMESYNCD_FLAG = '/run/systemd/timesync/synchronized';
const CHRONYD_PIDS = ['/run/chrony/chronyd.pid', '/var/run/chrony/chronyd.pid', '/run/chronyd.pid'];

function parseSynced(out: string): boolean | null | undefined {
  const v = out.trim();
  return v === 'yes' ? true : v === 'no' ? false : undefined;
}

function flagFallback(): boolean | null {
  return existsSync(TIMESYNCD_FLAG) ? true : null;
}

/** Ask the system once (blocking, ≤ 1 s): true / false, or null when it cannot be told. */
function askClockSynchronised(): boolean | null {
  try {
    const out = execFileSync('timedatectl', TIMEDATECTL_ARGS, {
      timeout: 1000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    const v = parseSynced(out);
    if (v !== undefined) return v;
  } catch {
    // not available
  }
  return flagFallback();
}

/** Ask the system without blocking (the running controller's poll, controller/runtime/clock.ts). */
export function readClockSynchronised(): Promise<boolean | null> {
  return new Promise((resolve) => {
    execFile('timedatectl', TIMEDATECTL_ARGS, { timeout: 1000 }, (err, out) => {
      const v = err ? undefined : parseSynced(String(out ?? ''));
      resolve(v !== undefined ? v : flagFallback());
    });
  });
}

/**
 * Who stepped the clock to `to` (UTC ms), as far as can be told without asking a daemon (cheap,
 * synchronous: it runs on the door's path): systemd-timesyncd when its flag file was touched within
 * 10 s of the new time; chrony when chronyd is running (it is then the one that steps the clock —
 * a step made by hand while it runs is reported as chrony too); else unknown (by hand with `date`,
 * another daemon, a virtual machine's host).
 */
export function clockStepSource(to: number): 'systemd-timesyncd' | 'chrony' | 'unknown' {
  try {
    if (Math.abs(statSync(TIMESYNCD_FLAG).mtimeMs - to) <= 10_000) return 'systemd-timesyncd';
  } catch {
    // no timesyncd flag
  }
  return CHRONYD_PIDS.some((f) => existsSync(f)) ? 'chrony' : 'unknown';
}

let clockCache: { value: boolean | null; at: number; refreshing: boolean } | null = null;

/**
 * Whether the system clock is synchronised (NTP): true / false, or null when it cannot be told
 * (no systemd-timesyncd/chrony to ask — e.g. in a container). The first call asks the system;
 * later calls answer from a cache refreshed in the background at most once a minute, so a status
 * request never blocks the door on `timedatectl`. The running controller polls on its own
 * (controller/runtime/clock.ts); this serves the start's row and `doctor`.
 */
export function clockSynchronised(): boolean | null {
  const now = Date.now();
  if (clockCache === null) {
    clockCache = { value: askClockSynchronised(), at: now, refreshing: false };
  } else if (Math.abs(now - clockCache.at) > 60_000 && !clockCache.refreshing) {
    const cache = clockCache;
    cache.refreshing = true;
    void readClockSynchronised().then((value) =>
      Object.assign(cache, { value, at: Date.now(), refreshing: false }),
    );
  }
  return clockCache.value;
}

let version: string | undefined;
export function sekishoVersion(): string {
  if (version === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    version = pkg.version;
  }
  return version;
}

/** The versions a start records: the runtime's patch history is part of the journal (policy §8(5)①ア). */
export interface RuntimeVersions {
  node: string;
  sqlite: string;
  /** The distribution (os-release PRETTY_NAME), kernel release and architecture. */
  os: string;
}

export function runtimeVersions(sqliteVersion: string): RuntimeVersions {
  let distro = 'unknown distribution';
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m?.[1]) distro = m[1];
  } catch {
    // no os-release (not a Linux distribution)
  }
  return {
    node: process.versions.node,
    sqlite: sqliteVersion,
    os: `${distro}; ${type()} ${release()} ${arch()}`,
  };
}
