/**
 * Account passwords (POLICY §6(1)⑦, §8(2)④): a minimum length and a strength estimate (zxcvbn-ts,
 * refusing well-known passwords, keyboard walks and the user's own names), scrypt from node:crypto
 * with a random salt, compared in constant time. Hashing runs on libuv's thread pool (async scrypt), so a
 * login never blocks the door's event loop.
 *
 * Stored form: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`; the parameters travel with the
 * hash, so they can be raised later without invalidating existing passwords.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

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

/**
 * Whether a stored hash is scrypt at no less than `params` (each of N, r, p) with a full-length key:
 * the compliance view flags an account whose hash is weaker (made before a raise, or written by hand).
 */
export function hashMeetsParams(stored: string, params: ScryptParams): boolean {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0)) return false;
  if (Buffer.from(parts[5]!, 'base64url').length !== KEY_LENGTH) return false;
  return N >= params.N && r >= params.r && p >= params.p;
}

/** Why a new password is refused: an i18n key (dashboards/i18n.ts). */
export type PasswordReason =
  | 'password_too_short'
  | 'password_too_long'
  | 'password_contains_name'
  | 'password_too_weak';

/**
 * The verdict on a new password. `warning` and `suggestions` are the estimator's feedback as i18n
 * keys (`zx_w_…`, `zx_s_…`), so the refusal can say why in Japanese or English.
 */
export interface PasswordVerdict {
  ok: boolean;
  reason: PasswordReason | null;
  /** zxcvbn's score 0-4; null when a structural rule refused it before the estimate. */
  score: number | null;
  warning: string | null;
  suggestions: string[];
}

/**
 * The lowest zxcvbn score accepted: 3 is "safely unguessable, moderate protection against an
 * offline slow-hash attack" (at least 10⁸ guesses), which is what the scrypt hashes give it. Not a
 * setting: anyone who can write the config file could otherwise lower it for everyone.
 */
export const MIN_PASSWORD_SCORE = 3;

/** Only the first characters are estimated: the estimate's time grows fast with length. */
const ESTIMATE_LENGTH = 64;

/** Words no password may contain, whoever it is for. */
const PRODUCT_WORDS = ['sekisho', '関所'];

/** The words of a person's own data that their password must not contain. */
function ownWords(userInputs: readonly string[]): string[] {
  const words = new Set<string>(PRODUCT_WORDS);
  for (const input of userInputs) {
    const whole = input.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
    if (Array.from(whole).length >= 3) words.add(whole);
    for (const part of input
      .normalize('NFKC')
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u))
      if (Array.from(part).length >= 4) words.add(part);
  }
  return [...words];
}

/**
 * The cheap rules, without the estimator: length, and none of the user's own names (user name,
 * display name, "sekisho"). Returns the reason's i18n key, or null.
 */
export function passwordProblem(password: string, ...userInputs: string[]): PasswordReason | null {
  const length = Array.from(password).length;
  if (length < MIN_PASSWORD_LENGTH) return 'password_too_short';
  if (length > MAX_PASSWORD_LENGTH) return 'password_too_long';
  const folded = password.normalize('NFKC').toLowerCase();
  if (ownWords(userInputs).some((w) => folded.includes(w))) return 'password_contains_name';
  return null;
}

interface Estimate {
  score: number;
  feedback: { warning: string | null; suggestions: string[] };
}

type Estimator = (password: string, userInputs: string[]) => Estimate;

/**
 * zxcvbn-ts with its common and English dictionaries and keyboard graphs. Its feedback comes back
 * as plain keys (no translations given). l33tMaxSubstitutions bounds the worst case (a 64-character
 * password of symbols) to a fraction of a second.
 */
function makeEstimator(require: NodeJS.Require): Estimator {
  const core = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
  const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
  const en = require('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
  const z = new core.ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    maxLength: ESTIMATE_LENGTH,
    l33tMaxSubstitutions: 10,
  });
  return (password, userInputs) => {
    const r = z.check(password, userInputs);
    return { score: r.score, feedback: r.feedback };
  };
}

let estimator: Estimator | undefined;

function verdictOf(
  password: string,
  userInputs: readonly string[],
  estimate: (p: string, u: string[]) => Estimate,
) {
  const problem = passwordProblem(password, ...userInputs);
  if (problem) return { ok: false, reason: problem, score: null, warning: null, suggestions: [] };
  const r = estimate(password, [...userInputs, ...PRODUCT_WORDS]);
  const ok = r.score >= MIN_PASSWORD_SCORE;
  return {
    ok,
    reason: ok ? null : 'password_too_weak',
    score: r.score,
    warning: !ok && r.feedback.warning ? `zx_w_${r.feedback.warning}` : null,
    suggestions: ok ? [] : r.feedback.suggestions.map((s) => `zx_s_${s}`),
  } satisfies PasswordVerdict;
}

