/** doctor's clock and runtime checks: NTP, a hardware clock, and the Node.js line's support. */
import type { LoadedConfig } from '../config/index.js';
import { nodeSupport } from '../node-support.js';
import { clockSynchronised } from '../system.js';
import { formatLocal } from '../time.js';
import { type Add, readSysfs } from './check.js';

export /** The Node.js runtime: a supported line, with security fixes for a while yet. */
function runtimeCheck(version: string, now: number, add: Add): void {
  const s = nodeSupport(version, new Date(now).toISOString().slice(0, 10));
  if (s.status !== 'supported') add('WARN', 'runtime', s.message);
  else if (s.daysLeft !== null && s.daysLeft < RUNTIME_WARN_DAYS)
    add('WARN', 'runtime', `${s.message} — ${s.daysLeft} days left: plan the upgrade (docs/install.md)`);
  else add('OK', 'runtime', s.message);
}

/** How long before a line's end of life doctor starts to warn. */
const RUNTIME_WARN_DAYS = 90;

export /** The clock: synchronised, plausible, and whether a hardware clock keeps it over a power cut. */
function clockChecks(loaded: LoadedConfig, add: Add, now: number): void {
  const tz = loaded.config.timeZone;
  const local = `${formatLocal(now, tz)} ${tz}`;
  const synced = clockSynchronised();
  if (now < Date.UTC(2025, 0, 1)) {
    add(
      'FAIL',
      'clock',
      `the clock says ${new Date(now).toISOString()}: no network time yet and no hardware clock — every log time would be wrong`,
    );
  } else if (synced === true) add('OK', 'clock', `synchronised (NTP): ${local}`);
  else if (synced === false)
    add(
      'WARN',
      'clock',
      `NOT synchronised: ${local}; log times may drift. Check "timedatectl timesync-status" and that the NTP server in /etc/systemd/timesyncd.conf is reachable (UDP 123)`,
    );
  else add('WARN', 'clock', `synchronisation state unknown (no timedatectl / systemd-timesyncd): ${local}`);
  if (synced !== true) {
    // What the doors do about it right now (docs/config.md#clock).
    const policy = loaded.config.clock.whenUnsynchronised;
    add(
      policy === 'normal' ? 'WARN' : 'OK',
      'clock policy',
      policy === 'normal'
        ? 'clock.whenUnsynchronised: normal — badges are decided on schedules and validity dates read on this clock'
        : `clock.whenUnsynchronised: ${policy} — entries that depend on the time are refused until the clock is synchronised`,
    );
  }
  const rtc = readSysfs('/sys/class/rtc/rtc0/name');
  if (rtc !== undefined) add('OK', 'hardware clock', `${rtc} (rtc0) keeps the time over a power cut`);
  else
    add(
      synced === true ? 'OK' : 'WARN',
      'hardware clock',
      'none: after a power cut the time is wrong until NTP answers (a Pi 5 has one: fit its battery; otherwise an RTC module)',
    );
}
