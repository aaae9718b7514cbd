/**
 * `sekisho doctor`'s GPIO, serial, clock and disk checks, against a fake sysfs GPIO tree (with a
 * stand-in for the kernel that makes exported pins appear) and real serial ptys (socat) carrying a
 * bridge board's heartbeats, silence or noise.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  watch,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import { runChecks } from '../../controller/doctor.js';
import { encodeBridgeFrame } from '../../firmware-bridge/index.js';
import { type FakeSysfs, fakeSysfs, PI4_CHIPS } from '../hardware/fake-sysfs.js';
import { doorConfig, tempDir } from '../helpers/controller.js';
import { makePtyPair, type PtyPair } from '../helpers/pty.js';

type Check = Awaited<ReturnType<typeof runChecks>>[number];
const find = (checks: Check[], what: string) => {
  const c = checks.find((x) => x.what === what);
  if (!c) throw new Error(`no check "${what}" in ${checks.map((x) => x.what).join(', ')}`);
  return c;
};

function writeRpiConfig(dir: string, readers: Record<string, unknown>[], chipLabels = ['pinctrl-bcm2711']) {
  const cfg = doorConfig(dir, readers, { board: { kind: 'rpi', chipLabels } });
  const file = join(dir, 'config.yaml');
  writeFileSync(file, JSON.stringify(cfg));
  return loadConfig(file);
}

/** An exported line as the kernel shows it. */
function exported(root: string, n: number, direction: string, value: string, activeLow = '0') {
  const d = join(root, `gpio${n}`);
  mkdirSync(d);
  writeFileSync(join(d, 'direction'), `${direction}\n`);
  writeFileSync(join(d, 'value'), `${value}\n`);
  writeFileSync(join(d, 'active_low'), `${activeLow}\n`);
}

describe('doctor: GPIO', () => {
  let sysfs: FakeSysfs | undefined;
  afterEach(() => sysfs?.remove());

  it('reads each pin in plain words, exports an input only to read it, and flags wrong directions', async () => {
    sysfs = fakeSysfs(PI4_CHIPS); // pinctrl-bcm2711 at base 512
    const root = sysfs.root;
    exported(root, 529, 'in', '0'); // contact, BCM 17: 0 V = door open (activeLow: true, the default)
    exported(root, 539, 'out', '0'); // exit button, BCM 27: someone made it an output
    exported(root, 534, 'out', '1', '1'); // lock, BCM 22, exported active-low by the controller: 0 V
    // The kernel: writing a number to `export` makes the line's folder appear (tamper, BCM 24).
    const kernel = watch(join(root, 'export'), () => {
      try {
        exported(root, 536, 'in', '1');
      } catch {
        // already there
      }
    });
    const dir = tempDir('sekisho-doctor-');
    const checks = await runChecks(
      writeRpiConfig(dir, [{ id: 'entry', path: join(dir, 'no-tty'), protocol: 'rdm6300' }]),
      {
        gpioRoot: root,
      },
    );
    kernel.close();
    expect(find(checks, 'gpio chip')).toMatchObject({ verdict: 'OK' });
    expect(find(checks, 'gpio chip').detail).toMatch(/"pinctrl-bcm2711" base 512 .*BCM n is sysfs 512 \+ n/);
    expect(find(checks, 'gpio machine-room.contact')).toEqual({
      verdict: 'OK',
      what: 'gpio machine-room.contact',
      detail:
        'BCM 17 = sysfs 529 reads 0 V: door OPEN — if that is not what you see, check the wiring and activeLow (docs/wiring.md)',
    });
    expect(find(checks, 'gpio machine-room.exitButton')).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(/should be an input but is an output/),
    });
    expect(find(checks, 'gpio machine-room.tamper')).toMatchObject({
      verdict: 'OK',
      detail: expect.stringMatching(/^BCM 24 = sysfs 536 reads 3.3 V: lid closed/),
    });
    expect(find(checks, 'gpio machine-room.lock')).toMatchObject({
      verdict: 'WARN',
      detail: expect.stringMatching(/reads 0 V: relay energised, door UNLOCKED \(fail-secure\)/),
    });
    expect(find(checks, 'gpio machine-room.buzzer')).toMatchObject({
      verdict: 'OK',
      detail: expect.stringMatching(/not exported: the controller exports it straight at its secured level/),
    });
    // It gave back the line it exported, and only that one.
    expect(readFileSync(join(root, 'unexport'), 'utf8')).toBe('536');
    expect(find(checks, 'reader entry').verdict).toBe('FAIL');
  });

  it('says which chip labels it looked for when the header chip is not there', async () => {
    sysfs = fakeSysfs(PI4_CHIPS);
    const dir = tempDir('sekisho-doctor-');
    const checks = await runChecks(
      writeRpiConfig(dir, [{ id: 'entry', path: join(dir, 'no-tty'), protocol: 'rdm6300' }], ['pinctrl-rp1']),
      { gpioRoot: sysfs.root },
    );
    expect(find(checks, 'gpio chip')).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(
        /no gpiochip with label pinctrl-rp1 .*found: gpiochip512 "pinctrl-bcm2711".*board\.chipLabels/,
      ),
    });
    expect(checks.some((c) => c.what.startsWith('gpio machine-room'))).toBe(false);
  });
});

