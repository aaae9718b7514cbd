/**
 * BCM pin → sysfs GPIO number.
 *
 * The sysfs interface numbers lines globally: a chip's lines are `base … base + ngpio - 1`. Old
 * kernels put the Pi's main controller at base 0; Raspberry Pi OS kernels ≥ 6.6 start dynamic
 * bases at 512 (Pi 4: pinctrl-bcm2711 at 512; Pi 5: pinctrl-rp1 at 571, after a 32-line brcmstb chip
 * at 512). So the number is never hard-coded: the chip is found by its label and its base is added.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_SYSFS_GPIO = '/sys/class/gpio';
export const DEFAULT_CHIP_LABELS: readonly string[] = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

export interface GpioChip {
  /** Directory name, e.g. `gpiochip571`. */
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

function readField(root: string, chip: string, field: string): string {
  const file = join(root, chip, field);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
}

function readInt(root: string, chip: string, field: string): number {
  const text = readField(root, chip, field);
  if (!/^\d+$/.test(text)) throw new Error(`${join(root, chip, field)} holds "${text}", expected a number`);
  return Number(text);
}

/**
 * The gpiochips under a sysfs GPIO root, in order of base. An absent root gives an empty list
 * (no GPIO sysfs on this machine); an unreadable one throws.
 */
export function listGpioChips(root: string = DEFAULT_SYSFS_GPIO): GpioChip[] {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot list ${root}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
  return entries
    .filter((e) => /^gpiochip\d+$/.test(e))
    .map((name) => ({
      name,
      label: readField(root, name, 'label'),
      base: readInt(root, name, 'base'),
      ngpio: readInt(root, name, 'ngpio'),
    }))
    .sort((a, b) => a.base - b.base);
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

export function describeChip(chip: GpioChip): string {
  return `${chip.name} "${chip.label}" base ${chip.base} ngpio ${chip.ngpio}`;
}

/**
 * The chip to use: the first label of `chipLabels` (in that order of preference) that some chip
 * carries; among chips with the same label, the lowest base.
 */
export function findGpioChip(
  chipLabels: readonly string[] = DEFAULT_CHIP_LABELS,
  root: string = DEFAULT_SYSFS_GPIO,
): GpioChip {
  if (chipLabels.length === 0) throw new Error('board.chipLabels is empty: no gpiochip label to look for');
  const chips = listGpioChips(root);
  for (const label of chipLabels) {
    const chip = chips.find((c) => c.label === label);
    if (chip) return chip;
  }
  const found = chips.length > 0 ? chips.map(describeChip).join('; ') : 'none';
  throw new Error(`no gpiochip with label ${orList(chipLabels)} under ${root} (found: ${found})`);
}

/** The sysfs GPIO number of a BCM pin on a chip: `base + bcmPin`, checked against `ngpio`. */
export function sysfsNumber(chip: GpioChip, bcmPin: number): number {
  if (!Number.isInteger(bcmPin) || bcmPin < 0 || bcmPin >= chip.ngpio) {
    throw new Error(
      `BCM pin ${bcmPin} does not exist on ${chip.name} (${chip.label} has ${chip.ngpio} lines, 0–${chip.ngpio - 1})`,
    );
  }
  return chip.base + bcmPin;
}

/** Find the chip and return the sysfs number of `bcmPin` on it. */
export function resolveGpioNumber(
  bcmPin: number,
  chipLabels: readonly string[] = DEFAULT_CHIP_LABELS,
  root: string = DEFAULT_SYSFS_GPIO,
): number {
  return sysfsNumber(findGpioChip(chipLabels, root), bcmPin);
}
