/**
 * Login throttling, in memory, with time passed in. Nothing here locks an account: an anonymous
 * client can slow down guessing but cannot keep the owner out.
 *
 * - **Per client address** (an IPv6 address counts by its /64, which one host controls): after
 *   `clientFreeFailures` wrong passwords, each further attempt from that address must wait a delay
 *   that doubles with every failure (`baseDelayMs`, 2×, 4×, … up to `maxDelayMs`). A success does
 *   not reset it — an insider with an account of their own could otherwise interleave successes
 *   with guesses —, `forgetMs` without a failure does.
 * - **Per account name** (existing or not, the same way): failures from addresses that have not
 *   logged in to this account before count towards it, each address at most `perAddressShare`
 *   times, so one address alone can never set it off. From `accountFreeFailures` on (a guessing
 *   attack from many addresses), attempts on that name from such addresses share one growing
 *   delay. An address where the account's owner logged in within `knownMs` is not held by it, nor
 *   is a device that presents the login's device cookie for that name (counted on its own).
 * - An attempt is counted when it is admitted (before its scrypt runs), so parallel requests cannot
 *   slip past the limit.
 *
 * Every table holds at most `maxEntries`: idle entries go first, then those not holding anything
 * back, then the oldest; a flood of distinct addresses or names cannot grow memory without bound,
 * and cannot easily push out the entry that slows an attack on a real account.
 */

export interface LoginLimits {
  /** Wrong passwords from one address before its attempts are delayed. Default 5. */
  clientFreeFailures: number;
  /** The first delay; each further failure doubles it. Default 1 s. */
  baseDelayMs: number;
  /** The longest delay. Default 10 minutes. */
  maxDelayMs: number;
  /** Failures on one name from addresses new to it before they are delayed. Default 10. */
  accountFreeFailures: number;
  /** How many of those one address can contribute. Default 3. */
  perAddressShare: number;
  /** An address's or a name's failures are forgotten after this long without one. Default 1 hour. */
  forgetMs: number;
  /** An address stays known to an account this long after a successful login. Default 30 days. */
  knownMs: number;
  /** The most entries each table holds. Default 10,000. */
  maxEntries: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  clientFreeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 10 * 60_000,
  accountFreeFailures: 10,
  perAddressShare: 3,
  forgetMs: 60 * 60_000,
  knownMs: 30 * 24 * 3_600_000,
  maxEntries: 10_000,
};

/** Most addresses remembered per name for their share; beyond, each failure counts in full. */
const MAX_SHARES = 32;

interface ClientEntry {
  failures: number;
  inFlight: number;
  /** When the next attempt is allowed (0: now). */
  nextAt: number;
  lastFailure: number;
}

interface AccountEntry extends ClientEntry {
  /** Failures from addresses new to the name, each address counted at most perAddressShare times. */
  score: number;
  shares: Map<string, number>;
  /** Whether the shared delay is on (journaled once when it comes on). */
  throttled: boolean;
}

/** Why an attempt has to wait: its address, or the name it is for. */
export type Refusal = { ok: false; scope: 'address' | 'account'; waitMs: number };

/** An admitted attempt; settle it with fail(), succeed() or release(). */
export interface Ticket {
  ok: true;
  /** Whose failures count: the address's key, or `device:<id>` for a known device. */
  client: string;
  /** The address's key (made known to the name by a success). */
  address: string;
  name: string;
  /** The address has logged in to this name before: the name's delay does not hold it. */
  known: boolean;
  settled: boolean;
}

export interface FailureOutcome {
  /** All failures on this name since it was last forgotten or logged in to. */
  failures: number;
  /** The name's shared delay came on with this failure (journal it). */
  throttled: boolean;
  /** The delay that this failure set for the name, ms (0 if none). */
  accountDelayMs: number;
}

/** The throttling key of an address: IPv4 as is, IPv6 by its /64. */
export function addressKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
    : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The throttling key of a user name: names are compared without case, as the accounts table does. */
export function nameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

export class LoginLimiter {
  readonly limits: LoginLimits;
  readonly #clients = new Map<string, ClientEntry>();
  readonly #accounts = new Map<string, AccountEntry>();
  /** `name\naddress` → until when the address is known to the name. */
  readonly #known = new Map<string, number>();

  constructor(limits: LoginLimits) {
    this.limits = limits;
  }

