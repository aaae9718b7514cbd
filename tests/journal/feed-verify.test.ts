/**
 * The off-device verifier (controller/journal/feed-verify.ts) over rows published from real
 * journals: every hash recomputed from the bytes, the chain followed, checkpoints checked with the
 * pinned key; gaps, forks, equivocation, bad signatures and altered bytes named.
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPublishedRow, FeedVerifier } from '../../controller/journal/feed-verify.js';
import { chainHash, publicKeyId, recordBytes } from '../../controller/journal/index.js';
import { type EventPayload, eventPayload } from '../../controller/mqtt/payloads.js';
import { Registry } from '../../controller/registry/index.js';
import { openJournal, T0, tempDir } from './helpers.js';

const keys = generateKeyPairSync('ed25519');
const keyId = publicKeyId(keys.publicKey);

function session(file = join(tempDir(), 'j.db')) {
  const { db, journal } = openJournal(file);
  const registry = new Registry(db, journal, { hmacKey: Buffer.alloc(32, 3) });
  const p = registry.addPerson({ displayId: 'S-1', name: '山田 太郎', category: 'staff' }, 'cli:root', T0);
  registry.addBadge({ personId: p.id, credential: '0A1B2C3D4E' }, 'cli:root', T0 + 1);
  registry.addBadge({ personId: p.id, credential: '1122334455' }, 'cli:root', T0 + 2);
  for (let i = 0; i < 5; i++)
    journal.append({ type: 'controller_stopped', at: T0 + 10 + i, data: { reason: `r${i}` } } as never);
  const cp = journal.checkpoint(T0 + 100, keys.privateKey, keyId);
  return { db, journal, registry, cp, feed: [...journal.iterate()].map((r) => eventPayload(r)) };
}

describe('the feed verifier', () => {
  it('verifies a whole session up to its head and its signed checkpoint; no secret is on the feed', () => {
    const { journal, cp, feed } = session();
    const v = new FeedVerifier('ctl-1', keys.publicKey);
    for (const p of feed) {
      expect(p.bytes).not.toBeNull();
      expect(chainHash(p.prevHash, p.bytes!)).toBe(p.hash);
      expect(v.observeRow(p)).toMatchObject({ record: true, findings: [] });
    }
    expect(v.observeCheckpoint(cp).findings).toEqual([]);
    expect(v.report()).toMatchObject({
      verified: journal.head(),
      signed: { seq: cp.seq, hash: cp.hash },
      gaps: [],
      forks: [],
      withheld: [],
      alarms: {},
    });
    const hashes = [...journal.iterate()].flatMap((r) =>
      typeof (r.data as Record<string, unknown>).credentialHash === 'string'
        ? [(r.data as Record<string, unknown>).credentialHash]
        : [],
    );
    expect(hashes).toHaveLength(2);
    for (const h of hashes) expect(JSON.stringify(feed)).not.toContain(h);
  });

  it('one published byte changed: a bad_row, not recorded; the verified head stops before it', () => {
    const { feed } = session();
    const v = new FeedVerifier('ctl-1', keys.publicKey);
    const k = 4;
    for (const p of feed) {
      const sent: EventPayload = p.seq === k ? { ...p, bytes: p.bytes!.replace('"r', '"R') } : p;
      const o = v.observeRow(sent);
      if (p.seq === k) {
        expect(o.record).toBe(false);
        expect(o.findings.map((f) => f.alarm)).toEqual(['bad_row']);
        expect(o.findings[0]!.detail).toMatch(/SHA-256\(prevHash ‖ bytes\) is not its hash/);
      } else expect(o.findings).toEqual([]);
    }
    const r = v.report();
    expect(r.verified.seq).toBe(k - 1);
    expect(r.gaps).toEqual([{ from: k, to: k }]);
    expect(r.alarms).toEqual({ bad_row: 1 });
    // The claimed hash alone, with other bytes, is not trusted either.
    expect(checkPublishedRow({ ...feed[k - 1]!, bytes: null, withheld: null }).ok).toBe(false);
    // The true row, arriving later, fills the gap.
    expect(v.observeRow(feed[k - 1]!).findings).toEqual([]);
    expect(v.report().verified.seq).toBe(feed.length);
  });

  it('names a missing row as a gap, and another row at a held seq as a fork', () => {
    const a = session();
    const v = new FeedVerifier('ctl-1', keys.publicKey);
    for (const p of a.feed) if (p.seq !== 6) v.observeRow(p);
    expect(v.report()).toMatchObject({ verified: { seq: 5 }, gaps: [{ from: 6, to: 6 }] });
    // Another row 6 with the same prevHash (e.g. the journal restored and written again).
    v.observeRow(a.feed[5]!);
    const prevHash = a.feed[4]!.hash;
    const bytes = a.feed[5]!.bytes!.replace('"reason":"r', '"reason":"x');
    expect(bytes).not.toBe(a.feed[5]!.bytes);
    const o = v.observeRow({ ...a.feed[5]!, bytes, hash: chainHash(prevHash, bytes) });
    expect(o.findings.map((f) => f.alarm)).toEqual(['fork']);
    expect(v.report().forks).toEqual([6]);
  });

  it('bad signature, equivocation and a checkpoint that disagrees with a recomputed row', () => {
    const a = session();
    const b = session(); // same key: what root re-signing a rewritten journal produces
    const v = new FeedVerifier('ctl-1', keys.publicKey);
    for (const p of a.feed) v.observeRow(p);
    expect(v.observeCheckpoint({ ...a.cp, at: a.cp.at + 1 }).findings.map((f) => f.alarm)).toEqual([
      'bad_signature',
    ]);
    expect(v.observeCheckpoint(a.cp).findings).toEqual([]);
    expect(v.observeCheckpoint(b.cp).findings.map((f) => f.alarm)).toEqual(['equivocation', 'equivocation']);
    const other = new FeedVerifier('ctl-1', generateKeyPairSync('ed25519').publicKey);
    expect(other.observeCheckpoint(a.cp).findings.map((f) => f.alarm)).toEqual(['bad_signature']);
  });

  it('accepts a declared gap and refuses forged bytes: not canonical, a secret in clear, another seq', () => {
    const { journal } = openJournal(join(tempDir(), 'g.db'));
    journal.append({ type: 'controller_stopped', at: T0, data: { reason: 'a' } } as never);
    journal.appendGap({
      type: 'journal_truncated',
      at: T0 + 1,
      data: { lostFrom: 2, lostThrough: 4, checkpoint: null } as never,
    });
    journal.append({ type: 'controller_stopped', at: T0 + 2, data: { reason: 'b' } } as never);
    const feed = [...journal.iterate()].map((r) => eventPayload(r));
    expect(feed.map((p) => p.seq)).toEqual([1, 5, 6]);
    const v = new FeedVerifier('ctl-1', keys.publicKey);
    for (const p of feed) expect(v.observeRow(p).findings).toEqual([]);
    expect(v.report()).toMatchObject({ verified: { seq: 6 }, gaps: [] });

    const forge = (bytes: string) => {
      const prevHash = feed[0]!.hash;
      return checkPublishedRow({ seq: 2, prevHash, hash: chainHash(prevHash, bytes), bytes });
    };
    const fields = { at: T0, type: 'badge_added', door: null, person: null, actor: null };
    expect(forge(recordBytes(2, fields, '{"credentialHash":"ab"}'))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/secret in clear/),
    });
    expect(forge(recordBytes(2, fields, '{"b":1,"a":2}'))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/canonical/),
    });
    expect(forge(recordBytes(3, fields, '{}'))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/seq 3/),
    });
    expect(forge(recordBytes(2, fields, '{}', 3))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/format/),
    });
    expect(forge(recordBytes(2, fields, '{}', 1)).ok).toBe(true);
    // A row withheld as format v1 above a v2 row: forged (only rows before the upgrade are withheld).
    const after = {
      seq: 7,
      prevHash: feed[2]!.hash,
      hash: 'ab'.repeat(32),
      bytes: null,
      withheld: 'v1_secret',
    };
    expect(v.observeRow(after).findings.map((f) => f.alarm)).toEqual(['bad_row']);
    expect(v.report().verified.seq).toBe(6);
  });
});
