/**
 * The upsd password file (`power.nut.passwordFile`): under the secret-file rule with group access,
 * like the MQTT password (the install guide's `root:sekisho 0640`). Its content is never logged,
 * put in a message or journaled; the first line is the password.
 */
import { readSecretFile, secretFileMessage } from '../secret-files.js';

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
