/**
 * Accounts, used by the dashboard and the `sekisho user` command. Every change (creation, role,
 * activation, password, lock-out) commits in one transaction with the journal row that records it
 * and its actor (POLICY §8(1)①, §8(2)②). The password itself never leaves this module: only its
 * scrypt hash is stored, never logged.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  type AccountChangeVia,
  type KnownRecordType,
  nameField,
  normaliseName,
  type RecordDataOf,
  recordOf,
} from '../domain/index.js';
import type { Journal, SqliteDatabase } from '../journal/index.js';
import { DEFAULT_SCRYPT, hashPassword, passwordProblem, type ScryptParams } from './passwords.js';
import { Role } from './roles.js';

export const Username = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$/, 'expected 3-32 letters, digits, ".", "_" or "-"');
export const DisplayName = nameField(100);

export interface User {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  mustChangePassword: boolean;
  active: boolean;
  /** End of the account (transfer, retirement), UTC ms; null = open-ended. */
  validUntil: number | null;
  failedLogins: number;
  lockedUntil: number | null;
  createdAt: number;
  passwordChangedAt: number;
}

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  role: Role;
  password_hash: string;
  must_change_password: number;
  active: number;
  valid_until: number | null;
  failed_logins: number;
  locked_until: number | null;
  created_at: number;
  updated_at: number;
  password_changed_at: number;
}

/** A refused account change; nothing was written. `code` is stable for the API. */
export class AccountError extends Error {
  constructor(
    readonly code: 'invalid_input' | 'not_found' | 'conflict' | 'weak_password',
    message: string,
    /** For weak_password: the i18n key of the reason. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  password: string;
  mustChangePassword?: boolean;
  validUntil?: number | null;
}

/** What a user is called in journal rows (the `actor` column). */
export function actorOf(user: Pick<User, 'username'>): string {
  return `user:${user.username}`;
}

export class UserStore {
  readonly #journal: Journal;
  readonly #scrypt: ScryptParams;
  readonly #s;

  constructor(db: SqliteDatabase, journal: Journal, options: { scrypt?: ScryptParams } = {}) {
    this.#journal = journal;
    this.#scrypt = options.scrypt ?? DEFAULT_SCRYPT;
    this.#s = {
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dashboard_users'),
      list: db.prepare<[], UserRow>('SELECT * FROM dashboard_users ORDER BY username'),
      get: db.prepare<[string], UserRow>('SELECT * FROM dashboard_users WHERE id = ?'),
      byName: db.prepare<[string], UserRow>('SELECT * FROM dashboard_users WHERE username = ?'),
      insert: db.prepare(
        `INSERT INTO dashboard_users (id, username, display_name, role, password_hash, must_change_password, active,
           valid_until, created_at, updated_at, password_changed_at)
         VALUES (@id, @username, @displayName, @role, @hash, @mustChange, 1, @validUntil, @at, @at, @at)`,
      ),
      setRole: db.prepare<[string, number, string]>(
        'UPDATE dashboard_users SET role = ?, updated_at = ? WHERE id = ?',
      ),
      setActive: db.prepare<[number, number, string]>(
        'UPDATE dashboard_users SET active = ?, updated_at = ? WHERE id = ?',
      ),
      setPassword: db.prepare<[string, number, number, number, string]>(
        `UPDATE dashboard_users SET password_hash = ?, must_change_password = ?, password_changed_at = ?,
           updated_at = ?, failed_logins = 0, locked_until = NULL WHERE id = ?`,
      ),
      setFailures: db.prepare<[number, number | null, string]>(
        'UPDATE dashboard_users SET failed_logins = ?, locked_until = ? WHERE id = ?',
      ),
    };
  }

  #append<T extends KnownRecordType>(type: T, at: number, actor: string | null, data: RecordDataOf<T>): void {
    // An outbox row (for MQTT) when a broker is configured: the journal's default.
    this.#journal.append({ ...recordOf(type, data), at, actor });
  }

  count(): number {
    return this.#s.count.get()!.n;
  }

  list(): User[] {
    return this.#s.list.all().map(toUser);
  }

  get(id: string): User | undefined {
    const row = this.#s.get.get(id);
    return row ? toUser(row) : undefined;
  }

  byUsername(username: string): User | undefined {
    const row = this.#s.byName.get(username);
    return row ? toUser(row) : undefined;
  }

  /** @internal The stored hash, for the login check only. */
  passwordHashOf(id: string): string | undefined {
    return this.#s.get.get(id)?.password_hash;
  }

  /** Validates a new account without writing anything (so a request can be checked when filed). */
  checkNew(input: Omit<NewUser, 'password'>): void {
    parse(Username, input.username, 'username');
    parse(DisplayName, input.displayName, 'displayName');
    parse(Role, input.role, 'role');
    if (this.byUsername(input.username))
      throw new AccountError('conflict', `an account "${input.username}" already exists`);
  }

