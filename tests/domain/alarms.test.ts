import { describe, expect, it } from 'vitest';
import {
  type AlarmRaise,
  type AlarmState,
  AlarmType,
  alarmsAwaitingClear,
  applyAlarmAcknowledged,
  applyAlarmConditionCleared,
  applyAlarmRaised,
  DEFAULT_ALARM_SEVERITY,
  emptyAlarmState,
  findActiveAlarm,
  listActiveAlarms,
  openConditions,
  VisitAlarmType,
} from '../../controller/domain/index.js';

const T0 = 1_700_000_000_000;
const forced: AlarmRaise = {
  id: 7,
  type: 'forced_open',
  severity: 'critical',
  door: 'machine-room',
  detail: 'door opened while locked',
  at: T0,
};
const ack = { by: 'u-manager', at: T0 + 60_000, comment: '警備員が確認' };

function raised(): AlarmState {
  return applyAlarmRaised(emptyAlarmState(), forced);
}

describe('alarm latch', () => {
  it('a raised alarm is active with its condition present and no acknowledgement', () => {
    const s = raised();
    expect(listActiveAlarms(s)).toEqual([
      {
        id: 7,
        type: 'forced_open',
        severity: 'critical',
        door: 'machine-room',
        detail: 'door opened while locked',
        raisedAt: T0,
        conditionCleared: false,
        conditionClearedAt: null,
        acknowledged: null,
      },
    ]);
  });

  it('acknowledged before the condition clears: stays active until it clears', () => {
    let s = applyAlarmAcknowledged(raised(), 7, ack);
    expect(s.active[7]).toMatchObject({ acknowledged: ack, conditionCleared: false });
    s = applyAlarmConditionCleared(s, 7, T0 + 120_000);
    expect(s.active[7]).toBeUndefined();
    expect(listActiveAlarms(s)).toEqual([]);
  });

  it('condition cleared before acknowledgement: stays active (latched) until acknowledged', () => {
    let s = applyAlarmConditionCleared(raised(), 7, T0 + 5000);
    expect(s.active[7]).toMatchObject({
      conditionCleared: true,
      conditionClearedAt: T0 + 5000,
      acknowledged: null,
    });
    s = applyAlarmAcknowledged(s, 7, ack);
    expect(s.active[7]).toBeUndefined();
  });

  it('never modifies the state it is given', () => {
    const s = raised();
    const copy = structuredClone(s);
    applyAlarmAcknowledged(s, 7, ack);
    applyAlarmConditionCleared(s, 7, T0 + 1);
    applyAlarmRaised(s, { ...forced, id: 8 });
    expect(s).toEqual(copy);
  });

  it('ignores unknown ids, duplicate raises, and repeated acks or clears (the first one stands)', () => {
    const s = raised();
    expect(applyAlarmAcknowledged(s, 99, ack)).toBe(s);
    expect(applyAlarmConditionCleared(s, 99, T0)).toBe(s);
    expect(applyAlarmRaised(s, { ...forced, detail: 'other' })).toBe(s);
    const acked = applyAlarmAcknowledged(s, 7, ack);
    expect(applyAlarmAcknowledged(acked, 7, { by: 'u-other', at: T0 + 1, comment: 'again' })).toBe(acked);
    const cleared = applyAlarmConditionCleared(s, 7, T0 + 10);
    expect(applyAlarmConditionCleared(cleared, 7, T0 + 20).active[7]?.conditionClearedAt).toBe(T0 + 10);
  });
});

describe('finding alarms', () => {
  const s = [
    forced,
    { ...forced, id: 9, type: 'held_open' as const, severity: 'major' as const },
    { ...forced, id: 12 },
    { ...forced, id: 15, door: 'server-cage' },
    { ...forced, id: 20, type: 'storage_fault' as const, door: null },
  ].reduce(applyAlarmRaised, emptyAlarmState());

  it('lists active alarms oldest first', () => {
    expect(listActiveAlarms(s).map((a) => a.id)).toEqual([7, 9, 12, 15, 20]);
  });

  it('finds the latest active alarm of a type on a door', () => {
    expect(findActiveAlarm(s, 'forced_open', 'machine-room')?.id).toBe(12);
    expect(findActiveAlarm(s, 'forced_open', 'server-cage')?.id).toBe(15);
    expect(findActiveAlarm(s, 'storage_fault', null)?.id).toBe(20);
    expect(findActiveAlarm(s, 'door_tamper', 'machine-room')).toBeUndefined();
    // A cleared but unacknowledged alarm is still active (latched).
    const cleared = applyAlarmConditionCleared(s, 12, T0 + 1);
    expect(findActiveAlarm(cleared, 'forced_open', 'machine-room')?.id).toBe(12);
  });

  it('lists the alarms whose condition still holds, and the open conditions of a door', () => {
    const cleared = applyAlarmConditionCleared(s, 7, T0 + 1);
    expect(alarmsAwaitingClear(cleared, 'forced_open', 'machine-room').map((a) => a.id)).toEqual([12]);
    expect(openConditions(cleared, 'machine-room')).toEqual(['forced_open', 'held_open']);
    expect(openConditions(cleared, null)).toEqual(['storage_fault']);
    expect(openConditions(emptyAlarmState(), 'machine-room')).toEqual([]);
  });

  it('clears a reader alarm only for its own reader (and alarms raised before sources existed)', () => {
    const reader = (id: number, source?: string): AlarmRaise => ({
      id,
      type: 'reader_offline',
      severity: 'major',
      door: 'machine-room',
      ...(source === undefined ? {} : { source }),
      detail: `reader ${source ?? '?'}: silent`,
      at: T0,
    });
    let r = emptyAlarmState();
    for (const a of [reader(30, 'entry'), reader(31, 'exit'), reader(32)]) r = applyAlarmRaised(r, a);
    const ids = (source?: string) =>
      alarmsAwaitingClear(r, 'reader_offline', 'machine-room', undefined, source).map((a) => a.id);
    expect(ids('entry')).toEqual([30, 32]);
    expect(ids('exit')).toEqual([31, 32]);
    expect(ids()).toEqual([30, 31, 32]);
    expect(listActiveAlarms(r).find((a) => a.id === 31)?.source).toBe('exit');
  });

  it('has a default severity for every alarm type', () => {
    expect(DEFAULT_ALARM_SEVERITY.forced_open).toBe('critical');
    expect(DEFAULT_ALARM_SEVERITY.held_open).toBe('major');
    expect(DEFAULT_ALARM_SEVERITY.break_glass).toBe('critical');
    expect(DEFAULT_ALARM_SEVERITY.storage_low).toBe('major');
    expect(DEFAULT_ALARM_SEVERITY.power_failure).toBe('critical');
    expect(DEFAULT_ALARM_SEVERITY.power_monitor_offline).toBe('major');
    expect(DEFAULT_ALARM_SEVERITY.journal_truncated).toBe('critical');
    // Every type the door machine and the shell raise, and none of the visit rules'.
    const visit: string[] = VisitAlarmType.options;
    expect(Object.keys(DEFAULT_ALARM_SEVERITY).sort()).toEqual(
      AlarmType.options.filter((t) => !visit.includes(t)).sort(),
    );
  });
});
