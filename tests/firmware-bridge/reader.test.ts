/**
 * ReaderPort against a fake serial port and fake timers: supervision, backoff, status transitions,
 * repeat suppression, silence detection, tamper, stop(). The real port is in reader-pty.test.ts.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReaderConfig } from '../../controller/config/index.js';
import type { BadgeRead } from '../../controller/domain/types.js';
import {
  backoffDelay,
  type DroppedEvent,
  encodeBridgeFrame,
  encodeRdm6300Frame,
  type FloodSettledEvent,
  type HelloEvent,
  ReaderPort,
  type ReaderPortOptions,
  type ReaderSettings,
  type ReaderStatus,
  reasonOf,
  type SerialLike,
  type TamperEvent,
  wiegandBits,
} from '../../firmware-bridge/index.js';

class FakeSerial extends EventEmitter implements SerialLike {
  isOpen = false;
  closeCalls = 0;
  private openCallback: ((err: Error | null) => void) | undefined;

  constructor(
    readonly path: string,
    readonly baudRate: number,
    private readonly openError: Error | 'hang' | undefined,
  ) {
    super();
  }

  open(callback: (err: Error | null) => void): void {
    if (this.openError === 'hang') {
      this.openCallback = callback;
      return;
    }
    const err = this.openError;
    queueMicrotask(() => {
      if (!err) this.isOpen = true;
      callback(err ?? null);
    });
  }

  /** Complete an open that was told to hang. */
  finishOpen(): void {
    this.isOpen = true;
    this.openCallback?.(null);
  }

  close(callback?: (err: Error | null) => void): void {
    this.closeCalls++;
    const was = this.isOpen;
    this.isOpen = false;
    queueMicrotask(() => {
      if (was) this.emit('close', null);
      callback?.(null);
    });
  }

  feed(bytes: Buffer): void {
    this.emit('data', bytes);
  }

  /** The USB device is pulled: serialport closes the port with a disconnect error. */
  unplug(): void {
    this.isOpen = false;
    this.emit('close', Object.assign(new Error('Input/output error'), { disconnected: true }));
  }
}

const enoent = () => new Error('Error: No such file or directory, cannot open /dev/ttyUSB0');

