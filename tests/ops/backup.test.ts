/**
 * `sekisho backup` / `sekisho restore` as an operator runs them: an online backup of a running
 * controller, a restore refused while it runs, a round trip onto a blank SD card with the chain
 * intact, a restore over a newer journal (refused without --force, the replaced files kept aside),
 * and tampered, damaged or foreign backups refused with the bad row named.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BACKUP_MAGIC,
  type BackupManifest,
  checkBackup,
  createBackup,
  readBundle,
  restoreBackup,
  unpackAndCheck,
} from '../../controller/backup/index.js';
import { loadConfig } from '../../controller/config/index.js';
import { HMAC_KEY_FILE, PUBLIC_KEY_FILE, SIGNING_KEY_FILE } from '../../controller/journal/index.js';
import { openStorage } from '../../controller/storage.js';
import {
  cli,
  doorConfig,
  type Running,
  seedStaff,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';
import { sqlite, until } from '../helpers/util.js';

const sha = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
const mode = (file: string) => statSync(file).mode & 0o777;

/** Writes a bundle the way the format says, from files in `dir` (an attacker's or a damaged tool's). */
function pack(dir: string, manifest: BackupManifest, file: string, recomputeDigests: boolean): void {
  const files = manifest.files.map((f) => {
    const data = readFileSync(join(dir, f.name));
    return {
      data,
      entry: recomputeDigests
        ? {
            name: f.name,
            size: data.length,
            sha256: execFileSync('sha256sum', [join(dir, f.name)], { encoding: 'utf8' }).split(' ')[0]!,
          }
        : { ...f, size: data.length },
    };
  });
  const m = { ...manifest, files: files.map((f) => f.entry) };
  const fd = openSync(file, 'w', 0o600);
  writeSync(fd, `${BACKUP_MAGIC}${JSON.stringify(m)}\n`);
  for (const f of files) writeSync(fd, f.data);
  closeSync(fd);
}

