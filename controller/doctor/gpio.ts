/** doctor's GPIO checks: the header's chip, access, and each configured pin read (never changed). */
import { accessSync, constants, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  describeChip,
  findGpioChip,
  type GpioChip,
  isLockedAt,
  listGpioChips,
  sysfsNumber,
} from '../../hardware/index.js';
import type { LoadedConfig } from '../config/index.js';
import { type Add, readSysfs, sleep, whoAmI } from './check.js';

const INPUT_WORDS = {
  contact: ['door closed', 'door OPEN'],
  exitButton: ['not pressed', 'PRESSED'],
  tamper: ['lid closed', 'lid OPEN'],
} as const;

export /** The header's gpiochip, each configured pin's sysfs number, direction and level, read (not changed). */
async function gpioChecks(loaded: LoadedConfig, add: Add, root: string): Promise<void> {
  const { config } = loaded;
  if (config.board.kind === 'sim') {
    // A simulation on the Pi itself is a config meant for a desk, not for a door.
    let header: GpioChip | undefined;
    try {
      header = findGpioChip(config.board.chipLabels, root);
    } catch {
      // no such chip: not a Raspberry Pi
    }
    if (header)
      add(
        'WARN',
        'board',
        `board.kind is sim on a device with the Raspberry Pi's GPIO (${header.label}): no door is driven, and demo ` +
          'accounts and the simulation routes exist — set board.kind: rpi unless this is a test bench',
      );
    else add('OK', 'gpio', 'simulated board (no GPIO used)');
    return;
  }
  let chip: GpioChip;
  try {
    const chips = listGpioChips(root);
    if (chips.length === 0) {
      add(
        'FAIL',
        'gpio chip',
        `no gpiochip under ${root} — not a Raspberry Pi, or a kernel without sysfs GPIO`,
      );
      return;
    }
    chip = findGpioChip(config.board.chipLabels, root);
    add(
      'OK',
      'gpio chip',
      `${describeChip(chip)}: BCM n is sysfs ${chip.base} + n (all chips: ${chips.map((c) => `${c.label}@${c.base}`).join(', ')})`,
    );
  } catch (err) {
    add(
      'FAIL',
      'gpio chip',
      `${(err as Error).message} — set board.chipLabels for this Pi model (docs/wiring.md)`,
    );
    return;
  }
  const exportFile = join(root, 'export');
  let canExport = true;
  try {
    accessSync(exportFile, constants.W_OK);
  } catch {
    canExport = false;
    add(
      'FAIL',
      'gpio access',
      `${exportFile} is not writable by ${whoAmI()}: add the service user to the gpio group (sudo usermod -aG gpio sekisho)`,
    );
  }
  for (const d of config.doors) {
    for (const role of ['contact', 'exitButton', 'tamper', 'lock', 'buzzer'] as const) {
      const spec = d[role];
      if (!spec) continue;
      const what = `gpio ${d.id}.${role}`;
      let n: number;
      try {
        n = sysfsNumber(chip, spec.pin);
      } catch (err) {
        add('FAIL', what, (err as Error).message);
        continue;
      }
      const at = `BCM ${spec.pin} = sysfs ${n}`;
      const output = role === 'lock' || role === 'buzzer';
      const dir = join(root, `gpio${n}`);
      let exportedHere = false;
      if (!existsSync(dir)) {
        if (output) {
          add(
            'OK',
            what,
            `${at}, not exported: the controller exports it straight at its secured level; until then its level is set by config.txt (gpio=${spec.pin}=op,…, docs/wiring.md)`,
          );
          continue;
        }
        if (!canExport) {
          add('WARN', what, `${at}, not exported, and this user cannot export it to read it`);
          continue;
        }
        // Exporting an input only makes its files appear; it changes neither direction nor level.
        try {
          writeFileSync(exportFile, String(n));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? String(err);
          add(
            'FAIL',
            what,
            `${at}: cannot export it (${code})${code === 'EBUSY' ? ' — another driver or program holds this pin (a dtoverlay in config.txt?)' : ''}`,
          );
          continue;
        }
        exportedHere = true;
        // udev gives the gpio group access to the new files a moment later.
        for (let i = 0; i < 20 && readSysfs(join(dir, 'value')) === undefined; i++) await sleep(25);
      }
      try {
        const direction = readSysfs(join(dir, 'direction'));
        const value = readSysfs(join(dir, 'value'));
        if (direction === undefined || value === undefined) {
          add('FAIL', what, `${at}: ${dir} cannot be read — is ${whoAmI()} in the gpio group?`);
          continue;
        }
        const volts = (value === '1') !== (readSysfs(join(dir, 'active_low')) === '1');
        const level = volts ? '3.3 V' : '0 V';
        if (output) {
          if (direction !== 'out') {
            add(
              'FAIL',
              what,
              `${at} should be an output but is an input (direction ${direction}): another program changed it`,
            );
            continue;
          }
          const energised = volts !== spec.activeLow;
          if (role === 'lock') {
            const locked = isLockedAt(d.lock, energised);
            add(
              locked ? 'OK' : 'WARN',
              what,
              `${at} reads ${level}: relay ${energised ? 'energised' : 'released'}, door ${locked ? 'locked' : 'UNLOCKED'} (${d.lock.failMode})` +
                (locked
                  ? ''
                  : ' — expected only during a grant; otherwise check lock.activeLow and the relay wiring'),
            );
          } else add('OK', what, `${at} reads ${level}: buzzer ${energised ? 'ON' : 'off'}`);
        } else {
          if (direction !== 'in') {
            add(
              'FAIL',
              what,
              `${at} should be an input but is an output (direction ${direction}): check the gpio= lines in config.txt`,
            );
            continue;
          }
          const active = volts !== spec.activeLow;
          const words = INPUT_WORDS[role as keyof typeof INPUT_WORDS][active ? 1 : 0];
          const suspicious = active && role !== 'contact';
          add(
            suspicious ? 'WARN' : 'OK',
            what,
            `${at} reads ${level}: ${words} — if that is not what you see, check the wiring and activeLow (docs/wiring.md)`,
          );
        }
      } finally {
        if (exportedHere) {
          try {
            writeFileSync(join(root, 'unexport'), String(n));
          } catch {
            // left exported: harmless, the controller claims it anyway
          }
        }
      }
    }
  }
}
