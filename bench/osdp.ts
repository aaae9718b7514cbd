/**
 * OSDP: a card presented at a (simulated) reader → the lock output, in the bench process. A real
 * Controller polls two readers (entry at address 1, exit at 2) sharing one socat pty as their
 * RS-485 bus; the reader simulator is the tests' own (tests/helpers/osdp-pd). Measured from the
 * moment the card is handed to the reader (it answers the next poll with osdp_RAW) to the lock
 * output's change, beside the link's own limit: the poll interval plus the time a POLL and its RAW
 * reply take on the line at the configured baud rate (10 bits a byte).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../controller/config/index.js';
import { createLogger } from '../controller/log.js';
import { Controller } from '../controller/runtime/index.js';
import { lockOutputLevel, SimBoard } from '../hardware/index.js';
import { doorConfig, seedStaff } from '../tests/helpers/controller.js';
import { OsdpPdSim, rawData, w26Bits } from '../tests/helpers/osdp-pd/index.js';
import { makePtyPair } from '../tests/helpers/pty.js';
import { now, sleep } from './lib/stats.js';

export interface OsdpResult {
  /** Card handed to the reader → lock output, ms. */
  unlock: number[];
  failures: number;
  pollMs: number;
  baudRate: number;
  /** POLL (with its mark byte) + osdp_RAW of a 26-bit card, bytes. */
  frameBytes: number;
}

export async function osdpCardToUnlock(work: string, n: number): Promise<OsdpResult> {
  const pollMs = 100;
  const baudRate = 9600;
  const dir = join(work, 'osdp');
  const pty = await makePtyPair(dir);
  const sim = new OsdpPdSim(pty.a, [
    { address: 1, serial: 1 },
    { address: 2, serial: 2 },
  ]);
  await sim.open();
  const osdp = { baudRate, pollMs, secure: false };
  const cfg = doorConfig(dir, [
    { id: 'entry', path: pty.b, protocol: 'osdp', repeatSuppressMs: 0, osdp: { ...osdp, address: 1 } },
    { id: 'exit', path: pty.b, protocol: 'osdp', repeatSuppressMs: 0, osdp: { ...osdp, address: 2 } },
  ]);
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify(cfg));
  seedStaff(file, { name: 'Bench Taro', displayId: 'S-1', door: 'machine-room', credential: 'W26:12:3456' });
  const config = parseConfig(stringify(cfg), file);
  const board = new SimBoard();
  const controller = await Controller.start({
    loaded: { config, file, storageDir: join(dir, 'data') },
    board,
    log: createLogger({ level: 'error' }),
  });
  const result: OsdpResult = {
    unlock: [],
    failures: 0,
    pollMs,
    baudRate,
    // mark + SOM ADDR LEN LEN CTRL POLL CRC CRC, and SOM ADDR LEN LEN CTRL RAW + 8 data bytes + CRC CRC.
    frameBytes: 9 + 6 + rawData(w26Bits(12, 3456)).length + 2,
  };
  try {
    const end = Date.now() + 15_000;
    while (!controller.status().readers.every((r) => r.online) && Date.now() < end) await sleep(20);
    const lockCfg = config.doors[0]!.lock;
    const unlocked = lockOutputLevel(lockCfg, false);
    let waiter: ((t: number) => void) | null = null;
    let want = unlocked;
    board.onOutput((name, on) => {
      if (name === 'machine-room.lock' && on === want && waiter) {
        const w = waiter;
        waiter = null;
        w(now());
      }
    });
    const lockTo = (level: boolean, timeoutMs = 3000) =>
      new Promise<number>((resolve) => {
        want = level;
        const timer = setTimeout(() => {
          waiter = null;
          resolve(Number.NaN);
        }, timeoutMs);
        waiter = (t) => {
          clearTimeout(timer);
          resolve(t);
        };
      });
    for (let i = 0; i < n; i++) {
      // In at the entry, out at the exit, in turn.
      const address = i % 2 === 0 ? 1 : 2;
      // A random phase against the poll cycle, as a person arriving at the reader has.
      await sleep(Math.floor(Math.random() * pollMs));
      const lock = lockTo(unlocked);
      const t0 = now();
      sim.presentW26(address, 12, 3456);
      const t1 = await lock;
      if (!Number.isFinite(t1)) {
        result.failures++;
        continue;
      }
      result.unlock.push(t1 - t0);
      const relock = lockTo(!unlocked);
      board.simulate('machine-room.contact', true);
      board.simulate('machine-room.contact', false);
      if (!Number.isFinite(await relock)) result.failures++;
    }
  } finally {
    await controller.stop('bench end');
    await sim.close();
    await pty.stop();
  }
  return result;
}
