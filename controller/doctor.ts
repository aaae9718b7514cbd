/**
 * `sekisho doctor`: tells a technician, in plain words, what is wrong and what is missing.
 * Each check prints OK, WARN or FAIL; the exit status is 1 when any check fails.
 */
import {
  accessSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { type CodecEvent, createCodec } from '../firmware-bridge/index.js';
import {
  describeChip,
  findGpioChip,
  type GpioChip,
  isLockedAt,
  listGpioChips,
  sysfsNumber,
} from '../hardware/index.js';
import type { LoadedConfig, ReaderConfig } from './config/index.js';
import { maskCredential, verifyJournal } from './journal/index.js';
import { brokerAddress, brokerSettings, probeBroker } from './mqtt/index.js';
import { nodeSupport } from './node-support.js';
import { modeText, openToOthers } from './secret-files.js';
import { journalFile, openStorage, type Storage } from './storage.js';
import { clockSynchronised } from './system.js';
import { formatLocal } from './time.js';

type Verdict = 'OK' | 'WARN' | 'FAIL';
interface Check {
  verdict: Verdict;
  what: string;
  detail: string;
}

export interface DoctorOptions {
  /** Where the sysfs GPIO interface is (tests pass a fake). Default /sys/class/gpio. */
  gpioRoot?: string;
  /** How long to listen to each serial reader. Default 2.5 s for a bridge board, 1.5 s otherwise. */
  serialListenMs?: number;
  /** The time to judge the clock by (tests). Default Date.now(). */
  now?: number;
  /** The Node.js version to judge (tests). Default the running one. */
  nodeVersion?: string;
}

export async function runChecks(loaded: LoadedConfig, opts: DoctorOptions = {}): Promise<Check[]> {
  const { config } = loaded;
  const checks: Check[] = [];
  const add = (verdict: Verdict, what: string, detail: string) => checks.push({ verdict, what, detail });
  add(
    'OK',
    'config',
    `${loaded.file} is valid (${config.doors.length} door(s), ${config.readers.length} reader(s))`,
  );

  runtimeCheck(opts.nodeVersion ?? process.versions.node, opts.now ?? Date.now(), add);

  // GPIO and serial readers
  await gpioChecks(loaded, add, opts.gpioRoot ?? '/sys/class/gpio');
  await serialChecks(loaded, add, opts.serialListenMs);

  // Storage
  const dir = loaded.storageDir;
  diskChecks(dir, add);
  // Open read-only once, for the integrity and chain checks here and the outbox backlog below.
  let storage: Storage | undefined;
  let storageError: string | undefined;
  if (!existsSync(journalFile(dir)))
    add('WARN', 'journal', `no journal yet at ${journalFile(dir)} (created at first start)`);
  else {
    try {
      storage = openStorage(loaded, { readonly: true });
    } catch (err) {
      storageError = (err as Error).message;
      add('FAIL', 'storage', storageError);
    }
  }
  try {
    if (storage) storageChecks(storage, add);
    // Clock
    clockChecks(loaded, add, opts.now ?? Date.now());
    await mqttChecks(loaded, add, storage, storageError);
  } finally {
    storage?.db.close();
  }
  return checks;
}

/** The database's integrity and the journal's chain and signed checkpoints. */
function storageChecks(s: Storage, add: Add): void {
  try {
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
  } catch (err) {
    add('FAIL', 'storage', (err as Error).message);
  }
}

/**
 * MQTT: the settings (files and their modes), a real connection (under another client id, so a
 * running controller is not disturbed), and the outbox backlog of the storage doctor opened.
 */
async function mqttChecks(
  loaded: LoadedConfig,
  add: Add,
  storage: Storage | undefined,
  storageError: string | undefined,
): Promise<void> {
  const { config } = loaded;
  if (!config.mqtt) add('OK', 'mqtt', 'not configured');
  else {
    const m = config.mqtt;
    const { host, port, tls } = brokerAddress(m.url);
    try {
      brokerSettings(m, config.controller.id);
      const err = await probeBroker(m, config.controller.id);
      add(
        err ? 'FAIL' : 'OK',
        'mqtt broker',
        err
          ? `${host}:${port}${tls ? ' (TLS)' : ''} refused or unreachable: ${err} — alarms stay queued until it is fixed`
          : `${host}:${port}${tls ? ' (TLS)' : ''} accepted the connection${m.username ? ` as ${m.username}` : ''}`,
      );
    } catch (err) {
      add('FAIL', 'mqtt settings', (err as Error).message);
    }
    if (storageError !== undefined) add('WARN', 'mqtt backlog', `cannot read the outbox: ${storageError}`);
    else if (storage) {
      try {
        const n = (storage.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
        const pct = Math.round((n / m.maxBacklog) * 100);
        add(
          pct >= 50 ? 'WARN' : 'OK',
          'mqtt backlog',
          `${n} journal rows waiting to be published (${pct} % of mqtt.maxBacklog ${m.maxBacklog})`,
        );
      } catch (err) {
        add('WARN', 'mqtt backlog', `cannot read the outbox: ${(err as Error).message}`);
      }
    }
  }
}

export async function doctor(loaded: LoadedConfig): Promise<number> {
  const checks = await runChecks(loaded);
  for (const c of checks) process.stdout.write(`${c.verdict.padEnd(4)} ${c.what}: ${c.detail}\n`);
  const failed = checks.filter((c) => c.verdict === 'FAIL').length;
  process.stdout.write(failed ? `${failed} problem(s) found\n` : 'nothing is wrong\n');
  return failed ? 1 : 0;
}

// -------------------------------------------------------------------------------------------------
// GPIO, serial ports, clock and disk: each says what it saw in plain words and what to do about it.

type Add = (verdict: Verdict, what: string, detail: string) => void;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function readSysfs(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

const INPUT_WORDS = {
  contact: ['door closed', 'door OPEN'],
  exitButton: ['not pressed', 'PRESSED'],
  tamper: ['lid closed', 'lid OPEN'],
} as const;

/** The header's gpiochip, each configured pin's sysfs number, direction and level, read (not changed). */
async function gpioChecks(loaded: LoadedConfig, add: Add, root: string): Promise<void> {
  const { config } = loaded;
  if (config.board.kind === 'sim') {
    add('OK', 'gpio', 'simulated board (no GPIO used)');
    return;
  }
  let chip: GpioChip;
  try {
    const chips = listGpioChips(root);
    if (chips.length === 0) {
      add(
        'FAIL',
        'gpio chip',
        `no gpiochip under ${root} — not a Raspberry Pi, or a kernel without sysfs GPIO`,
      );
      return;
    }
    chip = findGpioChip(config.board.chipLabels, root);
    add(
      'OK',
      'gpio chip',
      `${describeChip(chip)}: BCM n is sysfs ${chip.base} + n (all chips: ${chips.map((c) => `${c.label}@${c.base}`).join(', ')})`,
    );
  } catch (err) {
    add(
      'FAIL',
      'gpio chip',
      `${(err as Error).message} — set board.chipLabels for this Pi model (docs/wiring.md)`,
    );
    return;
  }
  const exportFile = join(root, 'export');
  let canExport = true;
  try {
    accessSync(exportFile, constants.W_OK);
  } catch {
    canExport = false;
    add(
      'FAIL',
      'gpio access',
      `${exportFile} is not writable by ${whoAmI()}: add the service user to the gpio group (sudo usermod -aG gpio sekisho)`,
    );
  }
  for (const d of config.doors) {
    for (const role of ['contact', 'exitButton', 'tamper', 'lock', 'buzzer'] as const) {
      const spec = d[role];
      if (!spec) continue;
      const what = `gpio ${d.id}.${role}`;
      let n: number;
      try {
        n = sysfsNumber(chip, spec.pin);
      } catch (err) {
        add('FAIL', what, (err as Error).message);
        continue;
      }
      const at = `BCM ${spec.pin} = sysfs ${n}`;
      const output = role === 'lock' || role === 'buzzer';
      const dir = join(root, `gpio${n}`);
      let exportedHere = false;
      if (!existsSync(dir)) {
        if (output) {
          add(
            'OK',
            what,
            `${at}, not exported: the controller exports it straight at its secured level; until then its level is set by config.txt (gpio=${spec.pin}=op,…, docs/wiring.md)`,
          );
          continue;
        }
        if (!canExport) {
          add('WARN', what, `${at}, not exported, and this user cannot export it to read it`);
          continue;
        }
        // Exporting an input only makes its files appear; it changes neither direction nor level.
        try {
          writeFileSync(exportFile, String(n));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? String(err);
          add(
            'FAIL',
            what,
            `${at}: cannot export it (${code})${code === 'EBUSY' ? ' — another driver or program holds this pin (a dtoverlay in config.txt?)' : ''}`,
          );
          continue;
        }
        exportedHere = true;
        // udev gives the gpio group access to the new files a moment later.
        for (let i = 0; i < 20 && readSysfs(join(dir, 'value')) === undefined; i++) await sleep(25);
      }
      try {
        const direction = readSysfs(join(dir, 'direction'));
        const value = readSysfs(join(dir, 'value'));
        if (direction === undefined || value === undefined) {
          add('FAIL', what, `${at}: ${dir} cannot be read — is ${whoAmI()} in the gpio group?`);
          continue;
        }
        const volts = (value === '1') !== (readSysfs(join(dir, 'active_low')) === '1');
        const level = volts ? '3.3 V' : '0 V';
        if (output) {
          if (direction !== 'out') {
            add(
              'FAIL',
              what,
              `${at} should be an output but is an input (direction ${direction}): another program changed it`,
            );
            continue;
          }
          const energised = volts !== spec.activeLow;
          if (role === 'lock') {
            const locked = isLockedAt(d.lock, energised);
            add(
              locked ? 'OK' : 'WARN',
              what,
              `${at} reads ${level}: relay ${energised ? 'energised' : 'released'}, door ${locked ? 'locked' : 'UNLOCKED'} (${d.lock.failMode})` +
                (locked
                  ? ''
                  : ' — expected only during a grant; otherwise check lock.activeLow and the relay wiring'),
            );
          } else add('OK', what, `${at} reads ${level}: buzzer ${energised ? 'ON' : 'off'}`);
        } else {
          if (direction !== 'in') {
            add(
              'FAIL',
              what,
              `${at} should be an input but is an output (direction ${direction}): check the gpio= lines in config.txt`,
            );
            continue;
          }
          const active = volts !== spec.activeLow;
          const words = INPUT_WORDS[role as keyof typeof INPUT_WORDS][active ? 1 : 0];
          const suspicious = active && role !== 'contact';
          add(
            suspicious ? 'WARN' : 'OK',
            what,
            `${at} reads ${level}: ${words} — if that is not what you see, check the wiring and activeLow (docs/wiring.md)`,
          );
        }
      } finally {
        if (exportedHere) {
          try {
            writeFileSync(join(root, 'unexport'), String(n));
          } catch {
            // left exported: harmless, the controller claims it anyway
          }
        }
      }
    }
  }
}

interface Heard {
  error?: string;
  bytes: number;
  events: CodecEvent[];
}

/** Opens a reader's port (exclusively, as the controller does) and listens for `ms`. */
async function listen(r: ReaderConfig, ms: number): Promise<Heard> {
  const { SerialPort } = await import('serialport');
  const codec = createCodec(r.protocol, { linePattern: r.linePattern });
  const heard: Heard = { bytes: 0, events: [] };
  const port = new SerialPort({ path: r.path, baudRate: r.baudRate, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    heard.error = (err as Error).message;
    return heard;
  }
  port.on('data', (chunk: Buffer) => {
    heard.bytes += chunk.length;
    heard.events.push(...codec.push(chunk, Date.now()));
  });
  port.on('error', (err: Error) => {
    heard.error = err.message;
  });
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(50);
    // A bridge board has said all there is to know once a hello and a heartbeat arrived.
    const kinds = new Set(heard.events.map((e) => e.kind));
    if (r.protocol === 'wiegand-bridge' && kinds.has('hello') && kinds.has('heartbeat')) break;
  }
  await new Promise<void>((resolve) => port.close(() => resolve()));
  return heard;
}

/** Each serial reader: present, readable, and answering (the bridge board must send heartbeats). */
async function serialChecks(loaded: LoadedConfig, add: Add, listenMs: number | undefined): Promise<void> {
  for (const r of loaded.config.readers) {
    const what = `reader ${r.id}`;
    if (r.path === 'sim') {
      add('OK', what, 'simulated reader');
      continue;
    }
    if (!existsSync(r.path)) {
      let present: string[] = [];
      try {
        present = readdirSync('/dev/serial/by-id').map((n) => `/dev/serial/by-id/${n}`);
      } catch {
        // none
      }
      add(
        'FAIL',
        what,
        `${r.path} does not exist — is the reader plugged in, and the UART enabled (enable_uart=1 / dtparam=uart0=on)?` +
          (present.length > 0 ? ` Serial devices present: ${present.join(', ')}` : ''),
      );
      continue;
    }
    try {
      accessSync(r.path, constants.R_OK | constants.W_OK);
    } catch {
      add(
        'FAIL',
        what,
        `${r.path} is not readable and writable by ${whoAmI()}: add the service user to the dialout group`,
      );
      continue;
    }
    const bridge = r.protocol === 'wiegand-bridge';
    const secs = listenMs ?? (bridge ? 2500 : 1500);
    const heard = await listen(r, secs);
    const s = `${(secs / 1000).toFixed(1)} s`;
    if (heard.error) {
      const busy = /lock|EBUSY|busy/i.test(heard.error);
      add(
        busy ? 'WARN' : 'FAIL',
        what,
        busy
          ? `${r.path} is in use by another program — the controller, if it is running (then this is expected; stop it to test the reader)`
          : `${r.path} cannot be opened: ${heard.error}`,
      );
      continue;
    }
    const good = heard.events.filter((e) => e.kind !== 'dropped');
    const dropped = heard.events.filter((e) => e.kind === 'dropped').length;
    if (bridge) {
      const beats = good.filter((e) => e.kind === 'heartbeat');
      const hello = good.find((e) => e.kind === 'hello');
      const last = beats.at(-1);
      if (last) {
        add(
          last.tamper ? 'WARN' : 'OK',
          what,
          `${r.path} answers: bridge firmware ${hello ? hello.firmware : '(no hello heard)'}, heartbeat seq ${last.seq}, ` +
            `board up ${Math.round(last.uptimeMs / 1000)} s, case ${last.tamper ? 'OPEN — close the reader case or check its tamper switch' : 'closed'}` +
            (dropped > 0 ? `, ${dropped} damaged frame(s)` : ''),
        );
      } else if (heard.bytes > 0) {
        add(
          'FAIL',
          what,
          `${r.path}: ${heard.bytes} bytes in ${s} but no heartbeat — is this a Sekisho bridge board with protocol 1 firmware?`,
        );
      } else {
        add(
          'FAIL',
          what,
          `${r.path} is silent (no heartbeat in ${s}) — flash the bridge firmware (firmware-bridge/firmware/README.md) or check the USB cable`,
        );
      }
      continue;
    }
    const card = good.find((e) => e.kind === 'credential');
    if (card)
      add(
        'OK',
        what,
        `${r.path} answers: a card was read (${maskCredential(card.credential)}, ${card.format})`,
      );
    else if (heard.bytes > 0)
      add(
        'WARN',
        what,
        `${r.path}: ${heard.bytes} bytes in ${s} that are not ${r.protocol} frames — check the baud rate (${r.baudRate}) and the wiring`,
      );
    else
      add(
        'OK',
        what,
        `${r.path} opens; silent for ${s}, as expected with no card near (hold a card to the reader while doctor runs to test it)`,
      );
  }
}

/** The Node.js runtime: a supported line, with security fixes for a while yet. */
function runtimeCheck(version: string, now: number, add: Add): void {
  const s = nodeSupport(version, new Date(now).toISOString().slice(0, 10));
  if (s.status !== 'supported') add('WARN', 'runtime', s.message);
  else if (s.daysLeft !== null && s.daysLeft < RUNTIME_WARN_DAYS)
    add('WARN', 'runtime', `${s.message} — ${s.daysLeft} days left: plan the upgrade (docs/install.md)`);
  else add('OK', 'runtime', s.message);
}

/** How long before a line's end of life doctor starts to warn. */
const RUNTIME_WARN_DAYS = 90;

/** The clock: synchronised, plausible, and whether a hardware clock keeps it over a power cut. */
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
  const rtc = readSysfs('/sys/class/rtc/rtc0/name');
  if (rtc !== undefined) add('OK', 'hardware clock', `${rtc} (rtc0) keeps the time over a power cut`);
  else
    add(
      synced === true ? 'OK' : 'WARN',
      'hardware clock',
      'none: after a power cut the time is wrong until NTP answers (a Pi 5 has one: fit its battery; otherwise an RTC module)',
    );
}

/** Free space, the storage folder's permissions and owner, and the journal's size. */
function diskChecks(dir: string, add: Add): void {
  try {
    const fs = statfsSync(existsSync(dir) ? dir : '/');
    const free = fs.bavail * fs.bsize;
    const mb = Math.round(free / 1e6);
    add(
      free < 200e6 ? (free < 50e6 ? 'FAIL' : 'WARN') : 'OK',
      'disk',
      `${mb} MB free for ${dir}${free < 200e6 ? ' — the journal needs room to grow: free some space or move to a larger card' : ''}`,
    );
  } catch (err) {
    add('FAIL', 'disk', String(err));
  }
  if (!existsSync(dir)) return;
  const st = statSync(dir);
  const uid = process.getuid?.();
  if (openToOthers(st.mode))
    add(
      'WARN',
      'storage permissions',
      `${dir} is mode ${modeText(st.mode)}: others may read the journal and device keys — chmod 700 ${dir}`,
    );
  else if (uid !== undefined && uid !== 0 && st.uid !== uid)
    add(
      'WARN',
      'storage permissions',
      `${dir} belongs to uid ${st.uid}, not to ${whoAmI()}: run doctor as the service user`,
    );
  else add('OK', 'storage permissions', `${dir} is private (mode ${modeText(st.mode)})`);
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  const db = size(journalFile(dir));
  const wal = size(`${journalFile(dir)}-wal`);
  if (db > 0)
    add(
      wal > 64e6 ? 'WARN' : 'OK',
      'journal size',
      `${(db / 1e6).toFixed(1)} MB, write-ahead log ${(wal / 1e6).toFixed(1)} MB${wal > 64e6 ? ' — the log is not being checkpointed: a long-running reader holds it open?' : ''}`,
    );
}
