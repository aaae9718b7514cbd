/**
 * Where versions of Sekisho live on the device, and the switch between them:
 *
 *   /opt/sekisho-releases/<version>-<time>/   one folder per installed release (root-owned)
 *   /opt/sekisho            → a symbolic link to the running release
 *   /opt/sekisho.previous   → a symbolic link to the one before it
 *
 * A link is switched by making the new link under a temporary name and renaming it over the old
 * one: rename(2) replaces it in one step, so /opt/sekisho always names a whole release. An
 * /opt/sekisho that is still a folder (installed by an older scripts/install.sh) is first moved
 * into /opt/sekisho-releases, and an /opt/sekisho.previous folder of that layout is removed.
 */
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { fsyncDir } from '../secret-files.js';
import { UpgradeError } from './artefact.js';

export interface Layout {
  root: string;
  app: string;
  previous: string;
  releases: string;
}

export function layout(root = '/'): Layout {
  const r = resolve(root);
  return {
    root: r,
    app: join(r, 'opt/sekisho'),
    previous: join(r, 'opt/sekisho.previous'),
    releases: join(r, 'opt/sekisho-releases'),
  };
}

/** Written into each release folder by `sekisho upgrade`: what it is and where it came from. */
export const RELEASE_INFO = 'sekisho-release.json';
export const ReleaseInfo = z.object({
  version: z.string(),
  schemaVersion: z.int().nullable(),
  artefact: z.string().nullable(),
  artefactSha256: z.string().nullable(),
  installedAt: z.string(),
});
export type ReleaseInfo = z.infer<typeof ReleaseInfo>;

export interface Installed {
  /** The release folder (the link's target, resolved). */
  dir: string;
  version: string;
  /** The journal schema its code writes, when recorded (RELEASE_INFO). */
  schemaVersion: number | null;
}

/** The installed release a link (or folder) names, or undefined if there is none. */
export function readInstalled(path: string): Installed | undefined {
  if (!existsSync(path)) return undefined;
  const dir = realpathSync(path);
  let version: string;
  try {
    version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch (err) {
    throw new UpgradeError(
      'failed',
      `${path}: cannot read the installed version (${(err as Error).message})`,
    );
  }
  let schemaVersion: number | null = null;
  try {
    schemaVersion = ReleaseInfo.parse(
      JSON.parse(readFileSync(join(dir, RELEASE_INFO), 'utf8')),
    ).schemaVersion;
  } catch {
    // installed by scripts/install.sh: not recorded
  }
  return { dir, version, schemaVersion };
}

export function writeReleaseInfo(dir: string, info: ReleaseInfo): void {
  writeFileSync(join(dir, RELEASE_INFO), `${JSON.stringify(info, null, 1)}\n`, { mode: 0o644 });
}

/** Points `link` at `target` in one rename. */
export function switchLink(link: string, target: string): void {
  const rel = relative(dirname(link), target);
  const value = rel.startsWith('..') ? target : rel;
  const tmp = `${link}.switch-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(value, tmp);
  renameSync(tmp, link);
  fsyncDir(dirname(link));
}

/**
 * Makes `app` a link: a folder left by an older install.sh is moved into the releases folder
 * (named after its version) and linked back. Returns the release folder.
 */
export function adoptFolder(l: Layout, stamp: string): string {
  // An older install.sh kept the version before as a folder, replaced at each update: so here.
  if (existsSync(l.previous) && !lstatSync(l.previous).isSymbolicLink())
    rmSync(l.previous, { recursive: true, force: true });
  const st = lstatSync(l.app);
  if (st.isSymbolicLink()) return realpathSync(l.app);
  const installed = readInstalled(l.app)!;
  const target = join(l.releases, `${installed.version}-${stamp}-installed`);
  renameSync(l.app, target);
  switchLink(l.app, target);
  return target;
}

/** Removes release folders that neither link names (an upgrade keeps two versions). */
export function pruneReleases(l: Layout): string[] {
  if (!existsSync(l.releases)) return [];
  const keep = new Set([l.app, l.previous].filter((p) => existsSync(p)).map((p) => realpathSync(p)));
  const removed: string[] = [];
  for (const name of readdirSync(l.releases)) {
    const dir = join(l.releases, name);
    if (keep.has(realpathSync(dir))) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** Compares two versions (1.2.3, 1.2.3-rc.1): negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.split(/[-+]/, 2) as [string, string | undefined];
    return {
      nums: core.split('.').map((n) => Number.parseInt(n, 10) || 0),
      pre: v.includes('-') ? (pre ?? '') : '',
    };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === '') return 1; // a release is newer than its candidates
  if (y.pre === '') return -1;
  return x.pre < y.pre ? -1 : 1;
}
