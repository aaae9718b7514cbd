/**
 * `sekisho doctor`: tells a technician, in plain words, what is wrong and what is missing.
 * Each check prints OK, WARN or FAIL; the exit status is 1 when any check fails.
 */
import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { listGpioChips, resolveGpioNumber } from '../hardware/index.js';
import type { LoadedConfig } from './config/index.js';
import { verifyJournal } from './journal/index.js';
import { journalFile, openStorage } from './storage.js';
import { clockSynchronised } from './system.js';

type Verdict = 'OK' | 'WARN' | 'FAIL';
interface Check {
  verdict: Verdict;
  what: string;
  detail: string;
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (err: string | null) => {
      sock.destroy();
      resolve(err);
    };
    sock.setTimeout(timeoutMs, () => done('timed out'));
    sock.once('connect', () => done(null));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

export async function runChecks(loaded: LoadedConfig, opts: { gpioRoot?: string } = {}): Promise<Check[]> {
  const { config } = loaded;
  const checks: Check[] = [];
  const add = (verdict: Verdict, what: string, detail: string) => checks.push({ verdict, what, detail });
  add(
    'OK',
    'config',
    `${loaded.file} is valid (${config.doors.length} door(s), ${config.readers.length} reader(s))`,
  );

  // GPIO
  if (config.board.kind === 'sim') add('OK', 'gpio', 'simulated board (no GPIO used)');
  else {
    const root = opts.gpioRoot ?? '/sys/class/gpio';
    try {
      const chips = listGpioChips(root);
      add(
        'OK',
        'gpio chips',
        chips.map((c) => `${c.name} label=${c.label} base=${c.base} ngpio=${c.ngpio}`).join('; ') || 'none',
      );
      for (const d of config.doors) {
        for (const role of ['contact', 'lock', 'exitButton', 'buzzer', 'tamper'] as const) {
          const p = d[role];
          if (!p) continue;
          try {
            const n = resolveGpioNumber(p.pin, config.board.chipLabels, root);
            const exported = existsSync(`${root}/gpio${n}`);
            add(
              'OK',
              `gpio ${d.id}.${role}`,
              `BCM ${p.pin} = sysfs ${n}${exported ? ' (exported)' : ' (not exported yet; the controller exports it at start)'}`,
            );
          } catch (err) {
            add('FAIL', `gpio ${d.id}.${role}`, (err as Error).message);
          }
        }
      }
    } catch (err) {
      add(
        'FAIL',
        'gpio chips',
        `${(err as Error).message} — is this a Raspberry Pi with sysfs GPIO enabled?`,
      );
    }
  }

  // Serial readers
  for (const r of config.readers) {
    if (r.path === 'sim') {
      add('OK', `reader ${r.id}`, 'simulated reader');
      continue;
    }
    if (!existsSync(r.path)) {
      add(
        'FAIL',
        `reader ${r.id}`,
        `${r.path} does not exist — is the reader plugged in, and the UART enabled (dtoverlay, enable_uart=1)?`,
      );
      continue;
    }
    try {
      accessSync(r.path, constants.R_OK | constants.W_OK);
      const st = statSync(r.path);
      add(
        st.isCharacterDevice() ? 'OK' : 'WARN',
        `reader ${r.id}`,
        `${r.path} ${st.isCharacterDevice() ? 'is a serial device' : 'is not a character device'}, ${r.protocol} at ${r.baudRate} baud`,
      );
    } catch {
      add(
        'FAIL',
        `reader ${r.id}`,
        `${r.path} is not readable and writable by this user — add it to the dialout group`,
      );
    }
  }

  // Storage
  const dir = loaded.storageDir;
  try {
    const fs = statfsSync(existsSync(dir) ? dir : '/');
    const free = fs.bavail * fs.bsize;
    const mb = Math.round(free / 1e6);
    add(free < 200e6 ? (free < 50e6 ? 'FAIL' : 'WARN') : 'OK', 'disk', `${mb} MB free for ${dir}`);
  } catch (err) {
    add('FAIL', 'disk', String(err));
  }
  if (!existsSync(journalFile(dir)))
    add('WARN', 'journal', `no journal yet at ${journalFile(dir)} (created at first start)`);
  else {
    try {
      const s = openStorage(loaded);
      const ic = s.db.pragma('quick_check', { simple: true });
      add(ic === 'ok' ? 'OK' : 'FAIL', 'database integrity', String(ic));
      const v = verifyJournal(s.db, { publicKey: s.secrets.publicKey });
      add(
        v.ok ? 'OK' : 'FAIL',
        'journal chain',
        v.ok
          ? `intact, ${v.rows} rows, ${v.checkpoints} signed checkpoints`
          : `first bad row seq ${v.firstBadSeq}: ${v.problem}`,
      );
      s.db.close();
    } catch (err) {
      add('FAIL', 'storage', (err as Error).message);
    }
  }

  // Clock
  const synced = clockSynchronised();
  add(
    synced === true ? 'OK' : 'WARN',
    'clock',
    synced === true
      ? 'synchronised (NTP)'
      : synced === false
        ? 'NOT synchronised — log times may be wrong; check systemd-timesyncd'
        : 'synchronisation state unknown (no timedatectl)',
  );

  // MQTT
  if (!config.mqtt) add('OK', 'mqtt', 'not configured');
  else {
    const u = new URL(config.mqtt.url);
    const port = Number(u.port || (u.protocol === 'mqtts:' ? 8883 : 1883));
    const err = await tcpReachable(u.hostname, port, 2000);
    add(
      err ? 'FAIL' : 'OK',
      'mqtt broker',
      err ? `${u.hostname}:${port} unreachable (${err})` : `${u.hostname}:${port} reachable`,
    );
  }
  return checks;
}

export async function doctor(loaded: LoadedConfig): Promise<number> {
  const checks = await runChecks(loaded);
  for (const c of checks) process.stdout.write(`${c.verdict.padEnd(4)} ${c.what}: ${c.detail}\n`);
  const failed = checks.filter((c) => c.verdict === 'FAIL').length;
  process.stdout.write(failed ? `${failed} problem(s) found\n` : 'nothing is wrong\n');
  return failed ? 1 : 0;
}
