/**
 * `sekisho visitor issue|return|list` and `sekisho presence`: temporary visitor badges and who is
 * inside, from the command line (policy §7(1)②エ, §7(1)②オ).
 */
import { parseArgs } from 'node:util';
import { foldRows, initialDerivedState, presenceView, unreturnedVisitorBadges } from '../domain/index.js';
import { formatLocal } from '../time.js';
import { common, credentialArg, need, optTime, parseSubcommand, UsageError, withStorage } from './common.js';

export function visitorCommand(args: string[]): number {
  const { sub, values, positionals } = parseSubcommand(args, {
    host: { type: 'string' },
    person: { type: 'string' },
    name: { type: 'string' },
    id: { type: 'string' },
    number: { type: 'string' },
    purpose: { type: 'string' },
    equipment: { type: 'string', multiple: true },
    door: { type: 'string', multiple: true },
    until: { type: 'string' },
    note: { type: 'string' },
    unreturned: { type: 'boolean' },
  });
  return withStorage(values, ({ tz, actor, s, now }) => {
    switch (sub) {
      case 'issue': {
        const host = need(values.host, 'host');
        const existing = values.person;
        const b = s.registry.issueVisitorBadge(
          {
            ...(existing
              ? { personId: existing }
              : { visitor: { name: need(values.name, 'name'), displayId: need(values.id, 'id') } }),
            credential: credentialArg(need(values.number, 'number')),
            hostId: host,
            purpose: need(values.purpose, 'purpose'),
            equipment: values.equipment ?? [],
            doors: values.door ?? [],
            validUntil: optTime(values.until, tz),
          },
          actor,
          now,
        );
        if (values.json) process.stdout.write(`${JSON.stringify(b)}\n`);
        else
          process.stdout.write(
            `issued visitor badge ${b.badgeId} ${b.masked} to ${b.personId}, host ${b.hostId}, valid until ${b.validUntil === null ? '-' : formatLocal(b.validUntil, tz)}\n`,
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
