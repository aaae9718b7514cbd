import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultVisitorBadgeUntil,
  foldRows,
  initialDerivedState,
  parseRecord,
  parseVisitRecord,
  unreturnedVisitorBadges,
  visitSettings,
} from '../../controller/domain/index.js';
import { type JournalRow, verifyJournal } from '../../controller/journal/index.js';
import { Registry, RegistryError } from '../../controller/registry/index.js';
import { openJournal, T0, tempDir } from '../journal/helpers.js';

const HMAC = Buffer.alloc(32, 42);
const CARD = 'VISITOR0007'; // the visitor card handed out at reception
const HOUR = 3_600_000;

function setup(options: Partial<ConstructorParameters<typeof Registry>[2]> = {}) {
  const file = join(tempDir(), 'journal.db');
  const { db, journal } = openJournal(file);
  const registry = new Registry(db, journal, { hmacKey: HMAC, ...options });
  const host = registry.addPerson({ displayId: 'S-0042', name: '山田 花子', category: 'staff' }, 'admin', T0);
  return { db, journal, registry, host };
}

function rows(journal: ReturnType<typeof setup>['journal'], fromSeq = 1): JournalRow[] {
  return [...journal.iterate(fromSeq)];
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof RegistryError) return err.code;
    throw err;
  }
  return undefined;
}

