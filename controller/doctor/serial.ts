/** doctor's serial checks: each reader's port present, readable, and answering. */
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { type CodecEvent, createCodec } from '../../firmware-bridge/index.js';
import { type IdentifiedEvent, OsdpBus } from '../../firmware-bridge/osdp/cp.js';
import type { LoadedConfig, ReaderConfig } from '../config/index.js';
import { maskCredential } from '../journal/index.js';
import { type Add, sleep, whoAmI } from './check.js';

interface Heard {
  error?: string;
  bytes: number;
  events: CodecEvent[];
}

/** Opens a reader's port (exclusively, as the controller does) and listens for `ms`. */
async function listen(r: ReaderConfig, ms: number): Promise<Heard> {
  const { SerialPort } = await import('serialport');
  const codec = createCodec(r.protocol, { linePattern: r.linePattern });
  const heard: Heard = { bytes: 0, events: [] };
  const port = new SerialPort({ path: r.path, baudRate: r.baudRate, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    heard.error = (err as Error).message;
    return heard;
  }
  port.on('data', (chunk: Buffer) => {
    heard.bytes += chunk.length;
    heard.events.push(...codec.push(chunk, Date.now()));
  });
  port.on('error', (err: Error) => {
    heard.error = err.message;
  });
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(50);
    // A bridge board has said all there is to know once a hello and a heartbeat arrived.
    const kinds = new Set(heard.events.map((e) => e.kind));
    if (r.protocol === 'wiegand-bridge' && kinds.has('hello') && kinds.has('heartbeat')) break;
  }
  await new Promise<void>((resolve) => port.close(() => resolve()));
  return heard;
}

/** Each serial reader: present, readable, and answering (the bridge board must send heartbeats). */
export async function serialChecks(
  loaded: LoadedConfig,
  add: Add,
  listenMs: number | undefined,
): Promise<void> {
  const polled = new Map<string, Promise<OsdpHeard>>();
  for (const r of loaded.config.readers) {
    const what = `reader ${r.id}`;
    if (r.path === 'sim') {
      add('OK', what, 'simulated reader');
      continue;
    }
    if (!existsSync(r.path)) {
      let present: string[] = [];
      try {
        present = readdirSync('/dev/serial/by-id').map((n) => `/dev/serial/by-id/${n}`);
      } catch {
        // none
      }
      add(
        'FAIL',
        what,
        `${r.path} does not exist — is the reader plugged in, and the UART enabled (enable_uart=1 / dtparam=uart0=on)?` +
          (present.length > 0 ? ` Serial devices present: ${present.join(', ')}` : ''),
      );
      continue;
    }
    try {
      accessSync(r.path, constants.R_OK | constants.W_OK);
    } catch {
      add(
        'FAIL',
        what,
        `${r.path} is not readable and writable by ${whoAmI()}: add the service user to the dialout group`,
      );
      continue;
    }
    if (r.protocol === 'osdp') {
      await osdpCheck(r, loaded.config.readers, add, listenMs, polled);
      continue;
    }
    const bridge = r.protocol === 'wiegand-bridge';
    const secs = listenMs ?? (bridge ? 2500 : 1500);
    const heard = await listen(r, secs);
    const s = `${(secs / 1000).toFixed(1)} s`;
    if (heard.error) {
      const busy = /lock|EBUSY|busy/i.test(heard.error);
      add(
        busy ? 'WARN' : 'FAIL',
        what,
        busy
          ? `${r.path} is in use by another program — the controller, if it is running (then this is expected; stop it to test the reader)`
          : `${r.path} cannot be opened: ${heard.error}`,
      );
      continue;
    }
    const good = heard.events.filter((e) => e.kind !== 'dropped');
    const dropped = heard.events.filter((e) => e.kind === 'dropped').length;
    if (bridge) {
      const beats = good.filter((e) => e.kind === 'heartbeat');
      const hello = good.find((e) => e.kind === 'hello');
      const last = beats.at(-1);
      if (last) {
        add(
          last.tamper ? 'WARN' : 'OK',
          what,
          `${r.path} answers: bridge firmware ${hello ? hello.firmware : '(no hello heard)'}, heartbeat seq ${last.seq}, ` +
            `board up ${Math.round(last.uptimeMs / 1000)} s, case ${last.tamper ? 'OPEN — close the reader case or check its tamper switch' : 'closed'}` +
            (dropped > 0 ? `, ${dropped} damaged frame(s)` : ''),
        );
      } else if (heard.bytes > 0) {
        add(
          'FAIL',
          what,
          `${r.path}: ${heard.bytes} bytes in ${s} but no heartbeat — is this a Sekisho bridge board with protocol 1 firmware?`,
        );
      } else {
        add(
          'FAIL',
          what,
          `${r.path} is silent (no heartbeat in ${s}) — flash the bridge firmware (firmware-bridge/firmware/README.md) or check the USB cable`,
        );
      }
      continue;
    }
    const card = good.find((e) => e.kind === 'credential');
    if (card)
      add(
        'OK',
        what,
        `${r.path} answers: a card was read (${maskCredential(card.credential)}, ${card.format})`,
      );
    else if (heard.bytes > 0)
      add(
        'WARN',
        what,
        `${r.path}: ${heard.bytes} bytes in ${s} that are not ${r.protocol} frames — check the baud rate (${r.baudRate}) and the wiring`,
      );
    else
      add(
        'OK',
        what,
        `${r.path} opens; silent for ${s}, as expected with no card near (hold a card to the reader while doctor runs to test it)`,
      );
  }
}

