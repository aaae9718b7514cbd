/**
 * `sekisho person …` and `sekisho badge …`: the registry of people, their door permissions and
 * their badges, from the command line. Every change is a journal record with who ran it.
 *
 * What widens access — a grant, a badge, the lockdown override, the right to escort — is filed as a
 * request by the person running the command, approved by a different person on the dashboard, or
 * carried out alone with `--break-glass REASON`. Revocations (badge lost/revoke, revoke-door,
 * may-escort --no) take effect at once, whoever runs them.
 */
import { badgeDisplayStatus, PersonCategory, visibleText } from '../domain/index.js';
import { formatLocal } from '../time.js';
import {
  breakGlassOption,
  credentialArg,
  describeFiled,
  grantThroughRequest,
  need,
  optTime,
  parseSubcommand,
  requirePerson,
  UsageError,
  withStorage,
} from './common.js';

export function person(args: string[]): number {
  const { sub, values, positionals } = parseSubcommand(args, {
    name: { type: 'string' },
    reading: { type: 'string' },
    id: { type: 'string' },
    category: { type: 'string' },
    'valid-from': { type: 'string' },
    'valid-until': { type: 'string' },
    'lockdown-override': { type: 'boolean' },
    door: { type: 'string' },
    schedule: { type: 'string' },
    no: { type: 'boolean' },
    reason: { type: 'string' },
    ...breakGlassOption,
  });
  return withStorage(values, (ctx) => {
    const { loaded, tz, actor, s, now } = ctx;
    const breakGlass = values['break-glass'];
    switch (sub) {
      case 'add': {
        const cat = PersonCategory.safeParse(need(values.category, 'category'));
        if (!cat.success) throw new UsageError('--category: expected staff, contractor or visitor');
        requirePerson(ctx, 'person add');
        if (breakGlass !== undefined && !values['lockdown-override'])
          throw new UsageError(
            '--break-glass: only with --lockdown-override (adding a person grants nothing)',
          );
        const p = s.registry.addPerson(
          {
            displayId: need(values.id, 'id'),
            name: need(values.name, 'name'),
            ...(values.reading === undefined ? {} : { reading: values.reading }),
            category: cat.data,
            validFrom: optTime(values['valid-from'], tz) ?? null,
            validUntil: optTime(values['valid-until'], tz) ?? null,
            lockdownOverride: false,
          },
          actor,
          now,
        );
        const filed = values['lockdown-override']
          ? grantThroughRequest(
              ctx,
              {
                kind: 'lockdown_override',
                payload: { personId: p.id },
                reason:
                  values.reason ?? breakGlass ?? `lockdown override for the new ${p.category} ${p.displayId}`,
              },
              breakGlass,
            )
          : undefined;
        if (values.json)
          process.stdout.write(`${JSON.stringify({ ...p, ...(filed ? { request: filed } : {}) })}\n`);
        else {
          process.stdout.write(
            `added ${p.id} ${p.name}${p.reading ? ` (${p.reading})` : ''} [${p.displayId}, ${p.category}]\n`,
          );
          if (filed) process.stdout.write(describeFiled(filed));
        }
        return 0;
      }
      case 'may-escort': {
        const id = positionals[0];
        if (!id)
          throw new UsageError('usage: sekisho person may-escort PERSON [--no | --break-glass REASON]');
        if (values.no) {
          s.registry.setMayEscort(id, false, actor, now);
          process.stdout.write(`${id} may no longer escort visitors\n`);
          return 0;
        }
        const r = grantThroughRequest(
          ctx,
          {
            kind: 'escort_permission',
            payload: { personId: id },
            reason: values.reason ?? breakGlass ?? 'requested from the command line',
          },
          breakGlass,
        );
        process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : describeFiled(r));
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
          const r = grantThroughRequest(
            ctx,
            {
              kind: 'access_grant',
              payload: { personId: id, doorId: door, scheduleId: schedule },
              reason: values.reason ?? breakGlass ?? 'requested from the command line',
            },
            breakGlass,
          );
          process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : describeFiled(r));
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
            `${visibleText(`${p.id}  ${p.displayId.padEnd(10)} ${p.category.padEnd(10)} ${p.active ? 'active  ' : 'inactive'} ${p.name}${p.reading ? ` (${p.reading})` : ''}${until} ${doors}`)}\n`,
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
    note: { type: 'string' },
    'valid-from': { type: 'string' },
    'valid-until': { type: 'string' },
    ...breakGlassOption,
  });
  return withStorage(values, (ctx) => {
    const { tz, actor, s, now } = ctx;
    switch (sub) {
      case 'add': {
        const personId = need(values.person, 'person');
        const who = s.registry.getPerson(personId);
        if (!who) throw new UsageError(`no person "${personId}"`);
        if (who.category === 'visitor')
          throw new UsageError('a visitor badge is issued with "sekisho visitor issue", not "badge add"');
        const sealed = s.registry.sealCredential(
          credentialArg(need(values.number, 'number'), values.format, ctx.loaded.config.readers),
        );
        const breakGlass = values['break-glass'];
        const r = grantThroughRequest(
          ctx,
          {
            kind: 'badge_enrol',
            payload: {
              personId,
              ...sealed,
              validFrom: optTime(values['valid-from'], tz, 'valid-from') ?? null,
              validUntil: optTime(values['valid-until'], tz, 'valid-until') ?? null,
            },
            reason: values.reason ?? breakGlass ?? `badge ${sealed.masked} for ${who.displayId}`,
          },
          breakGlass,
        );
        const badgeId = typeof r.result?.badgeId === 'string' ? r.result.badgeId : undefined;
        if (values.json)
          process.stdout.write(
            `${JSON.stringify(badgeId ? { ...s.registry.getBadge(badgeId), request: r } : { request: r })}\n`,
          );
        else process.stdout.write(describeFiled(r));
        return 0;
      }
      case 'lost':
      case 'revoke': {
        const id = positionals[0];
        if (!id)
          throw new UsageError(
            `usage: sekisho badge ${sub} BADGE_ID ${sub === 'lost' ? '--reason "where, when"' : '[--reason TEXT]'}`,
          );
        const status = sub === 'lost' ? 'lost' : 'revoked';
        // A lost report says where and when, as the dashboard and the API require (journaled).
        const reason = sub === 'lost' ? need(values.reason, 'reason') : values.reason;
        s.registry.setBadgeStatus(id, status, actor, now, reason);
        process.stdout.write(`badge ${id} is ${status}: refused at every door from now on\n`);
        return 0;
      }
      case 'found': {
        const id = positionals[0];
        if (!id) throw new UsageError('usage: sekisho badge found BADGE_ID --note "where, by whom"');
        const b = s.registry.markBadgeFound(id, need(values.note, 'note'), actor, now);
        process.stdout.write(
          values.json
            ? `${JSON.stringify(b)}\n`
            : `badge ${id} recorded as found: it stays refused (revoked); to use the card again, enrol it ("badge add", approved by another person)\n`,
        );
        return 0;
      }
      case 'list': {
        // A visitor card that came back is stored revoked and shown `returned` (docs/visitors.md).
        const returned = new Set(
          s.registry
            .listVisitorBadges()
            .filter((v) => v.status === 'returned')
            .map((v) => v.badgeId),
        );
        const badges = s.registry.listBadges().map((b) => ({
          ...b,
          status: badgeDisplayStatus(b.status, returned.has(b.id) ? 'returned' : null),
        }));
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
        throw new UsageError(`unknown badge command "${sub ?? ''}" (add, lost, revoke, found, list)`);
    }
  });
}
