/**
 * The signature of a commissioning record: Ed25519 with the device key, over the canonical JSON of
 * the door, the installer and the record's data without its signature. The row is in the journal's
 * hash chain too; the signature lets the record be checked on its own (a printout, an export) with
 * the device's public key, and binds it to the device that drove the door.
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import type { DoorCommissionedRecord } from '../domain/index.js';
import { canonicalJson } from '../journal/index.js';

export type UnsignedCommissioning = Omit<DoorCommissionedRecord, 'signature'>;

/** The bytes the signature covers. */
export function commissionSignedBytes(
  door: string,
  actor: string | null,
  data: UnsignedCommissioning,
): string {
  const { signature: _, ...rest } = data as UnsignedCommissioning & { signature?: string };
  return canonicalJson({ type: 'door_commissioned', door, actor, data: rest });
}

export function signCommissioning(
  door: string,
  actor: string | null,
  data: UnsignedCommissioning,
  signingKey: KeyObject,
): DoorCommissionedRecord {
  const signature = sign(null, Buffer.from(commissionSignedBytes(door, actor, data), 'utf8'), signingKey);
  return { ...data, signature: signature.toString('base64') };
}

/** Whether the record's signature is the given public key's over its bytes. */
export function commissioningSignatureValid(
  door: string,
  actor: string | null,
  data: DoorCommissionedRecord,
  publicKey: KeyObject,
): boolean {
  try {
    return verify(
      null,
      Buffer.from(commissionSignedBytes(door, actor, data), 'utf8'),
      publicKey,
      Buffer.from(data.signature, 'base64'),
    );
  } catch {
    return false;
  }
}
