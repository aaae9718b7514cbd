/**
 * Each door's latest commissioning (`door_commissioned`, written by `sekisho commission`), for the
 * compliance view (POLICY §8(3)①ウ): when, by whom, its outcome and steps, whether its device
 * signature holds, and whether the door is still wired as it was tested. One indexed query per door.
 */
import { type CommissioningState, doorCommissioning } from '../controller/commission/state.js';
import type { CommissionOutcome, CommissionStep } from '../controller/domain/index.js';
import type { Dash } from './context.js';

/**
 * ok: the latest commissioning passed, is signed by this device, on this kind of board, and the
 * door's wiring has not changed since. Otherwise why not, the first that applies.
 */
export type { CommissioningState };

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
  const checks = doorCommissioning(journal, config, secrets.publicKey);
  return config.doors.map((door) => {
    const check = checks.get(door.id)!;
    const base = { door: door.id, name: door.name };
    const { row, data, signatureValid, wiringUnchanged, state } = check;
    if (!row) return { ...base, state: 'not_commissioned' };
    if (!data) return { ...base, state };
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
