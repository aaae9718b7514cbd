/**
 * Checks many checkpoint signatures while the caller does other work (the verifier walks the chain).
 *
 * Five years of checkpoints every five minutes are about 236,000 Ed25519 signatures, 63 µs each:
 * 15 s, more than the hash chain itself takes. A worker thread takes signatures from a shared
 * counter while the caller walks the chain; when the walk is done the caller takes the rest from the
 * same counter, so the two share the work whichever finishes first. Both threads use Node's
 * `crypto.verify` on the same bytes `verifyCheckpoint` signs, so the verdicts are the same.
 *
 * `finish()` blocks (Atomics.wait) until every signature is checked, so the verifier stays
 * synchronous. If the worker does not start or stops making progress, the caller checks whatever is
 * left itself: a slow machine is only slower, never wrong.
 */
import { type KeyObject, verify } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { type Checkpoint, checkpointBytes, checkpointShapeOk, verifyCheckpoint } from './journal.js';

/** Below this many signatures a worker is not worth its start (about 30 ms). */
const WORKER_MIN = 2000;
/** Without progress for this long, the caller stops waiting for the worker. */
const STALL_MS = 10_000;

const PENDING = 0;
const GOOD = 1;
const BAD = 2;

// Plain CommonJS for the worker. ctrl[0]: next index to claim; ctrl[1]: signatures done;
// ctrl[2]: of those, checked by the worker.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { verify, createPublicKey } = require('node:crypto');
const { ctrlBuf, statusBuf, messages, signatures, keyDer } = workerData;
const ctrl = new Int32Array(ctrlBuf);
const status = new Int8Array(statusBuf);
const key = createPublicKey({ key: Buffer.from(keyDer), format: 'der', type: 'spki' });
const n = status.length;
for (;;) {
  const i = Atomics.add(ctrl, 0, 1);
  if (i >= n) break;
  if (Atomics.load(status, i) === 0) {
    let ok = false;
    try {
      ok = verify(null, Buffer.from(messages[i], 'utf8'), key, Buffer.from(signatures[i], 'base64'));
    } catch {}
    Atomics.store(status, i, ok ? 1 : 2);
  }
  Atomics.add(ctrl, 2, 1);
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}
`;

export interface SignatureCheck {
  /** Blocks until every signature is checked; the index (in the given order) of the first bad one, or -1. */
  finish(): number;
  /** How many signatures the worker thread checked (0 when there was none). */
  byWorker(): number;
}

/** Starts checking the signatures of `checkpoints` with `publicKey`. */
export function startSignatureCheck(
  checkpoints: readonly Checkpoint[],
  publicKey: KeyObject,
): SignatureCheck {
  const n = checkpoints.length;
  if (n < WORKER_MIN) {
    // Few: check them now, in order, as the verifier always did.
    const bad = checkpoints.findIndex((cp) => !verifyCheckpoint(cp, publicKey));
    return { finish: () => bad, byWorker: () => 0 };
  }
  const ctrl = new Int32Array(new SharedArrayBuffer(12));
  const status = new Int8Array(new SharedArrayBuffer(n));
  const messages: string[] = new Array(n);
  const signatures: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const cp = checkpoints[i]!;
    if (!checkpointShapeOk(cp)) {
      status[i] = BAD;
      messages[i] = '';
      signatures[i] = '';
    } else {
      messages[i] = checkpointBytes(cp);
      signatures[i] = cp.signature;
    }
  }
  let worker: Worker | null = null;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        ctrlBuf: ctrl.buffer,
        statusBuf: status.buffer,
        messages,
        signatures,
        keyDer: publicKey.export({ type: 'spki', format: 'der' }),
      },
    });
    worker.unref();
    worker.on('error', () => undefined); // a failed worker leaves its share to finish()
  } catch {
    worker = null;
  }
  const check = (i: number) => {
    if (Atomics.load(status, i) === PENDING) {
      let ok = false;
      try {
        ok = verify(
          null,
          Buffer.from(messages[i]!, 'utf8'),
          publicKey,
          Buffer.from(signatures[i]!, 'base64'),
        );
      } catch {
        ok = false;
      }
      Atomics.store(status, i, ok ? GOOD : BAD);
    }
    Atomics.add(ctrl, 1, 1);
  };
  return {
    byWorker: () => Atomics.load(ctrl, 2),
    finish(): number {
      // Take the rest from the shared counter.
      for (;;) {
        const i = Atomics.add(ctrl, 0, 1);
        if (i >= n) break;
        check(i);
      }
      // Wait for the ones the worker is still on.
      let done = Atomics.load(ctrl, 1);
      let lastProgress = Date.now();
      while (done < n) {
        Atomics.wait(ctrl, 1, done, 100);
        const now = Atomics.load(ctrl, 1);
        if (now !== done) {
          done = now;
          lastProgress = Date.now();
        } else if (Date.now() - lastProgress > STALL_MS) break;
      }
      void worker?.terminate();
      // Anything the worker claimed but never finished: check it here.
      for (let i = 0; i < n; i++) if (Atomics.load(status, i) === PENDING) check(i);
      for (let i = 0; i < n; i++) if (status[i] === BAD) return i;
      return -1;
    },
  };
}
