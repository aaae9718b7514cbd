/**
 * What every `sekisho` command shares: the common options, loading the config, who runs an
 * administrative command (the OS user and the sudo user behind it — never a name given on the
 * command line), parsing option values, opening the storage for the length of one command, and the
 * requests and break-glass path that granting commands go through. Used by every command module in
 * this folder.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type EnrolReader, enrolCredential } from '../../firmware-bridge/index.js';
import { cliActor, personOf } from '../accounts/person.js';
import { migrateAccounts } from '../accounts/schema.js';
import { UserStore } from '../accounts/users.js';
import { BreakGlass } from '../approvals/break-glass.js';
import {
  type NewRequest,
  type RequestActor,
  type RequestRecord,
  RequestStore,
} from '../approvals/requests.js';
import { type LoadedConfig, loadConfig } from '../config/index.js';
import { journalFile, openStorage, type Storage } from '../storage.js';
import { parseLocal, parseLocalUntil } from '../time.js';

/** Bad usage: the CLI prints it with a pointer to `sekisho help` and exits 2. */
export class UsageError extends Error {}

/** The options every command takes. */
export const common = {
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function configPath(v: string | undefined): string {
  return v ?? process.env.SEKISHO_CONFIG ?? '/etc/sekisho/config.yaml';
}

export function load(config: string | undefined): LoadedConfig {
  return loadConfig(configPath(config));
}

/**
 * `--actor` is refused: a command may not claim a dashboard identity or anyone else's name. The
 * journal records who really ran it (see `cliIdentity`).
 */
export function refuseActor(argv: readonly string[]): void {
  if (argv.some((a) => a === '--actor' || a.startsWith('--actor=')))
    throw new UsageError(
      '--actor is not accepted: the journal records who really runs the command (cli:<sudo user>/<os user>); ' +
        'run it as yourself, e.g. "sudo sekisho …" from your own login',
    );
}

/**
 * Who runs this command: `cli:<sudo user>/<os user>` under sudo, else `cli:<os user>`
 * (controller/accounts/person.ts). The installed wrapper keeps SUDO_USER when it drops to the
 * service account. Root or the service account without sudo is no person.
 */
export function cliIdentity(): { actor: string; person: string | null } {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  const actor = cliActor(user, process.env);
  return { actor, person: personOf(actor) };
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

/** As optTime, for the end of a range: a bare date includes that whole day (see parseLocalUntil). */
export function optTimeUntil(v: string | undefined, tz: string, flag: string): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseLocalUntil(v, tz);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`);
  }
}

/** A badge number as typed (any format the readers produce), normalised; a bad one is a UsageError. */
/**
 * A typed card number as the configured readers would produce it (firmware-bridge enrolCredential);
 * a warning about the input goes to stderr, a refusal is a usage error.
 */
export function credentialArg(raw: string, format = 'auto', readers?: readonly EnrolReader[]): string {
  try {
    const parsed = enrolCredential(raw, format, readers);
    if (parsed.warning) process.stderr.write(`warning: --number: ${parsed.warning}\n`);
    return parsed.credential;
  } catch (err) {
    throw new UsageError(`--number: ${(err as Error).message}`);
  }
}

export interface AdminContext {
  loaded: LoadedConfig;
  tz: string;
  /** The journal's actor for this run (cliIdentity). */
  actor: string;
  /** The person behind it, or null (root, the service account): who may then only revoke. */
  person: string | null;
  s: Storage;
  /** When the command started. */
  now: number;
}

/**
 * Opens the storage for an administrative command and always closes it again: when `fn` returns,
 * throws, or (for an async `fn`) once its promise settles.
 */
export function withStorage<T extends number | Promise<number>>(
  values: { config?: string },
  fn: (ctx: AdminContext) => T,
): T {
  const loaded = load(values.config);
  const s = openStorage(loaded);
  let result: T;
  try {
    const { actor, person } = cliIdentity();
    result = fn({ loaded, tz: loaded.config.timeZone, actor, person, s, now: Date.now() });
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

/** A pinned copy of the device's public key (--public-key): it must be an Ed25519 key, as the device signs. */
export function devicePublicKeyFrom(file: string) {
  const key = publicKeyFrom(file);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new UsageError(
      `--public-key: ${file} holds a ${key.asymmetricKeyType} key; the device signs with Ed25519 (device-public.pem)`,
    );
  return key;
}

// -------------------------------------------------------------------------------------------------
// Granting from the command line: a request, or the break-glass path

/** The break-glass option of a granting command. */
export const breakGlassOption = { 'break-glass': { type: 'string' } } as const;

/**
 * Refuses a command that changes anything but a revocation when no person runs it (root directly,
 * the service account): such a run may only revoke.
 */
export function requirePerson(ctx: Pick<AdminContext, 'actor' | 'person'>, what: string): string {
  if (ctx.person !== null) return ctx.person;
  throw new UsageError(
    `${what}: ${ctx.actor} stands for no person, who may only revoke (badge lost/revoke, person revoke-door, ` +
      'person may-escort --no, visitor return); run it through sudo from your own login',
  );
}

/**
 * Files `input` as a request by the person running the command — approved later by a different
 * person on the dashboard — or, with `--break-glass REASON`, carries it out at once, alone (a
 * critical alarm, and a review by another person; controller/approvals/break-glass.ts).
 */
export function grantThroughRequest(
  ctx: AdminContext,
  input: NewRequest,
  breakGlass: string | undefined,
): RequestRecord {
  const { requests, breakGlass: bg, by } = cliRequests(ctx, input.kind);
  if (breakGlass === undefined) return requests.create(input, by, ctx.now);
  return bg.use(input, by, breakGlass, ctx.now);
}

/** The request store and break-glass path for the person running this command (see grantThroughRequest). */
export function cliRequests(ctx: AdminContext, what: string) {
  const person = requirePerson(ctx, what);
  const { s, loaded, actor } = ctx;
  migrateAccounts(s.db);
  const deps = {
    db: s.db,
    journal: s.journal,
    registry: s.registry,
    users: new UserStore(s.db, s.journal),
    config: loaded.config,
  };
  const requests = new RequestStore(deps);
  // Whoever may run this command on the device administers it: a manager's rights, as a person.
  const by: RequestActor = { actor, user: { id: `cli:${person}`, username: person, role: 'manager' } };
  // The alarm is a row like the controller's own: the running controller folds it and MQTT sends it.
  const breakGlass = new BreakGlass(deps, requests, {
    raise: (detail, at, source) =>
      s.journal.append({
        type: 'alarm_raised',
        at,
        door: null,
        actor: null,
        person: null,
        data: { alarm: 'break_glass', severity: 'critical', detail, source },
      }),
    clear: () => {
      // Reviews happen on the dashboard, which clears the condition there.
    },
  });
  return { requests, breakGlass, by };
}

/** What a granting command prints: the request filed, or the break-glass use carried out. */
export function describeFiled(r: RequestRecord): string {
  return r.status === 'pending'
    ? `filed request #${r.id} (${r.kind}): it takes effect when a different person approves it on the dashboard (Requests)\n`
    : `break-glass: request #${r.id} (${r.kind}) carried out alone; a critical alarm was raised and another person must review it on the dashboard\n`;
}
