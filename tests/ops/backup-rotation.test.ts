/**
 * Backup generations as an operator meets them: `sekisho backup --keep N` (or `backup.keep`) after a
 * verified backup removes the oldest of this device's backups in that folder — by the journal head
 * they hold, not by name, mtime or clock — journals which (with each file's SHA-256), and never
 * touches anything else: another controller's backups, a previous card's (another device key), a
 * file that only has the name, a link, a folder, the new backup itself. A forced backup of a journal
 * that does not verify removes nothing. A backup on the storage's own file system is warned about
 * (printed, and in its journal row). Real `sekisho` child processes, real files.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readBundle } from '../../controller/backup/index.js';
import { main } from '../../controller/cli.js';
import { loadConfig } from '../../controller/config/index.js';
import { openStorage } from '../../controller/storage.js';
import { cli, doorConfig, simReaders, tempDir, writeConfig } from '../helpers/controller.js';

const sha = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;

/** A storage with a journal and device keys, as the first start leaves it. */
function storageFor(dir: string, extra: Record<string, unknown> = {}): string {
  mkdirSync(dir, { recursive: true });
  const cfg = writeConfig(dir, { ...doorConfig(dir, simReaders()), ...extra });
  openStorage(loadConfig(cfg)).db.close();
  return cfg;
}

function journalRows(cfg: string, type: string): Record<string, unknown>[] {
  const s = openStorage(loadConfig(cfg));
  try {
    return [...s.journal.iterate(1)]
      .filter((r) => r.type === type)
      .map((r) => r.data as Record<string, unknown>);
  } finally {
    s.db.close();
  }
}

/**
 * `sekisho <args>` through the command's own dispatcher in this process (a child process per
 * backup would take seconds each): exit code, stdout and stderr, run by manager-a through sudo.
 */
async function run(args: string[]) {
  const out = { stdout: '', stderr: '' };
  const capture = (key: 'stdout' | 'stderr') =>
    vi.spyOn(process[key], 'write').mockImplementation((chunk: string | Uint8Array) => {
      out[key] += String(chunk);
      return true;
    });
  const spies = [capture('stdout'), capture('stderr')];
  const sudo = process.env.SUDO_USER;
  process.env.SUDO_USER = 'manager-a';
  try {
    const status = await main(args);
    return { status, ...out };
  } finally {
    for (const spy of spies) spy.mockRestore();
    if (sudo === undefined) delete process.env.SUDO_USER;
    else process.env.SUDO_USER = sudo;
  }
}

function backup(cfg: string, to: string, ...more: string[]) {
  return run(['backup', '--config', cfg, '--to', to, ...more]);
}

