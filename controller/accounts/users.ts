/**
 * Accounts, used by the dashboard and the `sekisho user` command. Every change (creation, role,
 * activation, password, lock-out) commits in one transaction with the journal row that records it
 * and its actor (POLICY §8(1)①, §8(2)②). The password itself never leaves this module: only its
 * scrypt hash is stored, never logged.
 *
 * Activation (dual control, §4(3)): an account made by an approved request, or whose password a
 * different person reset, has no usable password. It gets an activation secret in two halves: the
 * approver is shown one when approving, the applicant the other (once, afterwards); the user needs
 * both to set their own password (`activate`). Only SHA-256 hashes of the halves are stored, so
 * neither admin alone — nor the database — can log in as the account.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  type AccountChangeVia,
  type ActivationPurpose,
  type KnownRecordType,
  nameField,
  normaliseName,
  type RecordDataOf,
  recordOf,
} from '../domain/index.js';
import type { Journal, SqliteDatabase } from '../journal/index.js';
import {
  DEFAULT_SCRYPT,
  hashMeetsParams,
  hashPassword,
  passwordProblem,
  type ScryptParams,
} from './passwords.js';
import { Role } from './roles.js';

/** How long an activation stays valid: an account not activated by then cannot be. */
export const DEFAULT_ACTIVATION_MS = 7 * 86_400_000;

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
  /** A monitor's screen (its role is `monitor`); null for every other role. */
  monitor: MonitorBinding | null;
}

/**
 * Where a monitor (a wall screen) may be used from, and whether it is shown names. A monitor
 * without an address cannot log in.
 */
export interface MonitorBinding {
  address: string | null;
  maskNames: boolean;
}

/**
 * An address as the binding compares it: an IPv4 address, also when it comes IPv4-mapped
 * (`::ffff:10.0.0.5`), or an IPv6 address in lower case. Null for anything else.
 */
export function normaliseAddress(ip: string): string | null {
  const text = ip.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  const v = mapped ?? text;
  return isIP(v) === 0 ? null : v;
}

/** A screen address as typed (CLI, Users page): one IP address, no range, no name. */
export const MonitorAddress = z
  .string()
  .trim()
  .max(64)
  .refine((a) => normaliseAddress(a) !== null, 'expected the screen’s IP address (e.g. 10.0.0.5)')
  .transform((a) => normaliseAddress(a)!);

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
  monitor_address: string | null;
  mask_names: number;
}

/** A refused account change; nothing was written. `code` is stable for the API. */
export class AccountError extends Error {
  constructor(
    readonly code: 'invalid_input' | 'not_found' | 'conflict' | 'weak_password' | 'forbidden',
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
  /** For a monitor: its screen's address and whether names are masked. */
  monitor?: MonitorBinding;
}

/** What a user is called in journal rows (the `actor` column). */
/**
 * Dual control needs two administrators (one files an account request, another approves it): until
 * there are this many active ones, the device may bootstrap an administrator (`sekisho user add`).
 */
export const BOOTSTRAP_ADMINS = 2;

export function actorOf(user: Pick<User, 'username'>): string {
  return `user:${user.username}`;
}

/** A pending activation as the Accounts page shows it (never a half). */
export interface Activation {
  userId: string;
  purpose: ActivationPurpose;
  requestId: number;
  /** Whether the applicant has been shown their half. */
  applicantShown: boolean;
  issuedAt: number;
  expiresAt: number;
}

interface ActivationRow {
  user_id: string;
  purpose: ActivationPurpose;
  request_id: number;
  applicant_hash: string | null;
  approver_hash: string;
  issued_at: number;
  expires_at: number;
}

/** Why an activation was refused; `wrong_halves` also stands for an unknown user name. */
export type ActivationRefusal = 'wrong_halves' | 'expired' | 'disabled';

const HALF_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/**
 * One half of an activation secret: 20 characters of an unambiguous 32-letter alphabet (100 bits),
 * in groups of five for reading aloud or writing down.
 */
export function newActivationHalf(): string {
  // 32 divides 256: every byte maps to one letter without bias.
  const chars = Array.from(randomBytes(20), (b) => HALF_ALPHABET[b % 32]!);
  return [0, 5, 10, 15].map((i) => chars.slice(i, i + 5).join('')).join('-');
}

/** A half as typed: case, spaces and dashes do not matter. */
export function normaliseHalf(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '');
}

