import { describe, expect, it } from 'vitest';
import {
  type DerivedState,
  doorMode,
  foldRow,
  foldRows,
  initialDerivedState,
  listActiveAlarms,
  parseRecord,
  type RecordRow,
  RecordType,
  restoreDerivedState,
  snapshotDerivedState,
  whoIsInside,
} from '../../controller/domain/index.js';

const T0 = 1_764_000_000_000;
const DOOR = 'machine-room';

/** Builds journal rows with consecutive seqs, one second apart. */
class Rows {
  readonly rows: RecordRow[] = [];
  add(type: string, data: Record<string, unknown>, cols: Partial<RecordRow> = {}): number {
    const seq = this.rows.length + 1;
    // Rows as the journal hands them back, of any type and data (some malformed on purpose).
    this.rows.push({
      seq,
      at: T0 + seq * 1000,
      type,
      door: null,
      person: null,
      actor: null,
      data,
      ...cols,
    } as RecordRow);
    return seq;
  }
  access(
    person: string | null,
    direction: 'in' | 'out',
    granted: boolean,
    extra: Record<string, unknown> = {},
  ) {
    return this.add(
      'access',
      {
        reader: direction === 'in' ? 'entry' : 'exit',
        direction,
        result: granted ? 'granted' : 'denied',
        reason: granted ? 'granted' : 'outside_schedule',
        badge: person === null ? null : `b-${person}`,
        masked: '••••0001',
        format: 'em4100',
        ...extra,
      },
      { door: DOOR, person },
    );
  }
}

function scenario(): Rows {
  const r = new Rows();
  r.add('controller_started', { version: '0.1.0', clockSynced: true, board: 'sim' });
  r.access('p-1', 'in', true, { personName: '山田', category: 'staff' }); // 2
  r.access('p-2', 'in', true, { category: 'visitor' }); // 3
  r.access('p-3', 'in', false, { personName: null, category: null }); // 4 denied
  r.access(null, 'in', false, { reason: 'unknown_badge' }); // 5
  r.access('p-1', 'out', true); // 6
  r.add('exit_request', {}, { door: DOOR }); // 7
  r.add('alarm_raised', { alarm: 'forced_open', severity: 'critical', detail: 'forced' }, { door: DOOR }); // 8
  r.add('mode_changed', { mode: 'lockdown' }, { door: DOOR, actor: 'u-1' }); // 9
  r.add('alarm_acknowledged', { alarmId: 8, comment: 'checked' }, { door: DOOR, actor: 'u-1' }); // 10
  r.add('alarm_raised', { alarm: 'held_open', severity: 'major', detail: 'held' }, { door: DOOR }); // 11
  r.add('alarm_condition_cleared', { alarmId: 8 }, { door: DOOR }); // 12: 8 is acked + cleared → gone
  r.add('person_created', { name: 'x' }, { actor: 'u-1' }); // 13: unknown type, ignored
  r.add('access', { direction: 'in' }, { door: DOOR, person: 'p-9' }); // 14: invalid data
  r.add('mode_changed', { mode: 'lockdown' }); // 15: no door → invalid
  r.add('alarm_raised', { alarm: 'storage_fault', severity: 'critical', detail: 'disk' }); // 16
  r.add('alarm_condition_cleared', { alarmId: 16 }); // 17: cleared, not acked → latched
  return r;
}

