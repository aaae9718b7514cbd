/** A throw-away /sys/class/gpio look-alike: one folder per gpiochip with label, base and ngpio. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/util.js';

export interface FakeChip {
  label: string;
  base: number;
  ngpio: number;
}

export interface FakeSysfs {
  root: string;
  remove(): void;
}

export function fakeSysfs(chips: FakeChip[]): FakeSysfs {
  const root = tempDir('sekisho-gpio-');
  writeFileSync(join(root, 'export'), '');
  writeFileSync(join(root, 'unexport'), '');
  for (const chip of chips) {
    const dir = join(root, `gpiochip${chip.base}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'label'), `${chip.label}\n`);
    writeFileSync(join(dir, 'base'), `${chip.base}\n`);
    writeFileSync(join(dir, 'ngpio'), `${chip.ngpio}\n`);
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Raspberry Pi 5, kernel ≥ 6.6: the SoC's brcmstb chips from 512, the header's RP1 at 571. */
export const PI5_CHIPS: FakeChip[] = [
  { label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 },
  { label: 'gpio-brcmstb@107d508520', base: 544, ngpio: 4 },
  { label: 'gpio-brcmstb@107d517c00', base: 548, ngpio: 17 },
  { label: 'gpio-brcmstb@107d517c20', base: 565, ngpio: 6 },
  { label: 'pinctrl-rp1', base: 571, ngpio: 54 },
];

/** Raspberry Pi 4, kernel ≥ 6.6. */
export const PI4_CHIPS: FakeChip[] = [
  { label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
  { label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 },
];

/** Raspberry Pi 3, kernel < 6.6: bases from 0. */
export const PI3_OLD_CHIPS: FakeChip[] = [
  { label: 'pinctrl-bcm2835', base: 0, ngpio: 54 },
  { label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 },
];