function setup(
  settings: Partial<ReaderSettings> = {},
  options: ReaderPortOptions = {},
  plan: (Error | 'hang')[] = [],
) {
  const ports: FakeSerial[] = [];
  const cfg: ReaderSettings = {
    id: 'entry',
    path: '/dev/ttyUSB0',
    baudRate: 9600,
    protocol: 'rdm6300',
    linePattern: '^[0-9A-Fa-f]{4,32}$',
    repeatSuppressMs: 1000,
    offlineAfterMs: 5000,
    reconnect: { initialMs: 500, maxMs: 30_000 },
    ...settings,
  };
  const reader = new ReaderPort(cfg, {
    random: () => 0.5,
    openPort: (path, baudRate) => {
      const port = new FakeSerial(path, baudRate, plan.shift());
      ports.push(port);
      return port;
    },
    ...options,
  });
  const seen = {
    status: [] as ReaderStatus[],
    badge: [] as BadgeRead[],
    tamper: [] as TamperEvent[],
    dropped: [] as DroppedEvent[],
    hello: [] as HelloEvent[],
    settled: [] as FloodSettledEvent[],
  };
  reader.on('status', (e) => seen.status.push(e));
  reader.on('badge', (e) => seen.badge.push(e));
  reader.on('tamper', (e) => seen.tamper.push(e));
  reader.on('dropped', (e) => seen.dropped.push(e));
  reader.on('hello', (e) => seen.hello.push(e));
  reader.on('floodSettled', (e) => seen.settled.push(e));
  const port = () => ports[ports.length - 1]!;
  return { reader, ports, port, seen };
}

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
const transitions = (s: ReaderStatus[]) => s.map((e) => `${e.online ? 'online' : 'offline'}:${e.reason}`);

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-04-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('ReaderPort: RDM6300', () => {
  it('goes online when the port opens and emits a BadgeRead per card', async () => {
    const { reader, ports, port, seen } = setup();
    reader.start();
    await tick();
    expect(ports).toHaveLength(1);
    expect(port().path).toBe('/dev/ttyUSB0');
    expect(port().baudRate).toBe(9600);
    expect(transitions(seen.status)).toEqual(['online:open']);
    port().feed(encodeRdm6300Frame('0a1b2c3d4e'));
    expect(seen.badge).toEqual([
      {
        readerId: 'entry',
        credential: '0A1B2C3D4E',
        format: 'em4100',
        at: Date.parse('2026-04-01T00:00:00Z'),
      },
    ]);
    expect(reader.stats()).toMatchObject({ frames: 1, badges: 1, opens: 1, reconnects: 0, online: true });
    await reader.stop();
  });

  it('a card held 3 s (a frame every 50 ms) is one presentation; the window slides', async () => {
    const { reader, port, seen } = setup();
    reader.start();
    await tick();
    const frame = encodeRdm6300Frame('62E3086CED');
    for (let t = 0; t < 3000; t += 50) {
      port().feed(frame);
      await tick(50);
    }
    expect(seen.badge).toHaveLength(1);
    expect(reader.stats().suppressed).toBe(59);
    // Seen every 900 ms for 5 s: each sighting extends the window, still the same presentation.
    for (let t = 0; t < 5000; t += 900) {
      port().feed(frame);
      await tick(900);
    }
    expect(seen.badge).toHaveLength(1);
    // Taken away for longer than the window, then presented again: a new read.
    await tick(1100);
    port().feed(frame);
    expect(seen.badge).toHaveLength(2);
    await reader.stop();
  });

  it('suppression is per credential, and 0 turns it off', async () => {
    const { reader, port, seen } = setup();
    reader.start();
    await tick();
    port().feed(Buffer.concat([encodeRdm6300Frame('0A1B2C3D4E'), encodeRdm6300Frame('FFEEDDCCBB')]));
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    expect(seen.badge.map((b) => b.credential)).toEqual(['0A1B2C3D4E', 'FFEEDDCCBB']);
    await reader.stop();

    const off = setup({ repeatSuppressMs: 0 });
    off.reader.start();
    await tick();
    off.port().feed(Buffer.concat([encodeRdm6300Frame('0A1B2C3D4E'), encodeRdm6300Frame('0A1B2C3D4E')]));
    expect(off.seen.badge).toHaveLength(2);
    await off.reader.stop();
  });

  it('reports garbage and bad frames as dropped, never as badges', async () => {
    const { reader, port, seen } = setup();
    reader.start();
    await tick();
    port().feed(Buffer.concat([Buffer.from('xyz'), encodeRdm6300Frame('0A1B2C3D4E', { badChecksum: true })]));
    expect(seen.badge).toEqual([]);
    expect(seen.dropped.map((d) => [d.readerId, d.why, d.bytes])).toEqual([
      ['entry', 'garbage', 3],
      ['entry', 'bad_checksum', 14],
    ]);
    expect(reader.stats().dropped).toMatchObject({ garbage: 1, bad_checksum: 1 });
    await reader.stop();
  });
});

