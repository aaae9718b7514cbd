/**
 * `sekisho token …`: named, scoped API tokens (controller/accounts/tokens.ts). The secret is
 * printed once, alone on standard output (so that it can go straight into a file), and is stored
 * only as a hash; `list` never shows it.
 */
import { SCOPES } from '../accounts/roles.js';
import { migrateAccounts } from '../accounts/schema.js';
import { type ApiToken, TokenError, TokenStore, tokenView } from '../accounts/tokens.js';
import { formatLocal } from '../time.js';
import { optTime, parseSubcommand, UsageError, withStorage } from './common.js';
import { EXIT_OK } from './exit-codes.js';

/**
 * `--expires`: a date or time in the site's zone (as other options), a number of days (`90d`), or
 * `never`. Undefined when not given.
 */
export function expiryArg(v: string | undefined, tz: string, now: number): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'never') return null;
  const days = /^(\d{1,4})d$/.exec(v);
  const at = days ? now + Number(days[1]) * 86_400_000 : optTime(v, tz, 'expires')!;
  if (at <= now) throw new UsageError(`--expires: ${v} is not in the future`);
  return at;
}

function row(t: ApiToken, tz: string, now: number) {
  const view = tokenView(t, now);
  const expired = view.status === 'expired';
  return {
    ...view,
    text: [
      t.name.padEnd(20),
      t.scopes.join(',').padEnd(17),
      (expired ? 'EXPIRED' : 'active').padEnd(8),
      `created ${formatLocal(t.createdAt, tz)} by ${t.createdBy}`,
      t.rotatedAt === null ? '' : `rotated ${formatLocal(t.rotatedAt, tz)}`,
      t.expiresAt === null ? 'never expires' : `expires ${formatLocal(t.expiresAt, tz)}`,
      t.lastUsedAt === null
        ? 'never used'
        : `last used ${formatLocal(t.lastUsedAt, tz)}${t.lastUsedFrom ? ` from ${t.lastUsedFrom}` : ''}`,
    ]
      .filter((x) => x !== '')
      .join('  '),
  };
}

export function tokenCommand(args: string[]): number {
  const { sub, values, positionals } = parseSubcommand(args, {
    scope: { type: 'string', multiple: true },
    expires: { type: 'string' },
    reason: { type: 'string' },
  });
  const name = () => {
    const n = positionals[0];
    if (!n) throw new UsageError(`usage: sekisho token ${sub} NAME`);
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    return n;
  };
  if (!['create', 'list', 'rotate', 'revoke'].includes(sub ?? ''))
    throw new UsageError(`unknown token command "${sub ?? ''}" (create, list, rotate, revoke)`);
  return withStorage(values, ({ loaded, tz, actor, s, now }) => {
    migrateAccounts(s.db);
    const tokens = new TokenStore(s.db, s.journal);
    const secretOut = (token: ApiToken, secret: string, what: string) => {
      if (values.json)
        process.stdout.write(
          `${JSON.stringify({ ...row(token, tz, now), text: undefined, token: secret })}\n`,
        );
      else process.stdout.write(`${secret}\n`);
      const until = token.expiresAt === null ? 'no expiry' : `expires ${formatLocal(token.expiresAt, tz)}`;
      process.stderr.write(
        `${what} token ${token.name} (scopes ${token.scopes.join(', ')}; ${until}); the secret is shown only now\n`,
      );
    };
    try {
      switch (sub) {
        case 'create': {
          const n = name();
          const scopes = (values.scope ?? []).flatMap((v) => v.split(',')).filter((v) => v.trim() !== '');
          if (scopes.length === 0) throw new UsageError(`missing --scope (${SCOPES.join(', ')})`);
          // The simulation routes never exist on a real board: a token for them there is a mistake.
          if (scopes.some((x) => x.trim() === 'sim') && loaded.config.board.kind !== 'sim')
            throw new UsageError('--scope sim: the simulation routes exist only when board.kind is sim');
          const expiresAt = expiryArg(values.expires, tz, now) ?? null;
          const { token, secret } = tokens.create({ name: n, scopes, expiresAt }, actor, now);
          secretOut(token, secret, 'created');
          return EXIT_OK;
        }
        case 'list': {
          const list = tokens.list().map((t) => row(t, tz, now));
          if (values.json)
            process.stdout.write(`${JSON.stringify(list.map((r) => ({ ...r, text: undefined })))}\n`);
          else if (list.length === 0) process.stdout.write('no API tokens\n');
          else for (const r of list) process.stdout.write(`${r.text}\n`);
          return EXIT_OK;
        }
        case 'rotate': {
          const { token, secret } = tokens.rotate(name(), actor, now, {
            expiresAt: expiryArg(values.expires, tz, now),
          });
          secretOut(token, secret, 'rotated');
          return EXIT_OK;
        }
        default: {
          const t = tokens.revoke(name(), actor, now, values.reason);
          if (values.json) process.stdout.write(`${JSON.stringify({ name: t.name, revoked: true })}\n`);
          else process.stdout.write(`revoked token ${t.name}: it no longer works\n`);
          return EXIT_OK;
        }
      }
    } catch (err) {
      if (err instanceof TokenError && err.code !== 'conflict') throw new UsageError(err.message);
      throw err;
    }
  });
}
