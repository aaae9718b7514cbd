/** OSDP command builders and reply parsers, against bytes laid out by hand from the v2.2 tables. */
import { describe, expect, it } from 'vitest';
import * as C from '../../../firmware-bridge/osdp/commands.js';
import { feedbackCommands } from '../../../firmware-bridge/osdp/cp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('commands', () => {
  it('builds the fixed ones', () => {
    expect(C.poll()).toEqual({ code: 0x60, data: Buffer.alloc(0) });
    expect(C.id()).toEqual({ code: 0x61, data: hex('00') });
    expect(C.cap()).toEqual({ code: 0x62, data: hex('00') });
    expect(C.lstat()).toEqual({ code: 0x64, data: Buffer.alloc(0) });
    expect(C.keepActive(5000)).toEqual({ code: 0xa7, data: hex('8813') });
    expect(C.comset(5, 38400)).toEqual({ code: 0x6e, data: hex('05 00960000') });
    expect(() => C.comset(0x7f, 9600)).toThrow(/address/);
  });

  it('lays out an LED record in 14 bytes, times in 100 ms units', () => {
    const cmd = C.led([
      {
        reader: 0,
        led: 1,
        temporary: { onMs: 500, offMs: 500, onColour: 'amber', offColour: 'black', timerMs: 10_000 },
        permanent: { onMs: 0, offMs: 0, onColour: 'red', offColour: 'red' },
      },
    ]);
    expect(cmd.code).toBe(0x69);
    expect(cmd.data).toEqual(hex('00 01 02 05 05 03 00 6400 01 00 00 01 01'));
  });

  it('builds a buzzer command', () => {
    expect(C.buz(0, 100, 100, 3)).toEqual({ code: 0x6a, data: hex('00 02 01 01 03') });
  });

  it('has an LED and a buzzer command for each feedback', () => {
    for (const kind of ['granted', 'denied', 'escort', 'lockdown'] as const)
      expect(feedbackCommands(kind).map((c) => c.code)).toEqual([0x69, 0x6a]);
    // Granted is green, denied red, waiting for an escort amber.
    expect(feedbackCommands('granted')[0]!.data[5]).toBe(2);
    expect(feedbackCommands('denied')[0]!.data[5]).toBe(1);
    expect(feedbackCommands('escort')[0]!.data[5]).toBe(3);
  });
});

describe('replies', () => {
  it('reads a PDID: vendor OUI, model, version, serial (LSB first), firmware', () => {
    expect(C.parsePdId(hex('0A0B0C 02 01 78563412 03 04 05'))).toEqual({
      vendor: '0A0B0C',
      model: 2,
      version: 1,
      serial: '12345678',
      firmware: '3.4.5',
    });
    expect(C.parsePdId(hex('0A0B'))).toMatch(/12 bytes/);
  });

  it('reads PDCAP records', () => {
    expect(C.parsePdCap(hex('080101 090100'))).toEqual([
      { function: 8, compliance: 1, count: 1 },
      { function: 9, compliance: 1, count: 0 },
    ]);
    expect(C.parsePdCap(hex('0801'))).toMatch(/3-byte/);
  });

  it('reads LSTATR, NAK, COM', () => {
    expect(C.parseLocalStatus(hex('0100'))).toEqual({ tamper: true, power: false });
    expect(C.parseLocalStatus(hex('01'))).toMatch(/2 bytes/);
    expect(C.parseNak(hex('04'))).toEqual({ code: 4, name: 'sequence_error' });
    expect(C.parseNak(hex('03'))).toEqual({ code: 3, name: 'unknown_command' });
    expect(C.parseNak(hex('2a'))).toEqual({ code: 0x2a, name: 'nak_0x2a' });
    expect(C.parseNak(hex(''))).toMatch(/without/);
    expect(C.parseCom(hex('05 00960000'))).toEqual({ address: 5, baudRate: 38400 });
  });

  it('reads RAW card bits MSB first and checks the byte count', () => {
    // 26 bits: 1010 1010 | 1111 0000 | 0000 0000 | 11 (6 padding bits)
    const raw = C.parseRaw(hex('00 01 1A00 AA F0 00 C0'));
    if (typeof raw === 'string') throw new Error(raw);
    expect(raw.bitCount).toBe(26);
    expect(raw.bits.join('')).toBe('10101010111100000000000011');
    expect(C.parseRaw(hex('00 01 1A00 AA F0 00'))).toMatch(/carries 3 bytes/);
    expect(C.parseRaw(hex('00 01 0000'))).toMatch(/0 bits/);
  });

  it('reads FMT text and refuses control characters', () => {
    expect(C.parseFmt(hex('00 00 04 31323334'))).toEqual({ reader: 0, direction: 0, text: '1234' });
    expect(C.parseFmt(hex('00 00 02 310A'))).toMatch(/printable/);
    expect(C.parseFmt(hex('00 00 05 31'))).toMatch(/5 characters/);
  });

  it('names codes', () => {
    expect(C.codeName(0x60)).toBe('osdp_POLL');
    expect(C.codeName(0x45, true)).toBe('osdp_PDID');
    expect(C.codeName(0xee)).toBe('0xee');
  });
});
