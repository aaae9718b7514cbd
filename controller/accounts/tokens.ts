/**
 * Named, scoped API tokens: the credentials of scripts and monitoring (Prometheus), made with
 * `sekisho token …` on the device. A token has no role and no person behind it: it holds only the
 * permissions of its scopes (`SCOPE_PERMISSIONS` in roles.ts), and its journal actor `token:<name>`
 * is "no person" (person.ts), which can neither file nor approve anything.
 *
 * The token is `sks_<name>_<secret>`: the prefix makes a leaked one easy to recognise (and to grep
 * for), the name says whose it is, the secret is 256 random bits. Only the SHA-256 of the whole
 * token is stored; it is compared in constant time. Creating, rotating and revoking a token each
 * commit in one transaction with their journal row; rotating or revoking takes effect at the next
 * request, also on an open event stream. A revoked token's row is deleted (its history stays in the
 * journal, with a `tokenId` that tells apart two tokens that had the same name).
 *
 * In simulation mode the controller keeps one token itself, `simulation` (scopes read and sim), in
 * `<storage>/api-token` for the walk-through (docs/simulation.md); on a real board it revokes it.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import { z } from 'zod';
import { type KnownRecordType, type RecordDataOf, recordOf } from '../domain/index.js';
import type { Journal, SqliteDatabase } from '../journal/index.js';
import { createSecretFile, readSecretFile } from '../secret-files.js';
import { SCOPES, Scope } from './roles.js';

export const TOKEN_PREFIX = 'sks_';

/** 2-32 characters; no "_", so that the token's parts split unambiguously. */
export const TokenName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,31}$/, 'expected 2-32 lower-case letters, digits or "-", starting with a letter');

/** The token the controller keeps in `<storage>/api-token` in simulation mode. */
export const SIMULATION_TOKEN = 'simulation';
export const SIMULATION_SCOPES: readonly Scope[] = ['read', 'sim'];

/**
 * Names `sekisho token create` refuses: the simulation token's, and `api`, the actor of the single
 * device token of earlier versions (`token:api` in old journal rows must not name a new token).
 */
export const RESERVED_TOKEN_NAMES: ReadonlySet<string> = new Set([SIMULATION_TOKEN, 'api']);

/** A request refreshes `last_used_at` at most this often (or when it comes from another address). */
const TOUCH_EVERY_MS = 60_000;

const TOKEN_FORMAT = /^sks_([a-z][a-z0-9-]{1,31})_([A-Za-z0-9_-]{43})$/;

/** A token as listed: never its secret. */
export interface ApiToken {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: number;
  /** The actor that created it. */
  createdBy: string;
  rotatedAt: number | null;
  /** UTC ms; null = no expiry. */
  expiresAt: number | null;
  lastUsedAt: number | null;
  /** The address of the last request made with it. */
  lastUsedFrom: string | null;
}

/** A token as `sekisho token list --json` and `GET /api/tokens` show it (no id, no secret). */
export function tokenView(t: ApiToken, now: number) {
  return {
    name: t.name,
    scopes: t.scopes,
    status: t.expiresAt !== null && t.expiresAt <= now ? ('expired' as const) : ('active' as const),
    createdAt: t.createdAt,
    createdBy: t.createdBy,
    rotatedAt: t.rotatedAt,
    expiresAt: t.expiresAt,
    lastUsedAt: t.lastUsedAt,
    lastUsedFrom: t.lastUsedFrom,
  };
}

/** Who is calling with a token, as the server keeps it for one request or an open stream. */
export interface TokenCaller {
  id: string;
  name: string;
  scopes: readonly Scope[];
  /** The stored hash it matched: a rotation changes it, which ends an open stream. */
  secretHash: string;
}

/** Why a bearer token was not accepted. */
export type TokenProblem = 'malformed' | 'unknown' | 'expired';

