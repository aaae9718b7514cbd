import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, checkpointBytes, verifyCheckpoint } from '../../controller/journal/journal.js';
import { startSignatureCheck } from '../../controller/journal/signature-check.js';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');

function checkpoints(n: number): Checkpoint[] {
  return Array.from({ length: n }, (_, i) => {
    const cp = {
      seq: (i + 1) * 20,
      hash: createHash('sha256').update(String(i)).digest('hex'),
      at: 1_700_000_000_000 + i * 300_000,
      controller: 'ctl-1',
    };
    const signature = sign(null, Buffer.from(checkpointBytes(cp), 'utf8'), privateKey).toString('base64');
    return { ...cp, signature, keyId: 'k1' };
  });
}

// 5,000 signatures: above the size at which a worker thread shares the work.
const many = checkpoints(5000);

describe('startSignatureCheck', () => {
  it('accepts thousands of good signatures, checked by the worker and the caller together', async () => {
    expect(startSignatureCheck(many, publicKey).finish()).toBe(-1);
    // Given time before the caller joins in, the worker takes signatures from the shared counter.
    const check = startSignatureCheck(many, publicKey);
    await new Promise((r) => setTimeout(r, 300));
    expect(check.finish()).toBe(-1);
    expect(check.byWorker()).toBeGreaterThan(0);
    expect(startSignatureCheck(many.slice(0, 10), publicKey).byWorker()).toBe(0);
  });

  it('names the first bad checkpoint in order, whichever thread found it', () => {
    const cps = many.map((c) => ({ ...c }));
    // A forged signature late, an altered hash early, a bad shape in between: the earliest is named.
    cps[4321]!.signature = sign(null, Buffer.from(checkpointBytes(cps[4321]!)), other.privateKey).toString(
      'base64',
    );
    cps[1234]!.hash = createHash('sha256').update('rewritten').digest('hex');
    cps[2500]!.at = Number.NaN;
    expect(startSignatureCheck(cps, publicKey).finish()).toBe(1234);
    cps[1234] = many[1234]!;
    expect(startSignatureCheck(cps, publicKey).finish()).toBe(2500);
    cps[2500] = many[2500]!;
    expect(startSignatureCheck(cps, publicKey).finish()).toBe(4321);
  });

  it('gives the same verdict as verifyCheckpoint for a few, checked in place', () => {
    const few = checkpoints(10);
    few[7]!.signature = 'not base64 at all %%%';
    expect(few.map((c) => verifyCheckpoint(c, publicKey))).toEqual(few.map((_, i) => i !== 7));
    expect(startSignatureCheck(few, publicKey).finish()).toBe(7);
  });

  it('refuses every signature under the wrong public key', () => {
    expect(startSignatureCheck(many, other.publicKey).finish()).toBe(0);
  });
});