describe('backup generations', () => {
  const root = tempDir('sekisho-rotation-');
  const cfg = storageFor(join(root, 'ctl'));
  const folder = join(root, 'backups');
  mkdirSync(folder, { mode: 0o700 });
  const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/sekisho-rotation-') : null;
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    if (shm) rmSync(shm, { recursive: true, force: true });
  });

  it('keeps the N newest by journal head, removes the oldest, and journals which', async () => {
    // Names sort against age, and the oldest gets the newest mtime: neither decides.
    const names = ['z1', 'y2', 'x3', 'w4'].map((n) => join(folder, `${n}.sekisho-backup`));
    for (const f of names.slice(0, 3)) {
      const r = await backup(cfg, f, '--keep', '3');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
    expect(readdirSync(folder).sort()).toEqual([
      'x3.sekisho-backup',
      'y2.sekisho-backup',
      'z1.sekisho-backup',
    ]);
    utimesSync(names[0]!, new Date(Date.now() + 86_400_000), new Date(Date.now() + 86_400_000));
    const oldest = { sha256: sha(names[0]!), headSeq: readBundle(names[0]!).manifest.head.seq };

    // This one through the real command, as the systemd timer runs it.
    const r = cli(['backup', '--config', cfg, '--to', names[3]!, '--keep', '3'], { sudo: 'manager-a' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`generations: keeping 3 of this controller's backups in ${folder} (--keep 3)`);
    expect(r.stdout).toContain(`removed ${names[0]} (head seq ${oldest.headSeq}, sha256 ${oldest.sha256})`);
    expect(readdirSync(folder).sort()).toEqual([
      'w4.sekisho-backup',
      'x3.sekisho-backup',
      'y2.sekisho-backup',
    ]);

    const [removed, ...more] = journalRows(cfg, 'backups_removed');
    expect(more).toEqual([]);
    expect(removed).toEqual({
      folder,
      keep: 3,
      newest: names[3],
      removed: [
        {
          file: names[0],
          createdAt: expect.any(Number),
          headSeq: oldest.headSeq,
          bytes: expect.any(Number),
          sha256: oldest.sha256,
        },
      ],
      failed: [],
    });
    const log = cli(['log', '--config', cfg, '--type', 'backups_removed']);
    expect(log.stdout).toMatch(/backups_removed .*by cli:manager-a\//);
  }, 90_000);

  it('never touches what is not this device’s backup, nor the new one', async () => {
    // Another controller's backup (a shared NAS folder), and a previous card's (another device key).
    const other = storageFor(join(root, 'other'), { controller: { id: 'other-ctl' } });
    const previousCard = storageFor(join(root, 'previous-card'));
    expect((await backup(other, join(folder, 'a-other.sekisho-backup'), '--keep', 'all')).status).toBe(0);
    expect(
      (await backup(previousCard, join(folder, 'a-previous-card.sekisho-backup'), '--keep', 'all')).status,
    ).toBe(0);
    // Things that only have the name, a link to one of ours, a folder, and an unrelated file.
    writeFileSync(join(folder, 'a-notes.sekisho-backup'), 'SEKISHO-BACKUP 1\nnot json\n');
    symlinkSync(join(folder, 'x3.sekisho-backup'), join(folder, 'a-link.sekisho-backup'));
    mkdirSync(join(folder, 'a-dir.sekisho-backup'));
    writeFileSync(join(folder, 'old.bak'), 'x');
    const before = readdirSync(folder).sort();

    const newest = join(folder, 'v5.sekisho-backup');
    const r = await backup(cfg, newest, '--keep', '1', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { kept: string[]; removed: { file: string }[] };
    expect(out.kept).toEqual([newest]);
    expect(out.removed.map((x) => x.file).sort()).toEqual(
      ['w4', 'x3', 'y2'].map((n) => join(folder, `${n}.sekisho-backup`)),
    );
    const gone = ['w4.sekisho-backup', 'x3.sekisho-backup', 'y2.sekisho-backup'];
    expect(readdirSync(folder).sort()).toEqual(
      [...before.filter((n) => !gone.includes(n)), 'v5.sekisho-backup'].sort(),
    );
    // The other controller's and the previous card's backups are intact.
    expect(readBundle(join(folder, 'a-other.sekisho-backup')).manifest.controllerId).toBe('other-ctl');
    expect(readBundle(join(folder, 'a-previous-card.sekisho-backup')).manifest.controllerId).toBe('test-ctl');
  });

  it('keeps everything with --keep all; the config’s backup.keep is the default', async () => {
    const own = () => readdirSync(folder).filter((n) => /^[uv]\d\.sekisho-backup$/.test(n));
    expect((await backup(cfg, join(folder, 'u6.sekisho-backup'), '--keep', 'all')).status).toBe(0);
    expect(own().sort()).toEqual(['u6.sekisho-backup', 'v5.sekisho-backup']);

    const cfgKeep1 = writeConfig(join(root, 'ctl'), {
      ...doorConfig(join(root, 'ctl'), simReaders()),
      backup: { keep: 1 },
    });
    expect(cfgKeep1).toBe(cfg);
    const r = await backup(cfg, join(folder, 'u7.sekisho-backup'));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('(--keep 1)');
    expect(own()).toEqual(['u7.sekisho-backup']); // u6 and v5 removed, the new one kept
  });

  it('refuses a bad --keep or backup.keep before writing anything', async () => {
    for (const bad of ['0', '-1', 'x', '1.5', '10001']) {
      const r = await backup(cfg, join(folder, 'bad.sekisho-backup'), `--keep=${bad}`);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--keep: expected a number of backups (1–10000) or "all", not "${bad}"`);
    }
    expect(existsSync(join(folder, 'bad.sekisho-backup'))).toBe(false);
    const dir = join(root, 'badcfg');
    mkdirSync(dir);
    const badCfg = writeConfig(dir, { ...doorConfig(dir, simReaders()), backup: { keep: 0 } });
    const r = await backup(badCfg, join(folder, 'bad.sekisho-backup'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/backup\.keep: .*1–10000 or "all"/);
  });

  it('warns when the backup is on the storage’s file system, and records it in the backup’s row', async () => {
    const r = await backup(cfg, join(folder, 'same.sekisho-backup'), '--keep', 'all');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /WARNING: .* is on the same file system as the storage .*: a copy on the same card dies with it/,
    );
    expect(journalRows(cfg, 'backup_created').at(-1)).toMatchObject({ sameFileSystem: true });
  });

  it.skipIf(shm === null)('does not warn for a backup on another file system (/dev/shm here)', async () => {
    const r = await backup(cfg, join(shm!, 'elsewhere.sekisho-backup'), '--keep', 'all');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('WARNING');
    expect(journalRows(cfg, 'backup_created').at(-1)).toMatchObject({ sameFileSystem: false });
  });

  it('removes nothing after a forced backup of a journal that does not verify', async () => {
    const before = readdirSync(folder).sort();
    const s = openStorage(loadConfig(cfg));
    s.db.exec('DROP TRIGGER journal_no_delete');
    s.db.prepare('DELETE FROM journal WHERE seq = 2').run();
    s.db.close();
    const r = await backup(cfg, join(folder, 'evidence.sekisho-backup'), '--keep', '1', '--force');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'no older backup was removed: this one was forced and its journal does not verify',
    );
    expect(readdirSync(folder).sort()).toEqual([...before, 'evidence.sekisho-backup'].sort());
  });
});
