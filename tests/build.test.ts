/**
 * The build (scripts/build.mjs) and the deployed entry (bin/sekisho-dist.mjs). Each test works on a
 * snapshot of the checkout in a temp folder (so that edits made elsewhere while it runs do not
 * matter, and it can change "sources" of its own), whose node_modules links to the checkout's
 * packages but has no tsx — and, once built, no esbuild either: what the built controller would
 * need of them, it could not find.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  doorConfig,
  ROOT,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from './helpers/controller.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of what the build reads (as scripts/install.sh copies it), with a node_modules without tsx. */
function snapshot(): string {
  const dir = tempDir('sekisho-build-');
  dirs.push(dir);
  for (const item of [
    'bin',
    'scripts',
    'controller',
    'dashboards',
    'hardware',
    'firmware-bridge',
    'package.json',
  ])
    cpSync(join(ROOT, item), join(dir, item), {
      recursive: true,
      filter: (src) => src !== join(ROOT, 'firmware-bridge', 'firmware'),
    });
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(join(ROOT, 'node_modules')))
    if (name !== 'tsx' && name !== '.bin')
      symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  return dir;
}

const run = (file: string, args: string[], cwd?: string): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, [file, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd,
    env: { ...process.env, SEKISHO_LOG: 'warn' },
  });
const build = (co: string, args: string[] = []) => run(join(co, 'scripts/build.mjs'), args);
const sekisho = (co: string, args: string[]) => run(join(co, 'bin/sekisho-dist.mjs'), args);

/** Every file under `dir`, relative, '/'-separated. */
function files(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(dir, `${rel}${e.name}/`) : [`${rel}${e.name}`],
  );
}

/** Where a file of tsx or esbuild would be. */
const LOADER = /node_modules\/(tsx|esbuild|@esbuild)\//;

/**
 * Marks of tsx or esbuild in a running process that Linux shows: its command line, its
 * NODE_OPTIONS, the files it maps, and its child processes (tsx runs an `esbuild --service` child
 * whenever it has something to transpile).
 */
