/**
 * The simulation routes when the controller stops under them: the exit button's delayed release must
 * not reach a closed board (an uncaught error there ended a torture run).
 */
import { describe, expect, it } from 'vitest';
import { sleep } from '../helpers/util.js';
import { makeDash } from './helpers.js';

const press = { method: 'POST' as const, url: '/api/sim/doors/machine-room/exit-button' };

/** Errors nobody caught while `fn` ran and for `ms` after it. */
async function uncaughtDuring(fn: () => Promise<void>, ms: number): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onError = (err: unknown) => seen.push(err);
  process.on('uncaughtException', onError);
  try {
    await fn();
    await sleep(ms);
  } finally {
    process.off('uncaughtException', onError);
  }
  return seen;
}

describe('simulation routes, stopping', () => {
  it('an exit button pressed just before the controller stops is not released on its closed board', async () => {
    const d = await makeDash();
    try {
      const seen = await uncaughtDuring(async () => {
        expect((await d.app.inject({ ...press, headers: d.bearer('sim') })).statusCode).toBe(200);
        await d.controller.stop('test end'); // the release is due 200 ms after the press
      }, 500);
      expect(seen).toEqual([]);
    } finally {
      await d.app.close();
    }
  });

  it('… nor when the server closes first', async () => {
    const d = await makeDash();
    const seen = await uncaughtDuring(async () => {
      expect((await d.app.inject({ ...press, headers: d.bearer('sim') })).statusCode).toBe(200);
      await d.close(); // the server, then the controller and its board
    }, 500);
    expect(seen).toEqual([]);
  });
});
