/**
 * The offline release artefact: one file holding an installed tree of Sekisho (the sources, the
 * built dist/, the package files and the production node_modules for one architecture), with a
 * manifest signed by the release key.
 *
 *   SEKISHO-RELEASE 1\n
 *   <manifest: one line of JSON>\n         version, schema version, platform, arch, Node ABI,
 *                                          every file with its size, mode and SHA-256
 *   <signature: one line of JSON>\n        {"alg":"ed25519","keyId":…,"signature":<base64>} over
 *                                          the manifest line's exact bytes
 *   <the files' bytes, in manifest order>
 *
 * Why the signature covers the manifest line as written (not a re-serialisation): no canonical JSON
 * is needed, and what was signed is exactly what is parsed. The manifest's checksums then bind every
 * byte that follows. Everything is checked before anything is unpacked, and each file's checksum
 * again as it is written (the stick may change between the two reads).
 */
import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  writeSync,
} from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { z } from 'zod';
import {
  EXIT_FAILED,
  EXIT_UPGRADE_DAMAGED,
  EXIT_UPGRADE_PLATFORM,
  EXIT_UPGRADE_SIGNATURE,
  EXIT_UPGRADE_VERSION,
  EXIT_USAGE,
} from '../cli/exit-codes.js';
import { publicKeyId } from '../journal/index.js';

export const RELEASE_MAGIC = 'SEKISHO-RELEASE 1\n';
export const RELEASE_SUFFIX = '.sekisho-release';
/** The manifest of a full tree (about 5,000 files) is well under this. */
const MAX_HEADER = 8 * 1024 * 1024;
const CHUNK = 1 << 20;

/** How an upgrade was refused or failed; `exit` is the CLI's exit status (docs/operations.md). */
export type UpgradeFailure =
  | 'usage' // 2: bad usage or config (no release key pinned)
  | 'damaged' // 3: not an artefact, truncated, a checksum differs, a bad manifest
  | 'signature' // 4: unsigned, or not signed by the pinned release key
  | 'platform' // 5: another platform, architecture or Node.js ABI
  | 'version' // 6: a downgrade, the same version, or a schema older than the journal's
  | 'failed'; // 1: it began and failed (what was changed is put back)

export const EXIT_CODES: Record<UpgradeFailure, number> = {
  failed: EXIT_FAILED,
  usage: EXIT_USAGE,
  damaged: EXIT_UPGRADE_DAMAGED,
  signature: EXIT_UPGRADE_SIGNATURE,
  platform: EXIT_UPGRADE_PLATFORM,
  version: EXIT_UPGRADE_VERSION,
};

export class UpgradeError extends Error {
  constructor(
    readonly kind: UpgradeFailure,
    message: string,
  ) {
    super(message);
  }
  get exit(): number {
    return EXIT_CODES[this.kind];
  }
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const relPath = z
  .string()
  .min(1)
  .refine(
    (p) => !p.startsWith('/') && !p.split('/').some((s) => s === '' || s === '.' || s === '..'),
    'must be a relative path without "." or ".." parts',
  );

export const ReleaseFile = z.strictObject({
  path: relPath,
  size: z.int().min(0),
  mode: z.union([z.literal(0o644), z.literal(0o755)]),
  sha256: sha256Hex,
});
export type ReleaseFile = z.infer<typeof ReleaseFile>;

export const ReleaseManifest = z.strictObject({
  format: z.literal(1),
  name: z.literal('sekisho'),
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'must be a version like 1.2.3'),
  /** The journal schema version the release's code writes. */
  schemaVersion: z.int().min(1),
  platform: z.string(),
  arch: z.string(),
  /** process.versions.modules of the Node.js the native modules were built for. */
  nodeAbi: z.string(),
  /** The Node.js that built it (for the reader; the ABI is what must match). */
  nodeVersion: z.string(),
  createdAt: z.string(),
  files: z.array(ReleaseFile).min(1),
});
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;

const SignatureLine = z.strictObject({
  alg: z.literal('ed25519'),
  keyId: z.string(),
  signature: z.string().min(1),
});

/** What the machine that installs a release runs. */
export interface Platform {
  platform: string;
  arch: string;
  nodeAbi: string;
}

export function thisPlatform(): Platform {
  return { platform: process.platform, arch: process.arch, nodeAbi: process.versions.modules };
}

export interface ReleaseHeader {
  manifest: ReleaseManifest;
  keyId: string;
  /** Byte offset of each file, in manifest order. */
  offsets: number[];
  /** SHA-256 of the whole artefact file. */
  sha256: string;
  bytes: number;
}

// ------------------------------------------------------------------------------------------------
// Packing (the maintainer's side: scripts/release.sh → `sekisho release`)

/** ELF e_machine of each architecture Node.js names, for the native modules' check. */
const ELF_MACHINE: Record<string, number> = { arm64: 183, x64: 62, arm: 40, ia32: 3, riscv64: 243 };