describe('visitor badges', () => {
  it('issues a badge to a new visitor: person, badge and visit in one transaction, every row with the actor', () => {
    const { db, journal, registry, host } = setup();
    const head = journal.head().seq;
    const vb = registry.issueVisitorBadge(
      {
        visitor: { displayId: 'V-20260401-01', name: 'Sato Ichiro (Vendor K.K.)' },
        credential: CARD,
        hostId: host.id,
        purpose: 'storage array maintenance',
        equipment: ['laptop, asset tag 1234', 'USB console cable'],
        doors: ['machine-room'],
      },
      'u-reception',
      T0 + 1000,
    );
    // T0 is 09:00 in Tokyo: valid from issue until the end of that local day.
    expect(vb).toMatchObject({
      hostId: host.id,
      purpose: 'storage array maintenance',
      equipment: ['laptop, asset tag 1234', 'USB console cable'],
      doors: ['machine-room'],
      masked: '••••0007',
      validFrom: T0 + 1000,
      validUntil: T0 + 15 * HOUR,
      badgeStatus: 'active',
      status: 'issued',
      issuedAt: T0 + 1000,
      issuedBy: 'u-reception',
      inUseAt: null,
      returnedAt: null,
      returnedBy: null,
    });
    const visitor = registry.getPerson(vb.personId);
    expect(visitor).toMatchObject({ category: 'visitor', displayId: 'V-20260401-01', active: true });
    expect(registry.findBadgeByCredential(CARD)).toMatchObject({
      id: vb.badgeId,
      personId: vb.personId,
      validUntil: T0 + 15 * HOUR,
    });
    expect(registry.getVisitorBadge(vb.badgeId)).toEqual(vb);

    const log = rows(journal, head + 1);
    expect(log.map((r) => [r.type, r.actor, r.person, r.at])).toEqual([
      ['person_added', 'u-reception', vb.personId, T0 + 1000],
      ['badge_added', 'u-reception', vb.personId, T0 + 1000],
      ['visitor_badge_issued', 'u-reception', vb.personId, T0 + 1000],
    ]);
    expect(log[2]!.data).toEqual({
      badgeId: vb.badgeId,
      personId: vb.personId,
      hostId: host.id,
      purpose: 'storage array maintenance',
      equipment: ['laptop, asset tag 1234', 'USB console cable'],
      doors: ['machine-room'],
      masked: '••••0007',
      validFrom: T0 + 1000,
      validUntil: T0 + 15 * HOUR,
    });
    expect(parseVisitRecord('visitor_badge_issued', log[2]!.data)?.ok).toBe(true);
    expect(log.some((r) => r.bytes.includes(CARD))).toBe(false);
    expect(verifyJournal(db).ok).toBe(true);
  });

  it('issues to a registered visitor; the default validity comes from the visitors config', () => {
    const settings = visitSettings({
      timeZone: 'Asia/Tokyo',
      visitors: {
        escortWindowS: 15,
        maxVisitorsPerEscort: 3,
        escortExit: 'refuse',
        handoverWindowS: 300,
        antiPassback: { mode: 'soft', forgiveAfterS: 3600 },
        roomSecureS: 60,
        endOfDay: '19:00',
        badgeValidity: 'end_of_day',
      },
    });
    const { registry, host } = setup({ visitorBadgeUntil: (at) => defaultVisitorBadgeUntil(at, settings) });
    const v = registry.addPerson(
      { displayId: 'V-9', name: 'Returning Visitor', category: 'visitor' },
      'admin',
      T0,
    );
    const vb = registry.issueVisitorBadge(
      { personId: v.id, credential: CARD, hostId: host.id, purpose: 'audit' },
      'u-reception',
      T0,
    );
    expect(vb).toMatchObject({ personId: v.id, equipment: [], doors: [], validUntil: T0 + 10 * HOUR }); // 19:00
    // Pre-registered for tomorrow: valid from then until tomorrow's end of day.
    const tomorrow = T0 + 24 * HOUR;
    const vb2 = registry.issueVisitorBadge(
      {
        personId: v.id,
        credential: 'VISITOR0008',
        hostId: host.id,
        purpose: 'audit, day 2',
        validFrom: tomorrow,
      },
      'u-reception',
      T0,
    );
    expect(vb2).toMatchObject({ validFrom: tomorrow, validUntil: tomorrow + 10 * HOUR });
  });

  it('lifecycle: issued → in use → returned; the card is revoked and may be issued again', () => {
    const { journal, registry, host } = setup();
    const vb = registry.issueVisitorBadge(
      { visitor: { displayId: 'V-1', name: 'A' }, credential: CARD, hostId: host.id, purpose: 'tour' },
      'u-reception',
      T0,
    );
    let head = journal.head().seq;
    const inUse = registry.markVisitorBadgeInUse(vb.badgeId, 'controller', T0 + 60_000);
    expect(inUse).toMatchObject({ status: 'in_use', inUseAt: T0 + 60_000 });
    expect(rows(journal, head + 1).map((r) => [r.type, r.actor, r.data])).toEqual([
      ['visitor_badge_in_use', 'controller', { badgeId: vb.badgeId, personId: vb.personId }],
    ]);
    head = journal.head().seq;
    expect(registry.markVisitorBadgeInUse(vb.badgeId, 'controller', T0 + 120_000)).toEqual(inUse);
    expect(journal.head().seq).toBe(head); // already in use: no row

    const back = registry.returnVisitorBadge(vb.badgeId, 'u-guard', T0 + 2 * HOUR, 'returned at the desk');
    expect(back).toMatchObject({
      status: 'returned',
      badgeStatus: 'revoked',
      returnedAt: T0 + 2 * HOUR,
      returnedBy: 'u-guard',
      returnNote: 'returned at the desk',
    });
    const log = rows(journal, head + 1);
    expect(log.map((r) => [r.type, r.actor, r.person])).toEqual([
      ['visitor_badge_returned', 'u-guard', vb.personId],
      ['badge_status_changed', 'u-guard', vb.personId],
    ]);
    expect(log[0]!.data).toEqual({
      badgeId: vb.badgeId,
      personId: vb.personId,
      note: 'returned at the desk',
    });
    expect(log[1]!.data).toMatchObject({
      from: 'active',
      status: 'revoked',
      reason: 'visitor badge returned',
    });
    expect(parseRecord('visitor_badge_returned', log[0]!.data)).toBeUndefined(); // a visit record …
    expect(parseVisitRecord('visitor_badge_returned', log[0]!.data)?.ok).toBe(true); // … parsed here
    expect(registry.getBadge(vb.badgeId)?.status).toBe('revoked');
    expect(code(() => registry.returnVisitorBadge(vb.badgeId, 'u-guard', T0 + 3 * HOUR))).toBe('conflict');
    expect(code(() => registry.markVisitorBadgeInUse(vb.badgeId, 'controller', T0 + 3 * HOUR))).toBe(
      'conflict',
    );

    // The same card, the next visitor.
    const next = registry.issueVisitorBadge(
      { visitor: { displayId: 'V-2', name: 'B' }, credential: CARD, hostId: host.id, purpose: 'tour' },
      'u-reception',
      T0 + 3 * HOUR,
    );
    expect(registry.findBadgeByCredential(CARD)?.id).toBe(next.badgeId);
  });

  it('a lost visitor badge stays unreturned until returned (or written off)', () => {
    const { registry, host } = setup();
    const vb = registry.issueVisitorBadge(
      { visitor: { displayId: 'V-1', name: 'A' }, credential: CARD, hostId: host.id, purpose: 'tour' },
      'u-reception',
      T0,
    );
    registry.setBadgeStatus(vb.badgeId, 'lost', 'u-manager', T0 + HOUR, 'visitor lost the card');
    expect(registry.listUnreturnedVisitorBadges().map((b) => [b.badgeId, b.badgeStatus])).toEqual([
      [vb.badgeId, 'lost'],
    ]);
    const back = registry.returnVisitorBadge(vb.badgeId, 'u-manager', T0 + 2 * HOUR, 'written off: lost');
    expect(back).toMatchObject({ status: 'returned', badgeStatus: 'revoked' });
    expect(registry.listUnreturnedVisitorBadges()).toEqual([]);
  });

  it('lists the unreturned, by host and by visitor', () => {
    const { registry, host } = setup();
    const host2 = registry.addPerson({ displayId: 'S-2', name: 'B', category: 'staff' }, 'admin', T0);
    const issue = (n: number, hostId: string) =>
      registry.issueVisitorBadge(
        { visitor: { displayId: `V-${n}`, name: `V${n}` }, credential: `CARD000${n}`, hostId, purpose: 'p' },
        'u-reception',
        T0 + n,
      );
    const a = issue(1, host.id);
    const b = issue(2, host2.id);
    const c = issue(3, host.id);
    registry.markVisitorBadgeInUse(c.badgeId, 'controller', T0 + 10);
    registry.returnVisitorBadge(a.badgeId, 'u-reception', T0 + 20);
    expect(registry.listUnreturnedVisitorBadges().map((x) => x.badgeId)).toEqual([b.badgeId, c.badgeId]);
    expect(registry.listVisitorBadges().map((x) => x.status)).toEqual(['returned', 'issued', 'in_use']);
    expect(registry.listVisitorBadges({ hostId: host.id }).map((x) => x.badgeId)).toEqual([
      a.badgeId,
      c.badgeId,
    ]);
    expect(registry.listVisitorBadges({ hostId: host.id, unreturned: true }).map((x) => x.badgeId)).toEqual([
      c.badgeId,
    ]);
    expect(registry.listVisitorBadges({ personId: b.personId }).map((x) => x.badgeId)).toEqual([b.badgeId]);
    expect(registry.listVisitorBadges({ status: 'in_use' }).map((x) => x.badgeId)).toEqual([c.badgeId]);
  });

  it('the fold of the registry rows knows the unreturned badges exactly as the registry lists them', () => {
    const { journal, registry, host } = setup();
    const a = registry.issueVisitorBadge(
      {
        visitor: { displayId: 'V-1', name: 'A' },
        credential: 'CARD0001',
        hostId: host.id,
        purpose: 'p',
        equipment: ['camera'],
      },
      'u-reception',
      T0,
    );
    const b = registry.issueVisitorBadge(
      { visitor: { displayId: 'V-2', name: 'B' }, credential: 'CARD0002', hostId: host.id, purpose: 'q' },
      'u-reception',
      T0 + 1,
    );
    registry.markVisitorBadgeInUse(b.badgeId, 'controller', T0 + 2);
    let s = foldRows(initialDerivedState(), journal.iterate());
    expect(s.invalidRows).toBe(0);
    expect(unreturnedVisitorBadges(s).map((x) => [x.badgeId, x.status, x.equipment, x.validUntil])).toEqual(
      registry.listUnreturnedVisitorBadges().map((x) => [x.badgeId, x.status, x.equipment, x.validUntil]),
    );
    registry.returnVisitorBadge(a.badgeId, 'u-reception', T0 + 3);
    s = foldRows(s, journal.iterate(s.lastSeq + 1));
    expect(unreturnedVisitorBadges(s).map((x) => x.badgeId)).toEqual([b.badgeId]);
  });

  it('refuses bad input and conflicts with clear errors, writing nothing', () => {
    const { db, journal, registry, host } = setup();
    const contractor = registry.addPerson(
      { displayId: 'C-1', name: 'C', category: 'contractor' },
      'admin',
      T0,
    );
    const visitor = registry.addPerson({ displayId: 'V-1', name: 'V', category: 'visitor' }, 'admin', T0);
    const out = registry.issueVisitorBadge(
      { personId: visitor.id, credential: CARD, hostId: host.id, purpose: 'p' },
      'u-reception',
      T0,
    );
    const head = journal.head().seq;
    const people = registry.listPeople().length;
    const base = {
      visitor: { displayId: 'V-2', name: 'W' },
      credential: 'CARD0002',
      hostId: host.id,
      purpose: 'p',
    };
    const bad: [() => unknown, string, RegExp][] = [
      [
        () => registry.issueVisitorBadge({ ...base, personId: visitor.id }, 'r', T0),
        'invalid_input',
        /either personId/,
      ],
      [
        () => registry.issueVisitorBadge({ ...base, visitor: undefined }, 'r', T0),
        'invalid_input',
        /either personId/,
      ],
      [() => registry.issueVisitorBadge({ ...base, purpose: ' ' }, 'r', T0), 'invalid_input', /purpose/],
      [
        () => registry.issueVisitorBadge({ ...base, equipment: [''] }, 'r', T0),
        'invalid_input',
        /equipment\.0/,
      ],
      [
        () => registry.issueVisitorBadge({ ...base, credential: ' 12 ' }, 'r', T0),
        'invalid_input',
        /normalised/,
      ],
      [() => registry.issueVisitorBadge({ ...base, hostId: 'p_nobody' }, 'r', T0), 'not_found', /no person/],
      [
        () => registry.issueVisitorBadge({ ...base, hostId: contractor.id }, 'r', T0),
        'invalid_input',
        /host must be staff/,
      ],
      [
        () => registry.issueVisitorBadge({ ...base, visitor: undefined, personId: host.id }, 'r', T0),
        'invalid_input',
        /category visitor/,
      ],
      [() => registry.issueVisitorBadge({ ...base, validUntil: T0 - 1 }, 'r', T0), 'invalid_input', /future/],
      [
        () => registry.issueVisitorBadge({ ...base, validFrom: T0 + 10, validUntil: T0 + 5 }, 'r', T0),
        'invalid_input',
        /after validFrom/,
      ],
      // The card is still out with the first visitor.
      [
        () => registry.issueVisitorBadge({ ...base, credential: CARD }, 'r', T0),
        'duplicate_credential',
        /0007/,
      ],
      [() => registry.issueVisitorBadge(base, '', T0), 'invalid_input', /actor/],
      [() => registry.returnVisitorBadge('b_nothing', 'r', T0), 'not_found', /no visitor badge/],
      [() => registry.returnVisitorBadge(out.badgeId, 'r', T0, 'x'.repeat(501)), 'invalid_input', /note/],
    ];
    for (const [fn, c, message] of bad) {
      expect(code(fn)).toBe(c);
      expect(fn).toThrow(message);
    }
    expect(journal.head().seq).toBe(head);
    expect(registry.listPeople().length).toBe(people);
    expect(db.prepare('SELECT COUNT(*) AS n FROM visitor_badges').get()).toEqual({ n: 1 });
  });

  it('an issue or return whose journal rows cannot be written is not made', () => {
    const { db, registry, host } = setup();
    const vb = registry.issueVisitorBadge(
      { visitor: { displayId: 'V-1', name: 'A' }, credential: CARD, hostId: host.id, purpose: 'p' },
      'u-reception',
      T0,
    );
    db.exec(
      "CREATE TEMP TRIGGER no_issue BEFORE INSERT ON journal WHEN NEW.type IN ('visitor_badge_issued', 'badge_status_changed', 'escort_permission_granted') BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    expect(() =>
      registry.issueVisitorBadge(
        { visitor: { displayId: 'V-2', name: 'B' }, credential: 'CARD0002', hostId: host.id, purpose: 'p' },
        'u-reception',
        T0,
      ),
    ).toThrow('disk full');
    // The person and badge rows before it were rolled back with it.
    expect(
      registry
        .listPeople()
        .map((p) => p.displayId)
        .sort(),
    ).toEqual(['S-0042', 'V-1']);
    expect(registry.findBadgeByCredential('CARD0002')).toBeUndefined();
    // The return writes two rows; the second fails, so neither the return nor the revocation stays.
    expect(() => registry.returnVisitorBadge(vb.badgeId, 'u-guard', T0 + 1)).toThrow('disk full');
    expect(registry.getVisitorBadge(vb.badgeId)).toMatchObject({ status: 'issued', badgeStatus: 'active' });
    expect(() => registry.setMayEscort(host.id, true, 'admin', T0)).toThrow('disk full');
    expect(registry.mayEscort(host.id)).toBe(false);
    db.exec('DROP TRIGGER temp.no_issue');
    expect(verifyJournal(db).ok).toBe(true);
  });
});

