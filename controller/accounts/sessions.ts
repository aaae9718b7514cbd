/**
 * Server-side sessions. The browser holds a random 256-bit token in an HttpOnly, SameSite=Strict
 * cookie; the database holds only its SHA-256, the user, a per-session CSRF token and the times.
 * A session ends after `idleMs` without a request, after `maxAgeMs` in any case, at logout, and
 * when its account is disabled or its password changed. A monitor's session (a wall screen) is
 * `idleExempt`: only its absolute lifetime ends it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SqliteDatabase } from '../journal/index.js';

export interface Session {
  tokenHash: string;
  userId: string;
  csrfToken: string;
  createdAt: number;
  lastSeen: number;
  expiresAt: number;
  /** Not ended for idleness (a monitor's wall screen). */
  idleExempt: boolean;
}

interface SessionRow {
  token_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: number;
  last_seen: number;
  expires_at: number;
  idle_exempt: number;
}

export interface SessionTimes {
  /** Idle timeout. Default 15 minutes. */
  idleMs: number;
  /** Absolute lifetime. Default 12 hours. */
  maxAgeMs: number;
}

/** A request refreshes `last_seen` at most this often (one small write, not one per request). */
const TOUCH_EVERY_MS = 15_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class SessionStore {
  readonly times: SessionTimes;
  readonly #s;

  constructor(db: SqliteDatabase, times: SessionTimes) {
    this.times = times;
    this.#s = {
      insert: db.prepare<[string, string, string, number, number, number, number]>(
        `INSERT INTO dashboard_sessions (token_hash, user_id, csrf_token, created_at, last_seen, expires_at, idle_exempt)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: db.prepare<[string], SessionRow>('SELECT * FROM dashboard_sessions WHERE token_hash = ?'),
      touch: db.prepare<[number, string]>('UPDATE dashboard_sessions SET last_seen = ? WHERE token_hash = ?'),
      remove: db.prepare<[string]>('DELETE FROM dashboard_sessions WHERE token_hash = ?'),
      removeUser: db.prepare<[string]>('DELETE FROM dashboard_sessions WHERE user_id = ?'),
      removeOthers: db.prepare<[string, string]>(
        'DELETE FROM dashboard_sessions WHERE user_id = ? AND token_hash <> ?',
      ),
      sweep: db.prepare<[number, number]>(
        'DELETE FROM dashboard_sessions WHERE (last_seen < ? AND idle_exempt = 0) OR expires_at <= ?',
      ),
    };
  }

  /**
   * A new session; returns the cookie token (shown once, stored only hashed). `maxAgeMs` and
   * `idleExempt`: a monitor's lifetime, instead of the default times.
   */
  create(
    userId: string,
    now: number,
    opts: { maxAgeMs?: number; idleExempt?: boolean } = {},
  ): { token: string; session: Session } {
    this.#s.sweep.run(now - this.times.idleMs, now);
    const token = randomBytes(32).toString('base64url');
    const session: Session = {
      tokenHash: hashToken(token),
      userId,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeen: now,
      expiresAt: now + (opts.maxAgeMs ?? this.times.maxAgeMs),
      idleExempt: opts.idleExempt === true,
    };
    this.#s.insert.run(
      session.tokenHash,
      userId,
      session.csrfToken,
      session.createdAt,
      session.lastSeen,
      session.expiresAt,
      session.idleExempt ? 1 : 0,
    );
    return { token, session };
  }

  /**
   * The live session for a cookie token, or why there is none. An expired session is removed.
   * `touch` counts the request as activity (an event stream does not).
   */
  resolve(
    token: string,
    now: number,
    touch: boolean,
  ): { session: Session } | { session: null; expired?: Session } {
    if (token.length < 20 || token.length > 100) return { session: null };
    const row = this.#s.get.get(hashToken(token));
    if (!row) return { session: null };
    const session = toSession(row);
    if (this.#idle(session, now) || now >= session.expiresAt) {
      this.#s.remove.run(session.tokenHash);
      return { session: null, expired: session };
    }
    // A short idle timeout (tests, a strict site) is refreshed often enough to be kept alive.
    if (touch && now - session.lastSeen >= Math.min(TOUCH_EVERY_MS, this.times.idleMs / 4)) {
      this.#s.touch.run(now, session.tokenHash);
      session.lastSeen = now;
    }
    return { session };
  }

  /** Whether a session (e.g. behind an open event stream) is still valid, without touching it. */
  stillValid(tokenHash: string, now: number): boolean {
    const row = this.#s.get.get(tokenHash);
    if (!row) return false;
    const session = toSession(row);
    return !this.#idle(session, now) && now < session.expiresAt;
  }

  /** When the session ends for idleness if nothing happens (null: it does not). */
  idleExpiresAt(session: Pick<Session, 'lastSeen' | 'idleExempt'>): number | null {
    return session.idleExempt ? null : session.lastSeen + this.times.idleMs;
  }

  #idle(session: Session, now: number): boolean {
    return !session.idleExempt && now - session.lastSeen > this.times.idleMs;
  }

  destroy(tokenHash: string): void {
    this.#s.remove.run(tokenHash);
  }

  destroyUser(userId: string): void {
    this.#s.removeUser.run(userId);
  }

  destroyOthers(userId: string, keepTokenHash: string): void {
    this.#s.removeOthers.run(userId, keepTokenHash);
  }
}

function toSession(r: SessionRow): Session {
  return {
    tokenHash: r.token_hash,
    userId: r.user_id,
    csrfToken: r.csrf_token,
    createdAt: r.created_at,
    lastSeen: r.last_seen,
    expiresAt: r.expires_at,
    idleExempt: r.idle_exempt === 1,
  };
}
