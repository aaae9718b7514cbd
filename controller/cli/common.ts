/**
 * What every `sekisho` command shares: the common options, loading the config, the actor of an
 * administrative command, parsing option values, and opening the storage for the length of one
 * command. Used by every command module in this folder.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { normaliseCredential } from '../../firmware-bridge/index.js';
import { type LoadedConfig, loadConfig } from '../config/index.js';
import { journalFile, openStorage, type Storage } from '../storage.js';
import { parseLocal } from '../time.js';

/** Bad usage: the CLI prints it with a pointer to `sekisho help` and exits 2. */
export class UsageError extends Error {}

/** The options every command takes. */
export const common = {
  config: { type: 'string' },
  actor: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function configPath(v: string | undefined): string {
  return v ?? process.env.SEKISHO_CONFIG ?? '/etc/sekisho/config.yaml';
}

export function load(config: string | undefined): LoadedConfig {
  return loadConfig(configPath(config));
}

/** The actor journaled for an administrative command: --actor, or cli:<login user>. */
export function actorOf(v: string | undefined): string {
  if (v) return v;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  return `cli:${user}`;
}

export function need(v: string | undefined, flag: string): string {
  if (v === undefined || v === '') throw new UsageError(`missing --${flag}`);
  return v;
}

/**
 * An optional date or time option in the site's zone (see parseLocal). A bad value is a
 * UsageError, prefixed with `--flag: ` when `flag` is given.
 */
export function optTime(v: string | undefined, tz: string, flag?: string): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseLocal(v, tz);
  } catch (err) {
    const message = (err as Error).message;
    throw new UsageError(flag === undefined ? message : `--${flag}: ${message}`);
  }
}

/** A badge number as typed (any format the readers produce), normalised; a bad one is a UsageError. */
export function credentialArg(raw: string, format = 'auto'): string {
  try {
    return normaliseCredential(format, raw);
  } catch (err) {
    throw new UsageError(`--number: ${(err as Error).message}`);
  }
}

export interface AdminContext {
  loaded: LoadedConfig;
  tz: string;
  actor: string;
  s: Storage;
  /** When the command started. */
  now: number;
}

/**
 * Opens the storage for an administrative command and always closes it again: when `fn` returns,
 * throws, or (for an async `fn`) once its promise settles.
 */
export function withStorage<T extends number | Promise<number>>(
  values: { config?: string; actor?: string },
  fn: (ctx: AdminContext) => T,
): T {
  const loaded = load(values.config);
  const s = openStorage(loaded);
  let result: T;
  try {
    result = fn({ loaded, tz: loaded.config.timeZone, actor: actorOf(values.actor), s, now: Date.now() });
  } catch (err) {
    s.db.close();
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => s.db.close()) as T;
  s.db.close();
  return result;
}

/**
 * Parses `<sub> [positionals] [options]` of a command with subcommands (person, badge, visitor,
 * user): the common options plus the command's own.
 */
export function parseSubcommand<const O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
) {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs<{
    args: string[];
    allowPositionals: true;
    options: typeof common & O;
  }>({ args: rest, allowPositionals: true, options: { ...common, ...options } });
  return { sub, values, positionals };
}

export /** An existing journal, never created here; `readonly` for commands that only look. */
function openExisting(loaded: LoadedConfig, opts: { readonly?: boolean } = {}) {
  const file = journalFile(loaded.storageDir);
  if (!existsSync(file))
    throw new Error(`no journal at ${file} (has the controller been started with this config?)`);
  return openStorage(loaded, opts);
}

/** A public key (PEM) named by --public-key; one that cannot be read is a UsageError. */
export function publicKeyFrom(file: string) {
  try {
    return createPublicKey(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--public-key: cannot read a public key from ${file}: ${(err as Error).message}`);
  }
}
