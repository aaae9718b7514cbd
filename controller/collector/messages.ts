/**
 * The two messages between the collector and a controller, signed with the collector's Ed25519 key
 * (each controller pins its public half, `collector.publicKey`):
 * - a **re-publish command**, the controllers' only input over MQTT: "publish your rows from seq A
 *   (through B)". A controller acts on one only if it is well formed, names it, verifies with the
 *   pinned key, is fresh (issued within `maxAgeMs` of the controller's clock, not in its future) and
 *   newer than the last one it accepted (so a recorded command replayed later is refused);
 * - an **acknowledgement**, retained per controller: "received and verified up to seq / hash".
 * Both are signed over fixed-order canonical bytes, like the journal's checkpoints. Pure: time and
 * keys are passed in.
 */
import { type KeyObject, randomBytes, sign, verify } from 'node:crypto';

const HEX64 = /^[0-9a-f]{64}$/;
const NONCE = /^[0-9a-f]{32}$/;
const CONTROLLER_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]{86}==$/; // an Ed25519 signature: 64 bytes

export interface RepublishCommand {
  controller: string;
  /** First seq to publish again. */
  fromSeq: number;
  /** Last seq, inclusive; null = up to the head (the controller caps how many it sends per command). */
  throughSeq: number | null;
  /** The collector's time of issue, UTC ms. */
  issuedAt: number;
  /** 16 random bytes, hex: two commands issued in the same millisecond still differ. */
  nonce: string;
}

export interface SignedRepublishCommand extends RepublishCommand {
  /** Ed25519 over republishBytes(), base64. */
  signature: string;
}

export interface Acknowledgement {
  controller: string;
  /** Verified up to this seq (every row from 1, or from the archive base, recomputed and chained). */
  seq: number;
  hash: string;
  /** The collector's time, UTC ms. */
  at: number;
}

export interface SignedAcknowledgement extends Acknowledgement {
  signature: string;
}

export function republishBytes(c: RepublishCommand): string {
  return (
    `{"kind":"republish","controller":${JSON.stringify(c.controller)},"fromSeq":${c.fromSeq},` +
    `"throughSeq":${c.throughSeq === null ? 'null' : c.throughSeq},"issuedAt":${c.issuedAt},"nonce":"${c.nonce}"}`
  );
}

export function acknowledgementBytes(a: Acknowledgement): string {
  return `{"kind":"ack","controller":${JSON.stringify(a.controller)},"seq":${a.seq},"hash":"${a.hash}","at":${a.at}}`;
}

export function signRepublish(
  c: Omit<RepublishCommand, 'nonce'> & { nonce?: string },
  key: KeyObject,
): SignedRepublishCommand {
  const cmd: RepublishCommand = { ...c, nonce: c.nonce ?? randomBytes(16).toString('hex') };
  return { ...cmd, signature: sign(null, Buffer.from(republishBytes(cmd)), key).toString('base64') };
}

export function signAcknowledgement(a: Acknowledgement, key: KeyObject): SignedAcknowledgement {
  return { ...a, signature: sign(null, Buffer.from(acknowledgementBytes(a)), key).toString('base64') };
}

export type RepublishRefusal =
  | 'malformed'
  | 'wrong_controller'
  | 'bad_signature'
  | 'stale'
  | 'future'
  | 'replayed';

export interface RepublishCheck {
  /** This controller's id. */
  controller: string;
  /** The collector's pinned public key. */
  collectorKey: KeyObject;
  /** The controller's clock, UTC ms. */
  now: number;
  /** Older than this is stale (default 5 minutes). */
  maxAgeMs?: number;
  /** Issued further ahead than this is refused (default 1 minute of clock difference). */
  maxAheadMs?: number;
  /** issuedAt of the last command accepted (journaled, so it survives a restart); 0 = none. */
  lastAcceptedIssuedAt: number;
}

export type RepublishVerdict =
  | { ok: true; command: RepublishCommand }
  | { ok: false; reason: RepublishRefusal; detail: string };

const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;

