/**
 * doctor's power checks: whether a power-fail input is configured (policy §7(3)③), and for NUT
 * whether upsd answers with the configured account and what it says (the password file under the
 * secret-file rule first). Never prints the password.
 */
import type { LoadedConfig } from '../config/index.js';
import { parseUpsStatus } from '../domain/index.js';
import { type NutConnection, NutError } from '../power/nut.js';
import { nutConnection } from '../power/password.js';
import type { Add } from './check.js';

export async function powerChecks(loaded: LoadedConfig, add: Add): Promise<void> {
  const power = loaded.config.power;
  if (!power) {
    add(
      'WARN',
      'power',
      'no power-fail input (power): a power cut stops the controller hard (the journal survives it); policy §7(3)③ asks for a clean shutdown — docs/install.md, step 11',
    );
    return;
  }
  const command = power.shutdownCommand
    ? `, then ${power.shutdownCommand.join(' ')}`
    : ', the system stays up';
  if (power.gpio) {
    add(
      'OK',
      'power',
      `UPS contacts on GPIO: on battery BCM ${power.gpio.onBattery.pin}${power.gpio.lowBattery ? `, battery low BCM ${power.gpio.lowBattery.pin}` : ''}; clean stop after ${power.graceS} s on battery${command}`,
    );
    return;
  }
  const nut = power.nut!;
  let c: NutConnection;
  try {
    c = nutConnection(nut);
  } catch (err) {
    add('FAIL', 'power upsd', (err as Error).message);
    return;
  }
  try {
    await c.open();
    const raw = await c.getVar(nut.ups, 'ups.status');
    const reading = parseUpsStatus(raw);
    if ('error' in reading) {
      add('FAIL', 'power upsd', `${c.server}: ${reading.error}`);
      return;
    }
    if ('unknown' in reading) {
      add(
        'WARN',
        'power upsd',
        `${c.server} UPS "${nut.ups}": ${reading.unknown} — says neither OL (on line) nor OB (on battery); WAIT means the driver has no data from the UPS yet (check its cable and upsdrvctl)`,
      );
      return;
    }
    const state = reading.onBattery ? 'ON BATTERY' : 'on line';
    add(
      reading.onBattery ? 'WARN' : 'OK',
      'power upsd',
      `${c.server} UPS "${nut.ups}": ${reading.status} (${state}); clean stop after ${power.graceS} s on battery${command}`,
    );
  } catch (err) {
    // A refused login already says what to fix; the hint is for a upsd that cannot be reached.
    const refused = err instanceof NutError && err.code === 'ACCESS-DENIED';
    add(
      'FAIL',
      'power upsd',
      refused
        ? (err as Error).message
        : `${(err as Error).message} — is nut-server running (systemctl status nut-server), and is "${nut.ups}" in ups.conf?`,
    );
  } finally {
    c.close();
  }
}
