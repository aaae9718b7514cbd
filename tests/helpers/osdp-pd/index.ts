/**
 * A simulated OSDP bus of readers (PDs) for tests, on one end of a socat pty. Written from the OSDP
 * v2.2 text, deliberately NOT from firmware-bridge/osdp: its own framing, CRC and sequence rules, so
 * a shared misreading of the standard cannot make the control panel's tests pass.
 *
 * Each PD answers POLL (ACK, or a card as osdp_RAW / osdp_FMT, or osdp_LSTATR when its status
 * changed), ID, CAP, LSTAT, ISTAT, LED, BUZ, COMSET, KEEPACTIVE, and NAKs anything else (0x03). It
 * follows the sequence rules of a PD: 0 resets, a repeat of the last sequence number gets the last
 * reply again without acting twice, any other unexpected number gets NAK 0x04. A test can silence
 * it, lose its next replies, answer with a wrong sequence number, send garbage or flood the line,
 * and read back every command and LED/BUZ it received.
 */
import { SerialPort } from 'serialport';

const SOM = 0x53;

function crc16(b: Uint8Array): number {
  // CRC-16/AUG-CCITT, bit by bit (the CP uses a table).
  let crc = 0x1d0f;
  for (const byte of b) {
    crc ^= byte << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** One reply packet (no mark byte: the standard makes it optional). */
export function pdPacket(address: number, seq: number, code: number, data: Buffer): Buffer {
  const len = 5 + 1 + data.length + 2;
  const head = Buffer.from([SOM, address | 0x80, len & 0xff, len >> 8, (seq & 3) | 0x04, code]);
  const body = Buffer.concat([head, data]);
  const crc = crc16(body);
  return Buffer.concat([body, Buffer.from([crc & 0xff, crc >> 8])]);
}

/** A command as the PD saw it. */
export interface SeenCommand {
  address: number;
  seq: number;
  code: number;
  data: Buffer;
  /** The packet's bytes (to check that a repeat is byte-identical). */
  bytes: Buffer;
  at: number;
}

export interface PdIdentity {
  vendor: [number, number, number];
  model: number;
  version: number;
  serial: number;
  firmware: [number, number, number];
}

export interface SimPd {
  address: number;
  identity: PdIdentity;
  /** Does not answer at all. */
  silent: boolean;
  /** Acts on the next n commands but its replies are lost. */
  loseReplies: number;
  /** The next n replies carry a sequence number other than the command's. */
  wrongSequence: number;
  /** Command codes answered with NAK 0x03 (as if not implemented). */
  unknown: Set<number>;
  tamper: boolean;
  power: boolean;
  commands: SeenCommand[];
  leds: Buffer[];
  buzzes: Buffer[];
  /** Cards waiting for the next POLL: [code, data]. */
  cards: [number, Buffer][];
  lastSeq: number | null;
  lastReply: Buffer | null;
  statusChanged: boolean;
}

export interface PdOptions {
  address: number;
  serial?: number;
}

/** The bits a Wiegand-26 card sends: even parity, 8-bit facility, 16-bit number, odd parity. */
export function w26Bits(facility: number, card: number): string {
  const data = facility.toString(2).padStart(8, '0') + card.toString(2).padStart(16, '0');
  const ones = (s: string) => s.split('').filter((c) => c === '1').length;
  const even = ones(data.slice(0, 12)) % 2 ? '1' : '0';
  const odd = ones(data.slice(12)) % 2 ? '0' : '1';
  return even + data + odd;
}

/** osdp_RAW data for a bit string: reader 0, format, bit count LSB first, bits packed MSB first. */
export function rawData(bits: string, format = 1): Buffer {
  const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i] === '1') bytes[i >> 3]! |= 0x80 >> (i & 7);
  return Buffer.concat([Buffer.from([0, format, bits.length & 0xff, bits.length >> 8]), bytes]);
}

export class OsdpPdSim {
  readonly pds = new Map<number, SimPd>();
  private port: SerialPort | undefined;
  private buf = Buffer.alloc(0);
  /** Bytes written to the line (replies, garbage, floods). */
  written = 0;
  /** Called as each command for a simulated PD arrives, before it is answered. */
  commandHook: ((c: SeenCommand) => void) | undefined;

  constructor(
    private readonly path: string,
    devices: PdOptions[],
  ) {
    for (const d of devices) this.pds.set(d.address, this.makePd(d));
  }

  private makePd(d: PdOptions): SimPd {
    return {
      address: d.address,
      identity: {
        vendor: [0x00, 0x1b, 0x2c],
        model: 7,
        version: 1,
        serial: d.serial ?? 0x1000 + d.address,
        firmware: [2, 1, 0],
      },
      silent: false,
      loseReplies: 0,
      wrongSequence: 0,
      unknown: new Set(),
      tamper: false,
      power: false,
      commands: [],
      leds: [],
      buzzes: [],
      cards: [],
      lastSeq: null,
      lastReply: null,
      statusChanged: false,
    };
  }

  pd(address: number): SimPd {
    const p = this.pds.get(address);
    if (!p) throw new Error(`no simulated PD at ${address}`);
    return p;
  }

  async open(): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: 9600, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('data', (chunk: Buffer) => this.onData(chunk));
    port.on('error', () => {});
    this.port = port;
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Swap the reader at `address` for another unit (a new serial number; it starts afresh). */
  replace(address: number, serial: number): void {
    this.pds.set(address, this.makePd({ address, serial }));
  }

  presentW26(address: number, facility: number, card: number): void {
    this.pd(address).cards.push([0x50, rawData(w26Bits(facility, card))]);
  }

  presentRawBits(address: number, bits: string, format = 0): void {
    this.pd(address).cards.push([0x50, rawData(bits, format)]);
  }

