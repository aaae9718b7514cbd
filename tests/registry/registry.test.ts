import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialHash, type JournalRow, verifyJournal } from '../../controller/journal/index.js';
import { Registry, RegistryError } from '../../controller/registry/index.js';
import { openJournal, T0, tempDir } from '../journal/helpers.js';

const HMAC = Buffer.alloc(32, 42);
const CREDENTIAL = '0A1B2C3D4E'; // an EM4100 tag as the bridge normalises it

function setup() {
  const file = join(tempDir(), 'journal.db');
  const { db, journal } = openJournal(file);
  const registry = new Registry(db, journal, { hmacKey: HMAC });
  return { file, db, journal, registry };
}

function rows(journal: ReturnType<typeof setup>['journal']): JournalRow[] {
  return [...journal.iterate()];
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

describe('registry', () => {
  it('journals every change with its actor in the same transaction', () => {
    const { db, journal, registry } = setup();
    const person = registry.addPerson(
      { displayId: 'S-0042', name: '山田 花子', category: 'staff', validUntil: T0 + 86_400_000 },
      'admin:tanaka',
      T0,
    );
    expect(person).toMatchObject({
      displayId: 'S-0042',
      active: true,
      lockdownOverride: false,
      validFrom: null,
    });
    expect(person.id).toMatch(/^p_[0-9a-f]{12}$/);
    expect(registry.getPerson(person.id)).toEqual(person);

    const badge = registry.addBadge({ personId: person.id, credential: CREDENTIAL }, 'admin:tanaka', T0 + 1);
    expect(badge).toMatchObject({
      personId: person.id,
      status: 'active',
      masked: '••••3D4E',
    });
    expect(badge.credentialHash).toBe(credentialHash(HMAC, CREDENTIAL));
    registry.grantDoor(person.id, 'machine-room', 'office-hours', 'admin:suzuki', T0 + 2);
    registry.setBadgeStatus(badge.id, 'lost', 'admin:suzuki', T0 + 3, 'reported lost by phone');
    registry.updatePerson(person.id, { name: '山田 花子', lockdownOverride: true }, 'admin:tanaka', T0 + 4);
    registry.revokeDoor(person.id, 'machine-room', 'admin:tanaka', T0 + 5);

    const log = rows(journal);
    expect(log.map((r) => [r.type, r.actor, r.person, r.door])).toEqual([
      ['person_added', 'admin:tanaka', person.id, null],
      ['badge_added', 'admin:tanaka', person.id, null],
      ['permission_granted', 'admin:suzuki', person.id, 'machine-room'],
      ['badge_status_changed', 'admin:suzuki', person.id, null],
      ['person_updated', 'admin:tanaka', person.id, null],
      ['permission_revoked', 'admin:tanaka', person.id, 'machine-room'],
    ]);
    expect(log[0]!.data).toEqual({ ...person });
    expect(log[1]!.data).toMatchObject({
      badgeId: badge.id,
      masked: badge.masked,
      credentialHash: badge.credentialHash,
    });
    expect(log[3]!.data).toEqual({
      badgeId: badge.id,
      personId: person.id,
      from: 'active',
      status: 'lost',
      reason: 'reported lost by phone',
    });
    expect(log[4]!.data).toEqual({ id: person.id, changes: { lockdownOverride: { from: false, to: true } } });
    expect(log.map((r) => r.at)).toEqual([T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5]);
    expect(journal.outboxCount()).toBe(6);
    expect(verifyJournal(db).ok).toBe(true);
  });

  it('never stores the plain credential: not in any table, journal row, WAL or error message', () => {
    const { file, journal, registry } = setup();
    const p = registry.addPerson(
      { displayId: 'C-7', name: 'Contractor', category: 'contractor' },
      'admin',
      T0,
    );
    const badge = registry.addBadge({ personId: p.id, credential: CREDENTIAL }, 'admin', T0);
    let message = '';
    try {
      registry.addBadge({ personId: p.id, credential: CREDENTIAL }, 'admin', T0);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/already enrolled/);
    expect(message).toContain(badge.masked);
    expect(message).not.toContain(CREDENTIAL);
    registry.setBadgeStatus(badge.id, 'revoked', 'admin', T0 + 1, 'card returned');

    expect(existsSync(`${file}-wal`)).toBe(true);
    const files = [file, `${file}-wal`, `${file}-shm`].map((f) => readFileSync(f));
    expect(files[1]!.length).toBeGreaterThan(0);
    // The scan can find what it looks for: the credential hash and the masked form are there.
    expect(files.some((b) => b.includes(badge.credentialHash))).toBe(true);
    expect(files.some((b) => b.includes(p.id))).toBe(true);
    for (const bytes of files) {
      expect(bytes.includes(CREDENTIAL)).toBe(false);
      expect(bytes.includes(CREDENTIAL.toLowerCase())).toBe(false);
      expect(bytes.includes(Buffer.from(CREDENTIAL, 'utf16le'))).toBe(false);
    }
    expect(rows(journal).some((r) => r.bytes.includes(CREDENTIAL))).toBe(false);
  });

  it('finds a badge by credential through the unique hash index', () => {
    const { db, registry } = setup();
    const p = registry.addPerson({ displayId: 'S-1', name: 'A', category: 'staff' }, 'admin', T0);
    const b = registry.addBadge(
      { personId: p.id, credential: CREDENTIAL, validFrom: T0, validUntil: T0 + 10 },
      'admin',
      T0,
    );
    expect(registry.findBadgeByCredential(CREDENTIAL)).toEqual(b);
    expect(registry.findBadgeByCredential('0A1B2C3D4F')).toBeUndefined();
    expect(registry.findBadgeByHash(b.credentialHash)).toEqual(b);
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT * FROM badges WHERE credential_hash = ? ORDER BY status = 'revoked', updated_at DESC LIMIT 1",
      )
      .all('x')
      .map((r) => (r as { detail: string }).detail)
      .join(' | ');
    expect(plan).toMatch(/SEARCH badges USING INDEX badges_credential/);
  });

  it('refuses a duplicate credential and writes nothing; a revoked card may be issued again', () => {
    const { db, journal, registry } = setup();
    const a = registry.addPerson({ displayId: 'S-1', name: 'A', category: 'staff' }, 'admin', T0);
    const v = registry.addPerson({ displayId: 'V-3', name: 'Visitor', category: 'visitor' }, 'admin', T0);
    const first = registry.addBadge({ personId: a.id, credential: CREDENTIAL }, 'admin', T0);
    const head = journal.head();
    expect(code(() => registry.addBadge({ personId: v.id, credential: CREDENTIAL }, 'admin', T0))).toBe(
      'duplicate_credential',
    );
    registry.setBadgeStatus(first.id, 'lost', 'admin', T0 + 1);
    expect(code(() => registry.addBadge({ personId: v.id, credential: CREDENTIAL }, 'admin', T0))).toBe(
      'duplicate_credential',
    );
    expect(journal.head().seq).toBe(head.seq + 1);
    expect(db.prepare('SELECT COUNT(*) AS n FROM badges').get()).toEqual({ n: 1 });
    // Even bypassing the registry, the database keeps one live badge per credential.
    expect(() =>
      db
        .prepare(
          "INSERT INTO badges (id, person_id, credential_hash, masked, status, created_at, updated_at) VALUES ('b_x', ?, ?, 'm', 'active', 0, 0)",
        )
        .run(v.id, first.credentialHash),
    ).toThrow(/UNIQUE/);

    registry.setBadgeStatus(first.id, 'revoked', 'admin', T0 + 2, 'card reissued');
    expect(registry.findBadgeByCredential(CREDENTIAL)).toMatchObject({ id: first.id, status: 'revoked' });
    const second = registry.addBadge({ personId: v.id, credential: CREDENTIAL }, 'admin', T0 + 3);
    expect(registry.findBadgeByCredential(CREDENTIAL)).toEqual(second);
    expect(code(() => registry.setBadgeStatus(first.id, 'active', 'admin', T0 + 4))).toBe('conflict');
    expect(registry.listBadges({ status: 'revoked' }).map((b) => b.id)).toEqual([first.id]);
    expect(registry.listBadges({ personId: v.id }).map((b) => b.id)).toEqual([second.id]);
    expect(registry.listBadges().length).toBe(2);
  });

  it('a lost badge never becomes active again by a status change; found, it is revoked; the same status writes nothing', () => {
    const { journal, registry } = setup();
    const p = registry.addPerson({ displayId: 'S-1', name: 'A', category: 'staff' }, 'admin', T0);
    const b = registry.addBadge({ personId: p.id, credential: CREDENTIAL }, 'admin', T0);
    registry.setBadgeStatus(b.id, 'lost', 'manager', T0 + 1);
    const head = journal.head().seq;
    expect(registry.setBadgeStatus(b.id, 'lost', 'manager', T0 + 2).status).toBe('lost');
    expect(journal.head().seq).toBe(head);
    expect(code(() => registry.setBadgeStatus(b.id, 'active', 'manager', T0 + 3, 'found'))).toBe('conflict');
    expect(registry.getBadge(b.id)?.status).toBe('lost');
    expect(journal.head().seq).toBe(head);
    expect(code(() => registry.markBadgeFound(b.id, '  ', 'manager', T0 + 3))).toBe('invalid_input');
    expect(registry.markBadgeFound(b.id, 'found in the canteen', 'manager', T0 + 3).status).toBe('revoked');
    const [changed, found] = [journal.get(head + 1)!, journal.get(head + 2)!];
    expect(changed).toMatchObject({
      type: 'badge_status_changed',
      data: { from: 'lost', status: 'revoked' },
    });
    expect(found).toMatchObject({
      type: 'badge_found',
      actor: 'manager',
      data: { badgeId: b.id, note: 'found in the canteen', status: 'revoked' },
    });
    // Found once is final: not found again, and the card enrols again only as a new badge.
    expect(code(() => registry.markBadgeFound(b.id, 'again', 'manager', T0 + 4))).toBe('conflict');
    expect(registry.addBadge({ personId: p.id, credential: CREDENTIAL }, 'admin', T0 + 5).status).toBe(
      'active',
    );
  });

  it('a registry change whose journal row cannot be written is not made', () => {
    const { db, registry } = setup();
    const p = registry.addPerson({ displayId: 'S-1', name: 'A', category: 'staff' }, 'admin', T0);
    db.exec(
      "CREATE TEMP TRIGGER no_journal BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    expect(() => registry.addPerson({ displayId: 'S-2', name: 'B', category: 'staff' }, 'admin', T0)).toThrow(
      'disk full',
    );
    expect(() => registry.addBadge({ personId: p.id, credential: CREDENTIAL }, 'admin', T0)).toThrow(
      'disk full',
    );
    expect(() => registry.grantDoor(p.id, 'machine-room', 'always', 'admin', T0)).toThrow('disk full');
    expect(() => registry.updatePerson(p.id, { active: false }, 'admin', T0)).toThrow('disk full');
    expect(registry.listPeople()).toEqual([p]);
    expect(registry.listBadges()).toEqual([]);
    expect(registry.permissionsFor(p.id)).toEqual([]);
    db.exec('DROP TRIGGER temp.no_journal');
    expect(verifyJournal(db)).toMatchObject({ ok: true, rows: 1 });
  });

  it('permissions: grant under schedules, refuse duplicates, revoke one schedule or the whole door', () => {
    const { journal, registry } = setup();
    const p = registry.addPerson({ displayId: 'S-1', name: 'A', category: 'staff' }, 'admin', T0);
    registry.grantDoor(p.id, 'machine-room', 'weekdays', 'admin', T0);
    registry.grantDoor(p.id, 'machine-room', 'saturday', 'admin', T0);
    registry.grantDoor(p.id, 'server-cage', 'always', 'admin', T0);
    expect(code(() => registry.grantDoor(p.id, 'machine-room', 'weekdays', 'admin', T0))).toBe('conflict');
    expect(code(() => registry.grantDoor('p_nobody', 'machine-room', 'weekdays', 'admin', T0))).toBe(
      'not_found',
    );
    expect(registry.permissionsFor(p.id)).toEqual([
      { personId: p.id, doorId: 'machine-room', scheduleId: 'saturday' },
      { personId: p.id, doorId: 'machine-room', scheduleId: 'weekdays' },
      { personId: p.id, doorId: 'server-cage', scheduleId: 'always' },
    ]);
    registry.revokeDoor(p.id, 'server-cage', 'admin', T0 + 1, 'always');
    const removed = registry.revokeDoor(p.id, 'machine-room', 'admin', T0 + 2);
    expect(removed.map((r) => r.scheduleId)).toEqual(['saturday', 'weekdays']);
    expect(registry.permissionsFor(p.id)).toEqual([]);
    expect(code(() => registry.revokeDoor(p.id, 'machine-room', 'admin', T0 + 3))).toBe('not_found');
    const revoked = [...journal.iterate()].filter((r) => r.type === 'permission_revoked');
    expect(revoked.map((r) => r.data)).toEqual([
      { personId: p.id, doorId: 'server-cage', scheduleId: 'always' },
      { personId: p.id, doorId: 'machine-room', scheduleId: 'saturday' },
      { personId: p.id, doorId: 'machine-room', scheduleId: 'weekdays' },
    ]);
  });

  it('validates input with clear errors and writes nothing', () => {
    const { journal, registry } = setup();
    const p = registry.addPerson({ displayId: 'S-1', name: 'A', category: 'staff' }, 'admin', T0);
    const head = journal.head().seq;
    const bad: [() => unknown, RegExp][] = [
      [
        () => registry.addPerson({ displayId: 'X', name: 'B', category: 'alien' as 'staff' }, 'admin', T0),
        /category/,
      ],
      [() => registry.addPerson({ displayId: '', name: 'B', category: 'staff' }, 'admin', T0), /displayId/],
      [
        () =>
          registry.addPerson(
            { displayId: 'X', name: 'B', category: 'staff', validFrom: 10, validUntil: 5 },
            'admin',
            T0,
          ),
        /validUntil/,
      ],
      [() => registry.addPerson({ displayId: 'X', name: 'B', category: 'staff' }, '', T0), /actor/],
      [() => registry.addPerson({ displayId: 'X', name: 'B', category: 'staff' }, 'admin', Number.NaN), /at/],
      [() => registry.updatePerson(p.id, { colour: 'red' } as never, 'admin', T0), /person patch/],
      [() => registry.updatePerson('p_missing', { name: 'Z' }, 'admin', T0), /no person p_missing/],
      [
        () => registry.addBadge({ personId: p.id, credential: ' 123 ' }, 'admin', T0),
        /normalised credential/,
      ],
      [() => registry.addBadge({ personId: 'p_missing', credential: '123456789' }, 'admin', T0), /no person/],
      [() => registry.setBadgeStatus('b_missing', 'lost', 'admin', T0), /no badge/],
      [() => registry.setBadgeStatus('b_missing', 'stolen' as 'lost', 'admin', T0), /status/],
    ];
    for (const [fn, message] of bad) {
      expect(fn).toThrow(RegistryError);
      expect(fn).toThrow(message);
    }
    expect(journal.head().seq).toBe(head);
    expect(registry.updatePerson(p.id, { name: 'A' }, 'admin', T0)).toEqual(p); // no change, no row
    expect(journal.head().seq).toBe(head);
    const updated = registry.updatePerson(p.id, { active: false, validUntil: T0 + 5 }, 'admin', T0 + 1);
    expect(updated).toMatchObject({ active: false, validUntil: T0 + 5 });
    expect(registry.getPerson(p.id)).toEqual(updated);
    expect(registry.listPeople()).toEqual([updated]);
  });
});
