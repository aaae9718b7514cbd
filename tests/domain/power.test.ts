import { describe, expect, it } from 'vitest';
import {
  gpioReading,
  initialPowerState,
  type PowerAction,
  type PowerEvent,
  type PowerSettings,
  type PowerState,
  parseUpsStatus,
  powerDeadline,
  stepPower,
} from '../../controller/domain/index.js';

const S: PowerSettings = { source: 'nut', graceS: 60, onLost: 'report' };

function run(events: PowerEvent[], settings = S, state: PowerState = initialPowerState(false)) {
  const actions: PowerAction[] = [];
  for (const e of events) {
    const r = stepPower(state, e, settings);
    state = r.state;
    actions.push(...r.actions);
  }
  return { state, actions, kinds: actions.map((a) => a.kind) };
}

const read = (at: number, status: string): PowerEvent => {
  const reading = parseUpsStatus(status);
  if (!('status' in reading)) throw new Error(`not a reading: ${status}`);
  return { kind: 'reading', at, reading };
};

describe('parseUpsStatus', () => {
  it('reads the flags that matter and keeps the others', () => {
    expect(parseUpsStatus('OL CHRG')).toEqual({
      status: 'OL CHRG',
      onBattery: false,
      lowBattery: false,
      forcedShutdown: false,
    });
    expect(parseUpsStatus(' OB  DISCHRG LB ')).toMatchObject({
      status: 'OB DISCHRG LB',
      onBattery: true,
      lowBattery: true,
    });
    expect(parseUpsStatus('FSD OB LB')).toMatchObject({ forcedShutdown: true });
  });

  it('refuses what is not a status, naming it', () => {
    expect(parseUpsStatus('')).toEqual({ error: expect.stringContaining('not a list of NUT status flags') });
    expect(parseUpsStatus('ol')).toEqual({ error: expect.stringContaining('"ol"') });
    expect(parseUpsStatus('OL\u0007')).toEqual({ error: expect.stringContaining('"OL?"') });
    expect(parseUpsStatus('WAIT')).toEqual({ unknown: 'WAIT' });
    expect(parseUpsStatus('A'.repeat(300))).toHaveProperty('error');
  });
});

describe('stepPower', () => {
  it('on battery: a row and an alarm at once, the shutdown when the grace time has run out', () => {
    const r = run([read(0, 'OL'), read(1000, 'OB DISCHRG'), { kind: 'tick', at: 60_999 }]);
    expect(r.kinds).toEqual(['on_battery']);
    expect(powerDeadline(r.state, S)).toBe(61_000);
    const end = stepPower(r.state, { kind: 'tick', at: 61_000 }, S);
    expect(end.actions).toEqual([
      { kind: 'failing', status: 'OB DISCHRG', reason: 'grace_elapsed', secondsOnBattery: 60 },
    ]);
    // Once decided, nothing more: not even mains coming back.
    expect(stepPower(end.state, read(62_000, 'OL'), S).actions).toEqual([]);
  });

  it('power back before the grace ends: power_restored with the time on battery, no shutdown', () => {
    const r = run([
      read(0, 'OB'),
      read(20_000, 'OB'),
      read(30_000, 'OL CHRG'),
      { kind: 'tick', at: 120_000 },
    ]);
    expect(r.actions).toEqual([
      { kind: 'on_battery', status: 'OB' },
      { kind: 'restored', status: 'OL CHRG', secondsOnBattery: 30 },
    ]);
    expect(powerDeadline(r.state, S)).toBeNull();
  });

  it('acts at once on a low battery while on battery, or on FSD; not on LB while on line', () => {
    expect(run([read(0, 'OB LB')]).actions.at(-1)).toMatchObject({ kind: 'failing', reason: 'low_battery' });
    expect(run([read(0, 'OL FSD')]).actions.at(-1)).toMatchObject({
      kind: 'failing',
      reason: 'forced_shutdown',
    });
    expect(run([read(0, 'OL CHRG LB')]).kinds).toEqual([]);
  });

  it('graceS 0 shuts down at the first reading on battery', () => {
    expect(run([read(5, 'OB')], { ...S, graceS: 0 }).kinds).toEqual(['on_battery', 'failing']);
  });

  it('a lost link is reported once and is no power failure by itself', () => {
    const r = run([
      read(0, 'OL'),
      { kind: 'lost', at: 1000, reason: 'ECONNREFUSED' },
      { kind: 'lost', at: 3000, reason: 'ECONNREFUSED' },
      { kind: 'tick', at: 999_000 },
      read(11_000, 'OL'),
    ]);
    expect(r.actions).toEqual([
      { kind: 'monitor_lost', reason: 'ECONNREFUSED' },
      { kind: 'monitor_restored', status: 'OL', secondsLost: 10 },
    ]);
  });

  it('a lost link while on battery keeps the grace running', () => {
    const r = run([
      read(0, 'OB'),
      { kind: 'lost', at: 10_000, reason: 'timeout' },
      { kind: 'tick', at: 60_000 },
    ]);
    expect(r.kinds).toEqual(['on_battery', 'monitor_lost', 'failing']);
  });

  it('onLost: failing takes a lost link as on battery until upsd answers on line', () => {
    const settings: PowerSettings = { ...S, onLost: 'failing' };
    const back = run([read(0, 'OL'), { kind: 'lost', at: 1000, reason: 'x' }, read(5000, 'OL')], settings);
    expect(back.actions).toEqual([
      { kind: 'monitor_lost', reason: 'x' },
      { kind: 'on_battery', status: 'LOST' },
      { kind: 'monitor_restored', status: 'OL', secondsLost: 4 },
      { kind: 'restored', status: 'OL', secondsOnBattery: 4 },
    ]);
    const gone = run(
      [read(0, 'OL'), { kind: 'lost', at: 1000, reason: 'x' }, { kind: 'tick', at: 61_000 }],
      settings,
    );
    expect(gone.actions.at(-1)).toEqual({
      kind: 'failing',
      status: 'LOST',
      reason: 'grace_elapsed',
      secondsOnBattery: 60,
    });
  });

  it('an alarm left open by an earlier run: the first reading on line records the return', () => {
    const r = run([read(0, 'OL')], S, initialPowerState(true));
    expect(r.actions).toEqual([{ kind: 'restored', status: 'OL', secondsOnBattery: null }]);
    const still = run([read(0, 'OB'), { kind: 'tick', at: 60_000 }], S, initialPowerState(true));
    expect(still.kinds).toEqual(['failing']);
  });

  it('the GPIO contacts as flags', () => {
    expect(gpioReading(false, false).status).toBe('OL');
    expect(gpioReading(true, true)).toMatchObject({ status: 'OB LB', onBattery: true, lowBattery: true });
    expect(
      run([{ kind: 'reading', at: 0, reading: gpioReading(true, true) }], { ...S, source: 'gpio' }).kinds,
    ).toEqual(['on_battery', 'failing']);
  });
});
