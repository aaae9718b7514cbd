import { describe, expect, it } from 'vitest';
import {
  CredentialError,
  createLineCodec,
  createRdm6300Codec,
  createWiegandBridgeCodec,
  encodeBridgeFrame,
  encodeRdm6300Frame,
  normaliseCredential,
  parseCredential,
  wiegandBits,
} from '../../firmware-bridge/index.js';
import { credentials, prng } from './util.js';

describe('normaliseCredential', () => {
  it('EM4100: 10 hex digits, upper-cased, separators allowed', () => {
    expect(normaliseCredential('em4100', '0a1b2c3d4e')).toBe('0A1B2C3D4E');
    expect(normaliseCredential('em4100', ' 0A:1B:2C:3D:4E ')).toBe('0A1B2C3D4E');
    expect(normaliseCredential('em4100', '0a 1b 2c 3d 4e')).toBe('0A1B2C3D4E');
    expect(normaliseCredential('auto', '0a1b2c3d4e')).toBe('0A1B2C3D4E');
  });

  it('EM4100: explains why the decimal number printed on the card cannot be enrolled', () => {
    expect(() => normaliseCredential('em4100', '4567890')).toThrow(CredentialError);
    expect(() => normaliseCredential('em4100', '4567890')).toThrow(/printed on an EM card.*\(0045B352\)/);
    expect(() => normaliseCredential('auto', '0004567890 069,45890')).toThrow(/printed on an EM card/);
    expect(() => normaliseCredential('em4100', '0A1B2C3D')).toThrow(/10 hex digits/);
    expect(() => normaliseCredential('em4100', '0A1B2C3D4E5F')).toThrow(/10 hex digits/);
    expect(() => normaliseCredential('em4100', 'hello')).toThrow(/10 hex digits/);
  });

  it('EM4100: warns when 10 digits could be the printed decimal number', () => {
    expect(parseCredential('0004567890', 'em4100')).toMatchObject({
      credential: '0004567890',
      warning: expect.stringMatching(/decimal number printed/),
    });
    expect(parseCredential('0A1B2C3D4E', 'em4100').warning).toBeUndefined();
  });

  it('Wiegand: W26:<facility>:<card> and W34:<facility>:<card> in plain decimal', () => {
    expect(normaliseCredential('wiegand26', 'W26:12:3456')).toBe('W26:12:3456');
    expect(normaliseCredential('wiegand26', 'w26:012:03456')).toBe('W26:12:3456');
    expect(normaliseCredential('wiegand26', '12,3456')).toBe('W26:12:3456');
    expect(normaliseCredential('wiegand34', '1234/56789')).toBe('W34:1234:56789');
    expect(normaliseCredential('auto', 'W34:65535:65535')).toBe('W34:65535:65535');
    expect(parseCredential('W26:0:0')).toEqual({ format: 'wiegand26', credential: 'W26:0:0' });
  });

  it('Wiegand: refuses out-of-range fields, a mismatched prefix and other bit counts', () => {
    expect(() => normaliseCredential('wiegand26', 'W26:256:1')).toThrow(/facility code must be 0..255/);
    expect(() => normaliseCredential('wiegand26', 'W26:1:65536')).toThrow(/card number must be 0..65535/);
    expect(() => normaliseCredential('wiegand34', 'W34:65536:1')).toThrow(/0..65535/);
    expect(() => normaliseCredential('wiegand26', 'W34:1:1')).toThrow(/not W26/);
    expect(() => normaliseCredential('auto', 'W37:1:1')).toThrow(/only W26 and W34/);
    expect(() => normaliseCredential('wiegand26', '123456')).toThrow(/W26:<facility>:<card>/);
  });

  it('line: the reader pattern, trimmed, upper-cased', () => {
    expect(normaliseCredential('line', ' abcd1234 ')).toBe('ABCD1234');
    expect(normaliseCredential('line', '00123456', { linePattern: '\\d{8}' })).toBe('00123456');
    expect(() => normaliseCredential('line', 'ABC')).toThrow(/linePattern/);
  });

  it('refuses an unknown format and anything auto cannot place', () => {
    expect(() => normaliseCredential('osdp', '1234')).toThrow(/unknown credential format "osdp"/);
    expect(() => normaliseCredential('auto', 'ZZZ')).toThrow(CredentialError);
    let caught: unknown;
    try {
      normaliseCredential('auto', '');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CredentialError);
    expect((caught as CredentialError).code).toBe('invalid_credential');
  });

  it('gives exactly what the codecs give for the same card', () => {
    const next = prng(77);
    const hexDigit = () => '0123456789abcdefABCDEF'[next() % 22];
    for (let i = 0; i < 300; i++) {
      const id = [...Array(10)].map(hexDigit).join('');
      const fromReader = credentials(createRdm6300Codec().push(encodeRdm6300Frame(id), 0));
      expect(fromReader).toEqual([normaliseCredential('em4100', id)]);
      expect(fromReader).toEqual([normaliseCredential('auto', id)]);
      const line = credentials(createLineCodec().push(Buffer.from(`${id}\r\n`), 0));
      expect(line).toEqual([normaliseCredential('line', id)]);
      const facility = next() % 256;
      const card = next() % 65536;
      const wiegand = credentials(
        createWiegandBridgeCodec().push(
          encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand26', facility, card) }),
          0,
        ),
      );
      expect(wiegand).toEqual([normaliseCredential('auto', `W26:${facility}:${card}`)]);
    }
  });
});