function walk(root: string, rel: string, out: string[]): void {
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    // npm's command links are not needed at run time, and a link could point outside the tree.
    if (e.isDirectory() && e.name === '.bin' && rel.endsWith('node_modules')) continue;
    if (e.isSymbolicLink())
      throw new UpgradeError('usage', `${r} is a symbolic link: a release holds plain files only`);
    if (e.isDirectory()) walk(root, r, out);
    else if (e.isFile()) out.push(r);
    else throw new UpgradeError('usage', `${r} is not a plain file`);
  }
}

/** The ELF machine number of a native module, or undefined if it is not an ELF file. */
function elfMachine(fd: number): number | undefined {
  const head = Buffer.alloc(20);
  if (readSync(fd, head, 0, 20, 0) < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
}

export interface PackOptions {
  /** The tree to pack: what /opt/sekisho will hold (release.sh prepares it). */
  tree: string;
  out: string;
  signingKey: KeyObject;
  publicKey: KeyObject;
  version: string;
  schemaVersion: number;
  platform?: Platform;
  nodeVersion?: string;
  now?: () => number;
}

/**
 * Writes a signed artefact of `tree`. Refuses a native module (`*.node`) built for another
 * architecture than the one the manifest names: the release names what its natives are.
 */
export function packRelease(o: PackOptions): { file: string; manifest: ReleaseManifest; sha256: string } {
  const platform = o.platform ?? thisPlatform();
  const paths: string[] = [];
  walk(o.tree, '', paths);
  paths.sort();
  const files: ReleaseFile[] = [];
  for (const p of paths) {
    const full = join(o.tree, p);
    const fd = openSync(full, 'r');
    try {
      // prebuilds/ folders hold one binary per platform by design (the loader picks its own).
      if (p.endsWith('.node') && !p.includes('/prebuilds/')) {
        const machine = elfMachine(fd);
        const want = ELF_MACHINE[platform.arch];
        if (machine !== undefined && want !== undefined && machine !== want)
          throw new UpgradeError(
            'platform',
            `${p} is a native module for ELF machine ${machine}, not ${platform.arch} (${want}): ` +
              'build the release on the target architecture',
          );
      }
      const hash = createHash('sha256');
      const buf = Buffer.allocUnsafe(CHUNK);
      let size = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, CHUNK, null);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        size += n;
      }
      const mode = (lstatSync(full).mode & 0o111) !== 0 ? 0o755 : 0o644;
      files.push({ path: p, size, mode, sha256: hash.digest('hex') });
    } finally {
      closeSync(fd);
    }
  }
  const manifest = ReleaseManifest.parse({
    format: 1,
    name: 'sekisho',
    version: o.version,
    schemaVersion: o.schemaVersion,
    ...platform,
    nodeVersion: o.nodeVersion ?? process.version,
    createdAt: new Date((o.now ?? Date.now)()).toISOString(),
    files,
  });
  const manifestLine = Buffer.from(JSON.stringify(manifest), 'utf8');
  const signature = sign(null, manifestLine, o.signingKey).toString('base64');
  const sigLine = JSON.stringify({ alg: 'ed25519', keyId: publicKeyId(o.publicKey), signature });
  const hash = createHash('sha256');
  const out = openSync(o.out, 'wx', 0o644);
  try {
    const put = (b: Buffer) => {
      writeSync(out, b);
      hash.update(b);
    };
    put(Buffer.from(RELEASE_MAGIC, 'latin1'));
    put(manifestLine);
    put(Buffer.from(`\n${sigLine}\n`, 'utf8'));
    const buf = Buffer.allocUnsafe(CHUNK);
    for (const f of files) {
      const fd = openSync(join(o.tree, f.path), 'r');
      try {
        let left = f.size;
        while (left > 0) {
          const n = readSync(fd, buf, 0, Math.min(CHUNK, left), null);
          if (n === 0) throw new UpgradeError('failed', `${f.path} shrank while it was packed`);
          put(buf.subarray(0, n));
          left -= n;
        }
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    closeSync(out);
  }
  return { file: o.out, manifest, sha256: hash.digest('hex') };
}

// ------------------------------------------------------------------------------------------------
// Verifying (the device's side: `sekisho upgrade`)

function lineAt(buf: Buffer, from: number, what: string, file: string): { text: Buffer; next: number } {
  const end = buf.indexOf(0x0a, from);
  if (end === -1) throw new UpgradeError('damaged', `${file}: the ${what} line is missing or too long`);
  return { text: buf.subarray(from, end), next: end + 1 };
}

/**
 * Reads the artefact and checks, in this order and before anything is written: that it is one,
 * its signature with the pinned release key, its manifest, its length, every file's SHA-256, and
 * that it is made for this platform. Returns its header; throws UpgradeError naming the problem.
 */
export function verifyRelease(
  file: string,
  releaseKey: KeyObject,
  here: Platform = thisPlatform(),
): ReleaseHeader {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new UpgradeError('usage', `cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, MAX_HEADER));
    readSync(fd, head, 0, head.length, 0);
    if (head.subarray(0, RELEASE_MAGIC.length).toString('latin1') !== RELEASE_MAGIC)
      throw new UpgradeError(
        'damaged',
        `${file} is not a Sekisho release artefact (it does not start with "SEKISHO-RELEASE 1")`,
      );
    const m = lineAt(head, RELEASE_MAGIC.length, 'manifest', file);
    const s = head.indexOf(0x0a, m.next);
    const sigText = s === -1 ? '' : head.subarray(m.next, s).toString('utf8');
    let sig: z.infer<typeof SignatureLine> | undefined;
    try {
      sig = SignatureLine.parse(JSON.parse(sigText));
    } catch {
      sig = undefined;
    }
    if (!sig)
      throw new UpgradeError(
        'signature',
        `${file} is not signed (no Ed25519 signature line after the manifest): refused, nothing was changed`,
      );
    const pinnedId = publicKeyId(releaseKey);
    const good = verify(null, m.text, releaseKey, Buffer.from(sig.signature, 'base64'));
    if (!good)
      throw new UpgradeError(
        'signature',
        sig.keyId === pinnedId
          ? `${file}: the signature does not verify with the pinned release key ${pinnedId}: the manifest was altered after signing; refused, nothing was changed`
          : `${file} is signed by key ${sig.keyId}, not by the pinned release key ${pinnedId}; refused, nothing was changed`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(m.text.toString('utf8'));
    } catch (err) {
      throw new UpgradeError('damaged', `${file}: the manifest is not JSON (${(err as Error).message})`);
    }
    const r = ReleaseManifest.safeParse(parsed);
    if (!r.success)
      throw new UpgradeError(
        'damaged',
        `${file}: the manifest is not valid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const manifest = r.data;
    const seen = new Set<string>();
    for (const f of manifest.files) {
      if (seen.has(f.path)) throw new UpgradeError('damaged', `${file}: ${f.path} is listed twice`);
      seen.add(f.path);
    }
    const offsets: number[] = [];
    let at = s + 1;
    for (const f of manifest.files) {
      offsets.push(at);
      at += f.size;
    }
    if (at !== size)
      throw new UpgradeError(
        'damaged',
        `${file} is ${size} bytes but its manifest accounts for ${at}: truncated or appended to`,
      );
    // Every byte: the whole file's digest (journaled) and each file's (against the manifest).
    const whole = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    whole.update(head.subarray(0, s + 1));
    const bad: string[] = [];
    manifest.files.forEach((f, i) => {
      const h = createHash('sha256');
      let left = f.size;
      let pos = offsets[i]!;
      while (left > 0) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK, left), pos);
        if (n === 0) throw new UpgradeError('damaged', `${file} ends early (truncated?)`);
        h.update(buf.subarray(0, n));
        whole.update(buf.subarray(0, n));
        left -= n;
        pos += n;
      }
      if (h.digest('hex') !== f.sha256) bad.push(f.path);
    });
    if (bad.length > 0)
      throw new UpgradeError(
        'damaged',
        `${file}: ${bad.length} file(s) differ from their signed SHA-256 (${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''}); refused, nothing was changed`,
      );
    const wrong: string[] = [];
    if (manifest.platform !== here.platform)
      wrong.push(`platform ${manifest.platform}, this machine ${here.platform}`);
    if (manifest.arch !== here.arch) wrong.push(`architecture ${manifest.arch}, this machine ${here.arch}`);
    if (manifest.nodeAbi !== here.nodeAbi)
      wrong.push(
        `Node.js ABI ${manifest.nodeAbi} (built with Node.js ${manifest.nodeVersion}), this Node.js ${process.version} has ABI ${here.nodeAbi}`,
      );
    if (wrong.length > 0)
      throw new UpgradeError(
        'platform',
        `${file} is made for another machine (${wrong.join('; ')}): its native modules would not load. Use the artefact for this machine, or build one on it (scripts/release.sh); nothing was changed`,
      );
    return { manifest, keyId: sig.keyId, offsets, sha256: whole.digest('hex'), bytes: size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the artefact's files under `dir` (which must not exist), checking each file's SHA-256
 * again as it is written. Folders 0755, files 0644 or 0755 as the manifest says.
 */
export function unpackRelease(file: string, header: ReleaseHeader, dir: string): void {
  mkdirSync(dir, { mode: 0o755 });
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  try {
    header.manifest.files.forEach((f, i) => {
      const target = join(dir, ...f.path.split('/'));
      if (!target.startsWith(dir + sep)) throw new UpgradeError('damaged', `${f.path} leaves the folder`);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      const out = openSync(target, 'wx', f.mode);
      const h = createHash('sha256');
      try {
        fchmodSync(out, f.mode); // whatever the umask
        let left = f.size;
        let pos = header.offsets[i]!;
        while (left > 0) {
          const n = readSync(fd, buf, 0, Math.min(CHUNK, left), pos);
          if (n === 0) throw new UpgradeError('damaged', `${file} ends early (truncated?)`);
          writeSync(out, buf, 0, n);
          h.update(buf.subarray(0, n));
          left -= n;
          pos += n;
        }
      } finally {
        closeSync(out);
      }
      if (h.digest('hex') !== f.sha256)
        throw new UpgradeError(
          'damaged',
          `${file} changed while it was unpacked (${f.path}); nothing was switched`,
        );
    });
  } finally {
    closeSync(fd);
  }
}