/** The stored form of a half, bound to its account so a hash is useless for any other. */
function halfHash(userId: string, half: string): string {
  return createHash('sha256')
    .update(`sekisho-activation/1\0${userId}\0${normaliseHalf(half)}`)
    .digest('hex');
}

function sameHash(a: string | null, b: string): boolean {
  if (a === null || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export class UserStore {
  readonly #journal: Journal;
  readonly #scrypt: ScryptParams;
  /** How long an activation is valid (default 7 days). */
  readonly activationMs: number;
  readonly #s;

  constructor(
    db: SqliteDatabase,
    journal: Journal,
    options: { scrypt?: ScryptParams; activationMs?: number } = {},
  ) {
    this.#journal = journal;
    this.#scrypt = options.scrypt ?? DEFAULT_SCRYPT;
    this.activationMs = options.activationMs ?? DEFAULT_ACTIVATION_MS;
    this.#s = {
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dashboard_users'),
      list: db.prepare<[], UserRow>('SELECT * FROM dashboard_users ORDER BY username'),
      get: db.prepare<[string], UserRow>('SELECT * FROM dashboard_users WHERE id = ?'),
      byName: db.prepare<[string], UserRow>('SELECT * FROM dashboard_users WHERE username = ?'),
      insert: db.prepare(
        `INSERT INTO dashboard_users (id, username, display_name, role, password_hash, must_change_password, active,
           valid_until, created_at, updated_at, password_changed_at, monitor_address, mask_names)
         VALUES (@id, @username, @displayName, @role, @hash, @mustChange, 1, @validUntil, @at, @at, @at,
           @monitorAddress, @maskNames)`,
      ),
      setMonitor: db.prepare<[string | null, number, number, string]>(
        'UPDATE dashboard_users SET monitor_address = ?, mask_names = ?, updated_at = ? WHERE id = ?',
      ),
      countSessions: db.prepare<[string], { n: number }>(
        'SELECT COUNT(*) AS n FROM dashboard_sessions WHERE user_id = ?',
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
      endSessions: db.prepare<[string]>('DELETE FROM dashboard_sessions WHERE user_id = ?'),
      activation: db.prepare<[string], ActivationRow>(
        'SELECT * FROM dashboard_activations WHERE user_id = ?',
      ),
      activationByRequest: db.prepare<[number], ActivationRow>(
        'SELECT * FROM dashboard_activations WHERE request_id = ?',
      ),
      activations: db.prepare<[], ActivationRow>('SELECT * FROM dashboard_activations ORDER BY issued_at'),
      putActivation: db.prepare(
        `INSERT OR REPLACE INTO dashboard_activations
           (user_id, purpose, request_id, applicant_hash, approver_hash, issued_at, expires_at)
         VALUES (@userId, @purpose, @requestId, NULL, @approverHash, @at, @expiresAt)`,
      ),
      setApplicantHash: db.prepare<[string, string]>(
        'UPDATE dashboard_activations SET applicant_hash = ? WHERE user_id = ? AND applicant_hash IS NULL',
      ),
      dropActivation: db.prepare<[string]>('DELETE FROM dashboard_activations WHERE user_id = ?'),
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

  /** Enabled accounts whose stored password hash is weaker than this store's scrypt cost (compliance). */
  weakPasswordHashes(): number {
    return this.#s.list.all().filter((r) => r.active === 1 && !hashMeetsParams(r.password_hash, this.#scrypt))
      .length;
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
        monitorAddress: input.role === 'monitor' ? (input.monitor?.address ?? null) : null,
        maskNames: input.role === 'monitor' && input.monitor?.maskNames ? 1 : 0,
      });
      this.#append('user_added', at, actor, {
        userId: id,
        username: input.username,
        displayName: normaliseName(input.displayName),
        role: input.role,
        validUntil,
        ...via,
      });
      if (input.role === 'monitor' && input.monitor?.address)
        this.#append('monitor_bound', at, actor, {
          userId: id,
          username: input.username,
          address: input.monitor.address,
          maskNames: input.monitor.maskNames,
          from: null,
          ...(via.via ? { via: via.via } : {}),
        });
    });
    return this.get(id)!;
  }

  /**
   * Binds a monitor to its screen's address and sets whether it is shown names (journaled). Its
   * open sessions end when the address changes: they were bound to the old one.
   */
  setMonitor(
    id: string,
    binding: { address: string; maskNames: boolean },
    actor: string,
    at: number,
    via: { via?: 'cli' } = {},
  ): User {
    const address = parse(MonitorAddress, binding.address, 'address');
    return this.#journal.transaction(() => {
      const u = this.#require(id);
      if (u.role !== 'monitor' || !u.monitor)
        throw new AccountError('conflict', `${u.username} is not a monitor (role ${u.role})`);
      this.#s.setMonitor.run(address, binding.maskNames ? 1 : 0, at, id);
      if (u.monitor.address !== address) this.#s.endSessions.run(id);
      this.#append('monitor_bound', at, actor, {
        userId: id,
        username: u.username,
        address,
        maskNames: binding.maskNames,
        from: u.monitor.address === null && !u.monitor.maskNames ? null : u.monitor,
        ...via,
      });
      return this.get(id)!;
    });
  }

  /** Ends every session of a monitor at once (an administrator's revocation), journaled. */
  revokeMonitor(id: string, actor: string, at: number): { sessions: number } {
    return this.#journal.transaction(() => {
      const u = this.#require(id);
      if (u.role !== 'monitor')
        throw new AccountError('conflict', `${u.username} is not a monitor (role ${u.role})`);
      const sessions = this.#s.countSessions.get(id)!.n;
      this.#s.endSessions.run(id);
      this.#append('monitor_revoked', at, actor, { userId: id, username: u.username, sessions });
      return { sessions };
    });
  }

  /** Journals a monitor refused for its address (the caller limits how often). */
  recordMonitorRefused(
    u: Pick<User, 'id' | 'username' | 'monitor'>,
    f: { ip: string; why: 'address' | 'unbound'; during: 'login' | 'session'; suppressed: number },
    at: number,
  ): void {
    this.#append('monitor_refused', at, null, {
      userId: u.id,
      username: u.username,
      ip: f.ip,
      boundAddress: u.monitor?.address ?? null,
      why: f.why,
      during: f.during,
      suppressed: f.suppressed,
    });
  }

  setRole(id: string, role: Role, actor: string, at: number, via: AccountChangeVia = {}): User {
    parse(Role, role, 'role');
    return this.#journal.transaction(() => {
      const u = this.#require(id);
      if (u.role === role) throw new AccountError('conflict', `${u.username} already has the role ${role}`);
      this.#s.setRole.run(role, at, id);
      // A monitor's sessions have other times and a binding: becoming or ceasing to be one starts
      // over, and a former monitor keeps no screen address.
      if (u.role === 'monitor' || role === 'monitor') {
        this.#s.endSessions.run(id);
        this.#s.setMonitor.run(null, 0, at, id);
      }
      this.#append('user_role_changed', at, actor, {
        userId: id,
        username: u.username,
        from: u.role,
        role,
        ...via,
      });
      return this.get(id)!;
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
      this.#s.dropActivation.run(id);
      this.#append('user_password_changed', at, actor, {
        userId: id,
        username: u.username,
        mustChange: options.mustChange,
      });
    });
  }

  /**
   * The login's one read: the account and its stored hash by user name (without case), or
   * undefined. The same indexed query whether or not the name exists.
   */
  loginLookup(username: string): { user: User; passwordHash: string } | undefined {
    const row = this.#s.byName.get(username);
    return row ? { user: toUser(row), passwordHash: row.password_hash } : undefined;
  }

  /**
   * Journals a refused login. `user` is null for a name without an account: the row is written all
   * the same (the same work, so the answer takes as long), without the name typed. When the
   * failures set off the name's delay, a `login_throttled` row joins it in the one transaction.
   */
  recordLoginFailure(
    user: Pick<User, 'id' | 'username'> | null,
    at: number,
    ip: string,
    f: { failures: number; reason: 'password' | 'disabled'; throttledDelayMs: number | null },
  ): void {
    const who = { userId: user?.id ?? null, username: user?.username ?? null };
    this.#journal.transaction(() => {
      this.#append('login_failed', at, null, { ...who, ip, failures: f.failures, reason: f.reason });
      if (f.throttledDelayMs !== null)
        this.#append('login_throttled', at, null, {
          ...who,
          ip,
          failures: f.failures,
          delayMs: f.throttledDelayMs,
        });
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

  /** Whether an active administrator exists (see activeAdminCount). */
  hasActiveAdmin(now: number): boolean {
    return this.activeAdminCount(now) > 0;
  }

  /**
   * Active administrators. One whose activation expired cannot log in or be activated any more,
   * and does not count. Below BOOTSTRAP_ADMINS, `sekisho user add` may bootstrap one.
   */
  activeAdminCount(now: number): number {
    return this.list().filter((u) => {
      if (u.role !== 'admin' || !u.active || (u.validUntil !== null && u.validUntil <= now)) return false;
      const pending = this.#s.activation.get(u.id);
      return !pending || pending.expires_at > now;
    }).length;
  }

  /** Ends every session of an account (the sessions table is the account's, see sessions.ts). */
  endSessions(id: string): void {
    this.#s.endSessions.run(id);
  }

  /**
   * A password reset was filed: the account's sessions end at once (journaled); its password keeps
   * working until the reset is approved.
   */
  endSessionsForReset(id: string, requestId: number, actor: string, at: number): void {
    this.#journal.transaction(() => {
      const u = this.#require(id);
      this.#s.endSessions.run(id);
      this.#append('user_sessions_ended', at, actor, { userId: id, username: u.username, requestId });
    });
  }

  /**
   * A hash no password matches (of a random secret thrown away), stored while an account waits for
   * activation: a login attempt costs the same as for any account and always fails.
   */
  async unusableHash(): Promise<string> {
    return await hashPassword(randomBytes(32).toString('base64url'), this.#scrypt);
  }

  /**
   * Carries out an approved account_create or password_reset (inside the approval's transaction):
   * the password becomes unusable, the sessions end, and the approver's half is stored hashed. The
   * applicant's half is made later, when they are shown it (`showApplicantHalf`).
   */
  issueActivation(
    id: string,
    a: { purpose: ActivationPurpose; requestId: number; approverHalf: string; unusableHash: string },
    actor: string,
    at: number,
  ): { expiresAt: number } {
    return this.#journal.transaction(() => {
      const u = this.#require(id);
      const expiresAt = at + this.activationMs;
      this.#s.setPassword.run(a.unusableHash, 0, at, at, id);
      this.#s.endSessions.run(id);
      this.#s.putActivation.run({
        userId: id,
        purpose: a.purpose,
        requestId: a.requestId,
        approverHash: halfHash(id, a.approverHalf),
        at,
        expiresAt,
      });
      this.#append('activation_issued', at, actor, {
        userId: id,
        username: u.username,
        purpose: a.purpose,
        requestId: a.requestId,
        expiresAt,
      });
      return { expiresAt };
    });
  }

  /** The pending activation of an account, if any. */
  activationOf(id: string): Activation | undefined {
    const r = this.#s.activation.get(id);
    return r ? toActivation(r) : undefined;
  }

  activationForRequest(requestId: number): Activation | undefined {
    const r = this.#s.activationByRequest.get(requestId);
    return r ? toActivation(r) : undefined;
  }

  /** Every pending activation (expired ones included: they stay until replaced or activated). */
  activations(): Activation[] {
    return this.#s.activations.all().map(toActivation);
  }

  /**
   * Makes the applicant's half of the activation issued for `requestId` and answers it: once only
   * (its hash is stored, the half nowhere), before the activation expires. The caller checks that
   * `actor` is the request's applicant.
   */
  showApplicantHalf(
    requestId: number,
    actor: string,
    at: number,
  ): { half: string; user: User; expiresAt: number } {
    return this.#journal.transaction(() => {
      const r = this.#s.activationByRequest.get(requestId);
      if (!r) throw new AccountError('not_found', `request ${requestId} has no pending activation`);
      if (r.applicant_hash !== null)
        throw new AccountError('conflict', 'the applicant’s half was shown already; it is shown only once');
      if (r.expires_at <= at) throw new AccountError('conflict', 'the activation has expired');
      const u = this.#require(r.user_id);
      const half = newActivationHalf();
      this.#s.setApplicantHash.run(halfHash(u.id, half), u.id);
      this.#append('activation_half_shown', at, actor, { userId: u.id, username: u.username, requestId });
      return { half, user: u, expiresAt: r.expires_at };
    });
  }

  /**
   * Checks both halves for `username` and, if they match, sets the password the user chose: the
   * activation is then void and the account usable. Every refusal is journaled
   * (`activation_failed`) and answers the same whether or not the name exists.
   */
  async activate(
    input: { username: string; applicantHalf: string; approverHalf: string; password: string },
    ip: string,
    now: () => number,
  ): Promise<{ ok: true; user: User } | { ok: false; why: ActivationRefusal }> {
    const u = this.byUsername(input.username);
    const r = u ? this.#s.activation.get(u.id) : undefined;
    // Both comparisons run whatever the name, so an unknown one answers the same, as fast.
    const id = u?.id ?? 'none';
    const a = sameHash(r?.applicant_hash ?? null, halfHash(id, input.applicantHalf));
    const b = sameHash(r?.approver_hash ?? null, halfHash(id, input.approverHalf));
    const refuse = (why: ActivationRefusal) => {
      this.#append('activation_failed', now(), null, {
        // Typed by anyone: only a well-formed user name reaches the journal (no control characters).
        username: Username.safeParse(input.username).success ? input.username : '(not a user name)',
        ip,
        why,
      });
      return { ok: false as const, why };
    };
    if (!u || !r || !a || !b) return refuse('wrong_halves');
    if (r.expires_at <= now()) return refuse('expired');
    if (!u.active || (u.validUntil !== null && u.validUntil <= now())) return refuse('disabled');
    const problem = passwordProblem(input.password, u.username);
    if (problem) throw new AccountError('weak_password', `password rejected: ${problem}`, problem);
    const hash = await hashPassword(input.password, this.#scrypt);
    const at = now();
    return this.#journal.transaction(() => {
      // The same activation still (not replaced by a newer reset while hashing).
      const still = this.#s.activation.get(u.id);
      if (still?.issued_at !== r.issued_at || still.request_id !== r.request_id)
        return refuse('wrong_halves');
      this.#s.setPassword.run(hash, 0, at, at, u.id);
      this.#s.dropActivation.run(u.id);
      this.#s.endSessions.run(u.id);
      this.#append('account_activated', at, actorOf(u), {
        userId: u.id,
        username: u.username,
        purpose: r.purpose,
        requestId: r.request_id,
      });
      return { ok: true as const, user: this.get(u.id)! };
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

function toActivation(r: ActivationRow): Activation {
  return {
    userId: r.user_id,
    purpose: r.purpose,
    requestId: r.request_id,
    applicantShown: r.applicant_hash !== null,
    issuedAt: r.issued_at,
    expiresAt: r.expires_at,
  };
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
    monitor: r.role === 'monitor' ? { address: r.monitor_address, maskNames: r.mask_names === 1 } : null,
  };
}