function processTraces(pid: number): string[] {
  const traces: string[] = [];
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return ''; // a process that ended meanwhile
    }
  };
  const cmdline = (p: number | string) => read(`/proc/${p}/cmdline`).replaceAll('\0', ' ').trim();
  const trace = (s: string) => LOADER.test(s) || /esbuild --service|(^|[\s=])tsx(\/|\s|$)/.test(s);
  if (trace(cmdline(pid))) traces.push(`command line: ${cmdline(pid)}`);
  const nodeOptions = read(`/proc/${pid}/environ`)
    .split('\0')
    .find((v) => v.startsWith('NODE_OPTIONS='));
  if (nodeOptions && trace(nodeOptions)) traces.push(nodeOptions);
  for (const line of read(`/proc/${pid}/maps`).split('\n')) if (trace(line)) traces.push(`maps: ${line}`);
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const stat = read(`/proc/${p}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid && trace(cmdline(p))) traces.push(`child ${p}: ${cmdline(p)}`);
  }
  return traces;
}

/** NODE_DEBUG=esm,module makes Node name on stderr every module it loads (ES modules and CommonJS). */
const MODULE_DEBUG = { NODE_DEBUG: 'esm,module' };

describe('the built controller (npm run build, bin/sekisho-dist.mjs)', () => {
  let co: string;
  let dist: string;
  let cfg: string;
  let storage: string;
  let ctl: Running;

  beforeAll(async () => {
    co = snapshot();
    dist = join(co, 'dist');
    const r = build(co);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^build: \d+ TypeScript files and \d+ assets into .*\/dist in \d+ ms\n$/);
    // The build is made: from now on, esbuild is not there to be loaded either.
    unlinkSync(join(co, 'node_modules/esbuild'));
    unlinkSync(join(co, 'node_modules/@esbuild'));
    storage = join(co, 'data');
    cfg = writeConfig(co, doorConfig(co, simReaders()));
    ctl = await startController(cfg, storage, 20_000, {
      bin: join(co, 'bin/sekisho-dist.mjs'),
      env: MODULE_DEBUG,
    });
  });

  afterAll(async () => {
    await ctl?.stop();
  });

  it('lays the JavaScript out like the sources, with the assets, the JSON files, package.json and the stamp', () => {
    const built = files(dist);
    expect(built).toEqual(
      expect.arrayContaining([
        'controller/cli.js',
        'controller/system.js',
        'dashboards/integrity.js',
        'dashboards/verify-child.js',
        'dashboards/routes/static.js',
        'dashboards/assets/app.js',
        'dashboards/assets/app.css',
        'dashboards/assets/favicon.svg',
        'firmware-bridge/test-vectors.json',
        'hardware/rpi-board.js',
        'package.json',
        'build-stamp.json',
      ]),
    );
    expect(built.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(built.filter((f) => f.startsWith('firmware-bridge/firmware/'))).toEqual([]);
    const sources = files(join(co, 'controller')).filter((f) => f.endsWith('.ts'));
    expect(built.filter((f) => f.startsWith('controller/') && f.endsWith('.js'))).toHaveLength(
      sources.length,
    );
    expect(readFileSync(join(dist, 'dashboards/assets/app.js'))).toEqual(
      readFileSync(join(co, 'dashboards/assets/app.js')),
    );
    expect(JSON.parse(readFileSync(join(dist, 'package.json'), 'utf8'))).toMatchObject({ type: 'module' });
  });

  it('starts in simulation mode with the door secured, and the dashboard answers', async () => {
    const health = await fetch(`${ctl.base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await ctl.api('GET', '/healthz')).body).toMatchObject({ status: 'ok', board: 'sim' });
    const { status, body } = await ctl.api<{
      version: string;
      doors: { id: string; locked: boolean; lockOutput: boolean }[];
    }>('GET', '/api/status');
    expect(status).toBe(200);
    // The version is read from package.json beside the build.
    expect(body.version).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(body.doors).toEqual([
      expect.objectContaining({ id: 'machine-room', locked: true, lockOutput: false }),
    ]);
    const css = await fetch(`${ctl.base}/static/app.css`);
    expect(css.status).toBe(200);
    const badge = await ctl.api('POST', '/api/sim/badge', { reader: 'entry', credential: '0A1B2C3D4E' });
    expect(badge.status).toBe(200);
    expect(badge.body).toMatchObject({ granted: false, reason: 'unknown_badge' });
  });

  it('loads no module of tsx or esbuild, and shows no trace of them; the same checks see tsx in the TypeScript entry', async () => {
    const loaded = ctl.output();
    // The debug output does name the modules loaded (else this test could not fail) ...
    expect(loaded).toContain(pathToFileURL(join(dist, 'controller/cli.js')).href);
    expect(loaded).toContain('node_modules/better-sqlite3/');
    // ... and none of tsx or esbuild.
    expect(loaded.split('\n').filter((l) => LOADER.test(l))).toEqual([]);
    expect(processTraces(ctl.proc.pid!)).toEqual([]);
    expect(readFileSync(`/proc/${ctl.proc.pid}/cmdline`, 'utf8')).toContain('sekisho-dist.mjs');

    const dev = spawnSync(process.execPath, [join(ROOT, 'bin/sekisho.mjs'), 'help'], {
      encoding: 'utf8',
      env: { ...process.env, ...MODULE_DEBUG },
      maxBuffer: 64 << 20,
    });
    expect(dev.status).toBe(0);
    expect(dev.stderr).toMatch(LOADER);
    // The process probe sees tsx at work in a controller started from the TypeScript entry (with tsx's
    // cache off, so that it transpiles, through its esbuild child): else its [] above could not fail.
    const devDir = tempDir('sekisho-build-dev-');
    dirs.push(devDir);
    const devCtl = await startController(
      writeConfig(devDir, doorConfig(devDir, simReaders())),
      join(devDir, 'data'),
      20_000,
      { env: { TSX_DISABLE_CACHE: '1' } },
    );
    try {
      expect(processTraces(devCtl.proc.pid!).join('\n')).toMatch(/esbuild --service/);
    } finally {
      await devCtl.stop();
    }
  });

  it('the dashboard’s “verify now” verifier runs the built verify-child.js, without tsx', () => {
    const integrity = pathToFileURL(join(dist, 'dashboards/integrity.js')).href;
    const script = `
      import { createPublicKey } from 'node:crypto';
      import { readFileSync } from 'node:fs';
      import { childVerifier } from '${integrity}';
      const key = createPublicKey(readFileSync(process.argv[2], 'utf8'));
      process.stdout.write(JSON.stringify(await childVerifier(process.argv[1], key)()));
    `;
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', script, join(storage, 'journal.db'), join(storage, 'device-public.pem')],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as { ok: boolean; rows: number };
    expect(result.ok).toBe(true);
    expect(result.rows).toBeGreaterThan(2);
  });

  it('stops cleanly, and `sekisho verify` from the build finds the journal intact', async () => {
    expect(await ctl.stop()).toBe(0);
    const r = sekisho(co, ['verify', '--config', cfg]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^journal intact: \d+ rows/);
    expect(r.status).toBe(0);
  });
});

