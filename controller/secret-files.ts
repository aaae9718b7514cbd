/**
 * Files that hold a secret: the device keys, the API token, the MQTT password and client key, backup
 * and archive bundles. One place for the rule they are read under and for the way they are created
 * (a new file of an exact mode, written in full and fsynced before it appears under its name, never
 * overwriting).
 *
 * The rule, checked on the open file (docs/config.md, "Secret files"):
 * - a regular file (not a folder, device or FIFO; with `noFollow`, not a symbolic link);
 * - others have no permission at all;
 * - its owner is root or the user Sekisho runs as: anyone else could change it, or its mode;
 * - `access: 'owner'` (the default, for the files Sekisho makes itself): the group has no permission;
 *   `access: 'group'` (files an administrator provides, e.g. the install guide's
 *   `root:sekisho 0640` MQTT password): the group may read it, and only when it is the group
 *   Sekisho runs as (its primary group; a supplementary one such as `gpio` has other members).
 *
 * readSecretFile() says what is wrong in plain words, or lets the caller word it (a device key
 * that others may read stops the controller, with advice; a loose MQTT password only keeps the
 * broker away).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';

/** True when group or others have any permission on a file or folder of this mode. */
export function openToOthers(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

/** The permission bits in octal: "644", or "0644" with `padded`. */
export function modeText(mode: number, padded = false): string {
  const text = (mode & 0o777).toString(8);
  return padded ? text.padStart(4, '0') : text;
}

/** Who reads a secret file: a user and their primary group. */
export interface SecretFileReader {
  uid: number;
  gid: number;
}

/** The effective user and group of this process (on a system without them: root). */
export function processReader(): SecretFileReader {
  return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
}

/** Who besides its owner may read a secret file. */
export type SecretFileAccess = 'owner' | 'group';

/** What makes a secret file unusable. */
export type SecretFileProblem =
  /** It cannot be looked at or read: `code` is the errno code (ENOENT, EACCES, …). */
  | { kind: 'unreadable'; code: string }
  /** A folder, a device, a FIFO, or (when links are not followed) a symbolic link. */
  | { kind: 'not_a_file' }
  /**
   * Others have some permission on it, or (`access: 'owner'`) its group has; `mode` is the
   * file's full st_mode.
   */
  | { kind: 'open_to_others'; mode: number }
  /** `access: 'group'`: its group may write or execute it. */
  | { kind: 'group_writable'; mode: number }
  /** `access: 'group'`: its group may read it, and that group is not the reader's. */
  | { kind: 'foreign_group'; mode: number; gid: number; readerGid: number }
  /** Its owner is neither root nor the reader: they could change it, or open it up. */
  | { kind: 'foreign_owner'; uid: number; readerUid: number };

/**
 * The rule above on a file's owner, group and mode (from fstat). Pure: the reader is given. The
 * worst problem first: others (it may have leaked already), then the owner, then the group.
 */
export function secretFileRuleProblem(
  st: { mode: number; uid: number; gid: number },
  access: SecretFileAccess,
  reader: SecretFileReader,
): SecretFileProblem | null {
  if ((st.mode & 0o007) !== 0 || (access === 'owner' && (st.mode & 0o070) !== 0))
    return { kind: 'open_to_others', mode: st.mode };
  if (st.uid !== 0 && st.uid !== reader.uid)
    return { kind: 'foreign_owner', uid: st.uid, readerUid: reader.uid };
  if (access === 'group') {
    if ((st.mode & 0o030) !== 0) return { kind: 'group_writable', mode: st.mode };
    if ((st.mode & 0o040) !== 0 && st.gid !== reader.gid)
      return { kind: 'foreign_group', mode: st.mode, gid: st.gid, readerGid: reader.gid };
  }
  return null;
}

export interface ReadSecretFileOptions {
  /** Refuse a symbolic link as `not_a_file` instead of following it. Default false. */
  noFollow?: boolean;
  /** Default `owner`: nobody but the owner may have any permission. */
  access?: SecretFileAccess;
  /** Who reads it. Default: this process (tests give another). */
  reader?: SecretFileReader;
  /**
   * The error thrown for a problem (it must not include the file's content). Default: an Error
   * with secretFileMessage().
   */
  error?: (problem: SecretFileProblem, path: string) => Error;
}

/** The name of a user or group id from /etc/passwd or /etc/group, if there is one. */
function idName(file: '/etc/passwd' | '/etc/group', id: number): string | undefined {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && f[2] === String(id)) return f[0];
    }
  } catch {
    // no such file (not Linux): ids only
  }
  return undefined;
}

/** "sekisho (uid 998)", or "uid 998" when it has no name. */
export function userText(uid: number): string {
  const name = idName('/etc/passwd', uid);
  return name === undefined ? `uid ${uid}` : `${name} (uid ${uid})`;
}

/** "sekisho (gid 998)", or "gid 998" when it has no name. */
export function groupText(gid: number): string {
  const name = idName('/etc/group', gid);
  return name === undefined ? `gid ${gid}` : `${name} (gid ${gid})`;
}

