/**
 * Account passwords (POLICY §6(1)⑦, §8(2)④): a minimum length, scrypt from node:crypto with a
 * random salt, compared in constant time. Hashing runs on libuv's thread pool (async scrypt), so a
 * login never blocks the door's event loop.
 *
 * Stored form: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`; the parameters travel with the
 * hash, so they can be raised later without invalidating existing passwords.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 32 MiB and about 0.1 s on a Raspberry Pi 4 per hash. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      KEY_LENGTH,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r * params.p },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0)) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const key = await derive(password, salt, { N, r, p });
  return timingSafeEqual(key, expected);
}

/** Why a new password is not acceptable (an i18n key), or null. */
export function passwordProblem(password: string, username: string): string | null {
  const chars = Array.from(password);
  if (chars.length < MIN_PASSWORD_LENGTH) return 'password_too_short';
  if (chars.length > MAX_PASSWORD_LENGTH) return 'password_too_long';
  if (new Set(chars).size < 5) return 'password_too_simple';
  if (username.length >= 3 && password.toLowerCase().includes(username.toLowerCase()))
    return 'password_contains_username';
  return null;
}

/** A generated password for a new account or the demo account: 20 characters, about 119 bits. */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const out: string[] = [];
  while (out.length < 20) {
    const b = randomBytes(32);
    for (const x of b) {
      // Rejection sampling keeps every character equally likely.
      if (x < 256 - (256 % alphabet.length) && out.length < 20) out.push(alphabet[x % alphabet.length]!);
    }
  }
  return `${out.slice(0, 5).join('')}-${out.slice(5, 10).join('')}-${out.slice(10, 15).join('')}-${out.slice(15).join('')}`;
}
