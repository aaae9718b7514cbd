/**
 * Names and ID numbers through the `sekisho` command: the same rule as the HTTP API (the registry
 * applies it), with a message naming the field and the character — never the raw character, which
 * could act on the terminal. A name written before the rule is printed made visible by
 * `sekisho log` and `sekisho person list`. (A command line cannot hold NUL or a lone surrogate:
 * those are covered through the HTTP API.)
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import type { Person } from '../../controller/domain/index.js';
import { People } from '../../controller/registry/people.js';
import { openStorage } from '../../controller/storage.js';
import {
  cli as cliAs,
  cliJson as cliJsonAs,
  doorConfig,
  simReaders,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';

// Run through sudo by a person: the CLI run by no person (root alone) may only revoke.
const cli = (args: string[]) => cliAs(args, { sudo: 'tester' });
const cliJson = <T>(args: string[]) => cliJsonAs<T>(args, { sudo: 'tester' });

const dir = tempDir('sekisho-names-cli-');
const cfg = writeConfig(dir, doorConfig(dir, simReaders()));

const CASES: [string, string][] = [
  ['\u001b', 'a control character'], // escape: would act on the terminal
  ['\u009b', 'a control character'], // C1 CSI
  ['\u202e', 'a bidirectional formatting character'], // RLO
  ['\u200b', 'an invisible character'], // zero-width space
];

const cp = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

describe('sekisho person add / visitor issue: names', () => {
  it('refuses a name with a control, bidirectional or invisible character, naming field and character', () => {
    for (const [ch, what] of CASES) {
      const r = cli([
        'person',
        'add',
        '--config',
        cfg,
        '--name',
        `山田${ch}太郎`,
        '--id',
        'S-1',
        '--category',
        'staff',
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^sekisho: person\\.name: contains ${what}.*\\(U\\+${cp(ch).slice(2)} at character 3\\)\\n$`,
        ),
      );
      expect(r.stderr).not.toContain(ch);
    }
    expect(cliJson<Person[]>(['person', 'list', '--config', cfg])).toEqual([]);
  }, 120_000);

  it('refuses an ID number and a visitor name the same way', () => {
    const id = cli([
      'person',
      'add',
      '--config',
      cfg,
      '--name',
      '山田 太郎',
      '--id',
      'S-\u202e1',
      '--category',
      'staff',
    ]);
    expect(id.status).toBe(1);
    expect(id.stderr).toMatch(
      /^sekisho: person\.displayId: contains a bidirectional formatting character.*\(U\+202E at character 3\)\n$/,
    );
    const host = cliJson<Person>([
      'person',
      'add',
      '--config',
      cfg,
      '--name',
      'Host',
      '--id',
      'S-2',
      '--category',
      'staff',
    ]);
    const v = cli([
      'visitor',
      'issue',
      '--config',
      cfg,
      '--name',
      'Vera\u2067',
      '--id',
      'V-1',
      '--host',
      host.id,
      '--purpose',
      'inspection',
    ]);
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(
      /visitor_badge\.name: contains a bidirectional formatting character.*\(U\+2067 at character 5\)/,
    );
  }, 120_000);

  it('stores an accepted name NFC-normalised', () => {
    const p = cliJson<Person>([
      'person',
      'add',
      '--config',
      cfg,
      '--name',
      'カ\u3099ス 太郎',
      '--id',
      'S-3',
      '--category',
      'staff',
    ]);
    expect(p.name).toBe('ガス 太郎');
  }, 120_000);

  it('prints a name written before the rule with its characters made visible', () => {
    const s = openStorage(loadConfig(cfg));
    try {
      const person: Person = {
        id: 'p_oldrecord02',
        displayId: 'S-0042',
        name: 'Mallory\u202e yrotcerid\u001b[2J',
        category: 'staff',
        validFrom: null,
        validUntil: null,
        active: true,
        lockdownOverride: false,
      };
      s.journal.transaction(() => new People(s.db, s.journal).insert(person, 'test:old-version', Date.now()));
    } finally {
      s.db.close();
    }
    for (const command of [
      ['log', '--type', 'all'],
      ['person', 'list'],
    ]) {
      const r = cli([...command, '--config', cfg]);
      expect(r.status, command.join(' ')).toBe(0);
      expect(r.stdout).toContain('Mallory[U+202E] yrotcerid[U+001B][2J');
      expect(r.stdout).not.toContain('\u001b');
      expect(r.stdout).not.toContain('\u202e');
    }
  }, 120_000);
});