/**
 * The plain wording of a problem, naming the file (after `what`, the setting it comes from, if
 * given) and never its content, with what to do: "mqtt.passwordFile /etc/x is readable by others
 * (mode 0644); chmod 600 it".
 */
export function secretFileMessage(
  problem: SecretFileProblem,
  path: string,
  what?: string,
  access: SecretFileAccess = 'owner',
): string {
  const name = what === undefined ? path : `${what} ${path}`;
  const fix = access === 'group' ? '640' : '600';
  switch (problem.kind) {
    case 'unreadable':
      return `cannot read ${name}: ${problem.code}`;
    case 'not_a_file':
      return `${name} is not a regular file`;
    case 'open_to_others': {
      const others = (problem.mode & 0o007) !== 0 ? 'others' : 'its group';
      const how = (problem.mode & (others === 'others' ? 0o004 : 0o040)) !== 0 ? 'readable' : 'writable';
      return `${name} is ${how} by ${others} (mode ${modeText(problem.mode, true)}); chmod ${fix} it`;
    }
    case 'group_writable':
      return `${name} is writable by its group (mode ${modeText(problem.mode, true)}); chmod ${fix} it`;
    case 'foreign_group':
      return (
        `${name} is readable by group ${groupText(problem.gid)}, not by the group Sekisho runs as, ` +
        `${groupText(problem.readerGid)}; chgrp it to that group, or chmod 600 it`
      );
    case 'foreign_owner':
      return (
        `${name} belongs to ${userText(problem.uid)}, who could change it; it must belong to root ` +
        `or to the user Sekisho runs as, ${userText(problem.readerUid)}: chown root it`
      );
  }
}

const errnoCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error';

/**
 * Opens a secret file and checks it under the rule: its descriptor and stat, or the problem. The
 * checks are made on the opened file (fstat), so the file read is the file judged.
 */
function openSecretFile(
  path: string,
  options: Pick<ReadSecretFileOptions, 'noFollow' | 'access' | 'reader'> = {},
): { problem: SecretFileProblem } | { stat: Stats; fd: number } {
  let pre: Stats;
  try {
    pre = options.noFollow ? lstatSync(path) : statSync(path);
  } catch (err) {
    return { problem: { kind: 'unreadable', code: errnoCode(err) } };
  }
  // A FIFO or device is refused before it is opened: opening one may block or act on hardware.
  if (!pre.isFile()) return { problem: { kind: 'not_a_file' } };
  const access = options.access ?? 'owner';
  const reader = options.reader ?? processReader();
  // Judged before opening too, so that a file the kernel would refuse gets the rule's advice, not EACCES.
  const early = secretFileRuleProblem(pre, access, reader);
  if (early) return { problem: early };
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0),
    );
  } catch (err) {
    const code = errnoCode(err);
    return { problem: code === 'ELOOP' ? { kind: 'not_a_file' } : { kind: 'unreadable', code } };
  }
  const st = fstatSync(fd);
  const problem = !st.isFile()
    ? ({ kind: 'not_a_file' } as const)
    : secretFileRuleProblem(st, access, reader);
  if (problem) {
    closeSync(fd);
    return { problem };
  }
  return { stat: st, fd };
}

/** Checks a secret file under the rule without reading it (doctor): its stat, or the problem. */
export function inspectSecretFile(
  path: string,
  options: Pick<ReadSecretFileOptions, 'noFollow' | 'access' | 'reader'> = {},
): { problem: SecretFileProblem } | { stat: Stats } {
  const r = openSecretFile(path, options);
  if ('problem' in r) return r;
  closeSync(r.fd);
  return { stat: r.stat };
}

/**
 * Reads a secret file as UTF-8 after checking it under the rule (above); throws the option's error
 * (or a plain Error with secretFileMessage()) otherwise.
 */
export function readSecretFile(path: string, options: ReadSecretFileOptions = {}): string {
  const error =
    options.error ?? ((problem, at) => new Error(secretFileMessage(problem, at, undefined, options.access)));
  const r = openSecretFile(path, options);
  if ('problem' in r) throw error(r.problem, path);
  try {
    return readFileSync(r.fd, 'utf8');
  } catch (err) {
    throw error({ kind: 'unreadable', code: errnoCode(err) }, path);
  } finally {
    closeSync(r.fd);
  }
}

/**
 * Creates `path` with exactly `mode` (default 0600) and the given content, or what `write` writes
 * to the open descriptor. The content goes to a temporary file beside it, is fsynced, and is then
 * hard-linked into place, so the file never exists half-written and is never overwritten: if
 * `path` exists already, this throws EEXIST and leaves it alone. The folder is fsynced at the end.
 */
export function createSecretFile(
  path: string,
  content: string | Buffer | ((fd: number) => void),
  mode = 0o600,
): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    try {
      fchmodSync(fd, mode); // the process umask may have taken bits away
      if (typeof content === 'function') content(fd);
      else writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
  } finally {
    unlinkSync(tmp);
  }
  fsyncDir(dirname(resolve(path)));
}

/** Makes a folder's entries (a file created, renamed or removed in it) durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
