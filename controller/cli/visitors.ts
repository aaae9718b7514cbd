/**
 * `sekisho visitor issue|return|list` and `sekisho presence`: temporary visitor badges and who is
 * inside, from the command line (policy §7(1)②エ, §7(1)②オ). A visitor badge is a request
 * (`visitor_badge`) approved by a different person, its card handed out on the Visitors page — or,
 * with `--break-glass REASON`, issued at once by the person running the command alone.
 */
import { parseArgs } from 'node:util';
import {
  defaultVisitorBadgeUntil,
  defaultVisitWindow,
  foldRows,
  initialDerivedState,
  presenceView,
  unreturnedVisitorBadges,
  visitSettings,
} from '../domain/index.js';
import { formatLocal } from '../time.js';
import {
  breakGlassOption,
  cliRequests,
  common,
  credentialArg,
  describeFiled,
  need,
  optTime,
  parseSubcommand,
  UsageError,
  withStorage,
} from './common.js';

export function visitorCommand(args: string[]): number {
  const { sub, values, positionals } = parseSubcommand(args, {
    host: { type: 'string' },
    person: { type: 'string' },
    name: { type: 'string' },
    id: { type: 'string' },
    organisation: { type: 'string' },
    number: { type: 'string' },
    purpose: { type: 'string' },
    equipment: { type: 'string', multiple: true },
    door: { type: 'string', multiple: true },
    from: { type: 'string' },
    until: { type: 'string' },
    reason: { type: 'string' },
    note: { type: 'string' },
    unreturned: { type: 'boolean' },
    ...breakGlassOption,
  });
  return withStorage(values, (ctx) => {
    const { loaded, tz, actor, s, now } = ctx;
    switch (sub) {
      case 'issue': {
        const breakGlass = values['break-glass'];
        if (values.person)
          throw new UsageError('--person: a visitor badge is requested for a visitor by --name (and --id)');
        if (values.number !== undefined && breakGlass === undefined)
          throw new UsageError(
            '--number: the card is handed out on the Visitors page once a different person approves the request; ' +
              'to issue it at once, alone, add --break-glass REASON',
          );
        if (breakGlass !== undefined && values.number === undefined)
          throw new UsageError('--break-glass issues the card at once: give its --number');
        const doors = values.door ?? loaded.config.doors.map((d) => d.id);
        if (doors.length !== 1) throw new UsageError('--door: name the one door the visitor may use');
        const from = optTime(values.from, tz, 'from') ?? now;
        // From now, as the Visitors page offers: at least an hour, never a window about to end.
        const until =
          optTime(values.until, tz, 'until') ??
          (values.from === undefined
            ? defaultVisitWindow(now, visitSettings(loaded.config)).until
            : defaultVisitorBadgeUntil(from, visitSettings(loaded.config)));
        const credential =
          values.number === undefined
            ? undefined
            : credentialArg(values.number, 'auto', loaded.config.readers);
        const { requests, breakGlass: bg, by } = cliRequests(ctx, 'visitor issue');
        const input = {
          kind: 'visitor_badge' as const,
          payload: {
            name: need(values.name, 'name'),
            organisation: values.organisation ?? '',
            displayId: values.id ?? '',
            hostPersonId: need(values.host, 'host'),
            purpose: need(values.purpose, 'purpose'),
            doorId: doors[0]!,
            validFrom: from,
            validUntil: until,
            equipment: (values.equipment ?? []).join('\n'),
          },
          reason: values.reason ?? breakGlass ?? `visit: ${values.purpose ?? ''}`,
        };
        if (breakGlass === undefined || credential === undefined) {
          const r = requests.create(input, by, now);
          process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : describeFiled(r));
          return 0;
        }
        const r = bg.use(input, by, breakGlass, now);
        const b = requests.issueVisitorBadge(r.id, credential, by, now);
        if (values.json) process.stdout.write(`${JSON.stringify({ ...b, request: r })}\n`);
        else
          process.stdout.write(
            `${describeFiled(r)}issued visitor badge ${b.badgeId} ${b.masked} to ${b.personId}, valid until ${formatLocal(until, tz)}\n`,
          );
        return 0;
      }
      case 'return': {
        const id = positionals[0];
        if (!id) throw new UsageError('usage: sekisho visitor return BADGE_ID [--note TEXT]');
        const b = s.registry.returnVisitorBadge(id, actor, now, values.note);
        process.stdout.write(
          values.json ? `${JSON.stringify(b)}\n` : `visitor badge ${b.badgeId} returned\n`,
        );
        return 0;
      }
      case 'list': {
        const list = s.registry.listVisitorBadges(values.unreturned ? { unreturned: true } : {});
        if (values.json) {
          process.stdout.write(`${JSON.stringify(list)}\n`);
          return 0;
        }
        const people = new Map(s.registry.listPeople().map((p) => [p.id, p]));
        for (const b of list) {
          const who = people.get(b.personId);
          const host = people.get(b.hostId);
          const overdue =
            b.status !== 'returned' && b.validUntil !== null && b.validUntil <= now ? ' OVERDUE' : '';
          process.stdout.write(
            `${b.badgeId}  ${b.masked}  ${b.status.padEnd(8)}${overdue} ${who?.name ?? b.personId} [${who?.displayId ?? '?'}] host ${host?.name ?? b.hostId} — ${b.purpose}${b.equipment.length ? ` (equipment: ${b.equipment.join(', ')})` : ''} until ${b.validUntil === null ? '-' : formatLocal(b.validUntil, tz)}\n`,
          );
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown visitor command "${sub ?? ''}" (issue, return, list)`);
    }
  });
}

/** Who is inside each door's room, rebuilt from the journal exactly as the controller does. */
export function presenceCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: common });
  return withStorage({ config: values.config }, ({ loaded, tz, s }) => {
    const state = foldRows(initialDerivedState(), s.journal.iterate(1));
    const people = new Map(s.registry.listPeople().map((p) => [p.id, p]));
    const doors = loaded.config.doors.map((d) => ({
      door: d.id,
      name: d.name,
      inside: presenceView(state, d.id),
    }));
    const unreturned = unreturnedVisitorBadges(state);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ doors, unreturnedVisitorBadges: unreturned })}\n`);
      return 0;
    }
    for (const d of doors) {
      process.stdout.write(
        `${d.name} (${d.door}): ${d.inside.length === 0 ? 'nobody inside' : `${d.inside.length} inside`}\n`,
      );
      for (const e of d.inside) {
        const p = people.get(e.personId);
        const esc = e.escort ? (people.get(e.escort)?.name ?? e.escort) : null;
        const escort =
          e.category === 'visitor' ? ` escort ${esc ?? '-'}${e.escorted ? '' : ' (NOT WITH THEM)'}` : '';
        process.stdout.write(
          `  ${p?.name ?? e.personId} [${p?.displayId ?? '?'}, ${e.category ?? '?'}] since ${formatLocal(e.since, tz)}${escort}${e.uncertain ? ' (uncertain: left by the exit button?)' : ''}\n`,
        );
      }
    }
    if (unreturned.length) process.stdout.write(`unreturned visitor badges: ${unreturned.length}\n`);
    return 0;
  });
}
