/**
 * `sekisho archive`, `sekisho verify-archive` and `sekisho verify --archives` as an operator runs
 * them: records older than storage.retentionYears go into a signed archive file, younger ones are
 * refused, the archive verifies alone and as part of the chain, and a tampered one is refused.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import { uncataloguedType } from '../../controller/domain/index.js';
import { PUBLIC_KEY_FILE } from '../../controller/journal/index.js';
import { openStorage } from '../../controller/storage.js';
import { cli, doorConfig, tempDir, writeConfig } from '../helpers/controller.js';

const YEAR = 365 * 24 * 3_600_000;

describe('sekisho archive', () => {
  const dir = tempDir('sekisho-archive-');
  const storage = join(dir, 'data');
  const cfg = writeConfig(dir, doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }]));
  const archives = join(dir, 'archives');
  const a1 = join(archives, '2019.sekisho-archive');
  mkdirSync(archives, { mode: 0o700 });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('archives the records older than the retention period, verified, and the chain still verifies', () => {
    const now = Date.now();
    const s = openStorage(loadConfig(cfg));
    for (let i = 0; i < 20; i++)
      s.journal.append({
        type: uncataloguedType('door_state'),
        at: now - 7 * YEAR + i * 60_000,
        door: 'machine-room',
        data: { i },
      });
    for (let i = 0; i < 5; i++)
      s.journal.append({
        type: uncataloguedType('door_state'),
        at: now - YEAR + i * 60_000,
        door: 'machine-room',
        data: { i },
      });
    s.journal.checkpoint(now, s.secrets.signingKey, s.secrets.keyId);
    s.db.close();

    // Younger than 5 years: refused, nothing written or deleted.
    const young = cli(['archive', '--config', cfg, '--to', a1, '--before', '2025-01-01']);
    expect(young.status).toBe(1);
    expect(young.stderr).toMatch(/is within the retention period \(storage.retentionYears = 5\)/);
    expect(existsSync(a1)).toBe(false);

    const r = cli(['archive', '--config', cfg, '--to', a1], { sudo: 'manager-a' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/archived and verified: .*2019\.sekisho-archive .*mode 0600/);
    expect(r.stdout).toMatch(/rows 1 to 20 \(20 records/);
    expect(statSync(a1).mode & 0o777).toBe(0o600);

    const v = cli(['verify', '--config', cfg, '--json']);
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, rows: 6, archiveBase: { seq: 20 } });
    expect(cli(['verify', '--config', cfg]).stdout).toMatch(/rows 1 to 20 are archived/);
    const log = cli(['log', '--config', cfg, '--type', 'journal_archived']);
    expect(log.stdout).toMatch(/journal_archived .*by cli:manager-a\//);

    // Nothing more is old enough.
    const again = cli(['archive', '--config', cfg, '--to', join(archives, 'again')]);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/nothing to archive/);
    expect(existsSync(join(archives, 'again'))).toBe(false);
  });

  it('verify-archive checks a file alone; verify --archives checks archive → live journal', () => {
    const pub = join(storage, PUBLIC_KEY_FILE);
    const alone = cli(['verify-archive', a1, '--public-key', pub]);
    expect(alone.stderr).toBe('');
    expect(alone.status).toBe(0);
    expect(alone.stdout).toMatch(/archive intact: rows 1 to 20 \(20 records\) of controller test-ctl/);
    expect(cli(['verify-archive', a1, '--config', cfg]).status).toBe(0);

    const chain = cli(['verify', '--config', cfg, '--archives', archives]);
    expect(chain.status).toBe(0);
    expect(chain.stdout).toMatch(
      /chain intact from seq 1 through 1 archive\(s\) to the live journal: 6 live rows/,
    );
  });

  it('refuses a tampered archive and names the row; the chain check names it too', () => {
    const original = readFileSync(a1, 'utf8');
    writeFileSync(a1, original.replace('"data":{"i":4}', '"data":{"i":40}'));
    const alone = cli(['verify-archive', a1, '--config', cfg]);
    expect(alone.status).toBe(1);
    expect(alone.stdout).toMatch(/ARCHIVE NOT INTACT:\n {2}- row 5: the hash is not SHA-256/);
    const chain = cli(['verify', '--config', cfg, '--archives', archives]);
    expect(chain.status).toBe(1);
    expect(chain.stdout).toMatch(/CHAIN NOT INTACT/);
    expect(chain.stdout).toMatch(/no archive file in .* for the archive base at seq 20/);

    rmSync(a1);
    expect(cli(['verify', '--config', cfg, '--archives', archives]).stdout).toMatch(
      /rows 1 to 20 are in no archive|no archive file/,
    );
    writeFileSync(a1, original, { mode: 0o600 });
    expect(cli(['verify', '--config', cfg, '--archives', archives]).status).toBe(0);
  });
});
