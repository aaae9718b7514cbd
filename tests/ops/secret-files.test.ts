/**
 * The secret-file rule (controller/secret-files.ts) on real files of each mode, owner and group.
 * The tests run as root, so a file can be given to a made-up user and group; the reader is the
 * service as the install guide makes it (user sekisho, primary group sekisho), here uid 4243 and
 * gid 4242, and "another group" (e.g. gpio, with other members) is gid 5555.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  inspectSecretFile,
  readSecretFile,
  type SecretFileAccess,
  secretFileMessage,
} from '../../controller/secret-files.js';
import { tempDir } from '../helpers/util.js';

const SERVICE = { uid: 4243, gid: 4242 };
const OTHER_USER = 6666;
const OTHER_GROUP = 5555;

function secret(mode: number, uid: number, gid: number): string {
  const file = join(tempDir('sekisho-secret-'), 'mqtt-password');
  writeFileSync(file, 'the-password\n');
  chownSync(file, uid, gid);
  chmodSync(file, mode);
  return file;
}

/** The problem's kind, or 'ok' with the content read. */
function judge(file: string, access: SecretFileAccess, reader = SERVICE): string {
  try {
    expect(readSecretFile(file, { access, reader })).toBe('the-password\n');
    return 'ok';
  } catch (err) {
    const r = inspectSecretFile(file, { access, reader });
    if (!('problem' in r)) throw new Error(`read refused but inspect accepted: ${String(err)}`);
    expect((err as Error).message).toBe(secretFileMessage(r.problem, file, undefined, access));
    return r.problem.kind;
  }
}

describe('secret files: group access (files an administrator provides)', () => {
  it.each([
    // [mode, owner, group, verdict]
    [0o640, 0, SERVICE.gid, 'ok'], // docs/install.md: root:sekisho 0640
    [0o440, 0, SERVICE.gid, 'ok'],
    [0o600, 0, 0, 'ok'],
    [0o600, 0, OTHER_GROUP, 'ok'], // the group has no permission: which group it is does not matter
    [0o600, SERVICE.uid, SERVICE.gid, 'ok'],
    [0o640, SERVICE.uid, SERVICE.gid, 'ok'],
    [0o644, 0, SERVICE.gid, 'open_to_others'],
    [0o604, 0, SERVICE.gid, 'open_to_others'],
    [0o642, 0, SERVICE.gid, 'open_to_others'],
    [0o641, 0, SERVICE.gid, 'open_to_others'],
    [0o660, 0, SERVICE.gid, 'group_writable'],
    [0o650, 0, SERVICE.gid, 'group_writable'],
    [0o640, 0, OTHER_GROUP, 'foreign_group'],
    [0o600, OTHER_USER, SERVICE.gid, 'foreign_owner'],
    [0o640, OTHER_USER, SERVICE.gid, 'foreign_owner'],
  ])('mode %s owner %s group %s: %s', (mode, uid, gid, verdict) => {
    expect(judge(secret(mode, uid, gid), 'group')).toBe(verdict);
  });

  it('says what is wrong and what to do, and never the content', () => {
    const cases: [string, RegExp][] = [
      [secret(0o644, 0, SERVICE.gid), /is readable by others \(mode 0644\); chmod 640 it$/],
      [secret(0o602, 0, SERVICE.gid), /is writable by others \(mode 0602\); chmod 640 it$/],
      [secret(0o660, 0, SERVICE.gid), /is writable by its group \(mode 0660\); chmod 640 it$/],
      [
        secret(0o640, 0, OTHER_GROUP),
        new RegExp(
          `is readable by group (\\S+ \\()?gid ${OTHER_GROUP}\\)?, not by the group Sekisho runs as, (\\S+ \\()?gid ${SERVICE.gid}\\)?; chgrp it to that group, or chmod 600 it$`,
        ),
      ],
      [
        secret(0o600, OTHER_USER, SERVICE.gid),
        new RegExp(
          `belongs to (\\S+ \\()?uid ${OTHER_USER}\\)?, who could change it; it must belong to root or to the user Sekisho runs as, (\\S+ \\()?uid ${SERVICE.uid}\\)?: chown root it$`,
        ),
      ],
    ];
    for (const [file, message] of cases) {
      let err: unknown;
      try {
        readSecretFile(file, { access: 'group', reader: SERVICE });
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).not.toContain('the-password');
    }
  });

  it('refuses what is not a regular file without opening it (a FIFO would block), and links under noFollow', () => {
    const dir = tempDir('sekisho-secret-');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '0600', fifo]);
    expect(judge(fifo, 'group')).toBe('not_a_file');
    const folder = join(dir, 'folder');
    mkdirSync(folder, { mode: 0o700 });
    expect(judge(folder, 'group')).toBe('not_a_file');
    const target = secret(0o640, 0, SERVICE.gid);
    const link = join(dir, 'link');
    symlinkSync(target, link);
    expect(judge(link, 'group')).toBe('ok'); // followed by default: the target is judged
    expect(() => readSecretFile(link, { access: 'group', reader: SERVICE, noFollow: true })).toThrow(
      /is not a regular file/,
    );
    expect(judge(join(dir, 'missing'), 'group')).toBe('unreadable');
  });
});

describe('secret files: owner access (files Sekisho makes itself: device keys, API token)', () => {
  it.each([
    [0o600, SERVICE.uid, SERVICE.gid, 'ok'],
    [0o400, SERVICE.uid, SERVICE.gid, 'ok'],
    [0o600, 0, 0, 'ok'],
    [0o640, SERVICE.uid, SERVICE.gid, 'open_to_others'],
    [0o610, SERVICE.uid, SERVICE.gid, 'open_to_others'],
    [0o604, SERVICE.uid, SERVICE.gid, 'open_to_others'],
    [0o600, OTHER_USER, SERVICE.gid, 'foreign_owner'],
  ])('mode %s owner %s group %s: %s', (mode, uid, gid, verdict) => {
    expect(judge(secret(mode, uid, gid), 'owner')).toBe(verdict);
  });

  it('words a group permission as such', () => {
    const file = secret(0o640, SERVICE.uid, SERVICE.gid);
    expect(() => readSecretFile(file, { reader: SERVICE })).toThrow(
      /is readable by its group \(mode 0640\); chmod 600 it$/,
    );
  });

  it('judges for this process when no reader is given (root here: owner root, group root)', () => {
    expect(judge(secret(0o640, 0, 0), 'group', { uid: 0, gid: 0 })).toBe('ok');
    expect(readSecretFile(secret(0o640, 0, 0), { access: 'group' })).toBe('the-password\n');
    expect(() => readSecretFile(secret(0o640, 0, OTHER_GROUP), { access: 'group' })).toThrow(/gid 5555/);
    expect(() => readSecretFile(secret(0o600, OTHER_USER, 0))).toThrow(/uid 6666/);
  });
});
