/** Facts about the machine the controller runs on: clock synchronisation, version. */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { arch, release, type } from 'node:os';

/** Ask the system once (blocking, ≤ 1 s): true / false, or null when it cannot be told. */
function askClockSynchronised(): boolean | null {
  if (existsSync('/run/systemd/timesync/synchronized')) return true;
  try {
    const out = execFileSync('timedatectl', ['show', '--property=NTPSynchronized', '--value'], {
      timeout: 1000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    if (out === 'yes') return true;
    if (out === 'no') return false;
  } catch {
    // not available
  }
  return null;
}

let clockCache: { value: boolean | null; at: number; refreshing: boolean } | null = null;

/**
 * Whether the system clock is synchronised (NTP): true / false, or null when it cannot be told
 * (no systemd-timesyncd/chrony to ask — e.g. in a container). The first call asks the system;
 * later calls answer from a cache refreshed in the background at most once a minute, so a status
 * request never blocks the door on `timedatectl`.
 */
export function clockSynchronised(): boolean | null {
  const now = Date.now();
  if (clockCache === null) {
    clockCache = { value: askClockSynchronised(), at: now, refreshing: false };
  } else if (now - clockCache.at > 60_000 && !clockCache.refreshing) {
    const cache = clockCache;
    cache.refreshing = true;
    if (existsSync('/run/systemd/timesync/synchronized')) {
      Object.assign(cache, { value: true, at: now, refreshing: false });
    } else {
      execFile(
        'timedatectl',
        ['show', '--property=NTPSynchronized', '--value'],
        { timeout: 1000 },
        (err, out) => {
          const v = String(out ?? '').trim();
          Object.assign(cache, {
            value: err ? null : v === 'yes' ? true : v === 'no' ? false : null,
            at: Date.now(),
            refreshing: false,
          });
        },
      );
    }
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