/** A refused token change; nothing was written. `code` is stable. */
export class TokenError extends Error {
  constructor(
    readonly code: 'invalid_input' | 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

interface TokenRow {
  id: string;
  name: string;
  scopes: string;
  secret_hash: string;
  created_at: number;
  created_by: string;
  rotated_at: number | null;
  expires_at: number | null;
  last_used_at: number | null;
  last_used_from: string | null;
}

/** The journal actor of a token's acts. */
export function tokenActor(name: string): string {
  return `token:${name}`;
}

function hashSecret(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compared against when no token has the name, so that an unknown name costs the same. */
const DUMMY_HASH = hashSecret('sks_none_');

/** Scopes in their canonical order, each once; an empty or unknown one is a TokenError. */
export function parseScopes(input: readonly string[]): Scope[] {
  const wanted = new Set<Scope>();
  for (const raw of input) {
    const r = Scope.safeParse(raw.trim());
    if (!r.success)
      throw new TokenError('invalid_input', `unknown scope "${raw.trim()}" (expected ${SCOPES.join(', ')})`);
    wanted.add(r.data);
  }
  if (wanted.size === 0)
    throw new TokenError('invalid_input', `give at least one scope (${SCOPES.join(', ')})`);
  return SCOPES.filter((s) => wanted.has(s));
}

export class TokenStore {
  readonly #journal: Journal;
  readonly #s;

  constructor(db: SqliteDatabase, journal: Journal) {
    this.#journal = journal;
    this.#s = {
      list: db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY name'),
      byName: db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE name = ?'),
      insert: db.prepare(
        `INSERT INTO api_tokens (id, name, scopes, secret_hash, created_at, created_by, expires_at)
         VALUES (@id, @name, @scopes, @hash, @at, @actor, @expiresAt)`,
      ),
      rotate: db.prepare<[string, number, number | null, string]>(
        'UPDATE api_tokens SET secret_hash = ?, rotated_at = ?, expires_at = ? WHERE id = ?',
      ),
      remove: db.prepare<[string]>('DELETE FROM api_tokens WHERE id = ?'),
      touch: db.prepare<[number, string | null, string]>(
        'UPDATE api_tokens SET last_used_at = ?, last_used_from = ? WHERE id = ?',
      ),
    };
  }

  #append<T extends KnownRecordType>(type: T, at: number, actor: string, data: RecordDataOf<T>): void {
    this.#journal.append({ ...recordOf(type, data), at, actor });
  }

  list(): ApiToken[] {
    return this.#s.list.all().map(toToken);
  }

  get(name: string): ApiToken | undefined {
    const row = this.#s.byName.get(name);
    return row ? toToken(row) : undefined;
  }

  /**
   * A new token; returns it and its secret (shown once, stored only hashed). `reserved` lets the
   * controller make the simulation token; the CLI never passes it.
   */
  create(
    input: { name: string; scopes: readonly string[]; expiresAt?: number | null },
    actor: string,
    at: number,
    opts: { reserved?: boolean } = {},
  ): { token: ApiToken; secret: string } {
    const name = parseName(input.name);
    if (RESERVED_TOKEN_NAMES.has(name) && !opts.reserved)
      throw new TokenError('invalid_input', `the name "${name}" is reserved`);
    const scopes = parseScopes(input.scopes);
    const expiresAt = input.expiresAt ?? null;
    checkExpiry(expiresAt, at);
    const id = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const secret = newSecret(name);
    this.#journal.transaction(() => {
      if (this.#s.byName.get(name)) throw new TokenError('conflict', `a token "${name}" exists already`);
      this.#s.insert.run({
        id,
        name,
        scopes: scopes.join(','),
        hash: hashSecret(secret),
        at,
        actor,
        expiresAt,
      });
      this.#append('token_created', at, actor, { tokenId: id, name, scopes, expiresAt });
    });
    return { token: this.get(name)!, secret };
  }

  /**
   * A new secret for the token; the old one stops working at once. The expiry stays unless
   * `expiresAt` is given (null: none); an expired token needs a new one.
   */
  rotate(
    name: string,
    actor: string,
    at: number,
    opts: { expiresAt?: number | null } = {},
  ): { token: ApiToken; secret: string } {
    const secret = newSecret(parseName(name));
    this.#journal.transaction(() => {
      const t = this.#require(name);
      const expiresAt = opts.expiresAt === undefined ? t.expiresAt : opts.expiresAt;
      if (opts.expiresAt === undefined && expiresAt !== null && expiresAt <= at)
        throw new TokenError('invalid_input', `the token "${name}" has expired: give a new expiry`);
      checkExpiry(expiresAt, at);
      this.#s.rotate.run(hashSecret(secret), at, expiresAt, t.id);
      this.#append('token_rotated', at, actor, { tokenId: t.id, name, scopes: t.scopes, expiresAt });
    });
    return { token: this.get(name)!, secret };
  }

  /** Revocation takes effect at once and needs no approval. */
  revoke(name: string, actor: string, at: number, reason?: string): ApiToken {
    return this.#journal.transaction(() => {
      const t = this.#require(name);
      this.#s.remove.run(t.id);
      this.#append('token_revoked', at, actor, {
        tokenId: t.id,
        name: t.name,
        ...(reason ? { reason } : {}),
      });
      return t;
    });
  }

  /**
   * The caller behind a bearer token, or why there is none. A use is noted (`last_used_at`, its
   * address) at most once a minute per address, unless `touch` is false.
   */
  authenticate(
    token: string,
    at: number,
    opts: { from?: string; touch?: boolean } = {},
  ): { caller: TokenCaller } | { caller: null; problem: TokenProblem } {
    const m = TOKEN_FORMAT.exec(token);
    if (!m) return { caller: null, problem: 'malformed' };
    const row = this.#s.byName.get(m[1]!);
    const given = Buffer.from(hashSecret(token), 'hex');
    const stored = Buffer.from(row?.secret_hash ?? DUMMY_HASH, 'hex');
    if (!timingSafeEqual(given, stored) || !row) return { caller: null, problem: 'unknown' };
    if (row.expires_at !== null && at >= row.expires_at) return { caller: null, problem: 'expired' };
    const from = opts.from ?? null;
    if (
      (opts.touch ?? true) &&
      (row.last_used_at === null || at - row.last_used_at >= TOUCH_EVERY_MS || row.last_used_from !== from)
    ) {
      try {
        this.#s.touch.run(at, from, row.id);
      } catch {
        // A note of use that cannot be written (storage fault, busy) does not refuse a valid token.
      }
    }
    return {
      caller: { id: row.id, name: row.name, scopes: toScopes(row.scopes), secretHash: row.secret_hash },
    };
  }

  /** Whether the token behind an open stream still holds: not revoked, rotated or expired. */
  stillValid(caller: TokenCaller, at: number): boolean {
    const row = this.#s.byName.get(caller.name);
    return (
      !!row &&
      row.id === caller.id &&
      row.secret_hash === caller.secretHash &&
      (row.expires_at === null || at < row.expires_at)
    );
  }

  #require(name: string): ApiToken {
    const t = this.get(name);
    if (!t) throw new TokenError('not_found', `no token "${name}"`);
    return t;
  }
}