describe('ReaderPort: supervision', () => {
  it('a missing device is offline with its reason, retried with exponential backoff until it appears', async () => {
    const { reader, ports, seen } = setup({ reconnect: { initialMs: 100, maxMs: 400 } }, {}, [
      enoent(),
      enoent(),
      enoent(),
      enoent(),
      enoent(),
    ]);
    reader.start();
    await tick();
    expect(transitions(seen.status)).toEqual(['offline:ENOENT']);
    // random() = 0.5 takes 10 % off each delay: 90, 180, 360, 360 (capped), 360.
    const opensAt: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 1400; i += 10) {
      const before = ports.length;
      await tick(10);
      if (ports.length > before) opensAt.push(Date.now() - t0);
    }
    expect(opensAt).toEqual([90, 270, 630, 990, 1350]);
    // Status did not repeat while it kept failing; the sixth attempt succeeded.
    expect(transitions(seen.status)).toEqual(['offline:ENOENT', 'online:open']);
    expect(reader.stats()).toMatchObject({ reconnects: 5, opens: 1 });
    await reader.stop();
  });

  it('backoff: doubles to maxMs, jitter takes at most 20 % off', async () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 500, 30_000))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000,
    ]);
    expect(backoffDelay(1000, 500, 30_000)).toBe(30_000);
    for (const r of [0, 0.999999]) {
      const { reader, ports } = setup({ reconnect: { initialMs: 1000, maxMs: 1000 } }, { random: () => r }, [
        enoent(),
      ]);
      reader.start();
      await tick();
      await tick(799);
      expect(ports, `random ${r}`).toHaveLength(1);
      await tick(201);
      expect(ports, `random ${r}`).toHaveLength(2);
      await reader.stop();
    }
  });

  it('an unplugged device goes offline, is reopened and comes back online', async () => {
    const { reader, ports, port, seen } = setup();
    reader.start();
    await tick();
    port().unplug();
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:disconnected']);
    await tick(450);
    expect(ports).toHaveLength(2);
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:disconnected', 'online:open']);
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    expect(seen.badge).toHaveLength(1);
    expect(reader.stats()).toMatchObject({ opens: 2, reconnects: 1 });
    await reader.stop();
  });

  it('a port error is a loss too, and a partial frame does not survive the reconnection', async () => {
    const { reader, port, seen } = setup();
    reader.start();
    await tick();
    port().feed(encodeRdm6300Frame('0A1B2C3D4E').subarray(0, 6));
    port().emit('error', new Error('Input/output error'));
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:EIO']);
    await tick(450);
    port().feed(encodeRdm6300Frame('0A1B2C3D4E').subarray(6));
    expect(seen.badge).toEqual([]);
    expect(seen.dropped.map((d) => d.why)).toContain('bad_length');
    await reader.stop();
  });

  it('a connection that stayed up resets the backoff; one that flaps keeps backing off', async () => {
    const { reader, ports, port } = setup(
      { reconnect: { initialMs: 100, maxMs: 10_000 } },
      { stableMs: 5000 },
    );
    reader.start();
    await tick();
    // Flapping: closes right after opening, three times.
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      port().unplug();
      const t = Date.now();
      const n = ports.length;
      while (ports.length === n) await tick(10);
      delays.push(Date.now() - t);
    }
    expect(delays).toEqual([90, 180, 360]);
    await tick(6000); // stable now
    port().unplug();
    const t = Date.now();
    const n = ports.length;
    while (ports.length === n) await tick(10);
    expect(Date.now() - t).toBe(90);
    await reader.stop();
  });

  it('openPort throwing is a failure like any other', async () => {
    let calls = 0;
    const { reader, seen } = setup(
      {},
      {
        openPort: () => {
          calls++;
          throw Object.assign(new Error('nope'), { code: 'EACCES' });
        },
      },
    );
    reader.start();
    await tick(1000);
    expect(transitions(seen.status)).toEqual(['offline:EACCES']);
    expect(calls).toBe(2);
    await reader.stop();
  });

  it('stop() closes the port, clears every timer, is idempotent, and nothing reconnects after it', async () => {
    const { reader, ports, port } = setup();
    reader.start();
    await tick();
    const p = port();
    await Promise.all([reader.stop(), reader.stop()]);
    await reader.stop();
    expect(p.isOpen).toBe(false);
    expect(p.closeCalls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    p.unplug();
    p.emit('error', new Error('late'));
    await tick(60_000);
    expect(ports).toHaveLength(1);
    expect(reader.status()).toEqual({ readerId: 'entry', online: false, reason: 'stopped' });
  });

  it('stop() during the backoff wait cancels the retry', async () => {
    const { reader, ports } = setup({}, {}, [enoent()]);
    reader.start();
    await tick();
    await reader.stop();
    expect(vi.getTimerCount()).toBe(0);
    await tick(60_000);
    expect(ports).toHaveLength(1);
  });

  it('stop() while the port is still opening closes it once the open completes', async () => {
    const { reader, port, seen } = setup({}, {}, ['hang']);
    reader.start();
    await tick();
    let stopped = false;
    const stopping = reader.stop().then(() => {
      stopped = true;
    });
    await tick();
    expect(stopped).toBe(false);
    port().finishOpen();
    await stopping;
    expect(port().isOpen).toBe(false);
    expect(seen.status).toEqual([]);
  });

  it('an open that never completes is given up after 10 s and retried; the late port is closed', async () => {
    const { reader, ports, seen } = setup({}, {}, ['hang']);
    reader.start();
    await tick(9_999);
    expect(seen.status).toEqual([]);
    await tick(1);
    expect(transitions(seen.status)).toEqual(['offline:open timed out']);
    // The retry waits (up to 2 s) for the abandoned open to settle, so two opens never overlap.
    await tick(450);
    expect(ports).toHaveLength(1);
    await tick(1550);
    expect(transitions(seen.status)).toEqual(['offline:open timed out', 'online:open']);
    ports[0]!.finishOpen();
    await tick();
    expect(ports[0]!.isOpen).toBe(false);
    expect(ports[1]!.isOpen).toBe(true);
    await reader.stop();
  });

  it('can be started again after stop()', async () => {
    const { reader, ports, seen } = setup();
    reader.start();
    await tick();
    await reader.stop();
    reader.start();
    await tick();
    expect(ports).toHaveLength(2);
    expect(transitions(seen.status)).toEqual(['online:open', 'online:open']);
    await reader.stop();
  });

  it('a listener that throws cannot break the port', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { reader, port, seen } = setup();
    reader.on('badge', () => {
      throw new Error('listener bug');
    });
    reader.start();
    await tick();
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    port().feed(encodeRdm6300Frame('FFEEDDCCBB'));
    expect(seen.badge).toHaveLength(2);
    expect(reader.stats().listenerErrors).toBe(2);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/'badge' listener threw: listener bug/),
      expect.anything(),
    );
    await reader.stop();
  });
});

