import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  approvePending,
  cli,
  cliJson,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';
import { sqlite } from '../helpers/util.js';

describe('sekisho CLI', () => {
  const dir = tempDir('sekisho-cli-');
  const storage = join(dir, 'data');
  const cfg = writeConfig(dir, doorConfig(dir, simReaders()));
  let ctl: Running | undefined;
  let personId = '';
  let badgeId = '';

  afterAll(async () => {
    await ctl?.kill9();
  });

  it('a bad config exits 2 and names the path and the reason', () => {
    const bad = join(dir, 'bad.yaml');
    const c = doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }]);
    (c.doors[0]!.lock as { pin: unknown }).pin = 'twenty-two';
    writeFileSync(bad, stringify(c));
    for (const cmd of [['start'], ['verify'], ['log'], ['person', 'list'], ['doctor']]) {
      const r = cli([...cmd, '--config', bad]);
      expect(r.status, cmd.join(' ')).toBe(2);
      expect(r.stderr).toContain('doors[0].lock.pin: expected integer');
    }
    const missing = cli(['start', '--config', join(dir, 'nope.yaml')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read file: ENOENT/);
  }, 120_000); // six commands, each a cold start under tsx

  it('bad usage exits 2 with a hint; verify of a journal that does not exist yet fails without creating one', () => {
    const v = cli(['verify', '--config', cfg]);
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(/no journal at/);
    expect(existsSync(join(storage, 'journal.db'))).toBe(false);
    expect(cli(['frobnicate']).status).toBe(2);
    const r = cli(['person', 'add', '--config', cfg, '--name', 'X', '--id', 'X-1', '--category', 'alien']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--category: expected staff, contractor or visitor/);
  });

  it('records who really runs it: --actor is refused; root without sudo is no person and may only revoke', () => {
    const claim = cli([
      'person',
      'add',
      '--config',
      cfg,
      '--name',
      'X',
      '--id',
      'X-1',
      '--category',
      'staff',
      '--actor',
      'user:demo-admin',
    ]);
    expect(claim.status).toBe(2);
    expect(claim.stderr).toMatch(/--actor is not accepted: the journal records who really runs the command/);
    expect(cli(['backup', '--config', cfg, '--to', join(dir, 'x'), '--actor=user:demo-admin']).status).toBe(
      2,
    );
    const me = userInfo().username;
    if (me === 'root' || me === 'sekisho') {
      const noPerson = cli([
        'person',
        'add',
        '--config',
        cfg,
        '--name',
        'X',
        '--id',
        'X-1',
        '--category',
        'staff',
      ]);
      expect(noPerson.status).toBe(2);
      expect(noPerson.stderr).toMatch(/stands for no person, who may only revoke/);
    }
  }, 180_000);

  it('enrols a person; a grant and a badge wait for a different person; the number is stored hashed only', async () => {
    const asA = { sudo: 'manager-a' };
    const p = cliJson<{ id: string }>(
      ['person', 'add', '--config', cfg, '--name', '山田 太郎', '--id', 'S-1001', '--category', 'staff'],
      asA,
    );
    personId = p.id;
    const grant = cli(['person', 'grant', personId, '--config', cfg, '--door', 'machine-room'], asA);
    expect(grant.status).toBe(0);
    expect(grant.stdout).toMatch(
      /filed request #\d+ \(access_grant\): it takes effect when a different person approves it/,
    );
    const bad = cli(['badge', 'add', '--config', cfg, '--person', personId, '--number', 'not-a-card'], asA);
    expect(bad.status).toBe(2);
    const filed = cliJson<{ request: { id: number; status: string; payload: { masked: string } } }>(
      ['badge', 'add', '--config', cfg, '--person', personId, '--number', '0a1b2c3d4e'],
      asA,
    );
    expect(filed.request).toMatchObject({ status: 'pending', payload: { masked: '••••3D4E' } });
    expect(cli(['badge', 'list', '--config', cfg]).stdout).not.toContain('••••3D4E');
    // The same person approving in the dashboard is refused, whatever credential they use.
    await expect(approvePending(cfg, 'user:manager-a')).rejects.toThrow(/different people/);
    expect(await approvePending(cfg, 'user:manager-b')).toHaveLength(2);
    const badges = JSON.parse(cli(['badge', 'list', '--config', cfg, '--json']).stdout) as { id: string }[];
    badgeId = badges[0]!.id;
    const dup = cli(['badge', 'add', '--config', cfg, '--person', personId, '--number', '0A1B2C3D4E'], asA);
    expect(dup.status).toBe(1);
    expect(dup.stderr).toMatch(/already enrolled/);
    const list = cli(['badge', 'list', '--config', cfg]);
    expect(list.stdout).toContain('••••3D4E');
    expect(list.stdout).not.toContain('0A1B2C3D4E');
    const log = cli(['log', '--config', cfg, '--type', 'person_added']);
    expect(log.stdout).toMatch(new RegExp(`person_added .*by cli:manager-a/${userInfo().username}`));
    expect(cli(['log', '--config', cfg, '--type', 'badge_added']).stdout).toMatch(/by user:manager-b/);
  }, 180_000);

  it('--break-glass acts alone at once, with a reason, a critical alarm and a review pending', () => {
    const asA = { sudo: 'manager-a' };
    const args = ['badge', 'add', '--config', cfg, '--person', personId, '--number', '0A1B2C3D55'];
    const short = cli([...args, '--break-glass', 'urgent'], asA);
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(/at least 20 characters/);
    const ok = cli([...args, '--break-glass', 'card of the on-call engineer broke at night'], asA);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/break-glass: request #\d+ \(badge_enrol\) carried out alone/);
    expect(cli(['badge', 'list', '--config', cfg]).stdout).toContain('••••3D55');
    const alarm = cli(['log', '--config', cfg, '--type', 'alarm_raised', '--json']).stdout.trim().split('\n');
    expect(JSON.parse(alarm[0]!).data).toMatchObject({ alarm: 'break_glass', severity: 'critical' });
    // No person may not act alone either; revocations need nobody.
    const me = userInfo().username;
    if (me === 'root' || me === 'sekisho')
      expect(
        cli([
          ...args.slice(0, -2),
          '--number',
          '0A1B2C3D56',
          '--break-glass',
          'root acting alone at night here',
        ]).status,
      ).toBe(2);
  }, 180_000);

  it('a lost badge is refused at the running door as soon as the command returns', async () => {
    ctl = await startController(cfg, storage);
    const first = await ctl.api<{ granted: boolean }>('POST', '/api/sim/badge', {
      reader: 'entry',
      credential: '0A1B2C3D4E',
    });
    expect(first.body.granted).toBe(true);
    const lost = cli(['badge', 'lost', badgeId, '--config', cfg, '--reason', 'left on the train']);
    expect(lost.status).toBe(0);
    const after = await ctl.api<{ granted: boolean; reason: string }>('POST', '/api/sim/badge', {
      reader: 'entry',
      credential: '0A1B2C3D4E',
    });
    expect(after.body).toMatchObject({ granted: false, reason: 'badge_lost' });
    expect(await ctl.stop()).toBe(0);
  });

  it('log filters by person, door, type and time', () => {
    const byPerson = cli(['log', '--config', cfg, '--person', 'S-1001', '--type', 'access', '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(byPerson.map((r) => r.data.reason)).toEqual(['badge_lost', 'granted']); // newest first
    const future = cli(['log', '--config', cfg, '--from', '2099-01-01', '--json']).stdout.trim();
    expect(future).toBe('');
    const table = cli(['log', '--config', cfg, '--door', 'machine-room', '--type', 'access']).stdout;
    expect(table).toMatch(/IN {2}DENIED badge_lost ••••3D4E 山田 太郎 \[S-1001, staff\]/);
    expect(cli(['log', '--config', cfg, '--from', 'yesterday']).status).toBe(2);
  });

  describe('verify against a journal tampered with the sqlite3 CLI', () => {
    const dbFile = join(storage, 'journal.db');
    let copies = 0;
    /** A config pointing at a fresh copy of the intact storage folder. */
    function tamperedCopy(sql: string): string {
      const d = join(dir, `copy-${++copies}`);
      mkdirSync(join(d, 'data'), { recursive: true, mode: 0o700 });
      for (const f of readdirSync(storage)) copyFileSync(join(storage, f), join(d, 'data', f));
      sqlite(
        join(d, 'data', 'journal.db'),
        `DROP TRIGGER IF EXISTS journal_no_update; DROP TRIGGER IF EXISTS journal_no_delete; DROP TRIGGER IF EXISTS journal_seq_contiguous; ${sql}`,
      );
      const c = doorConfig(d, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }]);
      return writeConfig(d, c);
    }

    beforeAll(() => {
      expect(existsSync(dbFile)).toBe(true);
      const triggers = sqlite(
        dbFile,
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'journal'",
      );
      // The names dropped above must be the real ones, or the tampering would be refused, not detected.
      for (const t of ['journal_no_update', 'journal_no_delete']) expect(triggers).toContain(t);
    });

    it('the intact journal verifies (exit 0)', () => {
      const r = cli(['verify', '--config', cfg]);
      expect(r.stdout).toMatch(/journal intact: \d+ rows/);
      expect(r.status).toBe(0);
    });

    it('verify and log only look: they write nothing into the storage folder', () => {
      const d = tamperedCopy('SELECT 1');
      const data = join(dirname(d), 'data');
      rmSync(join(data, 'device-public.pem'));
      // SQLite's own -wal/-shm companions may appear for a WAL reader; nothing else may.
      const files = () =>
        readdirSync(data)
          .filter((f) => !/-(wal|shm)$/.test(f))
          .sort();
      const before = files();
      // The copy's triggers are dropped: the chain verifies, the missing protections exit 3.
      expect(cli(['verify', '--config', d]).status).toBe(3);
      expect(cli(['log', '--config', d]).status).toBe(0);
      expect(files()).toEqual(before);
    });

    it('the triggers refuse UPDATE and DELETE', () => {
      expect(() => sqlite(dbFile, "UPDATE journal SET type = 'x' WHERE seq = 3")).toThrow();
      expect(() => sqlite(dbFile, 'DELETE FROM journal WHERE seq = 3')).toThrow();
    });

    const cases: [string, string, number][] = [
      [
        'an edited row',
        "UPDATE journal SET bytes = replace(bytes, 'granted', 'denied!') WHERE seq = (SELECT MIN(seq) FROM journal WHERE type = 'access')",
        -1,
      ],
      ['a deleted row', 'DELETE FROM journal WHERE seq = 5', 5],
      [
        'two reordered rows',
        'UPDATE journal SET seq = -1 WHERE seq = 4; UPDATE journal SET seq = 4 WHERE seq = 6; UPDATE journal SET seq = 6 WHERE seq = -1',
        4,
      ],
      [
        'an inserted row',
        "INSERT INTO journal (seq, at, type, door, person, actor, bytes, hash) SELECT MAX(seq) + 1, 0, 'access', 'machine-room', NULL, NULL, '{}', 'ab' FROM journal",
        0,
      ],
    ];
    for (const [what, sql, seq] of cases) {
      it(`${what} makes verify fail and name that row`, () => {
        let expected = seq;
        if (seq === -1)
          expected = Number(sqlite(dbFile, "SELECT MIN(seq) FROM journal WHERE type = 'access'").trim());
        if (seq === 0) expected = Number(sqlite(dbFile, 'SELECT MAX(seq) + 1 FROM journal').trim());
        const c = tamperedCopy(sql);
        const r = cli(['verify', '--config', c]);
        expect(r.status).toBe(1);
        expect(r.stdout).toContain(`first bad row seq ${expected}:`);
      });
    }
  });
});
