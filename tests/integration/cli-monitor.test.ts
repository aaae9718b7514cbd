/**
 * `sekisho user add --role monitor` and `sekisho user monitor`: a wall screen made on the device at
 * any time (it opens no door and reads only what `sekisho log` shows there), bound to its address,
 * journaled with the CLI's actor; the address is required and checked.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrateAccounts } from '../../controller/accounts/schema.js';
import { UserStore } from '../../controller/accounts/users.js';
import { Journal, openDatabase } from '../../controller/journal/index.js';
import { journalFile } from '../../controller/storage.js';
import { cli, doorConfig, tempDir, writeConfig } from '../helpers/controller.js';

const SLOW = 120_000;

describe('sekisho user, monitors', () => {
  it(
    'makes a monitor with its screen address, changes the address and masking; refuses a bad address',
    () => {
      const dir = tempDir('sekisho-user-monitor-');
      const cfg = writeConfig(dir, doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }]));
      const noAddress = cli(['user', 'add', '--config', cfg, '--username', 'wall1', '--role', 'monitor'], {
        input: 'a-long-enough-passphrase\n',
      });
      expect(noAddress.status).toBe(2);
      expect(noAddress.stderr).toContain('--address');
      const badAddress = cli(
        [
          'user',
          'add',
          '--config',
          cfg,
          '--username',
          'wall1',
          '--role',
          'monitor',
          '--address',
          'wall.local',
        ],
        { input: 'a-long-enough-passphrase\n' },
      );
      expect(badAddress.status).toBe(2);
      expect(badAddress.stderr).toContain('IP address');
      const ok = cli(
        [
          'user',
          'add',
          '--config',
          cfg,
          '--username',
          'wall1',
          '--name',
          'マシン室 壁面',
          '--role',
          'monitor',
          '--address',
          '10.0.0.5',
          '--mask-names',
        ],
        { input: 'a-long-enough-passphrase\n' },
      );
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('usable from 10.0.0.5 only, names hidden');
      const moved = cli([
        'user',
        'monitor',
        'wall1',
        '--config',
        cfg,
        '--address',
        '10.0.0.6',
        '--show-names',
      ]);
      expect(moved.status, moved.stderr).toBe(0);
      expect(moved.stdout).toContain('usable from 10.0.0.6 only, names shown; its sessions ended');
      const list = cli(['user', 'list', '--config', cfg]);
      expect(list.stdout).toMatch(/wall1\s+monitor\s+active.*\(screen 10\.0\.0\.6\)/);
      const notMonitor = cli(
        ['user', 'add', '--config', cfg, '--username', 'boss', '--role', 'admin', '--address', '10.0.0.7'],
        {
          input: 'a-long-enough-passphrase\n',
        },
      );
      expect(notMonitor.status).toBe(2);
      const db = openDatabase(journalFile(join(dir, 'data')));
      migrateAccounts(db);
      const journal = new Journal(db, { controllerId: 'reader' });
      const users = new UserStore(db, journal);
      expect(users.byUsername('wall1')).toMatchObject({
        role: 'monitor',
        monitor: { address: '10.0.0.6', maskNames: false },
      });
      const bound = journal.query({ types: ['monitor_bound'], limit: 10 });
      expect(bound.map((r) => r.data)).toEqual([
        expect.objectContaining({
          address: '10.0.0.6',
          maskNames: false,
          from: { address: '10.0.0.5', maskNames: true },
          via: 'cli',
        }),
        expect.objectContaining({ address: '10.0.0.5', maskNames: true, from: null, via: 'cli' }),
      ]);
      expect(bound[0]!.actor).toMatch(/^cli:/);
      db.close();
    },
    SLOW,
  );
});
