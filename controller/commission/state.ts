/**
 * Whether a door's latest commissioning covers it now: passed, signed by this device, on this kind
 * of board, and the door still wired as it was tested. The controller bars a door that requires
 * commissioning (`doors[].requireCommissioning`) unless this says `ok`; the Compliance page shows it.
 */
import type { KeyObject } from 'node:crypto';
import type { Config, DoorConfig } from '../config/index.js';
import { DoorCommissionedRecord, doorWiring, sameWiring } from '../domain/index.js';
import type { Journal, JournalRow } from '../journal/index.js';
import { commissioningSignatureValid } from './record.js';

/** ok, or why not: the first that applies. */
export type CommissioningState =
  | 'ok'
  | 'not_commissioned'
  | 'not_passed'
  | 'bad_signature'
  | 'simulated'
  | 'wiring_changed';

export interface CommissioningCheck {
  state: CommissioningState;
  /** The latest record, parsed, when there is one that parses. */
  data?: DoorCommissionedRecord;
  signatureValid: boolean;
  wiringUnchanged: boolean;
}

/** The state of `door` given its latest `door_commissioned` row (or none). */
export function commissioningCheck(
  row: JournalRow | undefined,
  door: DoorConfig,
  config: Pick<Config, 'readers' | 'board'>,
  publicKey: KeyObject,
): CommissioningCheck {
  if (!row) return { state: 'not_commissioned', signatureValid: false, wiringUnchanged: false };
  const parsed = DoorCommissionedRecord.safeParse(row.data);
  if (!parsed.success) return { state: 'bad_signature', signatureValid: false, wiringUnchanged: false };
  const data = parsed.data;
  const signatureValid = commissioningSignatureValid(door.id, row.actor, data, publicKey);
  const wiringUnchanged = sameWiring(data.wiring, doorWiring(door, config.readers));
  const state: CommissioningState =
    data.outcome !== 'passed'
      ? 'not_passed'
      : !signatureValid
        ? 'bad_signature'
        : data.board !== config.board.kind
          ? 'simulated'
          : !wiringUnchanged
            ? 'wiring_changed'
            : 'ok';
  return { state, data, signatureValid, wiringUnchanged };
}

/** Each door's state from the journal (one indexed query per door). */
export function doorCommissioning(
  journal: Journal,
  config: Pick<Config, 'doors' | 'readers' | 'board'>,
  publicKey: KeyObject,
): Map<string, CommissioningCheck & { row?: JournalRow }> {
  const out = new Map<string, CommissioningCheck & { row?: JournalRow }>();
  for (const door of config.doors) {
    const [row] = journal.query({ types: ['door_commissioned'], door: door.id, limit: 1 });
    out.set(door.id, { ...commissioningCheck(row, door, config, publicKey), ...(row ? { row } : {}) });
  }
  return out;
}
