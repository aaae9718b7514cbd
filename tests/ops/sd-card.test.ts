/**
 * The rehearsal of docs/operations.md "Replacing a dead SD card": a controller with people, badges
 * and rows (a real Mosquitto taking its events and checkpoints off the device), a nightly backup,
 * more rows after it (a revocation among them), then the card dies: the controller is killed and the
 * whole installed tree — its storage folder included — is destroyed. Then the documented steps, with
 * the same commands in the same order (the installer as tests/ops/install.test.ts runs it: --dry-run
 * --root). Checked: the badges still grant, the journal verifies, the lost range is visible, the
 * undone revocation is redone, a key-and-paper entry of the outage is transcribed.
 */

import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readBundle } from '../../controller/backup/index.js';
import { loadConfig } from '../../controller/config/index.js';
import { openStorage } from '../../controller/storage.js';
import { formatLocal } from '../../controller/time.js';
import {
  approvePending,
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

function install(args: string[]) {
  const r = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `sudo install -o … -m MODE FROM TO` without the owner (the test runs as one user). */
function installFile(from: string, to: string, mode: number): void {
  copyFileSync(from, to);
  chmodSync(to, mode);
}

describe('a dead SD card, replaced as docs/operations.md says', () => {
  const work = tempDir('sekisho-sdcard-');
  /** The Pi's file system, as the installer lays it out (the SD card). */
  const card = join(work, 'card');
  /** Where the copies kept off the card are (/media/encrypted-usb). */
  const usb = join(work, 'usb');
  const cfg = join(card, 'etc/sekisho/config.yaml');
  const state = join(card, 'var/lib/sekisho');
  const base = 'sekisho/test-ctl';
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
          storage: { path: state, checkpointEveryS: 10 },
          mqtt: { url: broker.url, reconnectS: 1 },
        }),
      ),
    );
    // Kept off the card from the start: the config and the dashboard's pair.
    copyFileSync(cfg, join(usb, 'config.yaml'));
    copyFileSync(join(card, 'etc/sekisho/dashboard.crt'), join(usb, 'dashboard.crt'));
    copyFileSync(join(card, 'etc/sekisho/dashboard.key'), join(usb, 'dashboard.key'));
    ctl = await startController(cfg, state);
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

    // ---- The documented steps -----------------------------------------------------------------------
    // 2. The last signed checkpoint the broker kept (what `mosquitto_sub -C 1` prints).
    const reader = await Consumer.connect(broker.url, [`${base}/journal/checkpoint`]);
    consumers.push(reader);
    const published = await reader.waitFor(
      () => reader.last<{ seq: number; hash: string }>(`${base}/journal/checkpoint`),
      'the retained checkpoint',
    );
    expect(reader.on(`${base}/journal/checkpoint`)[0]!.retain).toBe(true);
    expect(published.seq).toBeGreaterThan(backupHead);
    // Saved with the incident record (`| tee last-checkpoint.json`): step 8 gives it to restore.
    const savedCheckpoint = join(usb, 'last-checkpoint.json');
    writeFileSync(savedCheckpoint, reader.on(`${base}/journal/checkpoint`).at(-1)!.text);

    // 4. The installer on the new card, with the saved dashboard pair.
    mkdirSync(card);
    const again = install([
      '--dry-run',
      '--root',
      card,
      '--node',
      process.execPath,
      '--cert',
      join(usb, 'dashboard.crt'),
      '--key',
      join(usb, 'dashboard.key'),
    ]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('installed the given certificate');
    // 5. The saved config back.
    installFile(join(usb, 'config.yaml'), cfg, 0o640);
    // 6. The latest backup onto the card.
    const onCard = join(state, 'backups', 'mr-door-1-20260401.sekisho-backup');
    installFile(join(usb, 'mr-door-1-20260401.sekisho-backup'), onCard, 0o600);
    // 7. Checked against the public key kept off the device.
    const pub = join(usb, 'device-public.pem');
    const check = cli(['restore', '--config', cfg, '--from', onCard, '--check', '--public-key', pub], asA);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/backup intact: .* verified with the trusted key/);
    // 8. Restored.
    const restore = cli(
      ['restore', '--config', cfg, '--from', onCard, '--public-key', pub, '--checkpoint', savedCheckpoint],
      asA,
    );
    expect(restore.status, restore.stderr).toBe(0);
    expect(restore.stdout).toContain('there was nothing to replace');
    // 9. The chain and every signed checkpoint.
    const verify = cli(['verify', '--config', cfg]);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    // 10. The doctor.
    const doctor = cli(['doctor', '--config', cfg]);
    expect(doctor.status, doctor.stdout).toBe(0);
    // 11. Started; an enrolled badge opens the door (the HMAC key came back).
    ctl = await startController(cfg, state);
    expect(await badge('0A1B2C3D4E')).toBe(true);

    // 12. What was lost: the backup's head against the checkpoint the broker kept.
    const log = cli(['log', '--config', cfg, '--type', 'backup_restored']);
    expect(log.status).toBe(0);
    expect(log.stdout).toContain(`backupHeadSeq=${backupHead}`);
    const s = openStorage(loadConfig(cfg), { readonly: true });
    try {
      // The rows the broker's checkpoint covered are not this journal's: the range is lost, and its
      // seqs are skipped (never reused with other content).
      expect(s.journal.get(published.seq)).toBeUndefined();
      expect(s.journal.query({ types: ['badge_status_changed'], limit: 10 })).toEqual([]);
    } finally {
      s.db.close();
    }

    // 13. The revocation after the backup was undone: the lost badge opens the door again. Redone.
    expect(await badge('1122334455')).toBe(true);
    const redo = cli(
      ['badge', 'lost', sato, '--config', cfg, '--reason', 'again after the SD card restore'],
      asA,
    );
    expect(redo.status, redo.stderr).toBe(0);
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
    const after = join(state, 'backups', 'mr-door-1-after-restore.sekisho-backup');
    expect(cli(['backup', '--config', cfg, '--to', after], asA).status).toBe(0);
    await until(async () => (await ctl!.api('GET', '/healthz')).status === 200, 'the controller healthy');
    expect(await ctl.stop()).toBe(0);
    ctl = undefined;
  });
});
