/**
 * doctor's commissioning check: a door with `requireCommissioning` opens for no badge until its
 * latest commissioning covers it (controller/commission/state.ts) — said here before the start, so
 * that a barred door is not a surprise at the door.
 */
import { doorCommissioning } from '../commission/state.js';
import type { LoadedConfig } from '../config/index.js';
import type { Storage } from '../storage.js';
import type { Add } from './check.js';

const WHY: Record<string, string> = {
  not_commissioned: 'never commissioned',
  not_passed: 'its latest commissioning did not pass',
  bad_signature: "its latest commissioning is not signed by this device's key",
  simulated: 'its latest commissioning was made on another kind of board',
  wiring_changed: 'its wiring changed since its latest commissioning',
};

/** One line per door that requires commissioning; `storage` undefined: no journal yet. */
export function commissioningChecks(loaded: LoadedConfig, storage: Storage | undefined, add: Add): void {
  const required = loaded.config.doors.filter((d) => d.requireCommissioning === true);
  if (required.length === 0) return;
  const states = storage
    ? doorCommissioning(storage.journal, loaded.config, storage.secrets.publicKey)
    : new Map<string, { state: string }>();
  for (const door of required) {
    const state = states.get(door.id)?.state ?? 'not_commissioned';
    if (state === 'ok') add('OK', `commissioning ${door.id}`, 'commissioned for its current wiring');
    else
      add(
        'WARN',
        `commissioning ${door.id}`,
        `${WHY[state] ?? state}: no badge opens this door (requireCommissioning) until "sudo sekisho commission --door ${door.id}" passes`,
      );
  }
}
