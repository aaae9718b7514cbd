/**
 * The rehearsal of docs/operations.md "Replacing a dead SD card": a controller with people, badges
 * and rows (a real Mosquitto taking its events and checkpoints off the device), a nightly backup,
 * more rows after it (a revocation among them), then the card dies: the controller is killed and the
 * whole installed tree — its storage folder included — is destroyed. Then the documented steps: the
 * commands are read from the doc itself, step by step, and run by bash as written, with only the
 * device's paths moved under the test's folder and a few stand-ins on PATH — `sudo` (names the
 * person), `sekisho` (this checkout), `install` (without the owner: the test runs as one user),
 * `mosquitto_sub` (mqtt.js, one retained message) and `scripts/install.sh` (--dry-run --root, as
 * tests/ops/install.test.ts runs it). Checked: the badges still grant, the journal verifies, the
 * `journal_restored` row declares the lost range from the checkpoint the broker kept, the undone
 * revocation is redone, a key-and-paper entry of the outage is transcribed.
 */

import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readBundle } from '../../controller/backup/index.js';
import { loadConfig } from '../../controller/config/index.js';
import { openStorage } from '../../controller/storage.js';
import { formatLocal } from '../../controller/time.js';
import {
  approvePending,
  BIN,
  cli,
  doorConfig,
  type Running,
  seedStaff,
  simReaders,
  startController,
  tempDir,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { ROOT as REPO, until } from '../helpers/util.js';
import { Consumer } from '../mqtt/consumer.js';

const INSTALL = join(REPO, 'scripts/install.sh');
/** A start on a loaded two-core machine takes far longer than on a quiet one: waits end at the first match. */
const START_MS = 120_000;
const DOC = join(REPO, 'docs/operations.md');

function install(args: string[]) {
  const r = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The commands of each numbered step of "The replacement, step by step": the lines of its `sh` blocks
 * (continuations joined, comments dropped) and its inline `sudo …` commands, in the doc's order.
 */
function replacementSteps(doc: string): Map<number, string[]> {
  const from = doc.indexOf('### The replacement, step by step');
  const to = doc.indexOf('Without any backup', from);
  if (from < 0 || to < 0) throw new Error('docs/operations.md: the replacement procedure is missing');
  const section = doc.slice(from, to);
  const steps = new Map<number, string[]>();
  const parts = section.split(/^(\d+)\. /m);
  for (let i = 1; i < parts.length; i += 2) {
    const n = Number(parts[i]);
    const text = parts[i + 1]!;
    const commands: { at: number; cmd: string }[] = [];
    for (const m of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
      const lines = m[1]!
        .replace(/\\\n\s*/g, ' ')
        .split('\n')
        .map((l) => l.replace(/\s+#\s.*$/, '').trim())
        .filter((l) => l !== '');
      for (const cmd of lines) commands.push({ at: m.index!, cmd });
    }
    const prose = text.replace(/```sh\n[\s\S]*?```/g, (b) => ' '.repeat(b.length));
    for (const m of prose.matchAll(/`(sudo [^`]+)`/g)) commands.push({ at: m.index!, cmd: m[1]! });
    steps.set(
      n,
      commands.sort((a, b) => a.at - b.at).map((c) => c.cmd),
    );
  }
  return steps;
}

describe('a dead SD card, replaced as docs/operations.md says', () => {
  const work = tempDir('sekisho-sdcard-');
  /** The Pi's file system, as the installer lays it out (the SD card). */
  const card = join(work, 'card');
  /** Where the copies kept off the card are (/media/encrypted-usb). */
  const usb = join(work, 'usb');
  const cfg = join(card, 'etc/sekisho/config.yaml');
  const state = join(card, 'var/lib/sekisho');
  const base = 'sekisho/mr-door-1';
  let broker: Mosquitto | undefined;
  let ctl: Running | undefined;
  const consumers: Consumer[] = [];

  afterAll(async () => {
    await ctl?.kill9();
    for (const c of consumers) await c.end();
    await broker?.kill();
    rmSync(work, { recursive: true, force: true });
  });

  const badge = async (credential: string, reader = 'entry') =>
    (await ctl!.api<{ granted: boolean }>('POST', '/api/sim/badge', { reader, credential })).body.granted;
  const asA = { sudo: 'manager-a' };

  it('rehearses the replacement end to end', { timeout: 600_000 }, async () => {
    mkdirSync(usb, { mode: 0o700 });
    broker = await startMosquitto();

    // ---- The installation, and years of use -------------------------------------------------------
    mkdirSync(card);
    const first = install(['--dry-run', '--root', card, '--node', process.execPath]);
    expect(first.status, first.stderr).toBe(0);
    writeFileSync(
      cfg,
      stringify(
        doorConfig(work, simReaders(), {
          controller: { id: 'mr-door-1' },
          storage: { path: state, checkpointEveryS: 10 },
          mqtt: { url: broker.url, reconnectS: 1 },
        }),
      ),
    );
    // Kept off the card from the start: the config and the dashboard's pair.
    copyFileSync(cfg, join(usb, 'config.yaml'));
    copyFileSync(join(card, 'etc/sekisho/dashboard.crt'), join(usb, 'dashboard.crt'));
    copyFileSync(join(card, 'etc/sekisho/dashboard.key'), join(usb, 'dashboard.key'));
    ctl = await startController(cfg, state, START_MS);
    copyFileSync(join(state, 'device-public.pem'), join(usb, 'device-public.pem'));

    // People and badges (on a device each is a request approved by another: not the subject here).
    const yamada = seedStaff(cfg, {
      name: '山田 太郎',
      displayId: 'S-1001',
      door: 'machine-room',
      credential: '0A1B2C3D4E',
    }).personId;
    const sato = seedStaff(cfg, {
      name: '佐藤 花子',
      displayId: 'S-1002',
      door: 'machine-room',
      credential: '1122334455',
    }).badgeId;
    expect(await badge('0A1B2C3D4E')).toBe(true);
    expect(await badge('1122334455')).toBe(true);

    // The nightly backup, copied off the device.
    const backupFile = join(state, 'backups', 'mr-door-1-20260401.sekisho-backup');
    expect(cli(['backup', '--config', cfg, '--to', backupFile], asA).status).toBe(0);
    copyFileSync(backupFile, join(usb, 'mr-door-1-20260401.sekisho-backup'));
    const backupHead = readBundle(backupFile).manifest.head.seq;

    // After the backup: more rows, and a badge reported lost.
    expect(await badge('0A1B2C3D4E', 'exit')).toBe(true);
    expect(cli(['badge', 'lost', sato, '--config', cfg, '--reason', 'lost on the train'], asA).status).toBe(
      0,
    );
    expect(await badge('1122334455')).toBe(false);
    // A signed checkpoint past the backup reaches the broker (every checkpointEveryS while the head moves).
    const watcher = await Consumer.connect(broker.url, [`${base}/journal/checkpoint`]);
    consumers.push(watcher);
    await watcher.waitFor(
      () => (watcher.last<{ seq: number }>(`${base}/journal/checkpoint`)?.seq ?? 0) > backupHead + 3,
      'a checkpoint after the backup on the broker',
      30_000,
    );
    expect(await badge('0A1B2C3D4E')).toBe(true);

    // ---- The card dies ------------------------------------------------------------------------------
    await ctl.kill9();
    ctl = undefined;
    const died = Date.now();
    rmSync(card, { recursive: true, force: true });
    expect(existsSync(state)).toBe(false);

    // ---- The documented steps, as the doc writes them ----------------------------------------------
    const steps = replacementSteps(readFileSync(DOC, 'utf8'));
    expect([...steps.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    const shims = join(work, 'shims');
    const cwd = join(work, 'admin');
    mkdirSync(join(shims), { recursive: true });
    mkdirSync(join(cwd, 'scripts'), { recursive: true });
    const shim = (file: string, text: string) => writeFileSync(file, text, { mode: 0o755 });
    shim(join(shims, 'sudo'), '#!/bin/sh\nexport SUDO_USER=manager-a\nexec "$@"\n');
    shim(join(shims, 'sekisho'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    shim(
      join(shims, 'install'),
      [
        '#!/bin/bash',
        'args=()',
        'while [ $# -gt 0 ]; do case "$1" in -o|-g) shift 2;; *) args+=("$1"); shift;; esac; done',
        'exec /usr/bin/install "$' + '{args[@]}"',
        '',
      ].join('\n'),
    );
    shim(
      join(shims, 'mosquitto_sub'),
      `#!${process.execPath}
const { createRequire } = require('node:module');
const mqtt = createRequire(${JSON.stringify(join(REPO, 'package.json'))})('mqtt');
const a = process.argv.slice(2);
const topic = a[a.indexOf('-t') + 1];
if (a[a.indexOf('-h') + 1] !== 'BROKER' || a[a.indexOf('-C') + 1] !== '1') process.exit(2);
const c = mqtt.connect(process.env.TEST_BROKER_URL);
c.on('connect', () => c.subscribe(topic));
c.on('message', (_t, payload) => { process.stdout.write(payload.toString() + '\\n'); c.end(); });
setTimeout(() => process.exit(3), 60000).unref();
`,
    );
    shim(
      join(cwd, 'scripts/install.sh'),
      `#!/bin/sh\nexec bash "${INSTALL}" --dry-run --root "${card}" --node "${process.execPath}" "$@"\n`,
    );
    /** A command of the doc, with the device's paths moved into the test's folder. */
    const onTestDevice = (cmd: string) =>
      cmd
        .replaceAll('/media/encrypted-usb', usb)
        .replaceAll('/var/lib/sekisho', state)
        .replaceAll('/etc/sekisho', join(card, 'etc/sekisho'));
    const run = (cmd: string) => {
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', onTestDevice(cmd)], {
        cwd,
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          ...process.env,
          PATH: `${shims}:${process.env.PATH}`,
          SEKISHO_CONFIG: cfg,
          SEKISHO_LOG: 'warn',
          TEST_BROKER_URL: broker!.url,
        },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    /** Runs every command of a step; each must succeed (doctor: no failed check). Returns their outputs. */
    const step = (n: number, expected: number, substitute: (cmd: string) => string = (c) => c) => {
      const commands = steps.get(n)!;
      expect(commands, `step ${n}: ${JSON.stringify(commands)}`).toHaveLength(expected);
      return commands.map((cmd) => {
        const r = run(substitute(cmd));
        // doctor exits 3 when it only warns (a test machine has no NTP state, no UPS): no check may fail.
        const ok = /\bsekisho doctor\b/.test(cmd) && /^no problem found/m.test(r.stdout) ? [0, 3] : [0];
        expect(ok, `step ${n}: ${cmd}\n${r.stdout}${r.stderr}`).toContain(r.status);
        return r.stdout;
      });
    };
    expect(steps.get(1)).toEqual([]);
    expect(steps.get(3)).toEqual([]);

    // 2. The last signed checkpoint the broker kept (retained), saved off the card.
    const [, shown] = step(2, 2);
    const published = JSON.parse(readFileSync(join(usb, 'checkpoint-at-failure.json'), 'utf8')) as {
      seq: number;
      hash: string;
      at: number;
    };
    expect(JSON.parse(shown!)).toEqual(published);
    expect(published.seq).toBeGreaterThan(backupHead);

    // 4. The installer on the new card, with the saved dashboard pair.
    mkdirSync(card);
    expect(step(4, 1)[0]).toContain('installed the given certificate');
    // 5. The saved config back. 6. The latest backup onto the card.
    step(5, 1);
    step(6, 1);
    expect(existsSync(join(state, 'backups', 'mr-door-1-20260401.sekisho-backup'))).toBe(true);
    // 7. Checked against the public key kept off the device.
    expect(step(7, 1)[0]).toMatch(/backup intact: .* verified with the trusted key/);
    // 8. Restored, with the checkpoint: the lost range is declared.
    const [restored] = step(8, 1);
    expect(restored).toContain('there was nothing to replace');
    expect(restored).toContain(
      `rows ${backupHead + 1} to ${published.seq} were lost (known from checkpoint); their seqs are skipped`,
    );
    // 9. The chain and every signed checkpoint. 10. The doctor.
    step(9, 1);
    step(10, 1);
    // 11. Started (the service: the test's own start); an enrolled badge opens the door.
    expect(steps.get(11)).toEqual(['sudo systemctl start sekisho']);
    ctl = await startController(cfg, state, START_MS);
    expect(await badge('0A1B2C3D4E')).toBe(true);

    // 12. What was lost: journal_restored declares it, backup_restored names the backup's head.
    const [restoredLog, backupLog] = step(12, 2);
    expect(restoredLog).toContain(`lostFrom=${backupHead + 1}`);
    expect(restoredLog).toContain(`lostThrough=${published.seq}`);
    expect(restoredLog).toContain('basis=checkpoint');
    expect(backupLog).toContain(`backupHeadSeq=${backupHead}`);
    const s = openStorage(loadConfig(cfg), { readonly: true });
    try {
      const [row, ...more] = s.journal.query({ types: ['journal_restored'], limit: 10 });
      expect(more).toEqual([]);
      // The declared gap takes the seq after the lost range: no lost seq is used again.
      expect(row!.seq).toBe(published.seq + 1);
      expect(row!.actor).toMatch(/^cli:manager-a\//);
      expect(row!.data).toMatchObject({
        lostFrom: backupHead + 1,
        lostThrough: published.seq,
        basis: 'checkpoint',
        backup: 'mr-door-1-20260401.sekisho-backup',
        backupHeadSeq: backupHead,
        checkpoint: { seq: published.seq, hash: published.hash, at: published.at },
      });
      for (let seq = backupHead + 1; seq <= published.seq; seq++) expect(s.journal.get(seq)).toBeUndefined();
      expect(s.journal.query({ types: ['badge_status_changed'], limit: 10 })).toEqual([]);
    } finally {
      s.db.close();
    }

    // 13. The revocation after the backup was undone: the lost badge opens the door again. Redone,
    // with the doc's command (its BADGE is the badge's id).
    expect(await badge('1122334455')).toBe(true);
    step(13, 1, (cmd) => cmd.replace('BADGE', sato));
    expect(await badge('1122334455')).toBe(false);

    // 14. The key-and-paper entry of the outage, transcribed and approved by another; a new backup.
    const onPaper = formatLocal(died + 60_000, loadConfig(cfg).config.timeZone).slice(0, 16);
    const manual = cli(
      [
        'record-manual-entry',
        '--config',
        cfg,
        '--person',
        'S-1001',
        '--direction',
        'in',
        '--at',
        onPaper,
        '--paper-ref',
        '1-1',
        '--reason',
        'the controller was dead; entered with the key to replace its SD card',
      ],
      asA,
    );
    expect(manual.status, manual.stderr).toBe(0);
    expect(manual.stdout).toContain('during: controller_down');
    expect(await approvePending(cfg, 'user:manager-b')).toHaveLength(1);
    const transcribed = cli(['log', '--config', cfg, '--type', 'manual_entry_recorded', '--person', yamada]);
    expect(transcribed.stdout).toContain('TRANSCRIBED FROM PAPER');
    // …and a backup at once, with the doc's command.
    step(14, 1);
    const made = readdirSync(join(state, 'backups')).filter((f) =>
      f.endsWith('-after-restore.sekisho-backup'),
    );
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(/^mr-door-1-\d{8}-after-restore\.sekisho-backup$/);
    expect(readBundle(join(state, 'backups', made[0]!)).manifest.head.seq).toBeGreaterThan(published.seq);
    await until(async () => (await ctl!.api('GET', '/healthz')).status === 200, 'the controller healthy');
    expect(await ctl.stop()).toBe(0);
    ctl = undefined;
  });
});
