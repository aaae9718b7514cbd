/**
 * The `sekisho` command as a whole, run as a child process: every command's help without a config
 * (and without touching the journal), one controller per storage folder, `log`'s dates, filters and
 * limit, and output into a pipe that closes early (`sekisho log | head`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_EXIT_CODES, exitCodesOf } from '../../controller/cli/exit-codes.js';
import { COMMAND_NAMES, helpFor } from '../../controller/cli/help.js';
import { main } from '../../controller/cli.js';
import { loadConfig } from '../../controller/config/index.js';
import type { JournalInput } from '../../controller/journal/index.js';
import { openStorage } from '../../controller/storage.js';
import { parseLocal } from '../../controller/time.js';
import {
  BIN,
  cli,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';

const TZ = 'Asia/Tokyo';
const at = (local: string) => parseLocal(local, TZ);

/** `sekisho …` with the environment given (SEKISHO_CONFIG pointing nowhere unless set). */
function run(args: string[], env: Record<string, string> = {}) {
  const { SUDO_USER: _, SEKISHO_CONFIG: __, ...rest } = process.env;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...rest, SEKISHO_LOG: 'warn', SEKISHO_CONFIG: '/nonexistent/sekisho.yaml', ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Lines of `log --json`, parsed. */
function jsonRows(stdout: string): { seq: number; at: number; type: string; person: string | null }[] {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

describe('sekisho <command> --help', () => {
  it('prints the help of start, log and witness with no config anywhere, as a process, and exits 0', () => {
    for (const name of ['start', 'log', 'witness']) {
      const r = run([name, '--help']);
      expect(r.stderr, name).toBe('');
      expect(r.status, name).toBe(0);
      expect(r.stdout).toBe(helpFor(name));
    }
  }, 120_000);

  it('every command: --help, -h and sekisho help <command> print its help and exit codes, no config read', async () => {
    expect(COMMAND_NAMES.length).toBeGreaterThanOrEqual(20);
    const out: string[] = [];
    const write = process.stdout.write;
    const config = process.env.SEKISHO_CONFIG;
    process.env.SEKISHO_CONFIG = '/nonexistent/sekisho.yaml';
    process.stdout.write = ((s: string) => out.push(s) > 0) as typeof write;
    try {
      for (const name of COMMAND_NAMES)
        for (const args of [
          [name, '--help'],
          [name, 'x', '-h'],
          ['help', name],
        ]) {
          out.length = 0;
          // A command that went on to run would fail here: no config exists (or hang: start).
          expect(await main(args), args.join(' ')).toBe(0);
          const text = out.join('');
          expect(text).toBe(helpFor(name));
          expect(text.startsWith(`usage: sekisho ${name} [options]`)).toBe(true);
          expect(text).toMatch(new RegExp(`^ {2}${name}\\b`, 'm'));
          for (const c of exitCodesOf(name))
            expect(text).toContain(`  ${String(c.code).padEnd(4)}${c.meaning}`);
        }
    } finally {
      process.stdout.write = write;
      if (config === undefined) delete process.env.SEKISHO_CONFIG;
      else process.env.SEKISHO_CONFIG = config;
    }
    const bad = run(['help', 'frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/no command "frobnicate"/);
    // Every command's own exit codes belong to a command that exists.
    for (const name of Object.keys(COMMAND_EXIT_CODES)) expect(COMMAND_NAMES).toContain(name);
  }, 60_000);
});

describe('sekisho with a storage folder', () => {
  const dir = tempDir('sekisho-cli-commands-');
  const storage = join(dir, 'data');
  const cfg = writeConfig(dir, doorConfig(dir, simReaders(), { timeZone: TZ }));
  let ctl: Running | undefined;
  let personId = '';
  const FILLER = 10_050;

  beforeAll(() => {
    // A journal with a person's entries around midnight and many older ones (more than one query may
    // return, and more output than a pipe holds).
    const s = openStorage(loadConfig(cfg));
    try {
      const p = s.registry.addPerson(
        { displayId: 'S-3001', name: '木村 次郎', category: 'staff' },
        'test:setup',
        at('2026-10-01 08:00'),
      );
      personId = p.id;
      s.registry.grantDoor(p.id, 'machine-room', 'always', 'test:setup', at('2026-10-01 08:01'));
      const access = (when: number, direction: 'in' | 'out'): JournalInput<'access'> => ({
        type: 'access',
        at: when,
        door: 'machine-room',
        actor: null,
        person: p.id,
        data: {
          reader: direction === 'in' ? 'entry' : 'exit',
          direction,
          result: 'granted',
          reason: 'granted',
          badge: null,
          masked: '••••7A8B',
          format: 'em4100',
          personName: p.name,
          category: 'staff',
        },
      });
      const filler: JournalInput<'access'>[] = [];
      for (let i = 0; i < FILLER; i++)
        filler.push(access(at('2026-11-01 09:00') + i * 1000, i % 2 ? 'out' : 'in'));
      s.journal.appendMany(filler, { outbox: false });
      s.journal.appendMany(
        [
          access(at('2026-12-07 09:00'), 'in'),
          access(at('2026-12-07 23:30'), 'out'),
          access(at('2026-12-08 00:30'), 'in'),
        ],
        { outbox: false },
      );
    } finally {
      s.db.close();
    }
  });

  afterAll(async () => {
    await ctl?.kill9();
  });

  it('--help reads no config’s storage: start --help starts nothing, log --help prints no log', () => {
    const files = () => readdirSync(storage).map((f) => [f, statSync(join(storage, f)).mtimeMs]);
    const before = files();
    const start = run(['start', '--help', '--config', cfg]);
    expect(start.status).toBe(0);
    expect(start.stdout).toBe(helpFor('start'));
    const log = run(['log', '--config', cfg, '-h']);
    expect(log.status).toBe(0);
    expect(log.stdout).toBe(helpFor('log'));
    expect(files()).toEqual(before);
    mkdirSync(join(dir, 'fresh'));
    const fresh = writeConfig(join(dir, 'fresh'), doorConfig(join(dir, 'fresh'), simReaders()));
    expect(run(['start', '--config', fresh, '--help']).status).toBe(0);
    expect(existsSync(join(dir, 'fresh', 'data'))).toBe(false);
  }, 60_000);

  it('a --to date includes that whole day, as on the dashboard; a time is exclusive', () => {
    const day = jsonRows(
      cli(['log', '--config', cfg, '--from', '2026-12-07', '--to', '2026-12-07', '--json']).stdout,
    );
    expect(day.map((r) => r.at)).toEqual([at('2026-12-07 23:30'), at('2026-12-07 09:00')]);
    const toTime = jsonRows(
      cli(['log', '--config', cfg, '--from', '2026-12-07', '--to', '2026-12-07 23:30', '--json']).stdout,
    );
    expect(toTime.map((r) => r.at)).toEqual([at('2026-12-07 09:00')]);
  });

  it('refuses impossible dates, a reversed range, and an unknown person, door or type (exit 2)', () => {
    const cases: [string[], RegExp][] = [
      [['--to', '2026-13-01'], /--to: no such date or time: "2026-13-01"/],
      [['--from', '2026-02-30'], /--from: no such date or time/],
      [['--to', '2026-12-07 24:00'], /--to: no such date or time/],
      [['--from', '2026-12-07T10:60'], /--from: no such date or time/],
      [['--from', '2026-12-07T09:00+09:00', '--to', '2026-02-30T00:00Z'], /--to: no such date or time/],
      [['--from', '2026-12-08', '--to', '2026-12-07'], /--from 2026-12-08 is not before --to 2026-12-07/],
      [['--person', 'S-9999'], /--person: no person with the id or card ID "S-9999"/],
      [['--door', 'boiler-room'], /--door: no door "boiler-room" \(doors: machine-room\)/],
      [['--type', 'acess'], /--type: no record type "acess"/],
      [['--type', 'access,'], /--type: no record type ""/],
    ];
    for (const [args, message] of cases) {
      const r = cli(['log', '--config', cfg, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  }, 120_000);

  it('shows entries and exits unless --type says otherwise; --person takes the id or card ID', () => {
    const plain = jsonRows(cli(['log', '--config', cfg, '--limit', '50', '--json']).stdout);
    expect(plain).toHaveLength(50);
    expect(new Set(plain.map((r) => r.type))).toEqual(new Set(['access']));
    const added = jsonRows(cli(['log', '--config', cfg, '--type', 'person_added', '--json']).stdout);
    expect(added.map((r) => r.person)).toEqual([personId]);
    const early = ['--to', '2026-11-01 09:00:05', '--json'];
    const two = jsonRows(cli(['log', '--config', cfg, '--type', 'person_added,access', ...early]).stdout);
    expect(two.map((r) => r.type)).toEqual([...Array(5).fill('access'), 'person_added']);
    const all = jsonRows(cli(['log', '--config', cfg, '--type', 'all', ...early]).stdout);
    expect(all.length).toBeGreaterThan(two.length);
    expect(all.map((r) => r.type)).toEqual(expect.arrayContaining(['access', 'person_added']));
    const byCard = jsonRows(
      cli(['log', '--config', cfg, '--person', 's-3001', '--from', '2026-12-07', '--json']).stdout,
    );
    const byId = jsonRows(
      cli(['log', '--config', cfg, '--person', personId, '--from', '2026-12-07', '--json']).stdout,
    );
    expect(byCard.map((r) => r.at)).toEqual(
      ['2026-12-08 00:30', '2026-12-07 23:30', '2026-12-07 09:00'].map(at),
    );
    expect(byId).toEqual(byCard);
  }, 60_000);

  it('--limit accepts exactly what the query accepts: 1 to 10000', () => {
    const most = run(['log', '--config', cfg, '--limit', '10000', '--json']);
    expect(most.status).toBe(0);
    expect(jsonRows(most.stdout)).toHaveLength(10_000);
    expect(jsonRows(cli(['log', '--config', cfg, '--limit', '1', '--json']).stdout)).toHaveLength(1);
    for (const bad of ['10001', '0', '-1', '2.5', 'abc', '']) {
      const r = cli(['log', '--config', cfg, `--limit=${bad}`]);
      expect(r.status, bad).toBe(2);
      expect(r.stderr).toMatch(/--limit: expected a whole number from 1 to 10000/);
    }
  }, 120_000);

  it('sekisho log | head ends quietly: no EPIPE trace, exit 0', () => {
    for (const extra of ['', ' --json']) {
      // 10,000 rows are over a megabyte: far more than the pipe holds when head has gone.
      const r = spawnSync(
        'bash',
        [
          '-c',
          `set -o pipefail; "${process.execPath}" "${BIN}" log --config "${cfg}" --limit 10000${extra} | head -n 1`,
        ],
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SEKISHO_LOG: 'warn' } },
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n')).toHaveLength(2);
    }
  }, 120_000);

  it('a second controller on the same storage is refused while the first runs (exit 1)', async () => {
    ctl = await startController(cfg, storage);
    const second = cli(['start', '--config', cfg]);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/another process drives the doors of .*data.*: one at a time/);
    // The first still serves.
    expect((await ctl.api('GET', '/api/status')).status).toBe(200);
    expect(await ctl.stop()).toBe(0);
  }, 90_000);
});
