/**
 * What the reader-flood integration tests share: enrolling the card they send (also used by the
 * RDM6300 door test), the noise they flood a pty with, and flooding until the controller reports it.
 */
import { writeSync } from 'node:fs';
import { encodeRdm6300Frame } from '../../firmware-bridge/index.js';
import { seedStaff } from '../helpers/controller.js';
import { sleep } from '../helpers/util.js';

/** Enrols a staff member with access to the door and `card` (before the controller starts). */
export function enrolCard(cfgFile: string, card: string): void {
  seedStaff(cfgFile, { name: 'Yamada Taro', displayId: 'S-1', door: 'machine-room', credential: card });
}

/**
 * 16 KB of printable noise (no RDM6300 start byte, 0x02, so the frame after it stays intact) followed
 * by a valid frame of `card`.
 */
export function noiseAndFrame(card: string): Buffer {
  const noise = Buffer.alloc(16 * 1024);
  for (let i = 0; i < noise.length; i++) noise[i] = 0x41 + (i % 26);
  return Buffer.concat([noise, encodeRdm6300Frame(card)]);
}

/**
 * Writes `chunk` to `fd` again and again; every `checkEvery` writes, a short pause and then, once at
 * least `atLeast` writes were made, `done()` is asked. Returns the number of writes when it says so;
 * throws if it has not said so after `maxWrites`.
 */
export async function floodUntil(
  fd: number,
  chunk: Buffer,
  done: () => boolean | Promise<boolean>,
  opts: { checkEvery: number; maxWrites: number; atLeast?: number },
): Promise<number> {
  for (let i = 0; i < opts.maxWrites; i++) {
    writeSync(fd, chunk);
    if (i % opts.checkEvery === opts.checkEvery - 1) {
      await sleep(5);
      if (i + 1 >= (opts.atLeast ?? 0) && (await done())) return i + 1;
    }
  }
  throw new Error(`flooded ${opts.maxWrites} times without the controller reporting it`);
}