  /** The delay after the `n`-th failure over the free ones (n ≥ 0). */
  delay(n: number): number {
    return Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** Math.min(n, 40));
  }

  /**
   * Admits an attempt from `ip` on `username`, or says how long it has to wait. `device`: the id of
   * a device the caller has verified as one where this name logged in before (the login's device
   * cookie); its attempts are counted on their own, apart from the address's, and the name's delay
   * does not hold it.
   */
  admit(ip: string, username: string, now: number, device: string | null = null): Ticket | Refusal {
    const address = addressKey(ip);
    const client = device === null ? address : `device:${device}`;
    const name = nameKey(username);
    const known = device !== null || (this.#known.get(`${name}\n${address}`) ?? 0) > now;
    const c = this.#fresh(this.#clients, client, now);
    const cWait = c ? this.#wait(c, this.limits.clientFreeFailures, now) : 0;
    if (cWait > 0) return { ok: false, scope: 'address', waitMs: cWait };
    const a = this.#fresh(this.#accounts, name, now);
    if (!known && a?.throttled) {
      const aWait = a.inFlight > 0 ? this.limits.baseDelayMs : a.nextAt - now;
      if (aWait > 0) return { ok: false, scope: 'account', waitMs: aWait };
    }
    this.#entry(this.#clients, client, now, newClient).inFlight++;
    this.#entry(this.#accounts, name, now, newAccount).inFlight++;
    return { ok: true, client, address, name, known, settled: false };
  }

  /** A wrong password (or a refused account): counts it against the address and the name. */
  fail(t: Ticket, now: number): FailureOutcome {
    this.#settle(t);
    const c = this.#entry(this.#clients, t.client, now, newClient);
    c.failures++;
    c.lastFailure = now;
    if (c.failures >= this.limits.clientFreeFailures)
      c.nextAt = now + this.delay(c.failures - this.limits.clientFreeFailures);
    const a = this.#entry(this.#accounts, t.name, now, newAccount);
    a.failures++;
    a.lastFailure = now;
    let throttled = false;
    let accountDelayMs = 0;
    if (!t.known) {
      const share = a.shares.get(t.client) ?? 0;
      if (share < this.limits.perAddressShare) {
        a.score++;
        if (a.shares.has(t.client) || a.shares.size < MAX_SHARES) a.shares.set(t.client, share + 1);
      } else if (a.throttled) a.score++; // once on, every failure makes the delay grow
      if (a.score >= this.limits.accountFreeFailures) {
        throttled = !a.throttled;
        a.throttled = true;
        accountDelayMs = this.delay(a.score - this.limits.accountFreeFailures);
        a.nextAt = now + accountDelayMs;
      }
    }
    return { failures: a.failures, throttled, accountDelayMs };
  }

  /** The right password: the address becomes known to the name, and the name's count starts over. */
  succeed(t: Ticket, now: number): void {
    this.#settle(t);
    this.#accounts.delete(t.name);
    const key = `${t.name}\n${t.address}`;
    this.#known.delete(key);
    if (this.#known.size >= this.limits.maxEntries) this.#pruneKnown(now);
    this.#known.set(key, now + this.limits.knownMs);
  }

  /** Neither: the attempt ended without an answer on the password (an error). */
  release(t: Ticket): void {
    this.#settle(t);
  }

  /** An administrator lifted the name's delay (and its count). */
  forgetAccount(username: string): void {
    this.#accounts.delete(nameKey(username));
  }

  /** How many entries each table holds (to show that they stay bounded). */
  sizes(): { clients: number; accounts: number; known: number } {
    return { clients: this.#clients.size, accounts: this.#accounts.size, known: this.#known.size };
  }

  #settle(t: Ticket): void {
    if (t.settled) return;
    t.settled = true;
    const c = this.#clients.get(t.client);
    if (c && c.inFlight > 0) c.inFlight--;
    const a = this.#accounts.get(t.name);
    if (a && a.inFlight > 0) a.inFlight--;
  }

  /** How long the next attempt must wait; attempts still running count as failures. */
  #wait(e: ClientEntry, free: number, now: number): number {
    if (e.failures + e.inFlight < free) return 0;
    if (e.inFlight > 0) return this.limits.baseDelayMs;
    return Math.max(0, e.nextAt - now);
  }

  /** The entry if it is still remembered; one idle for forgetMs is dropped. */
  #fresh<E extends ClientEntry>(map: Map<string, E>, key: string, now: number): E | undefined {
    const e = map.get(key);
    if (e && this.#idle(e, now)) {
      map.delete(key);
      return undefined;
    }
    return e;
  }

  #idle(e: ClientEntry, now: number): boolean {
    if (e.inFlight > 0 || now < e.nextAt) return false;
    return e.failures === 0 || now - e.lastFailure >= this.limits.forgetMs;
  }

  /** The entry for `key`, made if need be, moved to the end (most recently used). */
  #entry<E extends ClientEntry>(map: Map<string, E>, key: string, now: number, make: (now: number) => E): E {
    let e = this.#fresh(map, key, now);
    if (e) map.delete(key);
    else {
      if (map.size >= this.limits.maxEntries) this.#prune(map, now);
      e = make(now);
    }
    map.set(key, e);
    return e;
  }

  /** Frees a tenth of the table: idle entries, then those holding nothing back, then the oldest. */
  #prune<E extends ClientEntry>(map: Map<string, E>, now: number): void {
    const target = Math.floor(this.limits.maxEntries * 0.9);
    for (const [k, e] of map) if (this.#idle(e, now)) map.delete(k);
    if (map.size <= target) return;
    for (const [k, e] of map) {
      if (map.size <= target) return;
      const holding = e.nextAt > now || ('throttled' in e && e.throttled === true);
      if (e.inFlight === 0 && !holding) map.delete(k);
    }
    for (const k of map.keys()) {
      if (map.size <= target) return;
      map.delete(k);
    }
  }

  #pruneKnown(now: number): void {
    for (const [k, until] of this.#known) if (until <= now) this.#known.delete(k);
    const target = Math.floor(this.limits.maxEntries * 0.9);
    for (const k of this.#known.keys()) {
      if (this.#known.size <= target) return;
      this.#known.delete(k);
    }
  }
}

function newClient(now: number): ClientEntry {
  return { failures: 0, inFlight: 0, nextAt: 0, lastFailure: now };
}

function newAccount(now: number): AccountEntry {
  return { ...newClient(now), score: 0, shares: new Map(), throttled: false };
}
