/**
 * The reader rules on plain values: which reports are journaled, and when the `reader_offline`
 * alarm is raised and cleared — one alarm per flood incident, every episode recorded.
 */
import { describe, expect, it } from 'vitest';
import {
  type ReaderCondition,
  type ReaderReport,
  type ReaderStep,
  stepReader,
} from '../../controller/domain/index.js';

const status = (online: boolean, reason: string): ReaderReport => ({ kind: 'status', online, reason });
const flood = (episode: number, coolDownMs = 5000 * 2 ** (episode - 1)): ReaderReport => ({
  kind: 'status',
  online: false,
  reason: 'flood',
  flood: { episode, coolDownMs },
});
const settled: ReaderReport = { kind: 'flood-settled' };
const STARTING: ReaderCondition = { online: false, reason: 'starting' };

/** Run reports through the rule; each step as `row` / `alarm` strings. */
function run(reports: ReaderReport[], from: ReaderCondition | undefined = STARTING) {
  let state = from;
  const steps: { row: string | null; alarm: string | null }[] = [];
  for (const r of reports) {
    const s: ReaderStep = stepReader('entry', state, r);
    state = s.state;
    steps.push({
      row: s.record
        ? `${s.record.type}:${s.record.data.reason}${s.record.data.episode ? `#${s.record.data.episode}` : ''}`
        : null,
      alarm: s.alarm ? (s.alarm.action === 'raise' ? `raise ${s.alarm.detail}` : 'clear') : null,
    });
  }
  return { steps, state };
}

describe('stepReader: transitions', () => {
  it('records the first report and every change; raises on offline, clears on online', () => {
    const { steps } = run([
      status(true, 'open'),
      status(true, 'open'),
      status(false, 'ENOENT'),
      status(false, 'ENOENT'),
      status(true, 'open'),
    ]);
    expect(steps).toEqual([
      { row: 'reader_online:open', alarm: 'clear' },
      { row: null, alarm: null },
      { row: 'reader_offline:ENOENT', alarm: 'raise reader entry: ENOENT' },
      { row: null, alarm: null },
      { row: 'reader_online:open', alarm: 'clear' },
    ]);
  });

  it('nothing known yet (undefined): the first report is recorded as well', () => {
    const { steps } = run([status(false, 'silent')], undefined);
    expect(steps).toEqual([{ row: 'reader_offline:silent', alarm: 'raise reader entry: silent' }]);
  });

  it('a flood on a reader already offline is recorded and alarmed; leaving it for another offline reason is recorded only', () => {
    const { steps } = run([
      status(false, 'silent'),
      flood(1),
      status(false, 'silent'),
      status(true, 'receiving'),
    ]);
    expect(steps).toEqual([
      { row: 'reader_offline:silent', alarm: 'raise reader entry: silent' },
      {
        row: 'reader_offline:flood#1',
        alarm: 'raise reader entry: flood (far more bytes than its line can carry; not decoded)',
      },
      { row: 'reader_offline:silent', alarm: null },
      // Still inside the incident: back, but the alarm holds.
      { row: 'reader_online:receiving', alarm: null },
    ]);
  });

  it('the row of a flood carries its episode and cool-down', () => {
    const s = stepReader('entry', { online: true, reason: 'open' }, flood(3, 20_000));
    expect(s.record).toEqual({
      type: 'reader_offline',
      data: { reader: 'entry', reason: 'flood', episode: 3, coolDownMs: 20_000 },
    });
    expect(s.state).toEqual({
      online: false,
      reason: 'flood',
      flood: { episode: 3, coolDownMs: 20_000 },
      incident: { episodes: 1, alarmed: true },
    });
  });
});

describe('stepReader: one alarm per flood incident', () => {
  it('repeated floods: every episode and return recorded, one alarm, cleared only when it settles', () => {
    const { steps, state } = run([
      status(true, 'open'),
      flood(1),
      status(true, 'open'),
      flood(2),
      status(true, 'open'),
      flood(3),
      status(true, 'open'),
      settled,
    ]);
    expect(steps.map((s) => s.row)).toEqual([
      'reader_online:open',
      'reader_offline:flood#1',
      'reader_online:open',
      'reader_offline:flood#2',
      'reader_online:open',
      'reader_offline:flood#3',
      'reader_online:open',
      null,
    ]);
    expect(steps.map((s) => s.alarm)).toEqual([
      'clear',
      'raise reader entry: flood (far more bytes than its line can carry; not decoded)',
      null,
      null,
      null,
      null,
      null,
      'clear',
    ]);
    expect(state).toEqual({ online: true, reason: 'open' });
  });

  it('after it settles, the next flood is a new incident with a new alarm', () => {
    const { steps } = run([status(true, 'open'), flood(1), status(true, 'open'), settled, flood(1)]);
    expect(steps.map((s) => s.alarm?.slice(0, 5) ?? null)).toEqual([
      'clear',
      'raise',
      null,
      'clear',
      'raise',
    ]);
  });

  it('settled while the reader is offline for another reason: its return online clears', () => {
    const { steps } = run([
      status(true, 'open'),
      flood(1),
      status(false, 'ENOENT'),
      settled,
      status(true, 'open'),
    ]);
    expect(steps.map((s) => s.alarm?.slice(0, 5) ?? null)).toEqual(['clear', 'raise', null, null, 'clear']);
    expect(steps[3]!.row).toBeNull();
  });

  it('another offline reason during the incident raises its own alarm, held until the incident settles', () => {
    const { steps } = run([
      status(true, 'open'),
      flood(1),
      status(true, 'open'),
      status(false, 'disconnected'),
      status(true, 'open'),
      settled,
    ]);
    expect(steps.map((s) => s.alarm)).toEqual([
      'clear',
      expect.stringMatching(/^raise reader entry: flood/),
      null,
      'raise reader entry: disconnected',
      null,
      'clear',
    ]);
  });

  it('a flood status after another (no return in between) is still a new episode, recorded', () => {
    const { steps, state } = run([status(false, 'silent'), flood(1), flood(2), flood(3)]);
    expect(steps.map((s) => s.row)).toEqual([
      'reader_offline:silent',
      'reader_offline:flood#1',
      'reader_offline:flood#2',
      'reader_offline:flood#3',
    ]);
    expect(steps.filter((s) => s.alarm?.startsWith('raise reader entry: flood'))).toHaveLength(1);
    expect(state.incident).toEqual({ episodes: 3, alarmed: true });
  });

  it('a settle with no incident open changes nothing', () => {
    const prev: ReaderCondition = { online: true, reason: 'open' };
    expect(stepReader('entry', prev, settled)).toEqual({ state: prev, record: null, alarm: null });
  });

  it('does not modify its input', () => {
    const prev: ReaderCondition = Object.freeze({
      online: false,
      reason: 'flood',
      flood: Object.freeze({ episode: 1, coolDownMs: 5000 }),
      incident: Object.freeze({ episodes: 1, alarmed: true }),
    });
    expect(() => run([status(true, 'open'), flood(2), settled], prev)).not.toThrow();
    expect(prev.incident).toEqual({ episodes: 1, alarmed: true });
  });
});
