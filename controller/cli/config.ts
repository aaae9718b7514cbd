/**
 * `sekisho config declare --reason TEXT` (who changed the config file: that person may not
 * acknowledge the change) and `sekisho config show-changes` (read-only: each start's access-relevant
 * changes and their review). Issue #14 path 8; docs/config.md, "What is journaled".
 */
import { personOf } from '../accounts/person.js';
import { ConfigChangeStore, type ConfigLoad } from '../approvals/config-changes.js';
import { findUnsafeChar, unsafeCharMessage } from '../domain/index.js';
import { formatLocal } from '../time.js';
import { load, openExisting, parseSubcommand, UsageError } from './common.js';
import { EXIT_OK } from './exit-codes.js';
import { osActor } from './service.js';

const USAGE =
  'usage: sekisho config declare --reason TEXT | sekisho config show-changes [--all] [--pending] [--json]';

export function configCommand(args: string[]): number {
  const { sub, values, positionals } = parseSubcommand(args, {
    reason: { type: 'string' },
    all: { type: 'boolean' },
    pending: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\n${USAGE}`);
  switch (sub) {
    case 'declare':
      return declare(values.config, values.reason, values.json ?? false);
    case 'show-changes':
      return showChanges(values.config, {
        all: values.all ?? false,
        pending: values.pending ?? false,
        json: values.json ?? false,
      });
    default:
      throw new UsageError(sub === undefined ? USAGE : `unknown config command "${sub}"\n${USAGE}`);
  }
}

function declare(config: string | undefined, reasonArg: string | undefined, json: boolean): number {
  const reason = reasonArg?.trim() ?? '';
  if (reason === '') throw new UsageError('missing --reason: say what you changed and why');
  if (reason.length > 500) throw new UsageError('--reason: at most 500 characters');
  // A reason is shown on the dashboard: nothing that could reorder or hide the text around it (the
  // same rule as names, controller/domain/text.ts).
  const unsafe = findUnsafeChar(reason);
  if (unsafe) throw new UsageError(`--reason: ${unsafeCharMessage(unsafe)}`);
  const actor = osActor();
  // A declaration names the person who may not acknowledge: a system account names nobody.
  if (actor === undefined || personOf(actor) === null)
    throw new Error(
      `${actor ?? 'this user'} stands for no person: run "sekisho config declare" as yourself (under sudo, your own login is recorded)`,
    );
  // The hash of the file as it is now: the config the next start (or this one) loads.
  const loaded = load(config);
  const s = openExisting(loaded);
  try {
    const row = s.journal.append({
      type: 'config_change_declared',
      at: Date.now(),
      actor,
      data: { file: loaded.file, sha256: loaded.sha256!, reason },
    });
    if (json) process.stdout.write(`${JSON.stringify({ seq: row.seq, at: row.at, actor, ...row.data })}\n`);
    else
      process.stdout.write(
        `declared: ${actor} changed ${loaded.file} (sha256 ${loaded.sha256}); journal row ${row.seq}.\n` +
          'A different person must acknowledge the changes on the Compliance page once the controller has loaded it.\n',
      );
  } finally {
    s.db.close();
  }
  return EXIT_OK;
}

function showChanges(
  config: string | undefined,
  opts: { all: boolean; pending: boolean; json: boolean },
): number {
  const loaded = load(config);
  const tz = loaded.config.timeZone;
  const s = openExisting(loaded, { readonly: true });
  let loads: ConfigLoad[];
  try {
    loads = new ConfigChangeStore(s.journal).list({ all: opts.all });
  } finally {
    s.db.close();
  }
  if (opts.pending) loads = loads.filter((l) => l.needsReview);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ loads })}\n`);
    return EXIT_OK;
  }
  if (loads.length === 0) {
    process.stdout.write(opts.pending ? 'no config change waits for review\n' : 'no config changes\n');
    return EXIT_OK;
  }
  const value = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  for (const l of loads) {
    const status = l.acknowledged
      ? `acknowledged by ${l.acknowledged.actor ?? '—'} ${formatLocal(l.acknowledged.at, tz)}: ${l.acknowledged.note}`
      : l.changes.length > 0
        ? 'NEEDS REVIEW'
        : 'no changes';
    process.stdout.write(
      `#${l.seq} ${formatLocal(l.at, tz)} ${l.baseline ? 'baseline' : `since #${l.previousSeq}`}, started by ${l.startedBy ?? 'unknown'}, sha256 ${l.sha256 ?? '—'}\n` +
        `  ${status}\n`,
    );
    for (const d of l.declarations)
      process.stdout.write(`  declared by ${d.actor ?? '—'} ${formatLocal(d.at, tz)}: ${d.reason}\n`);
    for (const c of l.changes) process.stdout.write(`  ${c.path}: ${value(c.old)} → ${value(c.new)}\n`);
  }
  return EXIT_OK;
}
