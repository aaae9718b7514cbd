/**
 * A wrong password takes as long for a name without an account (or a disabled one) as for an
 * existing one: the same lookup, the same scrypt with the current parameters, the same journal
 * transaction. Measured as ratios of medians, interleaved, so the machine's load cancels out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserStore } from '../../controller/accounts/users.js';
import { makeDash, PASSWORD, type TestDash } from './helpers.js';

const ROUNDS = 41;

/**
 * A very low scrypt cost for the accounts and the server alike: the hash stays in the answer but
 * no longer hides the rest of the work (the journal write an unknown name used to skip).
 */
const TINY_SCRYPT = { N: 16, r: 8, p: 1 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('login timing', () => {
  let d: TestDash;
  beforeAll(async () => {
    // No delays here: this measures the answer, not the throttle (tested in login-throttle.test.ts).
    d = await makeDash({
      accounts: false,
      server: { scrypt: TINY_SCRYPT, loginLimits: { clientFreeFailures: 1e9, accountFreeFailures: 1e9 } },
    });
    const users = new UserStore(d.controller.db, d.controller.journal, { scrypt: TINY_SCRYPT });
    for (const username of ['manager1', 'gone-user'])
      await users.create(
        { username, displayName: username, role: 'manager', password: PASSWORD },
        'test:setup',
        d.controller.now(),
      );
    users.setActive(users.byUsername('gone-user')!.id, false, 'test:setup', d.controller.now());
  });
  afterAll(async () => {
    await d?.close();
  });

  const timed = async (username: string) => {
    const t0 = performance.now();
    const res = await d.app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { username, password: 'not-the-password!' },
    });
    const ms = performance.now() - t0;
    expect(res.statusCode).toBe(401);
    return ms;
  };

  it('unknown and disabled names are answered as fast as an existing one (ratio of medians 0.7–1.4)', async () => {
    const names = ['manager1', 'nobody-here', 'gone-user'] as const;
    const times: Record<string, number[]> = { manager1: [], 'nobody-here': [], 'gone-user': [] };
    for (let i = 0; i < 5; i++) for (const n of names) await timed(n); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      // A different order each round, so that no name always follows another.
      const order = [...names.slice(round % 3), ...names.slice(0, round % 3)];
      for (const n of round % 2 ? order.reverse() : order) times[n]!.push(await timed(n));
    }
    const existing = median(times.manager1!);
    const unknown = median(times['nobody-here']!) / existing;
    const disabled = median(times['gone-user']!) / existing;
    expect(existing).toBeGreaterThan(0);
    expect(unknown, `unknown/existing = ${unknown.toFixed(2)}`).toBeGreaterThan(0.7);
    expect(unknown, `unknown/existing = ${unknown.toFixed(2)}`).toBeLessThan(1.4);
    expect(disabled, `disabled/existing = ${disabled.toFixed(2)}`).toBeGreaterThan(0.7);
    expect(disabled, `disabled/existing = ${disabled.toFixed(2)}`).toBeLessThan(1.4);
  });
});
