import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkAcknowledgement,
  checkRepublish,
  signAcknowledgement,
  signRepublish,
} from '../../controller/collector/messages.js';

const collector = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const NOW = Date.UTC(2026, 11, 8, 1, 0);
const check = {
  controller: 'honcho-mr1',
  collectorKey: collector.publicKey,
  now: NOW,
  lastAcceptedIssuedAt: 0,
};
const cmd = (over: Record<string, unknown> = {}, key = collector.privateKey) =>
  signRepublish(
    { controller: 'honcho-mr1', fromSeq: 120, throughSeq: 180, issuedAt: NOW - 1000, ...over },
    key,
  );

describe('the re-publish command', () => {
  it('is accepted when signed by the pinned key, fresh, for this controller and newer than the last', () => {
    const c = cmd();
    const v = checkRepublish(JSON.parse(JSON.stringify(c)), check);
    expect(v).toEqual({
      ok: true,
      command: {
        controller: 'honcho-mr1',
        fromSeq: 120,
        throughSeq: 180,
        issuedAt: NOW - 1000,
        nonce: c.nonce,
      },
    });
    expect(checkRepublish(cmd({ throughSeq: null }), check).ok).toBe(true);
  });

  it('refuses each fault with its own reason', () => {
    const good = cmd();
    const cases: [unknown, string][] = [
      ['republish 120', 'malformed'],
      [{ ...good, extra: 1 }, 'malformed'],
      [{ ...good, fromSeq: 0 }, 'malformed'],
      [{ ...good, throughSeq: 100 }, 'malformed'],
      [{ ...good, nonce: 'abc' }, 'malformed'],
      [{ ...good, signature: 'AAAA' }, 'malformed'],
      [cmd({}, other.privateKey), 'bad_signature'],
      [{ ...good, fromSeq: 1 }, 'bad_signature'], // altered after signing
      [cmd({ controller: 'dr-site' }), 'wrong_controller'],
      [cmd({ issuedAt: NOW - 6 * 60_000 }), 'stale'],
      [cmd({ issuedAt: NOW + 2 * 60_000 }), 'future'],
    ];
    for (const [msg, reason] of cases) {
      const v = checkRepublish(msg, check);
      expect(v.ok ? 'accepted' : v.reason, JSON.stringify(msg)).toBe(reason);
    }
  });

  it('refuses a replay of an accepted command, even within its freshness', () => {
    const c = cmd();
    expect(checkRepublish(c, check).ok).toBe(true);
    const again = checkRepublish(c, { ...check, lastAcceptedIssuedAt: c.issuedAt });
    expect(again).toMatchObject({ ok: false, reason: 'replayed' });
    expect(
      checkRepublish(cmd({ issuedAt: NOW - 500 }), { ...check, lastAcceptedIssuedAt: c.issuedAt }).ok,
    ).toBe(true);
  });
});

describe('the acknowledgement', () => {
  const ack = { controller: 'honcho-mr1', seq: 4711, hash: 'a'.repeat(64), at: NOW };
  it('verifies with the pinned key and names this controller', () => {
    const signed = signAcknowledgement(ack, collector.privateKey);
    expect(
      checkAcknowledgement(JSON.parse(JSON.stringify(signed)), 'honcho-mr1', collector.publicKey),
    ).toEqual(ack);
  });
  it('is ignored when forged, altered or for another controller', () => {
    const signed = signAcknowledgement(ack, collector.privateKey);
    expect(
      checkAcknowledgement(signAcknowledgement(ack, other.privateKey), 'honcho-mr1', collector.publicKey),
    ).toBe(null);
    expect(checkAcknowledgement({ ...signed, seq: 9999 }, 'honcho-mr1', collector.publicKey)).toBe(null);
    expect(checkAcknowledgement(signed, 'dr-site', collector.publicKey)).toBe(null);
    expect(checkAcknowledgement('ack', 'honcho-mr1', collector.publicKey)).toBe(null);
  });
});