/**
 * Simulation mode: the `simulation` token (scopes read and sim) in `file` (`<storage>/api-token`,
 * mode 0600). A file that holds the current token is kept; otherwise (first start, a token rotated
 * or revoked with the CLI, a file from an earlier version or one others could read) the token is
 * made or rotated and the file written anew. Returns whether it was.
 */
export function ensureSimulationToken(store: TokenStore, file: string, at: number): { renewed: boolean } {
  let current = '';
  try {
    if (existsSync(file)) current = readSecretFile(file).trim();
  } catch {
    // unreadable, or open to others: replaced below
  }
  if (current) {
    const r = store.authenticate(current, at, { touch: false });
    if (r.caller?.name === SIMULATION_TOKEN && sameScopes(r.caller.scopes, SIMULATION_SCOPES))
      return { renewed: false };
  }
  const existing = store.get(SIMULATION_TOKEN);
  if (existing && !sameScopes(existing.scopes, SIMULATION_SCOPES))
    store.revoke(SIMULATION_TOKEN, 'system', at, 'scopes changed');
  const { secret } = store.get(SIMULATION_TOKEN)
    ? store.rotate(SIMULATION_TOKEN, 'system', at, { expiresAt: null })
    : store.create({ name: SIMULATION_TOKEN, scopes: SIMULATION_SCOPES }, 'system', at, { reserved: true });
  if (existsSync(file)) unlinkSync(file);
  createSecretFile(file, `${secret}\n`);
  return { renewed: true };
}

/**
 * A real board: the simulation token is revoked if a simulated run left it, and `file` is never
 * read. Returns what was found, for the start-up warnings.
 */
export function retireSimulationToken(
  store: TokenStore,
  file: string,
  at: number,
): { revoked: boolean; fileLeft: boolean } {
  const revoked = !!store.get(SIMULATION_TOKEN);
  if (revoked) store.revoke(SIMULATION_TOKEN, 'system', at, 'not a simulated board');
  return { revoked, fileLeft: existsSync(file) };
}

function sameScopes(a: readonly Scope[], b: readonly Scope[]): boolean {
  return a.length === b.length && a.every((s) => b.includes(s));
}

function newSecret(name: string): string {
  return `${TOKEN_PREFIX}${name}_${randomBytes(32).toString('base64url')}`;
}

function parseName(name: string): string {
  const r = TokenName.safeParse(name);
  if (!r.success)
    throw new TokenError('invalid_input', `token name "${name}": ${r.error.issues[0]!.message}`);
  return r.data;
}

function checkExpiry(expiresAt: number | null, at: number): void {
  if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= at))
    throw new TokenError('invalid_input', 'the expiry must be in the future');
}

/** Scopes as stored; one this version does not know (written by a newer one) grants nothing. */
function toScopes(stored: string): Scope[] {
  return stored.split(',').flatMap((s) => (Scope.safeParse(s).success ? [s as Scope] : []));
}

function toToken(r: TokenRow): ApiToken {
  return {
    id: r.id,
    name: r.name,
    scopes: toScopes(r.scopes),
    createdAt: r.created_at,
    createdBy: r.created_by,
    rotatedAt: r.rotated_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    lastUsedFrom: r.last_used_from,
  };
}