describe('foldRows', () => {
  it('derives presence, alarms and door modes from the journal', () => {
    const s = foldRows(initialDerivedState(), scenario().rows);
    expect(s.lastSeq).toBe(17);
    expect(s.invalidRows).toBe(2);
    expect(whoIsInside(s, DOOR)).toEqual([{ personId: 'p-2', since: T0 + 3000, category: 'visitor' }]);
    expect(whoIsInside(s, 'elsewhere')).toEqual([]);
    expect(doorMode(s, DOOR)).toBe('lockdown');
    expect(doorMode(s, 'elsewhere')).toBe('normal');
    expect(s.doorModes[DOOR]).toBe('lockdown');
    expect(listActiveAlarms(s.alarms)).toEqual([
      {
        id: 11,
        type: 'held_open',
        severity: 'major',
        door: DOOR,
        detail: 'held',
        raisedAt: T0 + 11_000,
        conditionCleared: false,
        conditionClearedAt: null,
        acknowledged: null,
      },
      {
        id: 16,
        type: 'storage_fault',
        severity: 'critical',
        door: null,
        detail: 'disk',
        raisedAt: T0 + 16_000,
        conditionCleared: true,
        conditionClearedAt: T0 + 17_000,
        acknowledged: null,
      },
    ]);
  });

  it('records the acknowledging actor', () => {
    const rows = scenario().rows.slice(0, 10);
    const s = foldRows(initialDerivedState(), rows);
    expect(s.alarms.active[8]?.acknowledged).toEqual({ by: 'u-1', at: T0 + 10_000, comment: 'checked' });
  });

  it('gives equal results when the same rows are folded twice from scratch', () => {
    const a = foldRows(initialDerivedState(), scenario().rows);
    const b = foldRows(initialDerivedState(), scenario().rows);
    expect(a).toEqual(b);
    expect(snapshotDerivedState(a)).toEqual(snapshotDerivedState(b));
    expect(JSON.stringify(snapshotDerivedState(a))).toBe(JSON.stringify(snapshotDerivedState(b)));
  });

  it('equals folding row by row', () => {
    const rows = scenario().rows;
    const byRow = rows.reduce(foldRow, initialDerivedState());
    expect(byRow).toEqual(foldRows(initialDerivedState(), rows));
  });

  it('skips rows at or below lastSeq, so overlapping replays are harmless', () => {
    const rows = scenario().rows;
    const once = foldRows(initialDerivedState(), rows);
    expect(foldRows(once, rows)).toEqual(once);
    expect(foldRow(once, rows[1]!)).toBe(once);
  });

  it('moves a re-entry to the later time and leaves a door empty when the last one exits', () => {
    const r = new Rows();
    r.access('p-1', 'in', true);
    r.access('p-1', 'in', true);
    let s = foldRows(initialDerivedState(), r.rows);
    expect(whoIsInside(s, DOOR)).toEqual([{ personId: 'p-1', since: T0 + 2000 }]);
    r.access('p-1', 'out', true);
    r.access('p-4', 'out', true); // exit of someone never seen entering: nothing to remove
    s = foldRows(initialDerivedState(), r.rows);
    expect(s.presence).toEqual({});
    expect(whoIsInside(s, DOOR)).toEqual([]);
  });

  it('takes the entering people of an unlock_skipped group out again: the door never opened', () => {
    const r = new Rows();
    r.access('p-0', 'in', true, { category: 'staff' }); // already inside, not part of the group
    const escort = r.access('p-1', 'in', true, { category: 'staff', escortUntil: T0 + 60_000 });
    let s = foldRows(initialDerivedState(), r.rows);
    expect(whoIsInside(s, DOOR).map((p) => p.personId)).toEqual(['p-0', 'p-1']);
    expect(s.visits.escortWindows[DOOR]?.map((w) => w.personId)).toEqual(['p-1']);
    r.add(
      'unlock_skipped',
      { reason: 'storage_unavailable', grants: [escort], entering: ['p-1'] },
      { door: DOOR },
    );
    s = foldRows(initialDerivedState(), r.rows);
    expect(whoIsInside(s, DOOR).map((p) => p.personId)).toEqual(['p-0']);
    expect(s.visits.escortWindows[DOOR]).toBeUndefined();
    // They never passed the door: no exit is recorded for anti-passback either.
    expect(s.visits.lastExit[DOOR]?.get('p-1')).toBeUndefined();
    expect(s.invalidRows).toBe(0);
    // A row written before `entering` existed is valid and changes nothing.
    r.add('unlock_skipped', { reason: 'storage_unavailable', grants: [escort] }, { door: DOOR });
    const older = foldRows(initialDerivedState(), r.rows);
    expect(whoIsInside(older, DOOR).map((p) => p.personId)).toEqual(['p-0']);
    expect(older.invalidRows).toBe(0);
  });

  it('accepts any id as a key', () => {
    const r = new Rows();
    r.access('__proto__', 'in', true);
    r.access('constructor', 'in', true);
    const s = foldRows(initialDerivedState(), r.rows);
    expect(whoIsInside(s, DOOR).map((p) => p.personId)).toEqual(['__proto__', 'constructor']);
    expect(doorMode(s, 'toString')).toBe('normal');
  });
});

