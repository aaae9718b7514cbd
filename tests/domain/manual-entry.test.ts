/** The pure part of degraded entry: when was the controller down, and which outage a paper time falls in. */
import { describe, expect, it } from 'vitest';
import {
  controllerOutages,
  type LifecycleRow,
  OUTAGE_SLACK_MS,
  type Outage,
  outageAt,
} from '../../controller/domain/index.js';

const H = 3_600_000;
const row = (seq: number, at: number, type: LifecycleRow['type']): LifecycleRow => ({ seq, at, type });

describe('controller outages', () => {
  it('a stop to the next start; a crash from the last row it wrote; a stop with no start is still going', () => {
    const rows = [
      row(1, 0, 'controller_started'),
      row(10, 2 * H, 'controller_stopped'),
      row(11, 3 * H, 'controller_started'),
      // No stop: a power cut. Its last own row was seq 40 at 5 h.
      row(41, 7 * H, 'controller_started'),
      row(90, 9 * H, 'controller_stopped'),
    ];
    const asked: [number, number][] = [];
    const out = controllerOutages(rows, (start, previous) => {
      asked.push([start.seq, previous.seq]);
      return { seq: 40, at: 5 * H };
    });
    expect(asked).toEqual([[41, 11]]);
    expect(out).toEqual([
      { kind: 'controller_down', from: 2 * H, until: 3 * H, seq: 10 },
      { kind: 'controller_down', from: 5 * H, until: 7 * H, seq: 40 },
      { kind: 'controller_down', from: 9 * H, until: null, seq: 90 },
    ]);
    expect(controllerOutages([row(1, 0, 'controller_started')], () => ({ seq: 0, at: 0 }))).toEqual([]);
  });

  it('a paper time counts inside an outage within the slack; an open outage lasts until now; the latest wins', () => {
    const outages: Outage[] = [
      { kind: 'controller_down', from: 2 * H, until: 3 * H, seq: 10 },
      { kind: 'storage_fault', from: 2.5 * H, until: null, seq: 20 },
    ];
    expect(outageAt(outages, 1 * H, 10 * H)).toBeNull();
    expect(outageAt(outages, 2 * H - OUTAGE_SLACK_MS, 10 * H)?.seq).toBe(10);
    expect(outageAt(outages, 2 * H - OUTAGE_SLACK_MS - 1, 10 * H)).toBeNull();
    expect(outageAt(outages, 2.75 * H, 10 * H)?.seq).toBe(20);
    expect(outageAt(outages, 9 * H, 10 * H)?.kind).toBe('storage_fault');
    expect(outageAt(outages, 11 * H, 10 * H)).toBeNull();
    expect(outageAt([outages[0]!], 3 * H + OUTAGE_SLACK_MS + 1, 10 * H)).toBeNull();
  });
});