interface OsdpHeard {
  ids: Map<string, IdentifiedEvent>;
  status: Map<string, { online: boolean | null; reason: string }>;
  error?: string;
}

/** Polls every OSDP reader on `path` (one bus) until all answered their start-up, or `ms` passed. */
async function pollBus(path: string, readers: ReaderConfig[], ms: number): Promise<OsdpHeard> {
  const first = readers[0]!;
  const heard: OsdpHeard = { ids: new Map(), status: new Map() };
  const bus = new OsdpBus({
    path,
    baudRate: first.osdp!.baudRate,
    reconnect: { initialMs: ms * 2, maxMs: ms * 2 },
    byteBudget: first.byteBudget,
    readers: readers.map((r) => ({
      id: r.id,
      address: r.osdp!.address,
      pollMs: r.osdp!.pollMs,
      replyTimeoutMs: r.osdp!.replyTimeoutMs,
      offlineAfterMs: Math.min(r.osdp!.offlineAfterMs, ms),
      repeatSuppressMs: r.repeatSuppressMs,
      linePattern: r.linePattern,
    })),
  });
  bus.on('identified', (e) => heard.ids.set(e.readerId, e));
  bus.on('status', (st) => {
    if (!st.online && !['silent', 'flood', 'secure_channel_required'].includes(st.reason))
      heard.error = st.reason;
  });
  bus.start();
  const end = Date.now() + ms;
  while (Date.now() < end && !heard.error) {
    await sleep(50);
    if (readers.every((r) => bus.status(r.id)?.online === true)) break;
  }
  for (const r of readers) heard.status.set(r.id, bus.status(r.id) ?? { online: null, reason: 'unknown' });
  await bus.stop();
  return heard;
}

/** An OSDP reader: the bus polled (once per path), its identity, and the plain-text warning. */
async function osdpCheck(
  r: ReaderConfig,
  all: ReaderConfig[],
  add: Add,
  listenMs: number | undefined,
  polled: Map<string, Promise<OsdpHeard>>,
): Promise<void> {
  const what = `reader ${r.id}`;
  let heard = polled.get(r.path);
  if (!heard) {
    heard = pollBus(
      r.path,
      all.filter((x) => x.protocol === 'osdp' && x.path === r.path),
      listenMs ?? 2500,
    );
    polled.set(r.path, heard);
  }
  const h = await heard;
  const o = r.osdp!;
  add(
    'WARN',
    what,
    `OSDP in plain text (secure: false): the line to the reader is neither encrypted nor authenticated — keep the cable inside the secured area; Secure Channel is not yet supported (docs/readers.md)`,
  );
  if (h.error) {
    const busy = /lock|EBUSY|busy/i.test(h.error);
    add(
      busy ? 'WARN' : 'FAIL',
      what,
      busy
        ? `${r.path} is in use by another program — the controller, if it is running (then this is expected; stop it to test the reader)`
        : `${r.path} cannot be opened: ${h.error}`,
    );
    return;
  }
  const id = h.ids.get(r.id);
  const st = h.status.get(r.id);
  if (st?.online === true && id)
    add(
      'OK',
      what,
      `${r.path} address ${o.address} answers: vendor ${id.vendor}, model ${id.model}, serial ${id.serial}, firmware ${id.firmware} (${o.baudRate} baud)`,
    );
  else if (st?.reason === 'secure_channel_required')
    add(
      'FAIL',
      what,
      `${r.path} address ${o.address} answers but requires the Secure Channel, which this version does not speak — reset the reader to plain mode (its manual), or wait for Secure Channel support`,
    );
  else
    add(
      'FAIL',
      what,
      `${r.path} address ${o.address} does not answer (${!st || st.reason === 'starting' || st.reason === 'silent' ? 'no reply' : st.reason}) — check the address and baud rate set on the reader (${o.baudRate}), the A/B wiring (swap A and B if unsure), termination, and that the adapter is in RS-485 half-duplex mode`,
    );
}
