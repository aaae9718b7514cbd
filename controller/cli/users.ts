/**
 * `sekisho user …`: dashboard accounts from the command line (controller/accounts/).
 *
 * No one person may make or take over an account alone (§4(3)): `user add` and `user passwd` set a
 * password only to bootstrap an installation that has fewer than two active administrators
 * (journaled as such): `user add` then makes administrators only.
 * Otherwise `user add` refuses and points to the dashboard's `account_create` request, and `user
 * passwd` files a `password_reset` request as the person running it; a different administrator
 * approves either, and the user activates the account with two halves (`user half` shows the
 * applicant's).
 *
 * A **monitor** (a wall screen: read-only Live and Alarms, bound to the screen's address) is the
 * exception: `user add --role monitor --address IP` makes one at any time. It opens nothing the
 * person at the device cannot already read (`sekisho log`), and only from that address; `user
 * monitor` changes the address or the name masking. Both are journaled with the CLI's actor.
 */

import {
  checkPasswordStrength,
  feedbackText,
  generatePassword,
  MIN_PASSWORD_LENGTH,
  type PasswordReason,
} from '../accounts/passwords.js';
import { personOf, samePerson } from '../accounts/person.js';
import { Role } from '../accounts/roles.js';
import { migrateAccounts } from '../accounts/schema.js';
import { SessionStore } from '../accounts/sessions.js';
import { BOOTSTRAP_ADMINS, MonitorAddress, UserStore } from '../accounts/users.js';
import { RequestStore } from '../approvals/requests.js';
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
  if (generate) return { password: generatePassword([username, displayName]), shown: true };
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

/** A command refused by the rules (not bad usage): exit 1 with the message. */
export class RefusedError extends Error {}

/**
 * `user passwd U --reason R` while an administrator is active: files a `password_reset` request as
 * the person who runs the CLI (a manager's rights, as every CLI request), which a different
 * administrator approves on the dashboard. The account's sessions end now.
 */
export function fileReset(
  requests: RequestStore,
  users: UserStore,
  actor: string,
  username: string,
  reason: string,
  at: number,
): { requestId: number } {
  const person = personOf(actor);
  if (person === null)
    throw new RefusedError(
      `${actor} stands for no person: a password reset is filed by a person (§4(3)); run the command through sudo as yourself, or file it on the dashboard`,
    );
  const u = users.byUsername(username);
  if (!u) throw new UsageError(`no account "${username}"`);
  const r = requests.create(
    { kind: 'password_reset', payload: { userId: u.id }, reason },
    { actor, user: { id: `cli:${person}`, username: person, role: 'manager' } },
    at,
  );
  return { requestId: r.id };
}

/** `user half REQUEST`: the applicant's half of their approved account request, shown once. */
export function showHalf(
  requests: RequestStore,
  users: UserStore,
  actor: string,
  requestId: number,
  at: number,
): { half: string; username: string; expiresAt: number } {
  const req = requests.get(requestId);
  if (!req || (req.kind !== 'account_create' && req.kind !== 'password_reset'))
    throw new UsageError(`no account request ${requestId}`);
  if (!samePerson(req.requestedBy, actor))
    throw new RefusedError(
      `only the applicant of request ${requestId} (${req.requestedBy}) may see its half`,
    );
  if (req.status !== 'approved')
    throw new RefusedError(`request ${requestId} is ${req.status}, not approved`);
  const shown = users.showApplicantHalf(requestId, actor, at);
  return { half: shown.half, username: shown.user.username, expiresAt: shown.expiresAt };
}