describe('who may escort', () => {
  it('is set and cleared as journaled acts; only active staff may be allowed', () => {
    const { journal, registry, host } = setup();
    const contractor = registry.addPerson(
      { displayId: 'C-1', name: 'C', category: 'contractor' },
      'admin',
      T0,
    );
    const other = registry.addPerson({ displayId: 'S-2', name: 'B', category: 'staff' }, 'admin', T0);
    registry.updatePerson(other.id, { active: false }, 'admin', T0);
    const head = journal.head().seq;
    expect(registry.mayEscort(host.id)).toBe(false);
    expect(registry.setMayEscort(host.id, true, 'u-manager', T0 + 1)).toBe(true);
    expect(registry.mayEscort(host.id)).toBe(true);
    expect(registry.setMayEscort(host.id, true, 'u-manager', T0 + 2)).toBe(true); // no change, no row
    expect(registry.listEscorts()).toEqual([host.id]);
    expect(registry.setMayEscort(host.id, false, 'u-chief', T0 + 3)).toBe(false);
    expect(registry.listEscorts()).toEqual([]);
    expect(rows(journal, head + 1).map((r) => [r.type, r.actor, r.person, r.data])).toEqual([
      ['escort_permission_granted', 'u-manager', host.id, { personId: host.id }],
      ['escort_permission_revoked', 'u-chief', host.id, { personId: host.id }],
    ]);
    expect(code(() => registry.setMayEscort(contractor.id, true, 'u-manager', T0))).toBe('invalid_input');
    expect(() => registry.setMayEscort(contractor.id, true, 'u-manager', T0)).toThrow(/only staff/);
    expect(code(() => registry.setMayEscort(other.id, true, 'u-manager', T0))).toBe('conflict');
    expect(code(() => registry.setMayEscort('p_nobody', true, 'u-manager', T0))).toBe('not_found');
    expect(registry.setMayEscort(contractor.id, false, 'u-manager', T0)).toBe(false); // clearing always works
    expect(journal.head().seq).toBe(head + 2);
  });
});
