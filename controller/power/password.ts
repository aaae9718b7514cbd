/**
 * The upsd password file (`power.nut.passwordFile`): under the secret-file rule with group access,
 * like the MQTT password (the install guide's `root:sekisho 0640`). Its content is never logged,
 * put in a message or journaled; the first line is the password.
 */
import { readSecretFile, secretFileMessage } from '../secret-files.js';
import { NutConnection } from './nut.js';

export function readNutPassword(file: string): string {
  const text = readSecretFile(file, {
    access: 'group',
    error: (problem) => new Error(secretFileMessage(problem, file, 'power.nut.passwordFile', 'group')),
  });
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password.length === 0) throw new Error(`power.nut.passwordFile ${file} is empty`);
  // NUT's protocol is line-based: a control character would end or corrupt the command.
  if ([...password].some((c) => c < ' ' || c === '\x7f'))
    throw new Error(`power.nut.passwordFile ${file}: the password holds a control character`);
  return password;
}

/** What `power.nut` says about reaching upsd (a subset of NutConfig, so this module needs no config). */
export interface NutSettings {
  host: string;
  /** The UPS: read, and logged in to when a user is configured. */
  ups: string;
  port: number;
  timeoutS: number;
  username?: string | undefined;
  passwordFile?: string | undefined;
}

/** A connection to upsd as configured, its password read from its file (throws on a bad file). */
export function nutConnection(nut: NutSettings): NutConnection {
  const password = nut.passwordFile !== undefined ? readNutPassword(nut.passwordFile) : undefined;
  return new NutConnection({
    host: nut.host,
    port: nut.port,
    timeoutMs: nut.timeoutS * 1000,
    ...(nut.username !== undefined ? { username: nut.username } : {}),
    ...(password !== undefined ? { password, ups: nut.ups } : {}),
  });
}
