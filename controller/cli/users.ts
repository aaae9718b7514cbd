/** `sekisho user …`: dashboard and CLI accounts from the command line (controller/accounts/). */
import {
  checkPasswordStrength,
  feedbackText,
  generatePassword,
  MIN_PASSWORD_LENGTH,
  type PasswordReason,
} from '../accounts/passwords.js';
import { Role } from '../accounts/roles.js';
import { migrateAccounts } from '../accounts/schema.js';
import { SessionStore } from '../accounts/sessions.js';
import { UserStore } from '../accounts/users.js';
import { formatLocal } from '../time.js';
import { optTime, parseSubcommand, UsageError, withStorage } from './common.js';

/** Reads a line from a terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const { stdin, stderr } = process;
  stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            stderr.write('\n');
            return resolve(value);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            stderr.write('\n');
            return reject(new Error('cancelled'));
          }
          if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
          else if (ch >= ' ') value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

const REFUSALS: Record<PasswordReason, string> = {
  password_too_short: `the password needs at least ${MIN_PASSWORD_LENGTH} characters`,
  password_too_long: 'the password is too long',
  password_contains_name: 'the password must not contain the user name, the display name or "sekisho"',
  password_too_weak: 'the password is too easy to guess',
};

/**
 * The new password: generated, typed twice at a terminal, or the first line of stdin. Refused with
 * the strength estimator's reasons, as the dashboard refuses it.
 */
async function newPassword(
  username: string,
  displayName: string,
  generate: boolean,
): Promise<{ password: string; shown: boolean }> {
  if (generate) return { password: generatePassword(), shown: true };
  let password: string;
  if (process.stdin.isTTY) {
    password = await promptHidden(
      `New password for ${username} (at least ${MIN_PASSWORD_LENGTH} characters): `,
    );
    const again = await promptHidden('Again: ');
    if (again !== password) throw new UsageError('the two passwords differ');
  } else password = await readStdinLine();
  const v = checkPasswordStrength(password, [username, displayName]);
  if (!v.ok && v.reason) {
    const why = [v.warning, ...v.suggestions].flatMap((k) => {
      const text = k ? feedbackText(k) : null;
      return text ? [text] : [];
    });
    throw new UsageError(why.length ? `${REFUSALS[v.reason]}: ${why.join(' ')}` : REFUSALS[v.reason]);
  }
  return { password, shown: false };
}

export async function userCommand(args: string[]): Promise<number> {
  const { sub, values, positionals } = parseSubcommand(args, {
    username: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string' },
    'valid-until': { type: 'string' },
    generate: { type: 'boolean' },
  });
  return await withStorage(values, async ({ tz, actor, s }) => {
    migrateAccounts(s.db);
    const users = new UserStore(s.db, s.journal);
    const find = () => {
      const name = positionals[0];
      if (!name) throw new UsageError(`usage: sekisho user ${sub} USERNAME`);
      const u = users.byUsername(name);
      if (!u) throw new UsageError(`no account "${name}"`);
      return u;
    };
    switch (sub) {
      case 'add': {
        const username = values.username ?? positionals[0];
        if (!username) throw new UsageError('missing --username');
        const role = Role.safeParse(values.role);
        if (!role.success) throw new UsageError('--role: expected admin, manager, operator or auditor');
        const validUntil = optTime(values['valid-until'], tz, 'valid-until') ?? null;
        users.checkNew({ username, displayName: values.name ?? username, role: role.data });
        const displayName = values.name ?? username;
        const { password, shown } = await newPassword(username, displayName, values.generate ?? false);
        const u = await users.create(
          { username, displayName: values.name ?? username, role: role.data, password, validUntil },
          actor,
          Date.now(),
          { via: 'cli' },
        );
        if (values.json)
          process.stdout.write(`${JSON.stringify({ id: u.id, username: u.username, role: u.role })}\n`);
        else process.stdout.write(`added account ${u.username} (${u.role})\n`);
        if (shown) process.stdout.write(`password (shown only now): ${password}\n`);
        return 0;
      }
      case 'list': {
        const list = users.list();
        if (values.json) {
          process.stdout.write(
            `${JSON.stringify(list.map((u) => ({ id: u.id, username: u.username, displayName: u.displayName, role: u.role, active: u.active, validUntil: u.validUntil })))}\n`,
          );
          return 0;
        }
        for (const u of list) {
          const until = u.validUntil === null ? '' : ` until ${formatLocal(u.validUntil, tz)}`;
          const locked = u.lockedUntil !== null && u.lockedUntil > Date.now() ? ' LOCKED' : '';
          process.stdout.write(
            `${u.username.padEnd(20)} ${u.role.padEnd(9)} ${u.active ? 'active  ' : 'disabled'}${locked} ${u.displayName}${until}\n`,
          );
        }
        return 0;
      }
      case 'passwd': {
        const u = find();
        const { password, shown } = await newPassword(u.username, u.displayName, values.generate ?? false);
        await users.setPassword(u.id, password, actor, Date.now(), { mustChange: true });
        new SessionStore(s.db, { idleMs: 0, maxAgeMs: 0 }).destroyUser(u.id);
        process.stdout.write(`password of ${u.username} set; it must be changed at the next login\n`);
        if (shown) process.stdout.write(`password (shown only now): ${password}\n`);
        return 0;
      }
      case 'unlock': {
        const u = find();
        users.unlock(u.id, actor, Date.now());
        process.stdout.write(`${u.username} unlocked\n`);
        return 0;
      }
      case 'disable': {
        const u = find();
        users.setActive(u.id, false, actor, Date.now());
        new SessionStore(s.db, { idleMs: 0, maxAgeMs: 0 }).destroyUser(u.id);
        process.stdout.write(`${u.username} disabled; its sessions ended\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown user command "${sub ?? ''}" (add, list, passwd, unlock, disable)`);
    }
  });
}
