/**
 * The login limiter on its own, with a plain clock: growing delays per address, the per-name
 * delay that only addresses new to the account wait for, attempts counted while they run, and
 * tables that stay bounded under a flood of addresses and names.
 */
import { describe, expect, it } from 'vitest';
import {
  addressKey,
  DEFAULT_LOGIN_LIMITS,
  LoginLimiter,
  type LoginLimits,
  type Ticket,
} from '../../dashboards/auth/limiter.js';

const T0 = 1_800_000_000_000;
const make = (limits: Partial<LoginLimits> = {}) => new LoginLimiter({ ...DEFAULT_LOGIN_LIMITS, ...limits });

/** Admits and fails one attempt; throws when it is refused. */
function failOnce(l: LoginLimiter, ip: string, name: string, now: number) {
  const t = l.admit(ip, name, now);
  if (!t.ok) throw new Error(`refused: ${t.scope} ${t.waitMs}`);
  return l.fail(t, now);
}

function ticket(l: LoginLimiter, ip: string, name: string, now: number): Ticket {
  const t = l.admit(ip, name, now);
  if (!t.ok) throw new Error(`refused: ${t.scope} ${t.waitMs}`);
  return t;
}

describe('per address', () => {
  it('lets the first failures through, then doubles the wait with each failure up to the cap', () => {
    const l = make();
    let now = T0;
    for (let i = 0; i < 4; i++) failOnce(l, '10.0.0.9', `name${i}`, now);
    const fifth = ticket(l, '10.0.0.9', 'other', now); // the fifth is still free
    l.release(fifth);
    failOnce(l, '10.0.0.9', 'x', now);
    const waits: number[] = [];
    for (let i = 0; i < 14; i++) {
      const r = l.admit('10.0.0.9', 'x', now);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.scope).toBe('address');
      waits.push(r.waitMs);
      now += r.waitMs - 1;
      expect(l.admit('10.0.0.9', 'x', now).ok).toBe(false); // not one millisecond early
      now += 1;
      failOnce(l, '10.0.0.9', 'x', now);
    }
    expect(waits.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000]);
    expect(Math.max(...waits)).toBe(DEFAULT_LOGIN_LIMITS.maxDelayMs);
    expect(waits.at(-1)).toBe(DEFAULT_LOGIN_LIMITS.maxDelayMs);
  });

  it('other addresses are not affected; a success elsewhere does not reset it, an idle hour does', () => {
    const l = make();
    const now = T0;
    for (let i = 0; i < 8; i++) failOnce(l, '10.0.0.9', 'admin1', now + i * 60_000);
    const last = now + 7 * 60_000;
    expect(l.admit('10.0.0.9', 'admin1', last + 1000).ok).toBe(false);
    expect(l.admit('10.0.0.10', 'admin1', last + 1000).ok).toBe(true);
    // An insider's own successful login from the same address does not clear the guesses.
    expect(l.admit('10.0.0.9', 'insider', last + 2000).ok).toBe(false);
    const own = ticket(l, '10.0.0.9', 'insider', last + 8000);
    l.succeed(own, last + 8000);
    failOnce(l, '10.0.0.9', 'admin1', last + 8000);
    const r = l.admit('10.0.0.9', 'admin1', last + 9000);
    expect(r.ok).toBe(false);
    expect(l.admit('10.0.0.9', 'admin1', last + DEFAULT_LOGIN_LIMITS.forgetMs).ok).toBe(true);
  });

  it('counts attempts while they run: parallel requests cannot slip past the limit', () => {
    const l = make();
    const admitted: Ticket[] = [];
    let refused = 0;
    for (let i = 0; i < 50; i++) {
      const r = l.admit('10.0.0.9', 'admin1', T0);
      if (r.ok) admitted.push(r);
      else refused++;
    }
    expect(admitted).toHaveLength(DEFAULT_LOGIN_LIMITS.clientFreeFailures);
    expect(refused).toBe(45);
    for (const t of admitted) l.fail(t, T0);
    expect(l.admit('10.0.0.9', 'admin1', T0).ok).toBe(false);
  });

  it('an IPv6 host counts by its /64; IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::9')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    const l = make();
    for (let i = 0; i < 5; i++) failOnce(l, `2001:db8:1:2::${i + 1}`, 'admin1', T0);
    expect(l.admit('2001:db8:1:2::ffff', 'admin1', T0).ok).toBe(false);
    expect(l.admit('2001:db8:1:3::1', 'admin1', T0).ok).toBe(true);
  });
});

