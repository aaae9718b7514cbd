/**
 * Each door's latest commissioning (`door_commissioned`, written by `sekisho commission`), for the
 * compliance view (POLICY §8(3)①ウ): when, by whom, its outcome and steps, whether its device
 * signature holds, and whether the door is still wired as it was tested. One indexed query per door.
 */
import { commissioningSignatureValid } from '../controller/commission/record.js';
import {
  type CommissionOutcome,
  type CommissionStep,
  DoorCommissionedRecord,
  doorWiring,
  sameWiring,
} from '../controller/domain/index.js';
import type { Dash } from './context.js';

/**
 * ok: the latest commissioning passed, is signed by this device, on this kind of board, and the
 * door's wiring has not changed since. Otherwise why not, the first that applies.
 */
export type CommissioningState =
  | 'ok'
  | 'not_commissioned'
  | 'not_passed'
  | 'bad_signature'
  | 'simulated'
  | 'wiring_changed';

export interface DoorCommissioning {
  door: string;
  name: string;
  state: CommissioningState;
  /** The latest record, absent for a door never commissioned. */
  latest?: {
    seq: number;
    at: number;
    actor: string | null;
    outcome: CommissionOutcome;
    board: string;
    mode: string;
    steps: CommissionStep[];
    readers: { id: string; role: string; device: string | null; testCard: string | null }[];
    signatureValid: boolean;
    wiringUnchanged: boolean;
  };
}

export function commissioningOf(dash: {
  controller: Pick<Dash['controller'], 'journal' | 'config' | 'secrets'>;
}): DoorCommissioning[] {
  const { journal, config, secrets } = dash.controller;
  return config.doors.map((door) => {
    const [row] = journal.query({ types: ['door_commissioned'], door: door.id, limit: 1 });
    const base = { door: door.id, name: door.name };
    if (!row) return { ...base, state: 'not_commissioned' };
    const parsed = DoorCommissionedRecord.safeParse(row.data);
    if (!parsed.success) return { ...base, state: 'bad_signature' };
    const data = parsed.data;
    const signatureValid = commissioningSignatureValid(door.id, row.actor, data, secrets.publicKey);
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
    return {
      ...base,
      state,
      latest: {
        seq: row.seq,
        at: row.at,
        actor: row.actor,
        outcome: data.outcome,
        board: data.board,
        mode: data.mode,
        steps: data.steps,
        readers: data.readers.map((r) => ({
          id: r.id,
          role: r.role,
          device: r.device,
          testCard: r.testCard,
        })),
        signatureValid,
        wiringUnchanged,
      },
    };
  });
}
