/**
 * `sekisho commission [--door ID]`: the installer's test of each door on the real board before it
 * goes live (POLICY §8(3)①ウ), with the controller stopped. See controller/commission/ and
 * docs/operations.md, "Commissioning a door".
 */

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type Board,
  claimDoorPins,
  createBoard,
  describeChip,
  RpiBoard,
  SimBoard,
  secureLevels,
} from '../../hardware/index.js';
import { AnswerSource } from '../commission/answers.js';
import { type CommissionLang, localeLang, messages } from '../commission/messages.js';
import { SimProbe } from '../commission/readers.js';
import { Commissioning, stepsOf } from '../commission/run.js';
import { SimChannel } from '../commission/sim-channel.js';
import { isRecordOf } from '../domain/index.js';
import { holdInstanceLock, InstanceBusyError, type InstanceLock } from '../instance-lock.js';
import { openStorage, type Storage } from '../storage.js';
import { cliIdentity, common, load, UsageError } from './common.js';
import { EXIT_FAILED, EXIT_OK, EXIT_SIGNAL } from './exit-codes.js';

const options = {
  ...common,
  door: { type: 'string' },
  lang: { type: 'string' },
  timeout: { type: 'string' },
  'confirm-outputs': { type: 'boolean' },
  skip: { type: 'string', multiple: true },
} as const;

/** Exit code of a run interrupted by a signal: 128 + the signal's number, as shells report it. */
const SIGNAL_EXIT: Record<string, number> = EXIT_SIGNAL;

export async function commissionCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options });
  const loaded = load(values.config);
  const { config } = loaded;

  const doors = values.door === undefined ? config.doors : config.doors.filter((d) => d.id === values.door);
  if (doors.length === 0)
    throw new UsageError(
      `--door: no door "${values.door}" (configured: ${config.doors.map((d) => d.id).join(', ')})`,
    );
  const lang: CommissionLang =
    values.lang === undefined
      ? localeLang(process.env)
      : values.lang === 'ja' || values.lang === 'en'
        ? values.lang
        : (() => {
            throw new UsageError(`--lang: expected "ja" or "en", not "${values.lang}"`);
          })();
  const timeoutS = values.timeout === undefined ? 60 : Number(values.timeout);
  if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > 3600)
    throw new UsageError(`--timeout: expected whole seconds from 1 to 3600, not "${values.timeout}"`);
  const known = new Set(doors.flatMap(stepsOf));
  const skip = new Map<string, string>();
  for (const s of values.skip ?? []) {
    const m = /^([^=]+)=(.*\S.*)$/.exec(s);
    if (!m) throw new UsageError(`--skip: expected STEP=REASON (the reason is recorded), not "${s}"`);
    if (!known.has(m[1]!))
      throw new UsageError(`--skip: no step "${m[1]}" (steps: ${[...known].join(', ')})`);
    skip.set(m[1]!, m[2]!.trim());
  }

  // The record names who tested the door: a person, not root or the service account.
  const { actor, person } = cliIdentity();
  if (person === null)
    throw new UsageError(
      `${actor} stands for no person: the commissioning record names who tested the door. ` +
        'Run it through sudo from your own login (sudo sekisho commission)',
    );

  let lock: InstanceLock;
  try {
    lock = holdInstanceLock(loaded.storageDir, 'commission');
  } catch (err) {
    if (err instanceof InstanceBusyError) {
      process.stderr.write(`sekisho: ${err.message}\n`);
      return EXIT_FAILED;
    }
    throw err;
  }

  const out = (text: string) => void process.stdout.write(text);
  const answers = new AnswerSource(process.stdin);
  let storage: Storage | undefined;
  let channel: SimChannel | undefined;
  let runner: Commissioning | undefined;
  let board: Board | undefined;
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    try {
      // The runner secures and releases the board; before it exists, the board is closed secured here.
      if (runner) runner.close();
      else board?.close(secureLevels(config.doors));
    } finally {
      await channel?.close();
      answers.close();
      storage?.db.close();
      lock.release();
    }
  };
  const signals = Object.keys(SIGNAL_EXIT) as NodeJS.Signals[];
  const onSignal = (signal: NodeJS.Signals) => {
    // Secure first, then record the interruption: both synchronous.
    runner?.abort(signal);
    void cleanUp().finally(() => process.exit(SIGNAL_EXIT[signal]));
  };
  for (const s of signals) process.on(s, onSignal);

  try {
    // Claimed secured, every door (not only those walked through).
    const claimed = createBoard(config);
    claimDoorPins(claimed, config.doors);
    board = claimed;
    storage = openStorage(loaded);
    const simReaders = new Map<string, SimProbe>();
    if (claimed instanceof SimBoard)
      channel = await SimChannel.open(loaded.storageDir, claimed, {
        card: (reader, number) => simReader(simReaders, reader).card(number),
        plug: (reader, present) => simReader(simReaders, reader).plug(present),
      });
    runner = new Commissioning({
      config,
      board: claimed,
      boardDetail: claimed instanceof RpiBoard ? boardDetail(claimed) : null,
      storage,
      actor,
      say: messages(lang),
      answers,
      out,
      timeoutMs: timeoutS * 1000,
      confirmOutputs: values['confirm-outputs'] === true,
      skip,
      announce: channel ? (line) => channel!.send(line) : undefined,
      registerProbe: (probe) => {
        if (probe instanceof SimProbe) simReaders.set(probe.config.id, probe);
      },
    });
    if (channel) out(`simulated board: play the door on ${channel.path}\n`);
    let allPassed = true;
    for (const door of doors) {
      const row = await runner.door(door);
      if (!row || !isRecordOf(row, 'door_commissioned') || row.data.outcome !== 'passed') allPassed = false;
    }
    out(`${messages(lang)('secured')}\n`);
    return allPassed ? EXIT_OK : EXIT_FAILED;
  } finally {
    for (const s of signals) process.off(s, onSignal);
    await cleanUp();
  }
}

function simReader(readers: Map<string, SimProbe>, id: string): SimProbe {
  const r = readers.get(id);
  if (!r) throw new Error(`no simulated reader "${id}" is being commissioned now`);
  return r;
}

/** "Raspberry Pi 4 Model B Rev 1.4, gpiochip512 …": the device tree's model and the chip in use. */
function boardDetail(board: RpiBoard): string {
  let model = 'unknown model';
  try {
    model = readFileSync('/proc/device-tree/model', 'utf8').replace(/\0/g, '').trim() || model;
  } catch {
    // not a device-tree machine
  }
  return `${model}, ${describeChip(board.chip)}`;
}
