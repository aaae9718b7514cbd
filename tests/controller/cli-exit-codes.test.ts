/**
 * docs/cli.md's exit-code table is the code's: every row of controller/cli/exit-codes.ts, in order,
 * and nothing else.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_EXIT_CODES, COMMON_EXIT_CODES, exitCodesOf } from '../../controller/cli/exit-codes.js';
import { COMMAND_NAMES } from '../../controller/cli/help.js';
import { ROOT } from '../helpers/util.js';

describe('exit codes', () => {
  it('docs/cli.md lists exactly the codes of the code', () => {
    const doc = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
    const table = doc.slice(doc.indexOf('<!-- exit-codes:begin -->'), doc.indexOf('<!-- exit-codes:end -->'));
    const rows = table
      .split('\n')
      .filter((l) => /^\| (every command|`[a-z-]+`) \| \d+ \|/.test(l))
      .map((l) => l.split(' | ').map((c) => c.replace(/^\| |`| \|$/g, '')));
    const expected = [
      ...COMMON_EXIT_CODES.map((r) => ['every command', String(r.code), r.meaning]),
      ...Object.entries(COMMAND_EXIT_CODES).flatMap(([c, list]) =>
        list.map((r) => [c, String(r.code), r.meaning]),
      ),
    ];
    expect(rows).toEqual(expected);
  });

  it('a command’s codes: its own words over the common ones, in order; only real commands', () => {
    expect(exitCodesOf('log').map((r) => r.code)).toEqual([0, 1, 2]);
    expect(exitCodesOf('upgrade').map((r) => r.code)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(exitCodesOf('verify')[1]!.meaning).toMatch(/tampering found/);
    for (const c of Object.keys(COMMAND_EXIT_CODES)) expect(COMMAND_NAMES).toContain(c);
  });
});
