/**
 * Stopping and starting the service around an upgrade, behind one small interface: systemd on the
 * device, nothing with `--no-restart` (the operator stops and starts it; the tests drive a
 * controller of their own). The doors are secured by the controller's own stop (every lock to its
 * secured level), by the unit's ExecStopPost (`sekisho secure-outputs`) and again at start, before
 * any reader is listened to: at no point of an upgrade is a lock driven open.
 */
import { execFileSync } from 'node:child_process';

export interface ServiceControl {
  /** What the operator is told (e.g. "systemd unit sekisho.service"). */
  readonly name: string;
  /** Stops the service; resolves once it has stopped (the doors secured). */
  stop(): Promise<void>;
  /** Starts it; rejects when it did not start. */
  start(): Promise<void>;
}

/** Runs one command (argv[0] found on PATH); throws with its stderr when it fails. */
export type CommandRunner = (argv: readonly string[]) => void;

export const runCommand: CommandRunner = (argv) => {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    const detail = e.stderr?.toString().trim() || e.message;
    throw new Error(`${argv.join(' ')} failed: ${detail}`);
  }
};

/**
 * The systemd unit: `systemctl stop` waits for the stop and the ExecStopPost; `systemctl start`
 * waits for the controller's READY=1 (Type=notify), so a start that fails is reported here.
 */
export function systemdService(unit = 'sekisho.service', run: CommandRunner = runCommand): ServiceControl {
  return {
    name: `systemd unit ${unit}`,
    stop: async () => run(['systemctl', 'stop', unit]),
    start: async () => run(['systemctl', 'start', unit]),
  };
}

/** `--no-restart`: the service must already be stopped, and is left stopped. */
export const noRestart: ServiceControl = {
  name: 'no restart (--no-restart)',
  stop: async () => undefined,
  start: async () => undefined,
};