  presentFmt(address: number, text: string): void {
    const t = Buffer.from(text, 'latin1');
    this.pd(address).cards.push([0x51, Buffer.concat([Buffer.from([0, 0, t.length]), t])]);
  }

  setTamper(address: number, tamper: boolean): void {
    const p = this.pd(address);
    p.tamper = tamper;
    p.statusChanged = true;
  }

  setPower(address: number, failing: boolean): void {
    const p = this.pd(address);
    p.power = failing;
    p.statusChanged = true;
  }

  /** Write raw bytes to the line (garbage, a flood). */
  async inject(bytes: Buffer): Promise<void> {
    await this.write(bytes);
  }

  private write(bytes: Buffer): Promise<void> {
    const port = this.port;
    if (!port) return Promise.resolve();
    this.written += bytes.length;
    return new Promise((resolve) => port.write(bytes, () => resolve()));
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const start = this.buf.indexOf(SOM);
      if (start < 0) {
        this.buf = Buffer.alloc(0);
        return;
      }
      if (this.buf.length - start < 5) {
        this.buf = this.buf.subarray(start);
        return;
      }
      const len = this.buf[start + 2]! | (this.buf[start + 3]! << 8);
      if (len < 7 || len > 512) {
        this.buf = this.buf.subarray(start + 1);
        continue;
      }
      if (this.buf.length - start < len) {
        this.buf = this.buf.subarray(start);
        return;
      }
      const pkt = Buffer.from(this.buf.subarray(start, start + len));
      const ctrl = pkt[4]!;
      const ok =
        ctrl & 0x04
          ? crc16(pkt.subarray(0, len - 2)) === (pkt[len - 2]! | (pkt[len - 1]! << 8))
          : (pkt.subarray(0, len - 1).reduce((s, b) => s + b, 0) + pkt[len - 1]!) % 256 === 0;
      if (!ok) {
        this.buf = this.buf.subarray(start + 1);
        continue;
      }
      this.buf = this.buf.subarray(start + len);
      this.onCommand(pkt);
    }
  }

  private onCommand(pkt: Buffer): void {
    const address = pkt[1]!;
    if (address & 0x80) return; // another PD's reply
    const ctrl = pkt[4]!;
    const seq = ctrl & 3;
    const hasScb = (ctrl & 0x08) !== 0;
    const at = Date.now();
    const targets =
      address === 0x7f ? [...this.pds.values()] : [this.pds.get(address)].filter((p) => p !== undefined);
    for (const pd of targets) {
      const codeAt = hasScb ? 5 + pkt[5]! : 5;
      const code = pkt[codeAt]!;
      const tail = ctrl & 0x04 ? 2 : 1;
      const data = Buffer.from(pkt.subarray(codeAt + 1, pkt.length - tail));
      const seen: SeenCommand = { address: pd.address, seq, code, data, bytes: pkt, at };
      pd.commands.push(seen);
      this.commandHook?.(seen);
      if (pd.silent) continue;
      let reply: Buffer;
      if (seq !== 0 && pd.lastSeq !== null && seq === pd.lastSeq && pd.lastReply) {
        // The CP did not get our reply: the same reply again, the command not acted on twice.
        reply = pd.lastReply;
      } else {
        const expected = pd.lastSeq === null ? null : pd.lastSeq === 3 ? 1 : pd.lastSeq + 1;
        if (seq !== 0 && seq !== expected) reply = pdPacket(pd.address, seq, 0x41, Buffer.from([0x04]));
        else {
          const [rcode, rdata] = this.act(pd, code, data);
          reply = pdPacket(pd.address, seq, rcode, rdata);
          pd.lastSeq = seq;
          pd.lastReply = reply;
        }
      }
      if (pd.loseReplies > 0) {
        pd.loseReplies--;
        continue;
      }
      if (pd.wrongSequence > 0) {
        pd.wrongSequence--;
        const bad = pdPacket(pd.address, (seq % 3) + 1, 0x40, Buffer.alloc(0));
        void this.write(bad);
        continue;
      }
      if (address !== 0x7f) void this.write(reply);
    }
  }

  private act(pd: SimPd, code: number, data: Buffer): [number, Buffer] {
    if (pd.unknown.has(code)) return [0x41, Buffer.from([0x03])];
    const status = () => Buffer.from([pd.tamper ? 1 : 0, pd.power ? 1 : 0]);
    switch (code) {
      case 0x60: {
        const card = pd.cards.shift();
        if (card) return card;
        if (pd.statusChanged) {
          pd.statusChanged = false;
          return [0x48, status()];
        }
        return [0x40, Buffer.alloc(0)];
      }
      case 0x61: {
        const id = pd.identity;
        const serial = Buffer.alloc(4);
        serial.writeUInt32LE(id.serial);
        return [0x45, Buffer.from([...id.vendor, id.model, id.version, ...serial, ...id.firmware])];
      }
      case 0x62:
        // Check character: CRC; one LED, one buzzer, card data as raw bits.
        return [0x46, Buffer.from([8, 1, 1, 11, 1, 1, 12, 1, 1, 4, 1, 1])];
      case 0x64:
        pd.statusChanged = false;
        return [0x48, status()];
      case 0x65:
        return [0x49, Buffer.from([0])];
      case 0x69:
        pd.leds.push(data);
        return [0x40, Buffer.alloc(0)];
      case 0x6a:
        pd.buzzes.push(data);
        return [0x40, Buffer.alloc(0)];
      case 0x6e:
        return [0x54, data.subarray(0, 5)];
      case 0xa7:
        return [0x40, Buffer.alloc(0)];
      default:
        return [0x41, Buffer.from([0x03])];
    }
  }
}