/** A long deterministic journal (seeded LCG): entries, exits, alarms, acks, clears, mode changes. */
function longJournal(n: number): RecordRow[] {
  const r = new Rows();
  let x = 12345;
  const rand = (k: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % k;
  };
  const raisedIds: number[] = [];
  while (r.rows.length < n) {
    const pick = rand(10);
    const person = `p-${rand(30)}`;
    if (pick < 6) r.access(person, rand(2) === 0 ? 'in' : 'out', rand(5) !== 0, { category: 'staff' });
    else if (pick === 6)
      raisedIds.push(
        r.add('alarm_raised', { alarm: 'held_open', severity: 'major', detail: '' }, { door: DOOR }),
      );
    else if (pick === 7 && raisedIds.length > 0)
      r.add('alarm_condition_cleared', { alarmId: raisedIds[rand(raisedIds.length)] }, { door: DOOR });
    else if (pick === 8 && raisedIds.length > 0)
      r.add(
        'alarm_acknowledged',
        { alarmId: raisedIds[rand(raisedIds.length)], comment: '' },
        { actor: 'u-1' },
      );
    else r.add('mode_changed', { mode: rand(2) === 0 ? 'normal' : 'lockdown' }, { door: DOOR });
  }
  return r.rows;
}

describe('fold purity and snapshots', () => {
  const rows = longJournal(1500);
  const full = foldRows(initialDerivedState(), rows);

  it('never modifies a state it was given (structural sharing is safe)', () => {
    const states: DerivedState[] = [initialDerivedState()];
    const frozen = (s: DerivedState) => JSON.stringify(snapshotDerivedState(s));
    const copies: string[] = [frozen(states[0]!)];
    for (const row of rows) {
      const next = foldRow(states[states.length - 1]!, row);
      states.push(next);
      copies.push(frozen(next));
    }
    expect(states.filter((s, i) => frozen(s) !== copies[i])).toHaveLength(0);
    expect(states[states.length - 1]).toEqual(full);
    // foldRows from a middle state leaves that state as it was.
    const mid = states[750]!;
    const midCopy = snapshotDerivedState(mid);
    foldRows(mid, rows.slice(750));
    expect(snapshotDerivedState(mid)).toEqual(midCopy);
  });

  it('a snapshot through JSON plus the remaining rows equals the full replay', () => {
    for (const cut of [0, 1, 777, 1499, 1500]) {
      const head = foldRows(initialDerivedState(), rows.slice(0, cut));
      const json = JSON.parse(JSON.stringify(snapshotDerivedState(head)));
      const restored = restoreDerivedState(json);
      expect(restored).toEqual(head);
      expect(foldRows(restored, rows.slice(cut))).toEqual(full);
      // Overlap with the snapshot is skipped.
      expect(foldRows(restored, rows)).toEqual(full);
    }
  });

  it('refuses a malformed snapshot', () => {
    expect(() => restoreDerivedState({ version: 2 })).toThrow();
    expect(() => restoreDerivedState(null)).toThrow();
  });
});

describe('records', () => {
  it('parses known record types and names bad fields', () => {
    expect(parseRecord('mode_changed', { mode: 'lockdown', extra: 1 })).toEqual({
      ok: true,
      record: { type: 'mode_changed', data: { mode: 'lockdown' } },
    });
    const bad = parseRecord('alarm_acknowledged', { alarmId: 'x' });
    expect(bad?.ok).toBe(false);
    expect(bad?.ok === false && bad.error).toMatch(/alarmId/);
    expect(parseRecord('person_created', {})).toBeUndefined();
  });

  it('covers every record type of the brief', () => {
    expect(RecordType.options.sort()).toEqual(
      [
        'access',
        'exit_request',
        'door_opened',
        'door_closed',
        'door_unlocked',
        'door_locked',
        'held_open_prealarm',
        'alarm_raised',
        'alarm_condition_cleared',
        'alarm_acknowledged',
        'mode_changed',
        'reader_online',
        'reader_offline',
        'controller_started',
        'controller_stopped',
      ].sort(),
    );
  });

  it('validates what the door machine and the shell write', () => {
    const ok = (type: string, data: unknown) => expect(parseRecord(type, data)?.ok).toBe(true);
    ok('door_opened', { authorized: true });
    ok('door_opened', { authorized: false, initial: true });
    ok('door_unlocked', { cause: 'grant' });
    ok('door_locked', { cause: 'startup' });
    ok('controller_started', { version: '0.1.0', clockSynced: null });
    ok('controller_stopped', { reason: 'SIGTERM' });
    ok('reader_offline', { reader: 'entry', reason: 'port closed' });
    ok('access', {
      reader: 'entry',
      direction: 'in',
      result: 'denied',
      reason: 'unknown_badge',
      badge: null,
      masked: '••••3D4E',
      format: 'em4100',
      personName: null,
      category: null,
    });
    expect(parseRecord('door_locked', { cause: 'whim' })?.ok).toBe(false);
    expect(parseRecord('access', { reader: 'entry' })?.ok).toBe(false);
  });
});