/**
 * Whether `password` may be set for someone whose own data is `userInputs` (user name, display
 * name, site name): the minimum length, none of those names nor "sekisho", and a zxcvbn score of
 * at least MIN_PASSWORD_SCORE (well-known passwords, keyboard walks, dates, repeats, l33t forms of
 * common words are refused). Synchronous: the first call loads the dictionaries (about a second),
 * so a long-running process calls checkPasswordStrengthOffThread instead.
 */
export function checkPasswordStrength(password: string, userInputs: readonly string[]): PasswordVerdict {
  return verdictOf(password, userInputs, (p, u) => {
    estimator ??= makeEstimator(createRequire(import.meta.url));
    return estimator(p, u);
  });
}

/** The estimator's English text for a feedback key (`zx_w_…`, `zx_s_…`), for the CLI. */
export function feedbackText(key: string): string | null {
  const en = createRequire(import.meta.url)(
    '@zxcvbn-ts/language-en',
  ) as typeof import('@zxcvbn-ts/language-en');
  const [, kind, name] = /^zx_([ws])_(\w+)$/.exec(key) ?? [];
  const table: Record<string, string> = kind === 'w' ? en.translations.warnings : en.translations.suggestions;
  return name && Object.hasOwn(table, name) ? table[name]! : null;
}

// The worker is a CommonJS script evaluated from this string (no file of its own, so it runs the
// same from the TypeScript sources and from dist/); it requires the packages by absolute path.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const [core, common, en] = workerData.paths.map((p) => require(p));
const z = new core.ZxcvbnFactory({
  dictionary: { ...common.dictionary, ...en.dictionary },
  graphs: common.adjacencyGraphs,
  maxLength: workerData.maxLength,
  l33tMaxSubstitutions: 10,
});
parentPort.on('message', ({ id, password, userInputs }) => {
  const r = z.check(password, userInputs);
  parentPort.postMessage({ id, score: r.score, feedback: r.feedback });
});
`;

/** A worker unused this long ends, and its dictionaries leave memory. */
const WORKER_IDLE_MS = 60_000;

interface EstimatorWorker {
  w: Worker;
  pending: Map<number, (r: Estimate | Error) => void>;
  next: number;
  idle: NodeJS.Timeout | null;
}

/** The one estimator worker of this process, started on first use. */
let worker: EstimatorWorker | undefined;

function estimateOffThread(password: string, userInputs: string[]): Promise<Estimate> {
  if (!worker) {
    const require = createRequire(import.meta.url);
    const paths = ['@zxcvbn-ts/core', '@zxcvbn-ts/language-common', '@zxcvbn-ts/language-en'].map((p) =>
      require.resolve(p),
    );
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { paths, maxLength: ESTIMATE_LENGTH } });
    const state: EstimatorWorker = { w, pending: new Map(), next: 1, idle: null };
    const failAll = (err: Error) => {
      if (worker === state) worker = undefined;
      for (const settle of state.pending.values()) settle(err);
      state.pending.clear();
    };
    w.on('message', (m: Estimate & { id: number }) => {
      state.pending.get(m.id)?.(m);
      state.pending.delete(m.id);
      if (state.pending.size === 0) {
        w.unref();
        state.idle = setTimeout(() => void w.terminate(), WORKER_IDLE_MS);
        state.idle.unref();
      }
    });
    w.on('error', failAll);
    w.on('exit', (code) => failAll(new Error(`password estimator ended (${code})`)));
    worker = state;
  }
  const state = worker;
  if (state.idle) clearTimeout(state.idle);
  state.idle = null;
  state.w.ref();
  const id = state.next++;
  return new Promise<Estimate>((resolve, reject) => {
    state.pending.set(id, (r) => (r instanceof Error ? reject(r) : resolve(r)));
    state.w.postMessage({ id, password, userInputs });
  });
}

/**
 * checkPasswordStrength in a worker thread: the door shares the event loop with the dashboard. The
 * worker ends after a minute unused, so its dictionaries (about 15 MB) do not stay in memory.
 */
export async function checkPasswordStrengthOffThread(
  password: string,
  userInputs: readonly string[],
): Promise<PasswordVerdict> {
  if (passwordProblem(password, ...userInputs))
    return verdictOf(password, userInputs, () => ({
      score: 0,
      feedback: { warning: null, suggestions: [] },
    }));
  const estimate = await estimateOffThread(password, [...userInputs, ...PRODUCT_WORDS]);
  return verdictOf(password, userInputs, () => estimate);
}

/**
 * A generated password for a new account or the demo account: 20 characters, about 119 bits. Drawn
 * again (rarely: a four-letter name piece about once in a thousand) while it contains one of the
 * account's own words, which passwordProblem refuses.
 */
export function generatePassword(userInputs: readonly string[] = []): string {
  for (;;) {
    const p = drawPassword();
    if (passwordProblem(p, ...userInputs) === null) return p;
  }
}

function drawPassword(): string {
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
