/**
 * The service's life cycle: `sekisho start` (parses its arguments and hands over to the process
 * root, controller/main.ts) and `sekisho secure-outputs` (systemd's ExecStopPost).
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import {
  type CreateBoardOptions,
  createBoard,
  doorPinNames,
  pinLevel,
  secureLevels,
} from '../../hardware/index.js';
import { cliActor } from '../accounts/person.js';
import type { LoadedConfig } from '../config/index.js';
import { createLogger } from '../log.js';
import { LoggedStartError, startSekisho } from '../main.js';
import { common, load } from './common.js';
import { EXIT_FAILED, EXIT_OK } from './exit-codes.js';

export async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: common });
  const loaded = load(values.config);
  try {
    await startSekisho({ loaded, log: createLogger(), startedBy: osActor() });
  } catch (err) {
    if (err instanceof LoggedStartError) return EXIT_FAILED;
    throw err;
  }
  return await new Promise<number>(() => undefined); // runs until a signal
}

/**
 * Who runs this process, as the journal names a CLI user (under systemd: the service account);
 * undefined for a uid without a passwd entry (not known, so no person).
 */
export function osActor(): string | undefined {
  try {
    return cliActor(userInfo().username, process.env);
  } catch {
    return undefined;
  }
}

/**
 * Drives every door's lock output to its secured level and every buzzer off, then releases the
 * pins (Raspberry Pi kernels keep a released output at its last level). For systemd's ExecStopPost,
 * so the door is secured however the service ended — even if the process was killed mid-grant.
 */
export function secureOutputs(
  loaded: LoadedConfig,
  options: CreateBoardOptions = {},
): { secured: string[]; errors: string[] } {
  const { config } = loaded;
  if (config.board.kind === 'sim') return { secured: [], errors: [] };
  const secure = secureLevels(config.doors);
  const secured: string[] = [];
  const errors: string[] = [];
  const board = createBoard(config, options);
  for (const door of config.doors) {
    const names = doorPinNames(door.id);
    const outputs = [
      { name: names.lock, spec: door.lock, what: 'locked' },
      ...(door.buzzer ? [{ name: names.buzzer, spec: door.buzzer, what: 'off' }] : []),
    ];
    for (const o of outputs) {
      try {
        board.addOutput(o.name, o.spec, secure[o.name]!);
        const volts = pinLevel(secure[o.name]!, o.spec.activeLow) ? '3.3 V' : '0 V';
        secured.push(`${o.name}: BCM ${o.spec.pin} at ${volts} (${o.what})`);
      } catch (err) {
        errors.push(`${o.name}: ${(err as Error).message}`);
      }
    }
  }
  try {
    board.close(secure);
  } catch (err) {
    errors.push((err as Error).message);
  }
  return { secured, errors };
}

export function secureOutputsCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: common });
  const loaded = load(values.config);
  if (loaded.config.board.kind === 'sim') {
    process.stdout.write('simulated board: no outputs to secure\n');
    return EXIT_OK;
  }
  const r = secureOutputs(loaded);
  for (const line of r.secured) process.stdout.write(`secured ${line}\n`);
  for (const line of r.errors) process.stderr.write(`sekisho: could not secure ${line}\n`);
  return r.errors.length > 0 ? EXIT_FAILED : EXIT_OK;
}
