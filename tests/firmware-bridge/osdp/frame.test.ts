/**
 * The OSDP frame layer against published bytes: the CRC catalogue's check value, libosdp's unit
 * test packets (POLL, ID, CHLNG to address 0x65), and hand-computed checksums.
 */
import { describe, expect, it } from 'vitest';
import {
  decodePacket,
  encodeFrame,
  OSDP_MAX_PACKET,
  OsdpDecoder,
  type OsdpFrame,
  osdpChecksum,
  osdpCrc16,
} from '../../../firmware-bridge/osdp/frame.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const cmd = (
  address: number,
  code: number,
  data: number[] = [],
  sequence: OsdpFrame['sequence'] = 0,
): OsdpFrame => ({
  address,
  reply: false,
  sequence,
  crc: true,
  code,
  data: Buffer.from(data),
});

describe('CRC-16 and checksum', () => {
  it('has the CRC-16/AUG-CCITT check value (poly 0x1021, init 0x1D0F)', () => {
    expect(osdpCrc16(Buffer.from('123456789'))).toBe(0xe5cc);
  });
  it('is the two’s complement of the byte sum for the checksum', () => {
    // 53+E5+07+00+01+40 = 0x180 → 0x80 → 0x100 - 0x80 = 0x80
    expect(osdpChecksum(hex('53 E5 07 00 01 40'))).toBe(0x80);
    expect(osdpChecksum(hex('01'))).toBe(0xff);
    expect(osdpChecksum(hex(''))).toBe(0);
  });
});

describe('encodeFrame', () => {
  it('builds libosdp’s POLL, ID and CHLNG packets byte for byte', () => {
    expect(encodeFrame(cmd(0x65, 0x60))).toEqual(hex('FF 53 65 08 00 04 60 60 90'));
    expect(encodeFrame(cmd(0x65, 0x61, [0]))).toEqual(hex('FF 53 65 09 00 04 61 00 D9 7A'));
    expect(encodeFrame(cmd(0x65, 0x76, [1, 2, 3, 4, 5, 6, 7, 8]))).toEqual(
      hex('FF 53 65 10 00 04 76 01 02 03 04 05 06 07 08 0D 20'),
    );
  });
  it('leaves the mark out on request, sets the reply bit and the sequence', () => {
    const ack: OsdpFrame = {
      address: 0x65,
      reply: true,
      sequence: 0,
      crc: true,
      code: 0x40,
      data: Buffer.alloc(0),
    };
    expect(encodeFrame(ack, { mark: false })).toEqual(hex('53 E5 08 00 04 40 D2 96'));
    const b = encodeFrame({ ...ack, sequence: 3, crc: false }, { mark: false });
    expect(b).toEqual(hex('53 E5 07 00 03 40 7E'));
    expect(osdpChecksum(b, 0, b.length - 1)).toBe(b[b.length - 1]);
  });
  it('refuses what cannot be on the wire', () => {
    expect(() => encodeFrame(cmd(0x80, 0x60))).toThrow(/address/);
    expect(() => encodeFrame({ ...cmd(1, 0x60), sequence: 4 as 0 })).toThrow(/sequence/);
    expect(() => encodeFrame(cmd(1, 0x60, new Array(OSDP_MAX_PACKET).fill(0)))).toThrow(/exceeds/);
    expect(() => encodeFrame({ ...cmd(1, 0x60), security: { type: 0x15, data: Buffer.alloc(0) } })).toThrow(
      /MAC/,
    );
  });
  it('places a security block and a MAC where the Secure Channel expects them', () => {
    let covered: Buffer | undefined;
    const b = encodeFrame(
      { ...cmd(2, 0x60, [], 1), security: { type: 0x15, data: Buffer.alloc(0) } },
      {
        mark: false,
        computeMac: (c) => {
          covered = Buffer.from(c);
          return hex('AABBCCDD');
        },
      },
    );
    // SOM ADDR LEN(0x0E) CTRL(seq1|CRC|SCB) SCB(len 2, type 0x15) CODE MAC CRC
    expect(b.subarray(0, 11)).toEqual(hex('53 02 0E 00 0D 02 15 60 AA BB CC'));
    expect(covered).toEqual(hex('53 02 0E 00 0D 02 15 60'));
    const d = decodePacket(b);
    if (typeof d === 'string') throw new Error(d);
    expect(d.frame.security).toEqual({ type: 0x15, data: Buffer.alloc(0) });
    expect(d.frame.mac).toEqual(hex('AABBCCDD'));
    expect(d.covered).toEqual(covered);
    // A handshake block (SCS_11) carries data and no MAC.
    const h = encodeFrame(
      { ...cmd(2, 0x76, [9]), security: { type: 0x11, data: Buffer.from([0]) } },
      { mark: false },
    );
    const hd = decodePacket(h);
    if (typeof hd === 'string') throw new Error(hd);
    expect(hd.frame.mac).toBeUndefined();
    expect(hd.frame.security).toEqual({ type: 0x11, data: Buffer.from([0]) });
    expect(hd.frame.data).toEqual(Buffer.from([9]));
  });
});

