/**
 * The system's clock facts for tests: a stand-in `timedatectl` on the PATH (the controller runs the
 * real command by name, so its own code path is the one under test; only what systemd would answer
 * is chosen here), and libfaketime to step a real process's wall clock.
 */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './util.js';

export type SyncAnswer = 'yes' | 'no' | 'fail';

/**
 * A folder holding an executable `timedatectl` that answers `show --property=NTPSynchronized
 * --value` with what `set()` last chose ("fail": exits 1, as without systemd). Put `dir` first on
 * the PATH of the process under test.
 */
export function fakeTimedatectl(initial: SyncAnswer): { dir: string; set(answer: SyncAnswer): void } {
  const dir = tempDir('sekisho-timedatectl-');
  const answer = join(dir, 'answer');
  writeFileSync(
    join(dir, 'timedatectl'),
    `#!/bin/sh
[ "$*" = "show --property=NTPSynchronized --value" ] || { echo "unexpected: $*" >&2; exit 2; }
a=$(cat "${answer}")
[ "$a" = fail ] && { echo "System has not been booted with systemd as init system (PID 1)." >&2; exit 1; }
echo "$a"
`,
  );
  chmodSync(join(dir, 'timedatectl'), 0o755);
  const set = (a: SyncAnswer) => writeFileSync(answer, a);
  set(initial);
  return { dir, set };
}

/** Debian's libfaketime (package faketime). */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
export const hasFaketime = existsSync(LIBFAKETIME);

/**
 * The environment that runs a process under libfaketime with its wall clock read from a file, so the
 * test can step it while the process runs (`step()`); the monotonic clock stays real, as an NTP
 * step leaves it. Offsets are relative ("+3600" / "-86400" seconds from the real time).
 */
export function faketimeClock(): { env: Record<string, string>; step(offsetS: number): void } {
  const file = join(tempDir('sekisho-faketime-'), 'faketime');
  const step = (offsetS: number) => writeFileSync(file, `${offsetS >= 0 ? '+' : ''}${offsetS}\n`);
  step(0);
  return {
    env: {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: file,
      FAKETIME_NO_CACHE: '1',
      // Without it a relative offset moves CLOCK_MONOTONIC too, and no step could be seen (the
      // second name is the one libfaketime before 0.9.8 reads).
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      DONT_FAKE_MONOTONIC: '1',
    },
    step,
  };
}
