/**
 * A `Controller` in the test's own process: the config from `doorConfig(dir, readers, extra)`, the
 * storage in `dir/data`, the simulated board. For tests that need the controller's objects (its
 * registry, journal, derived state) rather than the `sekisho` command (tests/helpers/controller.ts).
 */
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/index.js';
import { type Logger, silentLogger } from '../../controller/log.js';
import { Controller } from '../../controller/runtime/index.js';
import { SimBoard } from '../../hardware/index.js';
import { doorConfig, simReaders } from './controller.js';

export interface InProcessOptions {
  readers?: Record<string, unknown>[];
  /** Top-level config sections added or replaced. */
  extra?: Record<string, unknown>;
  log?: Logger;
}

export async function startInProcess(
  dir: string,
  opts: InProcessOptions = {},
): Promise<{ c: Controller; board: SimBoard }> {
  const config = parseConfig(stringify(doorConfig(dir, opts.readers ?? simReaders(), opts.extra ?? {})));
  const board = new SimBoard();
  const c = await Controller.start({
    loaded: { config, file: join(dir, 'c.yaml'), storageDir: join(dir, 'data') },
    board,
    log: opts.log ?? silentLogger,
  });
  return { c, board };
}