/** Decides whether a received message is a command this controller must act on. */
export function checkRepublish(raw: unknown, check: RepublishCheck): RepublishVerdict {
  const refuse = (reason: RepublishRefusal, detail: string): RepublishVerdict => ({
    ok: false,
    reason,
    detail,
  });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return refuse('malformed', 'not a JSON object');
  const m = raw as Record<string, unknown>;
  const allowed = new Set(['controller', 'fromSeq', 'throughSeq', 'issuedAt', 'nonce', 'signature']);
  const extra = Object.keys(m).filter((k) => !allowed.has(k));
  if (extra.length > 0) return refuse('malformed', `unexpected fields: ${extra.join(', ')}`);
  if (typeof m.controller !== 'string' || !CONTROLLER_ID.test(m.controller))
    return refuse('malformed', 'controller must be a controller id');
  if (!isSeq(m.fromSeq)) return refuse('malformed', 'fromSeq must be a positive integer');
  if (m.throughSeq !== null && !(isSeq(m.throughSeq) && m.throughSeq >= m.fromSeq))
    return refuse('malformed', 'throughSeq must be null or an integer not below fromSeq');
  if (typeof m.issuedAt !== 'number' || !Number.isSafeInteger(m.issuedAt) || m.issuedAt < 0)
    return refuse('malformed', 'issuedAt must be UTC milliseconds');
  if (typeof m.nonce !== 'string' || !NONCE.test(m.nonce))
    return refuse('malformed', 'nonce must be 32 hex digits');
  if (typeof m.signature !== 'string' || !BASE64.test(m.signature))
    return refuse('malformed', 'signature must be an Ed25519 signature in base64');
  const command: RepublishCommand = {
    controller: m.controller,
    fromSeq: m.fromSeq,
    throughSeq: m.throughSeq as number | null,
    issuedAt: m.issuedAt,
    nonce: m.nonce,
  };
  let valid = false;
  try {
    valid = verify(
      null,
      Buffer.from(republishBytes(command)),
      check.collectorKey,
      Buffer.from(m.signature, 'base64'),
    );
  } catch {
    valid = false;
  }
  if (!valid) return refuse('bad_signature', "the signature does not verify with the collector's pinned key");
  // After the signature: a forged message is refused as forged, whatever else it claims.
  if (command.controller !== check.controller)
    return refuse('wrong_controller', `the command names controller ${command.controller}`);
  const maxAge = check.maxAgeMs ?? 5 * 60_000;
  const maxAhead = check.maxAheadMs ?? 60_000;
  if (command.issuedAt < check.now - maxAge)
    return refuse(
      'stale',
      `issued ${Math.round((check.now - command.issuedAt) / 1000)} s ago (limit ${maxAge / 1000} s)`,
    );
  if (command.issuedAt > check.now + maxAhead)
    return refuse(
      'future',
      `issued ${Math.round((command.issuedAt - check.now) / 1000)} s ahead of this controller's clock`,
    );
  if (command.issuedAt <= check.lastAcceptedIssuedAt)
    return refuse('replayed', 'not newer than the last command accepted');
  return { ok: true, command };
}

/** Verifies a received acknowledgement with the collector's pinned key; null if it is not one. */
export function checkAcknowledgement(
  raw: unknown,
  controller: string,
  collectorKey: KeyObject,
): Acknowledgement | null {
  if (raw === null || typeof raw !== 'object') return null;
  const m = raw as Record<string, unknown>;
  if (
    m.controller !== controller ||
    !isSeq(m.seq) ||
    typeof m.hash !== 'string' ||
    !HEX64.test(m.hash) ||
    typeof m.at !== 'number' ||
    !Number.isSafeInteger(m.at) ||
    typeof m.signature !== 'string' ||
    !BASE64.test(m.signature)
  )
    return null;
  const ack: Acknowledgement = { controller, seq: m.seq, hash: m.hash, at: m.at };
  try {
    return verify(
      null,
      Buffer.from(acknowledgementBytes(ack)),
      collectorKey,
      Buffer.from(m.signature, 'base64'),
    )
      ? ack
      : null;
  } catch {
    return null;
  }
}