describe('ReaderPort: Wiegand bridge board', () => {
  const hb = (seq: number, tamper = false) =>
    encodeBridgeFrame({ type: 'heartbeat', seq, uptimeMs: seq * 1000, tamper });

  it('is online while frames arrive, offline (silent) after offlineAfterMs without one', async () => {
    const { reader, port, seen } = setup({ protocol: 'wiegand-bridge', offlineAfterMs: 3000 });
    reader.start();
    await tick();
    expect(seen.status).toEqual([]); // the port is open but the board has not spoken
    expect(reader.status().reason).toBe('waiting');
    port().feed(hb(1));
    expect(transitions(seen.status)).toEqual(['online:receiving']);
    for (let s = 2; s < 12; s++) {
      await tick(1000);
      port().feed(hb(s));
    }
    expect(seen.status).toHaveLength(1);
    // Garbage is not a sign of life.
    for (let i = 0; i < 40; i++) {
      await tick(100);
      port().feed(Buffer.from([0xa5, 0x02, 0x09, 0, 1, 2]));
    }
    expect(transitions(seen.status)).toEqual(['online:receiving', 'offline:silent']);
    port().feed(hb(20));
    expect(transitions(seen.status)).toEqual(['online:receiving', 'offline:silent', 'online:receiving']);
    expect(reader.stats()).toMatchObject({ heartbeats: 12, missedHeartbeats: 8 });
    await reader.stop();
  });

  it('goes silent-offline if the board never speaks after the port opens', async () => {
    const { reader, seen } = setup({ protocol: 'wiegand-bridge', offlineAfterMs: 2000 });
    reader.start();
    await tick(1999);
    expect(seen.status).toEqual([]);
    await tick(1);
    expect(transitions(seen.status)).toEqual(['offline:silent']);
    await reader.stop();
  });

  it('decodes cards into W26/W34 badges and drops bad parity', async () => {
    const { reader, port, seen } = setup({ protocol: 'wiegand-bridge' });
    reader.start();
    await tick();
    const bits = wiegandBits('wiegand26', 12, 3456);
    port().feed(encodeBridgeFrame({ type: 'card', bits }));
    port().feed(encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand34', 1234, 56789) }));
    port().feed(encodeBridgeFrame({ type: 'card', bits: `1${bits.slice(1)}` }));
    expect(seen.badge.map((b) => [b.credential, b.format])).toEqual([
      ['W26:12:3456', 'wiegand26'],
      ['W34:1234:56789', 'wiegand34'],
    ]);
    expect(seen.dropped.map((d) => d.why)).toEqual(['bad_parity']);
    await reader.stop();
  });

  it('reports tamper changes from tamper frames and heartbeat flags, once each', async () => {
    const { reader, port, seen } = setup({ protocol: 'wiegand-bridge' });
    reader.start();
    await tick();
    port().feed(hb(1, false)); // first report, closed: nothing to say
    port().feed(encodeBridgeFrame({ type: 'tamper', active: true }));
    port().feed(hb(2, true));
    port().feed(hb(3, false)); // the tamper-closed frame was lost; the heartbeat tells
    port().feed(encodeBridgeFrame({ type: 'tamper', active: false }));
    expect(seen.tamper.map((t) => t.active)).toEqual([true, false]);
    expect(seen.tamper[0]).toMatchObject({ readerId: 'entry' });
    await reader.stop();
  });

  it('reports an open case at the first heartbeat, and a board restart via hello', async () => {
    const { reader, port, seen } = setup({ protocol: 'wiegand-bridge' });
    reader.start();
    await tick();
    port().feed(hb(7, true));
    expect(seen.tamper.map((t) => t.active)).toEqual([true]);
    port().feed(encodeBridgeFrame({ type: 'hello', major: 1, minor: 4, patch: 0 }));
    port().feed(hb(0, true));
    expect(seen.hello).toEqual([
      expect.objectContaining({ readerId: 'entry', protocol: 1, firmware: '1.4.0' }),
    ]);
    expect(reader.stats()).toMatchObject({ firmware: '1.4.0', boardRestarts: 1, missedHeartbeats: 0 });
    await reader.stop();
  });
});

describe('ReaderPort: bridge board across reconnections', () => {
  it('a hello or a sequence gap after reopening the port is not counted against the board', async () => {
    const { reader, port } = setup({ protocol: 'wiegand-bridge' });
    reader.start();
    await tick();
    port().feed(encodeBridgeFrame({ type: 'hello', major: 1, minor: 0, patch: 0 }));
    port().feed(encodeBridgeFrame({ type: 'heartbeat', seq: 0, uptimeMs: 10, tamper: false }));
    port().unplug();
    await tick(450);
    port().feed(encodeBridgeFrame({ type: 'hello', major: 1, minor: 0, patch: 0 }));
    port().feed(encodeBridgeFrame({ type: 'heartbeat', seq: 30, uptimeMs: 30_010, tamper: false }));
    expect(reader.stats()).toMatchObject({ boardRestarts: 0, missedHeartbeats: 0, opens: 2 });
    port().feed(encodeBridgeFrame({ type: 'hello', major: 1, minor: 1, patch: 0 }));
    expect(reader.stats()).toMatchObject({ boardRestarts: 1, firmware: '1.1.0' });
    await reader.stop();
  });
});

describe('ReaderPort: config and reasons', () => {
  it('takes a ReaderConfig as is', () => {
    const rc: ReaderConfig = {
      id: 'exit',
      path: '/dev/ttyAMA0',
      baudRate: 9600,
      protocol: 'line',
      linePattern: '^[0-9A-F]{8}$',
      repeatSuppressMs: 1000,
      offlineAfterMs: 5000,
      reconnect: { initialMs: 500, maxMs: 30_000 },
      byteBudget: { factor: 2, windowMs: 1000, coolDownMs: 5000, maxCoolDownMs: 300_000, quietMs: 300_000 },
    };
    expect(new ReaderPort(rc).id).toBe('exit');
    expect(() => new ReaderPort({ ...rc, linePattern: '(' })).toThrow(/invalid linePattern/);
  });

  it('turns port errors into short reasons', () => {
    expect(reasonOf(enoent())).toBe('ENOENT');
    expect(reasonOf(new Error('Permission denied, cannot open /dev/ttyS0'))).toBe('EACCES');
    expect(reasonOf(new Error('Error Resource temporarily unavailable Cannot lock port'))).toBe('EBUSY');
    expect(reasonOf(Object.assign(new Error('x'), { disconnected: true }))).toBe('disconnected');
    expect(reasonOf(Object.assign(new Error('x'), { code: 'ENODEV' }))).toBe('ENODEV');
    expect(reasonOf(new Error('something odd'))).toBe('something odd');
  });
});

describe('ReaderPort: byte budget (flood)', () => {
  /** 9600 baud × 2 = 1920 bytes a second allowed; 5 s cool-down. */
  const budget = { byteBudget: { factor: 2, windowMs: 1000, coolDownMs: 5000 } };
  const garbage = (n: number) => Buffer.alloc(n, 0x41);

  it('a port over its budget is offline (flood), its bytes are not decoded, a valid frame included', async () => {
    const { reader, port, seen } = setup(budget);
    reader.start();
    await tick();
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    expect(seen.badge).toHaveLength(1);
    // Frames every 50 ms (280 bytes/s) are far under the budget.
    for (let i = 0; i < 100; i++) {
      await tick(50);
      port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    }
    expect(transitions(seen.status)).toEqual(['online:open']);
    await tick(1100);
    // A flood: 4 KB chunks every 10 ms for 3 s, each followed by a valid frame of another card.
    for (let i = 0; i < 300; i++) {
      port().feed(Buffer.concat([garbage(4096), encodeRdm6300Frame('FFEEDDCCBB')]));
      await tick(10);
    }
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:flood']);
    expect(seen.badge.map((b) => b.credential)).toEqual(['0A1B2C3D4E']);
    expect(reader.status()).toMatchObject({ online: false, reason: 'flood' });
    const s = reader.stats();
    expect(s).toMatchObject({ floods: 1, flooding: true, online: false, reason: 'flood' });
    expect(s.floodBytes).toBe(300 * (4096 + 14));
    expect(s.bytes).toBe(101 * 14 + 300 * (4096 + 14));
    // The codec never saw the flood: only the 101 frames before it.
    expect(s.frames).toBe(101);
    await reader.stop();
  });

  it('resumes after the cool-down even when no byte comes, and decodes again', async () => {
    const { reader, port, seen } = setup(budget);
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:flood']);
    // Under the budget but inside the cool-down: still dropped.
    await tick(2000);
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    expect(seen.badge).toEqual([]);
    await tick(2999);
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:flood']);
    await tick(1);
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:flood', 'online:open']);
    expect(reader.stats()).toMatchObject({ flooding: false, floods: 1 });
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    expect(seen.badge.map((b) => b.credential)).toEqual(['0A1B2C3D4E']);
    await reader.stop();
  });

  it('a half frame from before the flood never completes with bytes after it', async () => {
    // staleMs so long that only the flood's reset can stop the two halves joining.
    const { reader, port, seen } = setup(budget, { staleMs: 3_600_000 });
    reader.start();
    await tick();
    const frame = encodeRdm6300Frame('0A1B2C3D4E');
    port().feed(frame.subarray(0, 7));
    await tick(100);
    port().feed(garbage(64 * 1024));
    await tick(6000);
    expect(reader.stats().flooding).toBe(false);
    port().feed(frame.subarray(7));
    expect(seen.badge).toEqual([]);
    expect(reader.stats().dropped.bad_length).toBeGreaterThanOrEqual(1);
    // Without a flood in between, the same halves make a badge (the test would catch a no-op).
    port().feed(frame.subarray(0, 7));
    await tick(100);
    port().feed(frame.subarray(7));
    expect(seen.badge.map((b) => b.credential)).toEqual(['0A1B2C3D4E']);
    await reader.stop();
  });

  it('a port lost and reopened during the flood reports what it is once the flood ends', async () => {
    const { reader, ports, port, seen } = setup(budget);
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    port().unplug();
    await tick(1000); // reopened (backoff 450 ms), still flooding: no status
    expect(ports).toHaveLength(2);
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:flood']);
    port().feed(garbage(64 * 1024)); // the new connection floods too: the cool-down starts again
    await tick(4999);
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:flood']);
    await tick(1100);
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:flood', 'online:open']);
    expect(reader.stats()).toMatchObject({ floods: 1, opens: 2 });
    await reader.stop();
  });

  it('a port gone when the flood ends reports its failure', async () => {
    const { reader, port, seen } = setup(budget, {}, [undefined as never, enoent(), enoent(), enoent()]);
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    port().unplug();
    await tick(5000);
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:flood', 'offline:ENOENT']);
    await reader.stop();
  });

  it('a bridge board already silent: the flood is still reported, then the silence or the board', async () => {
    const { reader, port, seen } = setup({ ...budget, protocol: 'wiegand-bridge', offlineAfterMs: 2000 });
    reader.start();
    await tick(2000);
    expect(transitions(seen.status)).toEqual(['offline:silent']);
    port().feed(garbage(64 * 1024));
    expect(transitions(seen.status)).toEqual(['offline:silent', 'offline:flood']);
    // Heartbeats inside the flood are not decoded: no sign of life.
    port().feed(encodeBridgeFrame({ type: 'heartbeat', seq: 1, uptimeMs: 1000, tamper: false }));
    await tick(5000 + 2000);
    expect(transitions(seen.status)).toEqual(['offline:silent', 'offline:flood', 'offline:silent']);
    port().feed(encodeBridgeFrame({ type: 'heartbeat', seq: 2, uptimeMs: 2000, tamper: false }));
    expect(transitions(seen.status)).toEqual([
      'offline:silent',
      'offline:flood',
      'offline:silent',
      'online:receiving',
    ]);
    expect(reader.stats().heartbeats).toBe(1);
    await reader.stop();
  });

  it('stop() during a flood leaves no timer, and a restart begins with a fresh budget', async () => {
    const { reader, port, seen } = setup(budget);
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    await reader.stop();
    expect(vi.getTimerCount()).toBe(0);
    reader.start();
    await tick();
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    expect(seen.badge).toHaveLength(1);
    expect(transitions(seen.status)).toEqual(['online:open', 'offline:flood', 'online:open']);
    await reader.stop();
  });
});

describe('ReaderPort: repeated floods back off', () => {
  /** 1920 bytes/s allowed; 5 s cool-down doubling up to 20 s; forgiven after 60 s within the budget. */
  const budget = {
    byteBudget: { factor: 2, windowMs: 1000, coolDownMs: 5000, maxCoolDownMs: 20_000, quietMs: 60_000 },
  };
  const garbage = (n: number) => Buffer.alloc(n, 0x41);
  const floods = (s: ReaderStatus[]) => s.filter((e) => e.reason === 'flood').map((e) => e.flood);

  it('each flood soon after the last cool-down gets twice the cool-down, up to the ceiling', async () => {
    const { reader, port, seen } = setup(budget);
    reader.start();
    await tick();
    const offlineFor: number[] = [];
    for (let i = 0; i < 4; i++) {
      // A 64 KB burst; back 1 s after each return.
      port().feed(garbage(64 * 1024));
      const from = Date.now();
      while (reader.status().online !== true) await tick(100);
      offlineFor.push(Date.now() - from);
      await tick(1000);
    }
    expect(offlineFor).toEqual([5000, 10_000, 20_000, 20_000]);
    expect(floods(seen.status)).toEqual([
      { episode: 1, coolDownMs: 5000 },
      { episode: 2, coolDownMs: 10_000 },
      { episode: 3, coolDownMs: 20_000 },
      { episode: 4, coolDownMs: 20_000 },
    ]);
    // Every episode is reported: offline, then back.
    expect(transitions(seen.status)).toEqual([
      'online:open',
      ...Array.from({ length: 4 }, () => ['offline:flood', 'online:open']).flat(),
    ]);
    expect(reader.stats()).toMatchObject({ floods: 4, floodEpisode: 4, floodCoolDownMs: 20_000 });
    expect(seen.settled).toEqual([]);
    await reader.stop();
  });

  it('bytes within the cool-down are still dropped and counted, and never decoded', async () => {
    const { reader, port, seen } = setup(budget);
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    await tick(5000);
    port().feed(garbage(64 * 1024)); // episode 2: 10 s
    await tick(9000);
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    expect(seen.badge).toEqual([]);
    expect(reader.stats()).toMatchObject({ floodBytes: 2 * 64 * 1024 + 14, flooding: true });
    await tick(1000);
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    expect(seen.badge).toHaveLength(1);
    await reader.stop();
  });

  it('quiet for quietMs after a cool-down: the incident settles once, and the next flood starts over', async () => {
    const { reader, port, seen } = setup(budget);
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    await tick(5000 + 1000);
    port().feed(garbage(64 * 1024));
    await tick(10_000);
    expect(reader.status()).toMatchObject({ online: true, reason: 'open' });
    // Badges meanwhile are normal use, not a flood.
    port().feed(encodeRdm6300Frame('0A1B2C3D4E'));
    await tick(59_999);
    expect(seen.settled).toEqual([]);
    expect(reader.stats().floodEpisode).toBe(2);
    await tick(1);
    expect(seen.settled).toEqual([{ readerId: 'entry', episodes: 2, at: Date.now() }]);
    expect(reader.stats()).toMatchObject({ floodEpisode: 0, floodCoolDownMs: 5000 });
    await tick(600_000);
    expect(seen.settled).toHaveLength(1);
    port().feed(garbage(64 * 1024));
    expect(floods(seen.status).at(-1)).toEqual({ episode: 1, coolDownMs: 5000 });
    expect(seen.badge).toHaveLength(1);
    await reader.stop();
  });

  it('a late timer: the old incident is reported settled before the new one begins', async () => {
    let skew = 0;
    const { reader, port, seen } = setup(budget, { now: () => Date.now() + skew });
    const order: string[] = [];
    reader.on('status', (e) => order.push(`${e.reason}${e.flood ? `#${e.flood.episode}` : ''}`));
    reader.on('floodSettled', (e) => order.push(`settled(${e.episodes})`));
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    await tick(5000);
    // The clock the port reads jumps past the quiet time before its timer runs.
    skew = 60_000;
    port().feed(garbage(64 * 1024));
    expect(order).toEqual(['open', 'flood#1', 'open', 'settled(1)', 'flood#1']);
    await tick(5000);
    expect(seen.settled).toHaveLength(1);
    await reader.stop();
  });

  it('a bridge board that never speaks between floods: every episode is still reported', async () => {
    const { reader, port, seen } = setup({ ...budget, protocol: 'wiegand-bridge', offlineAfterMs: 30_000 });
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    await tick(5000); // cool-down over: waiting for the board, not yet silent
    port().feed(garbage(64 * 1024));
    await tick(10_000);
    port().feed(garbage(64 * 1024));
    expect(transitions(seen.status)).toEqual(['offline:flood', 'offline:flood', 'offline:flood']);
    expect(floods(seen.status).map((f) => f?.episode)).toEqual([1, 2, 3]);
    await reader.stop();
  });

  it('stop() between floods leaves no timer, and a restart forgets the back-off', async () => {
    const { reader, port, seen } = setup(budget);
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    await tick(5000);
    port().feed(garbage(64 * 1024));
    await tick(10_000);
    expect(reader.stats().floodEpisode).toBe(2);
    await reader.stop();
    expect(vi.getTimerCount()).toBe(0);
    reader.start();
    await tick();
    port().feed(garbage(64 * 1024));
    expect(floods(seen.status).at(-1)).toEqual({ episode: 1, coolDownMs: 5000 });
    expect(seen.settled).toEqual([]);
    await reader.stop();
  });
});
