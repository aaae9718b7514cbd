import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findGpioChip, listGpioChips, resolveGpioNumber, sysfsNumber } from '../../hardware/index.js';
import { type FakeSysfs, fakeSysfs, PI3_OLD_CHIPS, PI4_CHIPS, PI5_CHIPS } from './fake-sysfs.js';

const LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

let trees: FakeSysfs[] = [];
function tree(...args: Parameters<typeof fakeSysfs>): string {
  const t = fakeSysfs(...args);
  trees.push(t);
  return t.root;
}
afterEach(() => {
  for (const t of trees) t.remove();
  trees = [];
});

describe('gpiochip resolution', () => {
  it('lists the chips in order of base', () => {
    const root = tree([...PI5_CHIPS].reverse());
    expect(listGpioChips(root)).toEqual([
      { name: 'gpiochip512', label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 },
      { name: 'gpiochip544', label: 'gpio-brcmstb@107d508520', base: 544, ngpio: 4 },
      { name: 'gpiochip548', label: 'gpio-brcmstb@107d517c00', base: 548, ngpio: 17 },
      { name: 'gpiochip565', label: 'gpio-brcmstb@107d517c20', base: 565, ngpio: 6 },
      { name: 'gpiochip571', label: 'pinctrl-rp1', base: 571, ngpio: 54 },
    ]);
  });

  it('Pi 5, kernel ≥ 6.6: picks pinctrl-rp1 at 571, not the chip at 512', () => {
    const root = tree(PI5_CHIPS);
    expect(findGpioChip(LABELS, root).name).toBe('gpiochip571');
    expect(resolveGpioNumber(17, LABELS, root)).toBe(588);
    expect(resolveGpioNumber(0, LABELS, root)).toBe(571);
  });

  it('Pi 4, kernel ≥ 6.6: pinctrl-bcm2711 at 512', () => {
    const root = tree(PI4_CHIPS);
    expect(resolveGpioNumber(17, LABELS, root)).toBe(529);
    expect(resolveGpioNumber(22, LABELS, root)).toBe(534);
  });

  it('old kernel: pinctrl-bcm2835 at base 0', () => {
    const root = tree(PI3_OLD_CHIPS);
    expect(resolveGpioNumber(17, LABELS, root)).toBe(17);
  });

  it('follows the order of chipLabels, not the order of the chips', () => {
    const root = tree([
      { label: 'pinctrl-bcm2835', base: 512, ngpio: 54 },
      { label: 'pinctrl-rp1', base: 600, ngpio: 54 },
    ]);
    expect(resolveGpioNumber(4, LABELS, root)).toBe(604);
    expect(resolveGpioNumber(4, ['pinctrl-bcm2835', 'pinctrl-rp1'], root)).toBe(516);
  });

  it('names the labels and what it found when no chip matches', () => {
    const root = tree([{ label: 'gpio-mockup-A', base: 512, ngpio: 8 }]);
    expect(() => findGpioChip(LABELS, root)).toThrow(
      `no gpiochip with label pinctrl-rp1, pinctrl-bcm2711 or pinctrl-bcm2835 under ${root} ` +
        '(found: gpiochip512 "gpio-mockup-A" base 512 ngpio 8)',
    );
  });

  it('says "found: none" for a machine without GPIO sysfs', () => {
    const root = tree([]);
    expect(() => findGpioChip(['pinctrl-rp1'], `${root}/missing`)).toThrow(
      `no gpiochip with label pinctrl-rp1 under ${root}/missing (found: none)`,
    );
    expect(listGpioChips(`${root}/missing`)).toEqual([]);
  });

  it('refuses a BCM pin at or beyond ngpio', () => {
    const root = tree(PI5_CHIPS);
    const chip = findGpioChip(LABELS, root);
    expect(sysfsNumber(chip, 53)).toBe(624);
    expect(() => sysfsNumber(chip, 54)).toThrow(
      'BCM pin 54 does not exist on gpiochip571 (pinctrl-rp1 has 54 lines, 0–53)',
    );
    expect(() => resolveGpioNumber(-1, LABELS, root)).toThrow(/BCM pin -1 does not exist/);
  });

  it('rejects a malformed base', () => {
    const root = tree([{ label: 'pinctrl-rp1', base: 571, ngpio: 54 }]);
    writeFileSync(join(root, 'gpiochip571', 'base'), 'x\n');
    expect(() => listGpioChips(root)).toThrow(/gpiochip571\/base holds "x", expected a number/);
  });
});
