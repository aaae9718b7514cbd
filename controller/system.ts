/** Facts about the machine the controller runs on: clock synchronisation, version. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/**
 * Whether the system clock is synchronised (NTP): true / false, or null when it cannot be told
 * (no systemd-timesyncd/chrony to ask — e.g. in a container).
 */
export function clockSynchronised(): boolean | null {
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