describe('decodePacket', () => {
  it('reads an ACK and names the problems of bad ones', () => {
    const d = decodePacket(hex('53 E5 08 00 04 40 D2 96'));
    if (typeof d === 'string') throw new Error(d);
    expect(d.frame).toMatchObject({ address: 0x65, reply: true, sequence: 0, crc: true, code: 0x40 });
    expect(decodePacket(hex('53 E5 08 00 04 40 00 00'))).toBe('bad_checksum');
    expect(decodePacket(hex('44 E5 08 00 04 40 D2 96'))).toBe('garbage');
    expect(decodePacket(hex('53 E5 09 00 04 40 D2 96'))).toBe('bad_length');
  });
});

describe('OsdpDecoder', () => {
  const ack = (seq: OsdpFrame['sequence']) =>
    encodeFrame({ address: 1, reply: true, sequence: seq, crc: true, code: 0x40, data: Buffer.alloc(0) });

  it('decodes frames split anywhere and ignores mark bytes', () => {
    const d = new OsdpDecoder();
    const bytes = Buffer.concat([ack(1), hex('FF FF'), ack(2)]);
    const events = [...bytes].flatMap((b) => d.push(Buffer.from([b])));
    expect(events.map((e) => (e.kind === 'frame' ? e.frame.sequence : e.why))).toEqual([1, 2]);
  });

  it('resynchronises after garbage, false SOMs and a corrupted frame', () => {
    const d = new OsdpDecoder();
    const bad = ack(1);
    bad[bad.length - 1]! ^= 0x01;
    // A false SOM with a plausible length, a damaged frame, then a good one.
    const stream = Buffer.concat([hex('00 11 53 53 09 00'), bad, hex('53'), ack(3)]);
    const events = d.push(stream);
    const frames = events.filter((e) => e.kind === 'frame');
    expect(frames.map((e) => e.kind === 'frame' && e.frame.sequence)).toEqual([3]);
    const garbage = events.reduce((n, e) => n + (e.kind === 'dropped' ? e.bytes : 0), 0);
    // Everything but the good frame and the damaged one's mark byte is counted.
    expect(garbage).toBe(stream.length - ack(3).length - 1);
  });

  it('finds a good frame behind a false SOM whose length asks for more bytes', () => {
    const d = new OsdpDecoder();
    const events = d.push(Buffer.concat([hex('53 00 00 02 00'), ack(2)]));
    expect(events.some((e) => e.kind === 'frame' && e.frame.sequence === 2)).toBe(true);
    expect(d.pending).toBe(false);
  });

  it('holds at most one packet, whatever the input', () => {
    const d = new OsdpDecoder();
    for (let i = 0; i < 50; i++) d.push(Buffer.concat([hex('53 00 FF 03 04'), Buffer.alloc(100, 0x53)]));
    expect((d as unknown as { buf: Buffer }).buf.length).toBeLessThanOrEqual(OSDP_MAX_PACKET);
  });

  it('drops a partial frame that went stale', () => {
    const d = new OsdpDecoder({ staleMs: 50 });
    const f = ack(1);
    // The mark byte, then SOM ADDR LEN_LSB: three bytes held.
    expect(d.push(f.subarray(0, 4), 0)).toEqual([]);
    const events = d.push(f.subarray(4), 100);
    expect(events.filter((e) => e.kind === 'frame')).toEqual([]);
    expect(events[0]).toEqual({ kind: 'dropped', why: 'bad_length', bytes: 3 });
  });
});