describe('doctor: serial readers, clock, disk', () => {
  const ptys: PtyPair[] = [];
  const timers: NodeJS.Timeout[] = [];
  afterEach(async () => {
    for (const t of timers.splice(0)) clearInterval(t);
    for (const p of ptys.splice(0)) await p.stop();
  });

  it('hears a bridge board answer, a silent RDM6300, noise, and a port in use', async () => {
    const dir = tempDir('sekisho-doctor-');
    const pair = async (name: string) => {
      const p = await makePtyPair(join(dir, name));
      ptys.push(p);
      return p;
    };
    const [bridge, rdm, noisy, busy] = [
      await pair('bridge'),
      await pair('rdm'),
      await pair('noisy'),
      await pair('busy'),
    ];
    const board = openSync(bridge.a, 'w');
    const junk = openSync(noisy.a, 'w');
    let seq = 0;
    timers.push(
      setInterval(() => {
        // The board says hello when the host opens the port (DTR); a pty has no DTR, so: early on.
        if (seq < 3) writeSync(board, encodeBridgeFrame({ type: 'hello', major: 1, minor: 2, patch: 3 }));
        writeSync(board, encodeBridgeFrame({ type: 'heartbeat', seq: seq++, uptimeMs: 61_000 + seq * 250 }));
        writeSync(junk, Buffer.from('hello world\r\n'));
      }, 250),
    );
    const holder = new SerialPort({ path: busy.b, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => holder.open((e) => (e ? rej(e) : res())));

    const readers = [
      { id: 'exit', path: bridge.b, protocol: 'wiegand-bridge' },
      { id: 'entry', path: rdm.b, protocol: 'rdm6300', baudRate: 9600 },
      { id: 'noisy', path: noisy.b, protocol: 'wiegand-bridge' },
      { id: 'busy', path: busy.b, protocol: 'wiegand-bridge' },
    ];
    const cfg = doorConfig(dir, readers);
    cfg.board = { kind: 'sim' } as never;
    const file = join(dir, 'config.yaml');
    writeFileSync(file, JSON.stringify(cfg));
    // Doors name only the first two; the others are spare readers the config may list.
    const checks = await runChecks(loadConfig(file), { serialListenMs: 1200 });
    await new Promise<void>((res) => holder.close(() => res()));
    closeSync(board);
    closeSync(junk);

    expect(find(checks, 'reader exit')).toMatchObject({
      verdict: 'OK',
      detail: expect.stringMatching(
        /answers: bridge firmware 1\.2\.3, heartbeat seq \d+, board up 6\d s, case closed$/,
      ),
    });
    expect(find(checks, 'reader entry')).toMatchObject({
      verdict: 'OK',
      detail: expect.stringMatching(/opens; silent for 1\.2 s, as expected with no card near/),
    });
    expect(find(checks, 'reader noisy')).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(/\d+ bytes in 1\.2 s but no heartbeat — is this a Sekisho bridge board/),
    });
    expect(find(checks, 'reader busy')).toMatchObject({
      verdict: 'WARN',
      detail: expect.stringMatching(/is in use by another program/),
    });
  });

  it('fails a clock before 2025 and warns about a storage folder others can read', async () => {
    const dir = tempDir('sekisho-doctor-');
    const cfg = doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }]);
    const file = join(dir, 'config.yaml');
    writeFileSync(file, JSON.stringify(cfg));
    mkdirSync(join(dir, 'data'), { mode: 0o755 });
    const checks = await runChecks(loadConfig(file), { now: Date.UTC(2000, 0, 1) });
    expect(find(checks, 'clock')).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(/^the clock says 2000-01-01T00:00:00\.000Z: no network time/),
    });
    expect(find(checks, 'storage permissions')).toMatchObject({
      verdict: 'WARN',
      detail: expect.stringMatching(/is mode 755: others may read the journal and device keys — chmod 700/),
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns about a Node.js past its end of life, or close to it, and accepts a supported one', async () => {
    const dir = tempDir('sekisho-doctor-');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, JSON.stringify(doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }])));
    const at = (nodeVersion: string, day: string) =>
      runChecks(loadConfig(file), { nodeVersion, now: Date.parse(`${day}T09:00:00Z`) }).then((c) =>
        find(c, 'runtime'),
      );
    expect(await at('20.20.2', '2026-12-07')).toMatchObject({
      verdict: 'WARN',
      detail: expect.stringMatching(/^Node\.js 20\.20\.2 reached its end of life on 2026-04-30/),
    });
    expect(await at('24.22.3', '2026-12-07')).toMatchObject({
      verdict: 'OK',
      detail: expect.stringMatching(/until 2028-04-30/),
    });
    expect(await at('24.22.3', '2028-03-01')).toMatchObject({
      verdict: 'WARN',
      detail: expect.stringMatching(/60 days left: plan the upgrade/),
    });
    expect(await at('25.9.0', '2026-05-10')).toMatchObject({ verdict: 'WARN' });
    rmSync(dir, { recursive: true, force: true });
  });
});
