/**
 * `sekisho person …` and `sekisho badge …`: the registry of people, their door permissions and
 * their badges, from the command line. Every change is a journal record.
 */
import { PersonCategory, visibleText } from '../domain/index.js';
import { formatLocal } from '../time.js';
import { credentialArg, need, optTime, parseSubcommand, UsageError, withStorage } from './common.js';

export function person(args: string[]): number {
  const { sub, values, positionals } = parseSubcommand(args, {
    name: { type: 'string' },
    id: { type: 'string' },
    category: { type: 'string' },
    'valid-from': { type: 'string' },
    'valid-until': { type: 'string' },
    'lockdown-override': { type: 'boolean' },
    door: { type: 'string' },
    schedule: { type: 'string' },
    no: { type: 'boolean' },
  });
  return withStorage(values, ({ loaded, tz, actor, s, now }) => {
    switch (sub) {
      case 'add': {
        const cat = PersonCategory.safeParse(need(values.category, 'category'));
        if (!cat.success) throw new UsageError('--category: expected staff, contractor or visitor');
        const p = s.registry.addPerson(
          {
            displayId: need(values.id, 'id'),
            name: need(values.name, 'name'),
            category: cat.data,
            validFrom: optTime(values['valid-from'], tz) ?? null,
            validUntil: optTime(values['valid-until'], tz) ?? null,
            lockdownOverride: values['lockdown-override'] ?? false,
          },
          actor,
          now,
        );
        process.stdout.write(
          values.json
            ? `${JSON.stringify(p)}\n`
            : `added ${p.id} ${p.name} [${p.displayId}, ${p.category}]\n`,
        );
        return 0;
      }
      case 'may-escort': {
        const id = positionals[0];
        if (!id) throw new UsageError('usage: sekisho person may-escort PERSON [--no]');
        const allowed = !values.no;
        s.registry.setMayEscort(id, allowed, actor, now);
        process.stdout.write(
          `${id} ${allowed ? 'may now escort visitors' : 'may no longer escort visitors'}\n`,
        );
        return 0;
      }
      case 'grant':
      case 'revoke-door': {
        const id = positionals[0] ?? need(undefined, 'person id (positional)');
        const door = need(values.door, 'door');
        if (!loaded.config.doors.some((d) => d.id === door))
          throw new UsageError(`--door: no door "${door}" in the config`);
        if (!s.registry.getPerson(id)) throw new UsageError(`no person "${id}"`);
        if (sub === 'grant') {
          const schedule = values.schedule ?? 'always';
          if (schedule !== 'always' && !loaded.config.schedules.some((x) => x.id === schedule))
            throw new UsageError(`--schedule: no schedule "${schedule}" in the config`);
          s.registry.grantDoor(id, door, schedule, actor, now);
          process.stdout.write(`granted ${id} through ${door} (${schedule})\n`);
        } else {
          s.registry.revokeDoor(id, door, actor, now);
          process.stdout.write(`revoked ${id} at ${door}\n`);
        }
        return 0;
      }
      case 'list': {
        const people = s.registry.listPeople();
        if (values.json) {
          process.stdout.write(`${JSON.stringify(people)}\n`);
          return 0;
        }
        for (const p of people) {
          const doors = s.registry
            .permissionsFor(p.id)
            .map((x) => `${x.doorId}:${x.scheduleId}`)
            .join(',');
          const until = p.validUntil === null ? '' : ` until ${formatLocal(p.validUntil, tz)}`;
          process.stdout.write(
            `${visibleText(`${p.id}  ${p.displayId.padEnd(10)} ${p.category.padEnd(10)} ${p.active ? 'active  ' : 'inactive'} ${p.name}${until} ${doors}`)}\n`,
          );
        }
        return 0;
      }
      default:
        throw new UsageError(
          `unknown person command "${sub ?? ''}" (add, grant, revoke-door, may-escort, list)`,
        );
    }
  });
}

export function badge(args: string[]): number {
  const { sub, values, positionals } = parseSubcommand(args, {
    person: { type: 'string' },
    number: { type: 'string' },
    format: { type: 'string' },
    reason: { type: 'string' },
    'valid-from': { type: 'string' },
    'valid-until': { type: 'string' },
  });
  return withStorage(values, ({ tz, actor, s, now }) => {
    switch (sub) {
      case 'add': {
        const personId = need(values.person, 'person');
        if (!s.registry.getPerson(personId)) throw new UsageError(`no person "${personId}"`);
        const credential = credentialArg(need(values.number, 'number'), values.format);
        const b = s.registry.addBadge(
          {
            personId,
            credential,
            validFrom: optTime(values['valid-from'], tz) ?? null,
            validUntil: optTime(values['valid-until'], tz) ?? null,
          },
          actor,
          now,
        );
        process.stdout.write(
          values.json ? `${JSON.stringify(b)}\n` : `added badge ${b.id} ${b.masked} for ${personId}\n`,
        );
        return 0;
      }
      case 'lost':
      case 'revoke': {
        const id = positionals[0];
        if (!id) throw new UsageError(`usage: sekisho badge ${sub} BADGE_ID`);
        const status = sub === 'lost' ? 'lost' : 'revoked';
        s.registry.setBadgeStatus(id, status, actor, now, values.reason);
        process.stdout.write(`badge ${id} is ${status}: refused at every door from now on\n`);
        return 0;
      }
      case 'list': {
        const badges = s.registry.listBadges();
        if (values.json) {
          process.stdout.write(`${JSON.stringify(badges)}\n`);
          return 0;
        }
        for (const b of badges) {
          const until = b.validUntil === null ? '' : ` until ${formatLocal(b.validUntil, tz)}`;
          const expired = b.validUntil !== null && b.validUntil <= now ? ' (EXPIRED)' : '';
          process.stdout.write(
            `${b.id}  ${b.masked}  ${b.status.padEnd(8)} person ${b.personId}${until}${expired}\n`,
          );
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown badge command "${sub ?? ''}" (add, lost, revoke, list)`);
    }
  });
}