describe('backup and restore', () => {
  const dir = tempDir('sekisho-backup-');
  const storage = join(dir, 'data');
  const cfg = writeConfig(dir, doorConfig(dir, simReaders()));
  const backups = join(dir, 'backups');
  const b1 = join(backups, 'b1.sekisho-backup');
  let ctl: Running | undefined;
  let b1Head = 0;

  beforeAll(() => {
    mkdirSync(backups, { mode: 0o700 });
  });
  afterAll(async () => {
    await ctl?.kill9();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up a running controller online, verified, mode 0600; a restore is refused while it runs', async () => {
    seedStaff(cfg, { name: '山田 太郎', displayId: 'S-1', door: 'machine-room', credential: '0A1B2C3D4E' });
    // A signed checkpoint, as the controller makes every checkpointEveryS.
    const s = openStorage(loadConfig(cfg));
    s.journal.checkpoint(Date.now(), s.secrets.signingKey, s.secrets.keyId);
    s.db.close();
    ctl = await startController(cfg, storage);
    for (let i = 0; i < 3; i++) {
      const r = await ctl.api<{ granted: boolean }>('POST', '/api/sim/badge', {
        reader: 'entry',
        credential: '0A1B2C3D4E',
      });
      expect(r.body.granted).toBe(true);
    }

    const r = cli(['backup', '--config', cfg, '--to', b1], { sudo: 'manager-a' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/backup written and verified: .*b1\.sekisho-backup .*mode 0600/);
    expect(mode(b1)).toBe(0o600);
    const { manifest } = readBundle(b1);
    b1Head = manifest.head.seq;
    expect(b1Head).toBeGreaterThan(5);
    expect(manifest.checkpoints).toBeGreaterThanOrEqual(1); // the cadence's: start, rows, stop
    expect(manifest.controllerId).toBe('test-ctl');
    expect(readdirSync(backups)).toEqual(['b1.sekisho-backup']); // no staging or temp files left

    // The backup is journaled, after the backup's head.
    const log = cli(['log', '--config', cfg, '--type', 'backup_created']);
    expect(log.stdout).toMatch(new RegExp(`backup_created .*headSeq=${b1Head} .*by cli:manager-a/`));

    // Never overwrite a backup.
    const again = cli(['backup', '--config', cfg, '--to', b1]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already exists/);

    // The same file, holding the same journal. (Not its bytes: the running controller checkpoints
    // the write-ahead log into it every 500 ms.)
    const db = join(storage, 'journal.db');
    const journalNow = () => ({
      inode: statSync(db).ino,
      head: sqlite(db, 'SELECT count(*), max(seq), group_concat(hash) FROM journal;'),
    });
    // The grants above, never used, relock the door after unlockMs (5 s): wait for that row first.
    await until(
      async () =>
        (await ctl!.api<{ doors: { locked: boolean }[] }>('GET', '/api/status')).body.doors.every(
          (d) => d.locked,
        ),
      'the unused grants to relock the door',
    );
    const before = journalNow();
    const refused = cli(['restore', '--config', cfg, '--from', b1]);
    expect(refused.status).toBe(1);
    // The controller's instance lock (controller/instance-lock.ts) refuses it before anything is read.
    expect(refused.stderr).toMatch(
      /restore refused, nothing was changed: the controller .* is running on .*Stop it first/,
    );
    expect(journalNow()).toEqual(before);

    expect(await ctl.stop()).toBe(0);
    ctl = undefined;
  });

  it('restores onto a blank SD card with the chain and the signatures intact', () => {
    const blank = join(dir, 'blank');
    const blankCfg = join(dir, 'blank.yaml');
    writeFileSync(blankCfg, readFileSync(cfg, 'utf8').replace(storage, blank));
    // No journal to replace: the lost range must be given (here: nothing after the backup).
    const r = cli(['restore', '--config', blankCfg, '--from', b1, '--lost-through', '1'], {
      sudo: 'manager-b',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/there was nothing to replace/);
    expect(mode(join(blank, 'journal.db'))).toBe(0o600);
    expect(mode(join(blank, HMAC_KEY_FILE))).toBe(0o600);
    expect(mode(join(blank, SIGNING_KEY_FILE))).toBe(0o600);
    expect(mode(join(blank, PUBLIC_KEY_FILE))).toBe(0o644);
    expect(readFileSync(join(blank, HMAC_KEY_FILE))).toEqual(readFileSync(join(storage, HMAC_KEY_FILE)));

    const v = cli(['verify', '--config', blankCfg, '--json']);
    expect(v.status).toBe(0);
    const report = JSON.parse(v.stdout) as { ok: boolean; headSeq: number; checkpoints: number };
    expect(report).toMatchObject({ ok: true, headSeq: b1Head + 2 });
    expect(report.checkpoints).toBeGreaterThanOrEqual(1);
    // Every row of the backup is there, byte for byte, and the restore itself is the next rows: the
    // declared gap (nothing was replaced; --lost-through said nothing after the backup) and the operation.
    const orig = new Database(join(storage, 'journal.db'), { readonly: true });
    const restored = new Database(join(blank, 'journal.db'), { readonly: true });
    const rows = (db: Database.Database) =>
      db.prepare('SELECT seq, bytes, hash FROM journal WHERE seq <= ? ORDER BY seq').all(b1Head);
    expect(rows(restored)).toEqual(rows(orig));
    const at = (seq: number) => restored.prepare('SELECT type, actor FROM journal WHERE seq = ?').get(seq);
    const actor = `cli:manager-b/${userInfo().username}`;
    expect(at(b1Head + 1)).toEqual({ type: 'journal_restored', actor });
    expect(at(b1Head + 2)).toEqual({ type: 'backup_restored', actor });
    expect(r.stdout).toMatch(/journal_restored \(seq \d+\): no row was lost/);
    orig.close();
    restored.close();
    // The badges work with the restored HMAC key.
    const list = cli(['badge', 'list', '--config', blankCfg]);
    expect(list.stdout).toContain('••••3D4E');
  });

  it('over a newer journal: refused without --force; with it, the replaced files are kept aside', () => {
    const headBefore = sha(join(storage, 'journal.db'));
    const r = cli(['restore', '--config', cfg, '--from', b1]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/restore refused, nothing was changed/);
    expect(r.stderr).toMatch(/row\(s\) newer than the backup/);
    expect(sha(join(storage, 'journal.db'))).toBe(headBefore);

    const forced = cli(['restore', '--config', cfg, '--from', b1, '--force']);
    expect(forced.status).toBe(0);
    const aside = /the replaced files are in (\S+)/.exec(forced.stdout)![1]!;
    expect(aside.startsWith(join(storage, 'replaced-'))).toBe(true);
    expect(mode(aside)).toBe(0o700);
    expect(
      readdirSync(aside)
        .filter((n) => !/-(wal|shm)$/.test(n))
        .sort(),
    ).toEqual(['device-hmac.key', 'device-public.pem', 'device-signing.pem', 'journal.db'].sort());
    expect(sha(join(aside, 'journal.db'))).toBe(headBefore);
    expect(cli(['verify', '--config', cfg]).status).toBe(0);
    expect(readdirSync(storage).filter((n) => n.startsWith('.restore-'))).toEqual([]);
  });

  it('refuses, without --force, a backup whose history differs from the current journal', async () => {
    // `blank` was restored from b1 (journal_restored and backup_restored after it); the main storage
    // was too, later, over its newer journal: its journal_restored skipped the seqs it replaced, so
    // blank's head seq is one main never had.
    const b2 = join(backups, 'b2.sekisho-backup');
    await createBackup(loadConfig(cfg), b2);
    const blankCfg = join(dir, 'blank.yaml');
    expect(() => restoreBackup(loadConfig(blankCfg), b2, { actor: 'test' })).toThrow(
      new RegExp(
        `the current journal's row ${b1Head + 2} differs from the backup's: they are different histories`,
      ),
    );
  });

  it('refuses a tampered backup (digests recomputed, as an attacker would) and names the row', () => {
    const work = join(dir, 'tamper');
    mkdirSync(work, { mode: 0o700 });
    const unpacked = unpackAndCheck(b1, work);
    expect(unpacked.ok).toBe(true);
    sqlite(
      join(work, 'journal.db'),
      `DROP TRIGGER journal_no_update;
       UPDATE journal SET bytes = replace(bytes, '"result":"granted"', '"result":"denied"')
        WHERE seq = (SELECT MIN(seq) FROM journal WHERE type = 'access');`,
    );
    const bad = sqlite(
      join(work, 'journal.db'),
      "SELECT MIN(seq) FROM journal WHERE type = 'access';",
    ).trim();
    const tampered = join(backups, 'tampered.sekisho-backup');
    pack(work, unpacked.manifest, tampered, true);
    const storageBefore = sha(join(storage, 'journal.db'));

    const r = cli(['restore', '--config', cfg, '--from', tampered, '--force']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/refused, nothing was changed/);
    expect(r.stderr).toContain(`journal row seq ${bad}: the bytes of row ${bad} were altered`);
    expect(r.stderr).toMatch(/protective trigger journal_no_update is missing/);
    expect(sha(join(storage, 'journal.db'))).toBe(storageBefore);

    const check = cli(['restore', '--from', tampered, '--check']);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(new RegExp(`BACKUP NOT INTACT:\\n  - journal row seq ${bad}:`));
  });

  it('refuses a damaged, truncated or foreign backup', () => {
    const work = join(dir, 'damaged');
    mkdirSync(work, { mode: 0o700 });
    const unpacked = unpackAndCheck(b1, work);
    // One byte of the HMAC key changed, digests left alone: damage.
    const key = readFileSync(join(work, HMAC_KEY_FILE), 'utf8');
    chmodSync(join(work, HMAC_KEY_FILE), 0o600);
    writeFileSync(join(work, HMAC_KEY_FILE), key.replace(/^./, key[0] === 'a' ? 'b' : 'a'));
    const damaged = join(backups, 'damaged.sekisho-backup');
    pack(work, unpacked.manifest, damaged, false);
    const c = checkBackup(damaged);
    expect(c.ok).toBe(false);
    expect(c.problems).toEqual([
      'device-hmac.key does not match its SHA-256 in the manifest: the backup was damaged or changed',
    ]);

    const truncated = join(backups, 'truncated.sekisho-backup');
    writeFileSync(truncated, readFileSync(b1).subarray(0, statSync(b1).size - 100));
    const t = cli(['restore', '--config', cfg, '--from', truncated]);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/truncated or appended to/);

    // A trusted public key kept off the device that is not this backup's key.
    const other = join(dir, 'other.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const f = cli(['restore', '--from', b1, '--check', '--public-key', other]);
    expect(f.status).toBe(1);
    expect(f.stdout).toMatch(/the backup's device key is [0-9a-f]{16}, not the trusted key/);
    expect(f.stdout).toMatch(/does not carry a valid signature/);
    const own = cli(['restore', '--from', b1, '--check', '--public-key', join(storage, PUBLIC_KEY_FILE)]);
    expect(own.stdout).toMatch(/backup intact: .* verified with the trusted key/);
    expect(own.status).toBe(0);

    const notBackup = cli(['restore', '--config', cfg, '--from', cfg]);
    expect(notBackup.status).toBe(1);
    expect(notBackup.stderr).toMatch(/is not a Sekisho backup/);
  });

  it('does not back up a journal that fails verification, unless --force keeps it as evidence', async () => {
    const loaded = loadConfig(cfg);
    const s = openStorage(loaded);
    s.db.pragma('foreign_keys = OFF');
    s.db.exec('DROP TRIGGER journal_no_delete');
    s.db.prepare('DELETE FROM journal WHERE seq = 2').run();
    s.db.close();
    const target = join(backups, 'evidence.sekisho-backup');
    await expect(createBackup(loaded, target)).rejects.toThrow(/rows 2|row 2 is missing/);
    expect(existsSync(target)).toBe(false);
    const r = await createBackup(loaded, target, { force: true });
    expect(r.verify.ok).toBe(false);
    expect(r.verify.firstBadSeq).toBe(2);
    expect(mode(target)).toBe(0o600);
    expect(checkBackup(target).problems[0]).toMatch(/^journal row seq 2: row 2 is missing/);
    expect(readdirSync(backups).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
