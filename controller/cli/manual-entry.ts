/**
 * `sekisho record-manual-entry`: transcribes an entry or exit made with the mechanical key and
 * written on the paper 入退室管理簿 while the controller could not decide. It files a
 * `manual_entry` request as the person running it; a different person approves it on the
 * dashboard's Requests page, and only then is it journaled (`manual_entry_recorded`). Never alone,
 * never as an `access` row, never a change of who is inside (controller/approvals/manual-entry.ts).
 */
import { parseArgs } from 'node:util';
import { outagesAround } from '../approvals/manual-entry.js';
import { Direction, outageAt } from '../domain/index.js';
import type { Registry } from '../registry/index.js';
import { formatLocal } from '../time.js';
import { cliRequests, common, need, optTime, UsageError, withStorage } from './common.js';
import { EXIT_OK } from './exit-codes.js';

/** The person an `--person` or `--escort` names: their internal id or the ID on their card. */
function personArg(registry: Registry, value: string, flag: string): string {
  const byId = registry.getPerson(value);
  if (byId) return byId.id;
  const found = registry.findPeopleById(value, 2);
  if (found.length === 1) return found[0]!.id;
  if (found.length > 1)
    throw new Error(`--${flag}: "${value}" is the ID of more than one person: give the internal id (p_…)`);
  throw new Error(`--${flag}: no person "${value}" (neither an internal id nor the ID on a card)`);
}

export function recordManualEntryCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      ...common,
      person: { type: 'string' },
      door: { type: 'string' },
      direction: { type: 'string' },
      at: { type: 'string' },
      escort: { type: 'string' },
      'paper-ref': { type: 'string' },
      reason: { type: 'string' },
      'outside-outage': { type: 'boolean' },
      'break-glass': { type: 'string' },
    },
  });
  if (values['break-glass'] !== undefined)
    throw new UsageError(
      '--break-glass: a manual entry is history, never urgent: it is recorded only when a different person approves it',
    );
  const direction = Direction.safeParse(need(values.direction, 'direction'));
  if (!direction.success) throw new UsageError('--direction: expected in or out');
  const atText = need(values.at, 'at');
  if (!/\d{2}:\d{2}/.test(atText))
    throw new UsageError('--at: the date and the time written on paper, e.g. "2026-04-01 02:40"');
  const paperRef = need(values['paper-ref'], 'paper-ref');
  const reason = need(values.reason, 'reason');
  return withStorage(values, (ctx) => {
    const { loaded, tz, s, now } = ctx;
    const doors = loaded.config.doors;
    const door = values.door ?? (doors.length === 1 ? doors[0]!.id : need(undefined, 'door'));
    if (!doors.some((d) => d.id === door)) throw new UsageError(`--door: no door "${door}" in the config`);
    const paperAt = optTime(atText, tz, 'at')!;
    const personId = personArg(s.registry, need(values.person, 'person'), 'person');
    const escortId = values.escort === undefined ? null : personArg(s.registry, values.escort, 'escort');
    const { requests, by } = cliRequests(ctx, 'record-manual-entry');
    const r = requests.create(
      {
        kind: 'manual_entry',
        payload: {
          personId,
          doorId: door,
          direction: direction.data,
          paperAt,
          escortId,
          paperRef,
          outsideOutage: values['outside-outage'] ?? false,
        },
        reason,
      },
      by,
      now,
    );
    const outage = outageAt(outagesAround(s.journal, door, paperAt, now), paperAt, now);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ request: r, outage })}\n`);
      return EXIT_OK;
    }
    const who = s.registry.getPerson(personId)!;
    process.stdout.write(
      `filed request #${r.id} (manual_entry): ${direction.data === 'in' ? 'IN ' : 'OUT'} ${who.name} [${who.displayId}] ` +
        `at ${door}, ${formatLocal(paperAt, tz)} on paper (${paperRef})\n`,
    );
    process.stdout.write(
      outage
        ? `during: ${outage.kind} from ${formatLocal(outage.from, tz)}${outage.until === null ? '' : ` to ${formatLocal(outage.until, tz)}`}\n`
        : 'FLAGGED: outside every recorded outage (--outside-outage)\n',
    );
    process.stdout.write(
      'it is recorded in the journal when a different person approves it on the dashboard (Requests)\n',
    );
    return EXIT_OK;
  });
}
