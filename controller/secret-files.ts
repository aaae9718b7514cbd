/**
 * Files only the service user may read: the device keys, the API token, the MQTT password and
 * client key, backup and archive bundles. One place for the checks made when reading them (a
 * regular file, no permission for group or others) and for the way they are created (a new file of
 * an exact mode, written in full and fsynced before it appears under its name, never overwriting).
 *
 * readSecretFile() says what is wrong in plain words, or lets the caller word it (a device key
 * that others may read stops the controller, with advice; a loose MQTT password only keeps the
 * broker away).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
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

/** What makes a secret file unusable. */
export type SecretFileProblem =
  /** It cannot be looked at or read: `code` is the errno code (ENOENT, EACCES, …). */
  | { kind: 'unreadable'; code: string }
  /** A folder, a device, or (when links are not followed) a symbolic link. */
  | { kind: 'not_a_file' }
  /** Group or others have some permission on it; `mode` is the file's full st_mode. */
  | { kind: 'open_to_others'; mode: number };

export interface ReadSecretFileOptions {
  /** Refuse a symbolic link as `not_a_file` instead of following it. Default false. */
  noFollow?: boolean;
  /**
   * The error thrown for a problem (it must not include the file's content). Default: an Error
   * with secretFileMessage().
   */
  error?: (problem: SecretFileProblem, path: string) => Error;
}

/**
 * The plain wording of a problem, naming the file (after `what`, the setting it comes from, if
 * given) and never its content: "mqtt.passwordFile /etc/x is readable by others; chmod 600 it".
 */
export function secretFileMessage(problem: SecretFileProblem, path: string, what?: string): string {
  const name = what === undefined ? path : `${what} ${path}`;
  switch (problem.kind) {
    case 'unreadable':
      return `cannot read ${name}: ${problem.code}`;
    case 'not_a_file':
      return `${name} is not a regular file`;
    case 'open_to_others':
      return `${name} is readable by others; chmod 600 it`;
  }
}

const errnoCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error';

/**
 * Reads a secret file as UTF-8 after checking that it is a regular file that group and others
 * have no permission on; throws the option's error (or a plain Error) otherwise.
 */
export function readSecretFile(path: string, options: ReadSecretFileOptions = {}): string {
  const error = options.error ?? ((problem, at) => new Error(secretFileMessage(problem, at)));
  let st: ReturnType<typeof statSync>;
  try {
    st = options.noFollow ? lstatSync(path) : statSync(path);
  } catch (err) {
    throw error({ kind: 'unreadable', code: errnoCode(err) }, path);
  }
  if (!st.isFile()) throw error({ kind: 'not_a_file' }, path);
  if (openToOthers(st.mode)) throw error({ kind: 'open_to_others', mode: st.mode }, path);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw error({ kind: 'unreadable', code: errnoCode(err) }, path);
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
