/**
 * The README's "Using it" walk-through, run as it stands: its two shell blocks are taken from
 * README.md and run by bash (set -euo pipefail: every command must succeed) in a folder laid out
 * like the repository (bin/ and config/sim.yaml), against a fresh simulation started with the
 * README's own config (only the dashboard's port is made free, as another test may hold 8080). The
 * step between the blocks — a different person approves on the dashboard — is done as the dashboard
 * does it, as demo-manager.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { approvePending, ROOT, type Running, startController, tempDir } from '../helpers/controller.js';

/** The ```sh blocks of the README's "Using it" section, verbatim. */
function walkThroughBlocks(readme: string): string[] {
  const start = readme.indexOf('\n## Using it\n');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function bash(script: string, cwd: string) {
  const { SUDO_USER: _, ...env } = process.env;
  const r = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    // A person runs it (through sudo on a device; the test itself runs as root, who is no person).
    env: { ...env, SEKISHO_LOG: 'warn', SUDO_USER: 'tanaka' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the README walk-through', () => {
  const dir = tempDir('sekisho-readme-');
  let ctl: Running | undefined;

  afterAll(async () => {
    await ctl?.stop();
  });

  it('runs verbatim on a fresh simulation, and the lost badge is refused at the door', async () => {
    const blocks = walkThroughBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(blocks).toHaveLength(2);
    for (const b of blocks) expect(b).toMatch(/node bin\/sekisho\.mjs/);

    // The repository's layout: bin/ (the real one) and config/sim.yaml (storage ../var/sim).
    symlinkSync(join(ROOT, 'bin'), join(dir, 'bin'));
    mkdirSync(join(dir, 'config'));
    const sim = parse(readFileSync(join(ROOT, 'config/sim.yaml'), 'utf8')) as {
      dashboard: { port: number };
      storage: { path: string };
    };
    expect(sim.storage.path).toBe('../var/sim');
    sim.dashboard.port = 0;
    const cfg = join(dir, 'config/sim.yaml');
    writeFileSync(cfg, stringify(sim));
    ctl = await startController(cfg, join(dir, 'var/sim'), 60_000, { log: 'warn' });
    // The demo's people and badges are there: the walk-through's must not clash with them.
    expect(ctl.output()).toMatch(/demo-manager/);

    const first = bash(`${blocks[0]}\ndeclare -p CFG P > walk-state.sh\n`, dir);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout.match(/filed request #\d+/g)).toHaveLength(2);

    expect(await approvePending(cfg, 'user:demo-manager')).toHaveLength(2);
    const sim1 = await ctl.api<{ granted: boolean }>('POST', '/api/sim/badge', {
      reader: 'entry',
      credential: '4D5E6F7A8B',
    });
    // Granted within office hours only: the schedule decides, not a missing badge.
    expect(sim1.status).toBe(200);

    const second = bash(`source walk-state.sh\n${blocks[1]}`, dir);
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/伊藤 美咲/);
    expect(second.stdout).toMatch(/badge b_\w+ is lost: refused at every door from now on/);
    expect(second.stdout).toMatch(/person_added .*S-2001/);
    expect(second.stdout).toMatch(/journal intact/);
    // doctor ran to its summary: in a simulation only warnings (exit 3), never a failed check.
    expect(second.stdout).toMatch(/no problem found(, \d+ warnings?: see the WARN lines\ndoctor: exit 3)?/);

    const after = await ctl.api<{ granted: boolean; reason: string }>('POST', '/api/sim/badge', {
      reader: 'entry',
      credential: '4D5E6F7A8B',
    });
    expect(after.body).toMatchObject({ granted: false, reason: 'badge_lost' });
  }, 300_000);
});