  /** Hashes a password for a new account (the slow part, off the event loop). */
  async hashFor(password: string, username: string): Promise<string> {
    const problem = passwordProblem(password, username);
    if (problem) throw new AccountError('weak_password', `password rejected: ${problem}`, problem);
    return await hashPassword(password, this.#scrypt);
  }

  async create(input: NewUser, actor: string, at: number, via: AccountChangeVia = {}): Promise<User> {
    this.checkNew(input);
    const hash = await this.hashFor(input.password, input.username);
    return this.createHashed(input, hash, actor, at, via);
  }

  /** Inserts an account whose password was hashed by hashFor(); joins an enclosing transaction. */
  createHashed(
    input: Omit<NewUser, 'password'>,
    passwordHash: string,
    actor: string,
    at: number,
    via: AccountChangeVia = {},
  ): User {
    const id = `u_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const validUntil = input.validUntil ?? null;
    this.#journal.transaction(() => {
      this.checkNew(input);
      this.#s.insert.run({
        id,
        username: input.username,
        displayName: normaliseName(input.displayName),
        role: input.role,
        hash: passwordHash,
        mustChange: input.mustChangePassword ? 1 : 0,
        validUntil,
        at,
      });
      this.#append('user_added', at, actor, {
        userId: id,
        username: input.username,
        displayName: normaliseName(input.displayName),
        role: input.role,
        validUntil,
        ...via,
      });
    });
    return this.get(id)!;
  }

  setRole(id: string, role: Role, actor: string, at: number, via: AccountChangeVia = {}): User {
    parse(Role, role, 'role');
    return this.#journal.transaction(() => {
      const u = this.#require(id);
      if (u.role === role) throw new AccountError('conflict', `${u.username} already has the role ${role}`);
      this.#s.setRole.run(role, at, id);
      this.#append('user_role_changed', at, actor, {
        userId: id,
        username: u.username,
        from: u.role,
        role,
        ...via,
      });
      return { ...u, role };
    });
  }

  /** Disabling takes effect at once and needs no approval (revocation never waits). */
  setActive(id: string, active: boolean, actor: string, at: number): User {
    return this.#journal.transaction(() => {
      const u = this.#require(id);
      if (u.active === active) return u;
      this.#s.setActive.run(active ? 1 : 0, at, id);
      this.#append(active ? 'user_enabled' : 'user_disabled', at, actor, {
        userId: id,
        username: u.username,
      });
      return { ...u, active };
    });
  }

  async setPassword(
    id: string,
    password: string,
    actor: string,
    at: number,
    options: { mustChange: boolean },
  ): Promise<void> {
    const u = this.#require(id);
    const problem = passwordProblem(password, u.username);
    if (problem) throw new AccountError('weak_password', `password rejected: ${problem}`, problem);
    const hash = await hashPassword(password, this.#scrypt);
    this.#journal.transaction(() => {
      this.#require(id);
      this.#s.setPassword.run(hash, options.mustChange ? 1 : 0, at, at, id);
      this.#append('user_password_changed', at, actor, {
        userId: id,
        username: u.username,
        mustChange: options.mustChange,
      });
    });
  }

  /** Counts a failed login; at `maxFailures` the account is locked until `lockedUntil` (journaled). */
  recordFailure(
    id: string,
    at: number,
    maxFailures: number,
    lockMs: number,
    ip: string,
  ): { locked: boolean } {
    return this.#journal.transaction(() => {
      const u = this.#require(id);
      const failures = u.failedLogins + 1;
      this.#append('login_failed', at, null, { userId: id, username: u.username, ip, failures });
      if (failures >= maxFailures) {
        this.#s.setFailures.run(0, at + lockMs, id);
        this.#append('user_locked_out', at, null, {
          userId: id,
          username: u.username,
          ip,
          until: at + lockMs,
        });
        return { locked: true };
      }
      this.#s.setFailures.run(failures, u.lockedUntil, id);
      return { locked: false };
    });
  }

  recordLogin(id: string, at: number, ip: string): void {
    this.#journal.transaction(() => {
      const u = this.#require(id);
      this.#s.setFailures.run(0, null, id);
      this.#append('login_succeeded', at, actorOf(u), { userId: id, username: u.username, ip });
    });
  }

  recordLogout(user: User, at: number, why: 'logout' | 'idle' = 'logout'): void {
    this.#append('logout', at, actorOf(user), { userId: user.id, username: user.username, why });
  }

  unlock(id: string, actor: string, at: number): User {
    return this.#journal.transaction(() => {
      const u = this.#require(id);
      this.#s.setFailures.run(0, null, id);
      this.#append('user_unlocked', at, actor, { userId: id, username: u.username });
      return { ...u, failedLogins: 0, lockedUntil: null };
    });
  }

  #require(id: string): User {
    const u = this.get(id);
    if (!u) throw new AccountError('not_found', `no account ${id}`);
    return u;
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new AccountError('invalid_input', `${what}: ${r.error.issues[0]!.message}`);
}

function toUser(r: UserRow): User {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    role: r.role,
    mustChangePassword: r.must_change_password === 1,
    active: r.active === 1,
    validUntil: r.valid_until,
    failedLogins: r.failed_logins,
    lockedUntil: r.locked_until,
    createdAt: r.created_at,
    passwordChangedAt: r.password_changed_at,
  };
}
