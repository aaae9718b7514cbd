/**
 * The layering that `npm run check` enforces (biome.json's noRestrictedImports overrides): nothing in
 * controller/ but the process root imports dashboards/, and controller/domain/ imports only itself and
 * zod. Each rule is shown able to fail: the project's biome.json lints probe files in a scratch tree.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/util.js';

const scratch = tempDir('sekisho-layering-');
copyFileSync(join(ROOT, 'biome.json'), join(scratch, 'biome.json'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The files among `files` (path → source) that biome refuses for a restricted import. */
function refused(files: Record<string, string>): string[] {
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), source);
  }
  const r = spawnSync(
    join(ROOT, 'node_modules/.bin/biome'),
    ['lint', '--vcs-enabled=false', '--max-diagnostics=200', ...Object.keys(files)],
    { cwd: scratch, encoding: 'utf8' },
  );
  const out = r.stdout + r.stderr;
  for (const path of Object.keys(files)) rmSync(join(scratch, path));
  return [...out.matchAll(/^(\S+):\d+:\d+ lint\/style\/noRestrictedImports/gm)].map((m) => m[1]!).sort();
}

const use = (from: string) => `import { x } from '${from}';\n\nexport const y = x;\n`;

describe('layering', () => {
  it('refuses dashboards/ in controller/, except in the process root', () => {
    expect(
      refused({
        'controller/accounts/probe.ts': use('../../dashboards/server.js'),
        'controller/probe.ts': use('../dashboards/http.js'),
        'controller/main.ts': use('../dashboards/server.js'),
        'dashboards/probe.ts': use('../controller/accounts/users.js'),
      }),
    ).toEqual(['controller/accounts/probe.ts', 'controller/probe.ts']);
  });

  it('keeps controller/domain/ pure: only its own modules and zod', () => {
    expect(
      refused({
        'controller/domain/a.ts': use('node:fs'),
        'controller/domain/b.ts': use('better-sqlite3'),
        'controller/domain/c.ts': use('../journal/index.js'),
        'controller/domain/d.ts': use('../config/index.js'),
        'controller/domain/e.ts': use('./schedule.js'),
        'controller/domain/f.ts': use('zod'),
      }),
    ).toEqual([
      'controller/domain/a.ts',
      'controller/domain/b.ts',
      'controller/domain/c.ts',
      'controller/domain/d.ts',
    ]);
  });
});
