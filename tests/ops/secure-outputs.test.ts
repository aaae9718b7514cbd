/**
 * `sekisho secure-outputs` (the unit's ExecStopPost): every lock driven to its secured level and
 * every buzzer off, straight from export (never through a pulse of the other level), whatever the
 * lock's fail mode and relay polarity; a pin that cannot be claimed does not stop the others.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { secureOutputs } from '../../controller/cli/service.js';
import { loadConfig } from '../../controller/config/index.js';
import type { GpioFactory } from '../../hardware/index.js';
import { fakeGpios } from '../hardware/fake-gpio.js';
import { type FakeSysfs, fakeSysfs, PI5_CHIPS } from '../hardware/fake-sysfs.js';
import { doorConfig, tempDir } from '../helpers/controller.js';

describe('secure-outputs', () => {
  let sysfs: FakeSysfs | undefined;
  afterEach(() => sysfs?.remove());

  function rpiConfig() {
    const dir = tempDir('sekisho-secure-');
    const cfg = doorConfig(dir, [{ id: 'entry', path: '/dev/ttyAMA0', protocol: 'rdm6300' }], {
      board: { kind: 'rpi', chipLabels: ['pinctrl-rp1'] },
    });
    cfg.readers.push({ id: 'cage-entry', path: '/dev/ttyACM0', protocol: 'wiegand-bridge' });
    // A second door: a fail-safe maglock on an active-high relay, no buzzer.
    cfg.doors.push({
      id: 'cage',
      name: 'cage',
      entryReader: 'cage-entry',
      contact: { pin: 6, debounceMs: 0 },
      lock: { pin: 5, activeLow: false, failMode: 'fail-safe' },
    } as never);
    const file = join(dir, 'config.yaml');
    writeFileSync(file, JSON.stringify(cfg));
    return loadConfig(file);
  }

  it('drives each lock straight to its secured level and each buzzer off, then releases the pins', () => {
    sysfs = fakeSysfs(PI5_CHIPS); // pinctrl-rp1 at base 571
    const gpios = fakeGpios();
    const r = secureOutputs(rpiConfig(), { sysfsRoot: sysfs.root, gpioFactory: gpios.factory });
    expect(r.errors).toEqual([]);
    expect(r.secured).toEqual([
      'machine-room.lock: BCM 22 at 3.3 V (locked)', // fail-secure strike, active-low relay: released
      'machine-room.buzzer: BCM 23 at 0 V (off)',
      'cage.lock: BCM 5 at 3.3 V (locked)', // fail-safe maglock, active-high relay: energised
    ]);
    // Exported directly at the level (direction high/low), never "out" (which would pulse low).
    expect(gpios.log.filter((l) => l.startsWith('new'))).toEqual([
      'new 593 high',
      'new 594 low',
      'new 576 high',
    ]);
    expect(gpios.log.filter((l) => l.startsWith('unexport')).sort()).toEqual([
      'unexport 576',
      'unexport 593',
      'unexport 594',
    ]);
    expect([593, 594, 576].map((n) => gpios.lines.get(n)!.volts)).toEqual([true, false, true]);
    // Nothing else (no inputs) was touched.
    expect([...gpios.lines.keys()].sort()).toEqual([576, 593, 594]);
  });

  it('keeps securing the other doors when one pin cannot be claimed', () => {
    sysfs = fakeSysfs(PI5_CHIPS);
    const gpios = fakeGpios();
    const factory: GpioFactory = (n, direction, edge, options) => {
      if (n === 593) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return gpios.factory(n, direction, edge, options);
    };
    const r = secureOutputs(rpiConfig(), { sysfsRoot: sysfs.root, gpioFactory: factory });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(
      /^machine-room\.lock: cannot claim GPIO 593 .*is the service user in the "gpio" group/,
    );
    expect(r.secured.map((s) => s.split(':')[0])).toEqual(['machine-room.buzzer', 'cage.lock']);
    expect(gpios.lines.get(576)!.volts).toBe(true);
  });
});
