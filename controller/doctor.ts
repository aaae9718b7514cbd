/**
 * `sekisho doctor`: tells a technician, in plain words, what is wrong and what is missing.
 * Each check prints OK, WARN or FAIL; the exit status is 1 when any check fails, 3 when none failed
 * but some warned, 0 when all passed.
 *
 * This file runs the checks in order; each family (GPIO, serial, storage, config history, clock and
 * runtime, MQTT, the dashboard's listener and certificate) lives in controller/doctor/.
 */
import { existsSync } from 'node:fs';
import { EXIT_DOCTOR_WARNINGS, EXIT_FAILED, EXIT_OK } from './cli/exit-codes.js';
import type { LoadedConfig } from './config/index.js';
import type { Check, Verdict } from './doctor/check.js';
import { clockChecks, runtimeCheck } from './doctor/clock.js';
import { commissioningChecks } from './doctor/commissioning.js';
import { configChecks } from './doctor/config.js';
import { dashboardChecks } from './doctor/dashboard.js';
import { gpioChecks } from './doctor/gpio.js';
import { mqttChecks } from './doctor/mqtt.js';
import { powerChecks } from './doctor/power.js';
import { registryChecks } from './doctor/registry.js';
import { serialChecks } from './doctor/serial.js';
import { diskChecks, storageChecks } from './doctor/storage.js';
import { journalFile, openStorage, type Storage } from './storage.js';

export interface DoctorOptions {
  /** Where the sysfs GPIO interface is (tests pass a fake). Default /sys/class/gpio. */
  gpioRoot?: string;
  /** How long to listen to each serial reader. Default 2.5 s for a bridge board, 1.5 s otherwise. */
  serialListenMs?: number;
  /** The time to judge the clock by (tests). Default Date.now(). */
  now?: number;
  /** The Node.js version to judge (tests). Default the running one. */
  nodeVersion?: string;
}

export async function runChecks(loaded: LoadedConfig, opts: DoctorOptions = {}): Promise<Check[]> {
  const { config } = loaded;
  const checks: Check[] = [];
  const add = (verdict: Verdict, what: string, detail: string) => checks.push({ verdict, what, detail });
  add(
    'OK',
    'config',
    `${loaded.file} is valid (${config.doors.length} door(s), ${config.readers.length} reader(s))`,
  );

  runtimeCheck(opts.nodeVersion ?? process.versions.node, opts.now ?? Date.now(), add);
  dashboardChecks(loaded, add, opts.now ?? Date.now());

  // GPIO and serial readers
  await gpioChecks(loaded, add, opts.gpioRoot ?? '/sys/class/gpio');
  await serialChecks(loaded, add, opts.serialListenMs);

  // Storage
  const dir = loaded.storageDir;
  diskChecks(dir, add, loaded.config.storage.lowSpaceMiB);
  // Open read-only once, for the integrity and chain checks here and the outbox backlog below.
  let storage: Storage | undefined;
  let storageError: string | undefined;
  if (!existsSync(journalFile(dir)))
    add('WARN', 'journal', `no journal yet at ${journalFile(dir)} (created at first start)`);
  else {
    try {
      storage = openStorage(loaded, { readonly: true });
    } catch (err) {
      storageError = (err as Error).message;
      add('FAIL', 'storage', storageError);
    }
  }
  try {
    if (storage) {
      storageChecks(storage, add);
      configChecks(loaded, storage, add);
      registryChecks(storage, add);
    }
    // Doors that may not open before they are commissioned
    if (!storageError) commissioningChecks(loaded, storage, add);
    // Clock
    clockChecks(loaded, add, opts.now ?? Date.now());
    await mqttChecks(loaded, add, storage, storageError);
    await powerChecks(loaded, add);
  } finally {
    storage?.db.close();
  }
  return checks;
}

/** doctor's exit statuses (docs/operations.md#checking-health); 2 is the CLI's bad usage or config. */
export const DOCTOR_EXIT = { ok: EXIT_OK, failed: EXIT_FAILED, warnings: EXIT_DOCTOR_WARNINGS } as const;

/**
 * The last line and the exit status: a failure is a problem (1); a warning is counted and said (3),
 * never "nothing is wrong" — an unknown clock state is a warning, not a pass.
 */
export function doctorSummary(checks: readonly Check[]): { line: string; status: number } {
  const failed = checks.filter((c) => c.verdict === 'FAIL').length;
  const warned = checks.filter((c) => c.verdict === 'WARN').length;
  const warnings = `${warned} warning${warned === 1 ? '' : 's'}`;
  if (failed > 0)
    return {
      line: `${failed} problem${failed === 1 ? '' : 's'} found${warned ? `, ${warnings}` : ''}`,
      status: DOCTOR_EXIT.failed,
    };
  if (warned > 0)
    return { line: `no problem found, ${warnings}: see the WARN lines`, status: DOCTOR_EXIT.warnings };
  return { line: 'nothing is wrong', status: DOCTOR_EXIT.ok };
}

export async function doctor(loaded: LoadedConfig): Promise<number> {
  const checks = await runChecks(loaded);
  for (const c of checks) process.stdout.write(`${c.verdict.padEnd(4)} ${c.what}: ${c.detail}\n`);
  const { line, status } = doctorSummary(checks);
  process.stdout.write(`${line}\n`);
  return status;
}