export async function userCommand(args: string[]): Promise<number> {
  const { sub, values, positionals } = parseSubcommand(args, {
    username: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string' },
    'valid-until': { type: 'string' },
    generate: { type: 'boolean' },
    reason: { type: 'string' },
    address: { type: 'string' },
    'mask-names': { type: 'boolean' },
    'show-names': { type: 'boolean' },
  });
  if (values['mask-names'] && values['show-names'])
    throw new UsageError('--mask-names and --show-names: choose one');
  return await withStorage(values, async ({ loaded, tz, actor, s }) => {
    migrateAccounts(s.db);
    const users = new UserStore(s.db, s.journal);
    const requests = () =>
      new RequestStore({ db: s.db, journal: s.journal, registry: s.registry, users, config: loaded.config });
    const find = () => {
      const name = positionals[0];
      if (!name) throw new UsageError(`usage: sekisho user ${sub} USERNAME`);
      const u = users.byUsername(name);
      if (!u) throw new UsageError(`no account "${name}"`);
      return u;
    };
    /**
     * Refuses unless there are fewer than two active administrators (a new installation, or too few
     * left): dual control cannot start before there are two.
     */
    const bootstrapping = () => users.activeAdminCount(Date.now()) < BOOTSTRAP_ADMINS;
    const bootstrapOnly = (what: string, instead: string) => {
      if (!bootstrapping())
        throw new RefusedError(
          `${what} is refused: two active administrators exist, so no one person may set an account's password (§4(3)). ${instead}`,
        );
    };
    /** The screen's address as given with --address (required for a monitor). */
    const screenAddress = () => {
      if (values.address === undefined)
        throw new UsageError(
          '--address: the screen’s IP address is required for a monitor (e.g. --address 10.0.0.5)',
        );
      const a = MonitorAddress.safeParse(values.address);
      if (!a.success) throw new UsageError(`--address: ${a.error.issues[0]!.message}`);
      return a.data;
    };
    switch (sub) {
      case 'add': {
        if (values.role === 'monitor') {
          const username = values.username ?? positionals[0];
          if (!username) throw new UsageError('missing --username');
          const address = screenAddress();
          const displayName = values.name ?? username;
          const validUntil = optTime(values['valid-until'], tz, 'valid-until') ?? null;
          users.checkNew({ username, displayName, role: 'monitor' });
          const { password, shown } = await newPassword(username, displayName, values.generate ?? false);
          const u = await users.create(
            {
              username,
              displayName,
              role: 'monitor',
              password,
              validUntil,
              monitor: { address, maskNames: values['mask-names'] ?? false },
            },
            actor,
            Date.now(),
            { via: 'cli' },
          );
          if (values.json)
            process.stdout.write(
              `${JSON.stringify({ id: u.id, username: u.username, role: u.role, address, maskNames: u.monitor?.maskNames ?? false })}\n`,
            );
          else
            process.stdout.write(
              `added monitor ${u.username}: read-only Live and Alarms, usable from ${address} only${u.monitor?.maskNames ? ', names hidden' : ''}\n`,
            );
          if (shown) process.stdout.write(`password (shown only now): ${password}\n`);
          return 0;
        }
        if (values.address !== undefined || values['mask-names'])
          throw new UsageError('--address and --mask-names are for --role monitor only');
        bootstrapOnly(
          'sekisho user add',
          'Request the account on the dashboard (Accounts page, /users: "Request a new account"); a different administrator approves it and the new user activates it at /activate with the two halves of its activation code.',
        );
        const username = values.username ?? positionals[0];
        if (!username) throw new UsageError('missing --username');
        const role = Role.safeParse(values.role);
        if (!role.success)
          throw new UsageError('--role: expected admin, manager, operator, auditor or monitor');
        // Other roles are requested on the dashboard once the two administrators exist.
        if (role.data !== 'admin')
          throw new UsageError(
            '--role: the device bootstraps administrators only (and makes monitors, with --address); request other accounts on the dashboard',
          );
        const validUntil = optTime(values['valid-until'], tz, 'valid-until') ?? null;
        users.checkNew({ username, displayName: values.name ?? username, role: role.data });
        const displayName = values.name ?? username;
        const { password, shown } = await newPassword(username, displayName, values.generate ?? false);
        const u = await users.create(
          { username, displayName: values.name ?? username, role: role.data, password, validUntil },
          actor,
          Date.now(),
          { via: 'cli', bootstrap: true },
        );
        if (values.json)
          process.stdout.write(
            `${JSON.stringify({ id: u.id, username: u.username, role: u.role, bootstrap: true })}\n`,
          );
        else
          process.stdout.write(
            `added account ${u.username} (${u.role}) — bootstrap: there were fewer than two active administrators\n`,
          );
        if (shown) process.stdout.write(`password (shown only now): ${password}\n`);
        return 0;
      }
      case 'list': {
        const list = users.list();
        if (values.json) {
          process.stdout.write(
            `${JSON.stringify(list.map((u) => ({ id: u.id, username: u.username, displayName: u.displayName, role: u.role, active: u.active, validUntil: u.validUntil, ...(u.monitor ? { monitor: u.monitor } : {}) })))}\n`,
          );
          return 0;
        }
        for (const u of list) {
          const until = u.validUntil === null ? '' : ` until ${formatLocal(u.validUntil, tz)}`;
          const locked = u.lockedUntil !== null && u.lockedUntil > Date.now() ? ' LOCKED' : '';
          const screen = u.monitor
            ? ` (screen ${u.monitor.address ?? 'not bound'}${u.monitor.maskNames ? ', names hidden' : ''})`
            : '';
          process.stdout.write(
            `${u.username.padEnd(20)} ${u.role.padEnd(9)} ${u.active ? 'active  ' : 'disabled'}${locked} ${u.displayName}${until}${screen}\n`,
          );
        }
        return 0;
      }
      case 'passwd': {
        const u = find();
        if (!bootstrapping()) {
          // The two-half reset: filed here, approved by a different administrator on the dashboard.
          if (values.generate)
            throw new UsageError('--generate: only to bootstrap (fewer than two active administrators)');
          if (!values.reason)
            throw new UsageError(
              `two active administrators exist, so ${u.username}'s password is reset by a request: add --reason TEXT to file it (a different administrator approves it on the dashboard), or use the Accounts page`,
            );
          // Filing ends the account's sessions (the request kind's `filed`).
          const { requestId } = fileReset(requests(), users, actor, u.username, values.reason, Date.now());
          if (values.json) process.stdout.write(`${JSON.stringify({ requestId, username: u.username })}\n`);
          else
            process.stdout.write(
              `password reset of ${u.username} requested (#${requestId}); their sessions ended.\n` +
                `A different administrator approves it on the dashboard and is shown one half of the activation code;\n` +
                `then "sekisho user half ${requestId}" shows you the other half, once. ${u.username} sets a new password at /activate with both.\n`,
            );
          return 0;
        }
        const { password, shown } = await newPassword(u.username, u.displayName, values.generate ?? false);
        await users.setPassword(u.id, password, actor, Date.now(), { mustChange: true });
        new SessionStore(s.db, { idleMs: 0, maxAgeMs: 0 }).destroyUser(u.id);
        process.stdout.write(`password of ${u.username} set; it must be changed at the next login\n`);
        if (shown) process.stdout.write(`password (shown only now): ${password}\n`);
        return 0;
      }
      case 'half': {
        const id = Number(positionals[0]);
        if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError('usage: sekisho user half REQUEST_ID');
        const h = showHalf(requests(), users, actor, id, Date.now());
        if (values.json)
          process.stdout.write(
            `${JSON.stringify({ requestId: id, username: h.username, activationHalf: h.half, expiresAt: h.expiresAt })}\n`,
          );
        else
          process.stdout.write(
            `activation code for ${h.username}, your half (shown only now; hand it to them in person, valid until ${formatLocal(h.expiresAt, tz)}):\n${h.half}\n`,
          );
        return 0;
      }
      case 'monitor': {
        const u = find();
        if (u.role !== 'monitor') throw new UsageError(`${u.username} is not a monitor (role ${u.role})`);
        const address = values.address === undefined ? u.monitor?.address : screenAddress();
        if (!address)
          throw new UsageError('--address: the screen’s IP address is required (none is set yet)');
        const maskNames = values['mask-names']
          ? true
          : values['show-names']
            ? false
            : (u.monitor?.maskNames ?? false);
        const after = users.setMonitor(u.id, { address, maskNames }, actor, Date.now(), { via: 'cli' });
        process.stdout.write(
          `${after.username}: usable from ${address} only, names ${maskNames ? 'hidden' : 'shown'}${address !== u.monitor?.address ? '; its sessions ended' : ''}\n`,
        );
        return 0;
      }
      case 'unlock': {
        const u = find();
        users.unlock(u.id, actor, Date.now());
        process.stdout.write(`${u.username} unlocked (journaled as ${actor}); the password is unchanged\n`);
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
        throw new UsageError(
          `unknown user command "${sub ?? ''}" (add, list, passwd, half, monitor, unlock, disable)`,
        );
    }
  });
}