describe('per account name', () => {
  it('one address alone never sets off the name’s delay', () => {
    const l = make();
    let now = T0;
    for (let i = 0; i < 60; i++) {
      const r = l.admit('10.0.0.9', 'admin1', now);
      if (r.ok) l.release(r);
      else {
        expect(r.scope).toBe('address');
        now += r.waitMs;
      }
      failOnce(l, '10.0.0.9', 'admin1', now);
    }
    expect(l.admit('10.0.0.77', 'admin1', now).ok).toBe(true);
  });

  it('failures from many addresses delay new addresses, never one the owner logged in from', () => {
    const l = make();
    const owner = ticket(l, '10.0.5.5', 'admin1', T0);
    l.succeed(owner, T0);
    let now = T0 + 1000;
    let throttledAt = -1;
    // Three guesses from each of many addresses: after 10 counted failures the name is held.
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 3; j++) {
        const r = l.admit(`10.1.0.${i}`, 'admin1', now);
        if (!r.ok) continue;
        const f = l.fail(r, now);
        if (f.throttled) throttledAt = i * 3 + j;
      }
    expect(throttledAt).toBe(DEFAULT_LOGIN_LIMITS.accountFreeFailures - 1);
    const fresh = l.admit('10.9.9.9', 'ADMIN1', now);
    expect(fresh.ok).toBe(false);
    if (!fresh.ok) expect(fresh.scope).toBe('account');
    // The owner's address is let through, and a success there starts the name over.
    const back = ticket(l, '10.0.5.5', 'admin1', now);
    l.succeed(back, now);
    expect(l.admit('10.9.9.9', 'admin1', now).ok).toBe(true);
    void now;
    now += 1;
  });

  it('the name’s delay grows with each further failure and is shared by all new addresses', () => {
    const l = make({ accountFreeFailures: 3, perAddressShare: 1 });
    let now = T0;
    for (let i = 0; i < 3; i++) failOnce(l, `10.2.0.${i}`, 'ghost', now);
    const waits: number[] = [];
    for (let i = 3; i < 8; i++) {
      const r = l.admit(`10.2.0.${i}`, 'ghost', now);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      waits.push(r.waitMs);
      now += r.waitMs;
      failOnce(l, `10.2.0.${i}`, 'ghost', now);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  it('an administrator can lift it', () => {
    const l = make({ accountFreeFailures: 2, perAddressShare: 1 });
    failOnce(l, '10.3.0.1', 'manager2', T0);
    failOnce(l, '10.3.0.2', 'manager2', T0);
    expect(l.admit('10.3.0.3', 'manager2', T0).ok).toBe(false);
    l.forgetAccount('Manager2');
    expect(l.admit('10.3.0.3', 'manager2', T0).ok).toBe(true);
  });
});

describe('bounded memory', () => {
  it('a flood of distinct addresses and names keeps every table within maxEntries', () => {
    const l = make({ maxEntries: 500 });
    let most = 0;
    for (let i = 0; i < 20_000; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const r = l.admit(ip, `name-${i}`, T0 + i);
      if (r.ok) {
        if (i % 100 === 0) l.succeed(r, T0 + i);
        else l.fail(r, T0 + i);
      }
      const s = l.sizes();
      most = Math.max(most, s.clients, s.accounts, s.known);
    }
    expect(most).toBeGreaterThan(400);
    expect(most).toBeLessThanOrEqual(500);
  });

  it('the flood does not push out the entry that holds back an attack on a real name', () => {
    const l = make({ maxEntries: 200, accountFreeFailures: 3, perAddressShare: 1 });
    for (let i = 0; i < 3; i++) failOnce(l, `10.4.0.${i}`, 'admin1', T0);
    expect(l.admit('10.4.1.1', 'admin1', T0).ok).toBe(false);
    for (let i = 0; i < 5000; i++) {
      const r = l.admit(`10.5.${i >> 8}.${i & 255}`, `flood-${i}`, T0 + 10);
      if (r.ok) l.fail(r, T0 + 10);
    }
    const after = l.admit('10.4.1.1', 'admin1', T0 + 10);
    expect(after.ok).toBe(false);
    if (!after.ok) expect(after.scope).toBe('account');
  });
});