describe('a missing or out-of-date build', () => {
  let co: string;
  let cfg: string;
  beforeAll(() => {
    co = snapshot();
    cfg = writeConfig(co, doorConfig(co, simReaders()));
  });

  it('is refused with what to do, and runs once built', () => {
    const none = sekisho(co, ['help']);
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe(
      `sekisho: there is no build in ${co}/dist\n` +
        `sekisho: not starting; run \`npm run build\` in ${co} (it transpiles the TypeScript sources to JavaScript)\n`,
    );
    expect(build(co).status).toBe(0);
    const ok = sekisho(co, ['help']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/^sekisho — machine-room access controller/);
    expect(ok.status).toBe(0);
  });

  it('names a changed, a new and a removed source, refuses to start, and runs again after a build', () => {
    expect(build(co).status).toBe(0);
    appendFileSync(join(co, 'controller/cli.ts'), '\n// edited after the build\n');
    appendFileSync(join(co, 'dashboards/assets/app.css'), '\n/* edited */\n');
    writeFileSync(join(co, 'hardware/extra.ts'), 'export const extra = 1;\n');
    rmSync(join(co, 'firmware-bridge/test-vectors.json'));
    const r = sekisho(co, ['start', '--config', cfg]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^sekisho: the build in .*\/dist \(\d{4}-\d\d-\d\dT.*Z\) is older than the sources: /,
    );
    for (const what of [
      'controller/cli.ts changed',
      'dashboards/assets/app.css changed',
      'hardware/extra.ts is new',
      'firmware-bridge/test-vectors.json was removed',
    ])
      expect(r.stderr).toContain(what);
    expect(r.stderr).toMatch(/not starting; run `npm run build`/);
    expect(existsSync(join(co, 'data'))).toBe(false); // nothing ran: no journal was created

    expect(build(co).status).toBe(0);
    expect(existsSync(join(co, 'dist/hardware/extra.js'))).toBe(true);
    expect(sekisho(co, ['help']).status).toBe(0);
  });

  it('a change to the build script or package.json makes the build out of date too', () => {
    expect(build(co).status).toBe(0);
    appendFileSync(join(co, 'package.json'), '\n');
    expect(sekisho(co, ['help']).stderr).toContain('package.json changed');
    expect(build(co).status).toBe(0);
    appendFileSync(join(co, 'scripts/build.mjs'), '\n');
    expect(sekisho(co, ['help']).stderr).toContain('scripts/build.mjs changed');
    expect(build(co).status).toBe(0);
  });

  it('still secures the outputs (the unit’s ExecStopPost), with a warning', () => {
    expect(build(co).status).toBe(0);
    appendFileSync(join(co, 'controller/cli.ts'), '\n// edited again\n');
    const r = sekisho(co, ['secure-outputs', '--config', cfg]);
    expect(r.stdout).toBe('simulated board: no outputs to secure\n');
    expect(r.stderr).toMatch(
      /^sekisho: warning: the build in .* is older than the sources: controller\/cli\.ts changed; securing the outputs anyway/,
    );
    expect(r.status).toBe(0);
    expect(build(co).status).toBe(0);
  });

  it('a build that fails leaves the previous one, which is then reported out of date', () => {
    expect(build(co).status).toBe(0);
    const stamp = readFileSync(join(co, 'dist/build-stamp.json'), 'utf8');
    writeFileSync(join(co, 'controller/broken.ts'), 'export const = ;\n');
    const r = build(co);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/controller\/broken\.ts/);
    expect(readFileSync(join(co, 'dist/build-stamp.json'), 'utf8')).toBe(stamp);
    expect(readdirSync(co).filter((f) => f.startsWith('dist.building'))).toEqual([]);
    expect(sekisho(co, ['help']).stderr).toContain('controller/broken.ts is new');
    rmSync(join(co, 'controller/broken.ts'));
    expect(sekisho(co, ['help']).status).toBe(0);
  });

  it('builds into another folder (--out), and never replaces a folder that holds no earlier build', () => {
    const out = join(co, 'tmp', 'other-build');
    const r = build(co, ['--out', out]);
    expect(r.status).toBe(0);
    expect(existsSync(join(out, 'controller/cli.js'))).toBe(true);
    expect(build(co, ['--out', out]).status).toBe(0); // an earlier build is replaced

    const precious = join(co, 'precious');
    mkdirSync(precious);
    writeFileSync(join(precious, 'keep.txt'), 'keep me\n');
    const refused = build(co, ['--out', precious]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/is not empty and holds no earlier build/);
    expect(readdirSync(precious)).toEqual(['keep.txt']);
    expect(build(co, ['--out', co]).status).toBe(2);
    expect(build(co, ['--frobnicate']).status).toBe(2);
  });
});
