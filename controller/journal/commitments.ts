/**
 * Journal format v2: a secret in a row's data is hashed as a commitment, never as itself, so that a
 * row's exact bytes can leave the device (docs/journal.md, "Format v2: commitments").
 *
 * A secret is the value of any object key, at any depth of the data, that `isSecretKey` names
 * (`credentialHash`, and anything that looks like a secret, token or password). In the hashed bytes
 * it is replaced by `{"c":"<hex>"}` with
 *
 *   c = hex(SHA-256(nonce as 64 ASCII hex digits ‖ canonical JSON of the value, UTF-8))
 *
 * and a fresh 32-byte random nonce per secret. The value and its nonce are kept beside the row (table
 * `journal_secrets`, same transaction), keyed by the row's seq and the secret's path. The nonce makes
 * the commitment hiding (the same card enrolled twice gives two unrelated commitments) and binding
 * (SHA-256: another value cannot give the same c).
 *
 * No I/O here but the random nonce, which the caller passes in.
 */
import { hash as digest } from 'node:crypto';
import { canonicalJson } from './journal.js';

/**
 * Keys whose values are secret. Part of format v2: changing it changes which values are committed,
 * so a change needs a new format version. The feed's convenience view strips the same keys.
 */
export const SECRET_KEY = /credential|secret|passw|token|hmac|privatekey|signingkey/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Whether data holds a value under a secret key, at any depth (a format v1 row's secret in clear). */
export function holdsSecret(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object' || depth > 32) return false;
  if (Array.isArray(value)) return value.some((x) => holdsSecret(x, depth + 1));
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    if (isSecretKey(k) || holdsSecret((value as Record<string, unknown>)[k], depth + 1)) return true;
  }
  return false;
}

/** A secret kept beside its row: where it sits in the data, its nonce and its value. */
export interface SideSecret {
  /** The path from the row's data to the secret, as canonical JSON: `["payload","credentialHash"]`. */
  path: string;
  /** 64 hex digits. */
  nonce: string;
  /** The secret as canonical JSON (what the commitment covers). */
  value: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The commitment to a value (canonical JSON) under a nonce (64 hex digits), hex. */
export function commitmentOf(nonce: string, valueJson: string): string {
  return digest('sha256', nonce + valueJson, 'hex');
}

/** Whether a value in committed bytes has the shape of a commitment: `{"c":"<64 hex>"}` exactly. */
export function isCommitment(value: unknown): value is { c: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'c' && HEX64.test(String((value as { c: unknown }).c));
}

/**
 * The data with every secret replaced by its commitment, and the side secrets; null when the data
 * holds no secret (then nothing is copied: the door's rows cost one regex test per key).
 */
export function commitSecrets(
  data: Record<string, unknown>,
  newNonce: () => string,
): { data: Record<string, unknown>; secrets: SideSecret[] } | null {
  const secrets: SideSecret[] = [];
  const out = commitWalk(data, [], secrets, newNonce, 0);
  return secrets.length === 0 ? null : { data: out as Record<string, unknown>, secrets };
}

// `path` is one stack shared by the whole walk (pushed and popped), so a row without secrets
// allocates nothing.
function commitWalk(
  value: unknown,
  path: (string | number)[],
  secrets: SideSecret[],
  newNonce: () => string,
  depth: number,
): unknown {
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const x = commitWalk(value[i], path, secrets, newNonce, depth + 1);
      path.pop();
      if (x !== value[i]) {
        copy ??= value.slice();
        copy[i] = x;
      }
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | null = null;
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const x = (value as Record<string, unknown>)[k];
    let y: unknown;
    path.push(k);
    if (isSecretKey(k) && x !== undefined) {
      const nonce = newNonce();
      const json = canonicalJson(x, `data.${path.join('.')}`);
      secrets.push({ path: canonicalJson(path), nonce, value: json });
      y = { c: commitmentOf(nonce, json) };
    } else {
      y = commitWalk(x, path, secrets, newNonce, depth + 1);
    }
    path.pop();
    if (y !== x) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[k] = y;
    }
  }
  return copy ?? value;
}

/** Parses a side secret's path; undefined when it is not a JSON array of keys and indices. */
function parsePath(path: string): (string | number)[] | undefined {
  try {
    const p: unknown = JSON.parse(path);
    if (!Array.isArray(p) || p.length === 0) return undefined;
    if (!p.every((x) => typeof x === 'string' || (Number.isSafeInteger(x) && x >= 0))) return undefined;
    return p as (string | number)[];
  } catch {
    return undefined;
  }
}

function at(data: unknown, path: readonly (string | number)[]): unknown {
  let v: unknown = data;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = Object.hasOwn(v, k) ? (v as Record<string | number, unknown>)[k] : undefined;
  }
  return v;
}

/**
 * The data with each side secret put back at its path (the data is parsed from the bytes, so it is
 * changed in place). A secret whose path does not lead to a commitment is left out: verify names it.
 */
export function restoreSecrets(
  data: Record<string, unknown>,
  secrets: readonly Pick<SideSecret, 'path' | 'value'>[],
): Record<string, unknown> {
  for (const s of secrets) {
    const path = parsePath(s.path);
    if (!path) continue;
    const parent = at(data, path.slice(0, -1));
    const key = path[path.length - 1]!;
    if (parent === null || typeof parent !== 'object' || !isCommitment(at(parent, [key]))) continue;
    try {
      (parent as Record<string | number, unknown>)[key] = JSON.parse(s.value);
    } catch {
      // a side value that is not JSON stays a commitment; verify names it
    }
  }
  return data;
}

/** The paths (canonical JSON) of the commitments a v2 row's data holds, and secrets held in clear. */
export function committedPaths(data: unknown): { commitments: Map<string, string>; clear: string[] } {
  const commitments = new Map<string, string>();
  const clear: string[] = [];
  const walk = (value: unknown, path: (string | number)[], depth: number) => {
    if (value === null || typeof value !== 'object' || depth > 32) return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) walk(value[i], [...path, i], depth + 1);
      return;
    }
    for (const [k, x] of Object.entries(value)) {
      const p = [...path, k];
      if (isSecretKey(k)) {
        if (isCommitment(x)) commitments.set(JSON.stringify(p), x.c);
        else clear.push(JSON.stringify(p));
      } else walk(x, p, depth + 1);
    }
  };
  walk(data, [], 0);
  return { commitments, clear };
}

/**
 * Checks a v2 row's side secrets against the commitments in its data: every commitment has exactly
 * one side secret that opens it, and every side secret opens a commitment. Returns one sentence per
 * problem (none: all good).
 */
export function checkSideSecrets(data: unknown, secrets: readonly SideSecret[]): string[] {
  const { commitments, clear } = committedPaths(data);
  const problems: string[] = [];
  for (const p of clear) problems.push(`the secret at ${p} is in the hashed bytes in clear, not committed`);
  const seen = new Set<string>();
  for (const s of secrets) {
    const c = commitments.get(s.path);
    if (c === undefined) {
      problems.push(`a secret is kept beside the row for ${s.path}, where its bytes hold no commitment`);
      continue;
    }
    seen.add(s.path);
    if (!HEX64.test(s.nonce) || commitmentOf(s.nonce, s.value) !== c)
      problems.push(`the secret kept beside the row for ${s.path} does not open the commitment in its bytes`);
  }
  for (const p of commitments.keys())
    if (!seen.has(p)) problems.push(`the secret for ${p} is missing beside the row`);
  return problems;
}
