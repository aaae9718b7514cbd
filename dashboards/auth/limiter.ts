/**
 * Login throttling in memory: at most `perWindow` attempts per client address per window, and a
 * failure counter for user names that have no account, so that an unknown name is locked out
 * exactly like a real one and the lock-out does not reveal which names exist.
 */

export interface LoginLimits {
  /** Attempts per address per window (default 10 per 5 minutes). */
  perWindow: number;
  windowMs: number;
  /** Failed passwords in a row before an account is locked (default 5). */
  maxFailures: number;
  /** How long a lock-out lasts (default 15 minutes). */
  lockMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perWindow: 10,
  windowMs: 5 * 60_000,
  maxFailures: 5,
  lockMs: 15 * 60_000,
};

const MAX_TRACKED = 10_000;

export class LoginLimiter {
  readonly limits: LoginLimits;
  readonly #attempts = new Map<string, number[]>();
  readonly #unknown = new Map<string, { failures: number; lockedUntil: number }>();

  constructor(limits: LoginLimits) {
    this.limits = limits;
  }

  /** Counts an attempt from `ip`; returns the ms to wait if it is over the limit, else 0. */
  attempt(ip: string, now: number): number {
    const since = now - this.limits.windowMs;
    const list = (this.#attempts.get(ip) ?? []).filter((t) => t > since);
    if (list.length >= this.limits.perWindow) {
      this.#attempts.set(ip, list);
      return list[0]! + this.limits.windowMs - now;
    }
    list.push(now);
    if (this.#attempts.size >= MAX_TRACKED && !this.#attempts.has(ip)) this.#prune(now);
    this.#attempts.set(ip, list);
    return 0;
  }

  unknownLockedUntil(name: string, now: number): number | null {
    const e = this.#unknown.get(name.toLowerCase());
    return e && e.lockedUntil > now ? e.lockedUntil : null;
  }

  unknownFailure(name: string, now: number): void {
    const key = name.toLowerCase();
    const e = this.#unknown.get(key) ?? { failures: 0, lockedUntil: 0 };
    e.failures++;
    if (e.failures >= this.limits.maxFailures) {
      e.failures = 0;
      e.lockedUntil = now + this.limits.lockMs;
    }
    if (this.#unknown.size >= MAX_TRACKED && !this.#unknown.has(key)) this.#unknown.clear();
    this.#unknown.set(key, e);
  }

  #prune(now: number): void {
    const since = now - this.limits.windowMs;
    for (const [ip, list] of this.#attempts) if (!list.some((t) => t > since)) this.#attempts.delete(ip);
    if (this.#attempts.size >= MAX_TRACKED) this.#attempts.clear();
  }
}
