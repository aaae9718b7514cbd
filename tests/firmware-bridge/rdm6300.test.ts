import { describe, expect, it } from 'vitest';
import { type CodecEvent, createRdm6300Codec, encodeRdm6300Frame } from '../../firmware-bridge/index.js';
import { credentials, droppedBytes, nonDropped } from './util.js';

const STX = '\x02';
const ETX = '\x03';
/** A frame as printed in RDM6300 documentation: card 62E3086CED, checksum 08. */
const DOC_FRAME = Buffer.from(`${STX}62E3086CED08${ETX}`, 'latin1');

function feed(chunks: Buffer[], at = 0): CodecEvent[] {
  const codec = createRdm6300Codec();
  return chunks.flatMap((c) => codec.push(c, at));
}

describe('RDM6300 / EM4100 codec', () => {
  it('decodes a documented frame into the 10 hex digits', () => {
    const codec = createRdm6300Codec();
    expect(codec.push(DOC_FRAME, 0)).toEqual([
      { kind: 'credential', credential: '62E3086CED', format: 'em4100' },
    ]);
    expect(codec.stats()).toMatchObject({ bytes: 14, frames: 1, credentials: 1 });
  });

  it('builds the same frame it decodes (XOR checksum of the 5 data bytes)', () => {
    expect(encodeRdm6300Frame('62E3086CED')).toEqual(DOC_FRAME);
    // 0A^1B^2C^3D^4E = 4E
    expect(encodeRdm6300Frame('0A1B2C3D4E').toString('latin1')).toBe(`${STX}0A1B2C3D4E4E${ETX}`);
  });

  it('accepts lower-case hex and reports the credential upper-case', () => {
    const events = feed([Buffer.from(`${STX}62e3086ced08${ETX}`, 'latin1')]);
    expect(credentials(events)).toEqual(['62E3086CED']);
    const mixed = feed([Buffer.from(`${STX}0a1B2c3D4e4e${ETX}`, 'latin1')]);
    expect(credentials(mixed)).toEqual(['0A1B2C3D4E']);
  });

  it('drops a frame whose checksum does not match, counted by reason', () => {
    const codec = createRdm6300Codec();
    const bad = encodeRdm6300Frame('0A1B2C3D4E', { badChecksum: true });
    const changedData = Buffer.from(DOC_FRAME);
    changedData[3] = 0x33; // a data digit changed, checksum kept
    expect(codec.push(bad, 0)).toEqual([{ kind: 'dropped', why: 'bad_checksum', bytes: 14 }]);
    expect(codec.push(changedData, 0)).toEqual([{ kind: 'dropped', why: 'bad_checksum', bytes: 14 }]);
    expect(codec.stats().dropped.bad_checksum).toBe(2);
    expect(codec.stats().credentials).toBe(0);
  });

  it('skips garbage before and between frames and resynchronises on the next start byte', () => {
    const stream = Buffer.concat([
      Buffer.from('noise!', 'latin1'),
      DOC_FRAME,
      Buffer.from([0xff, 0x00, 0x7f]),
      encodeRdm6300Frame('0A1B2C3D4E'),
    ]);
    const events = feed([stream]);
    expect(events).toEqual([
      { kind: 'dropped', why: 'garbage', bytes: 6 },
      { kind: 'credential', credential: '62E3086CED', format: 'em4100' },
      { kind: 'dropped', why: 'garbage', bytes: 3 },
      { kind: 'credential', credential: '0A1B2C3D4E', format: 'em4100' },
    ]);
  });

  it('drops a frame cut short by the next start byte and decodes that next frame', () => {
    const cut = DOC_FRAME.subarray(0, 7);
    const events = feed([Buffer.concat([cut, encodeRdm6300Frame('0A1B2C3D4E')])]);
    expect(events).toEqual([
      { kind: 'dropped', why: 'bad_length', bytes: 7 },
      { kind: 'credential', credential: '0A1B2C3D4E', format: 'em4100' },
    ]);
  });

  it('drops a frame with a non-hex byte inside, or without its end byte', () => {
    expect(droppedBytes(feed([Buffer.from(`${STX}62E3086CXD08${ETX}`, 'latin1')]))).toEqual({ garbage: 14 });
    const tooLong = feed([Buffer.from(`${STX}62E3086CED08A${ETX}`, 'latin1')]);
    expect(credentials(tooLong)).toEqual([]);
    expect(droppedBytes(tooLong)).toEqual({ bad_length: 14, garbage: 1 });
    const earlyEnd = feed([Buffer.from(`${STX}62E3086C${ETX}`, 'latin1')]);
    expect(credentials(earlyEnd)).toEqual([]);
    expect(droppedBytes(earlyEnd)).toEqual({ bad_length: 10 });
  });

  it('gives the same result however the stream is cut into chunks', () => {
    const stream = Buffer.concat([
      Buffer.from([0x02, 0x41, 0xff, 0x03]),
      DOC_FRAME,
      encodeRdm6300Frame('0A1B2C3D4E', { badChecksum: true }),
      DOC_FRAME.subarray(0, 9),
      encodeRdm6300Frame('FFEEDDCCBB'),
      Buffer.from('zz'),
      encodeRdm6300Frame('0123456789'),
    ]);
    const whole = feed([stream]);
    expect(credentials(whole)).toEqual(['62E3086CED', 'FFEEDDCCBB', '0123456789']);
    for (let k = 1; k < stream.length; k++) {
      const split = feed([stream.subarray(0, k), stream.subarray(k)]);
      expect(nonDropped(split), `split at ${k}`).toEqual(nonDropped(whole));
      expect(droppedBytes(split), `split at ${k}`).toEqual(droppedBytes(whole));
    }
    const bytewise = feed([...stream].map((b) => Buffer.from([b])));
    expect(nonDropped(bytewise)).toEqual(nonDropped(whole));
    expect(droppedBytes(bytewise)).toEqual(droppedBytes(whole));
  });

  it('never joins a partial frame to bytes that arrive after a silence', () => {
    const codec = createRdm6300Codec({ staleMs: 100 });
    expect(codec.push(DOC_FRAME.subarray(0, 8), 0)).toEqual([]);
    expect(codec.push(DOC_FRAME.subarray(8), 250)).toEqual([
      { kind: 'dropped', why: 'bad_length', bytes: 8 },
      { kind: 'dropped', why: 'garbage', bytes: 6 },
    ]);
    // Within the limit the halves make a frame.
    expect(codec.push(DOC_FRAME.subarray(0, 8), 1000)).toEqual([]);
    expect(credentials(codec.push(DOC_FRAME.subarray(8), 1050))).toEqual(['62E3086CED']);
  });

  it('reset() discards a partial frame', () => {
    const codec = createRdm6300Codec();
    codec.push(DOC_FRAME.subarray(0, 5), 0);
    expect(codec.reset()).toEqual([{ kind: 'dropped', why: 'bad_length', bytes: 5 }]);
    expect(codec.reset()).toEqual([]);
    expect(credentials(codec.push(DOC_FRAME.subarray(5), 0))).toEqual([]);
  });

  it('tells when a frame is arriving: from its start byte to its end, while its bytes are fresh', () => {
    const codec = createRdm6300Codec({ staleMs: 100 });
    expect(codec.receiving(0)).toBe(false);
    codec.push(Buffer.from('noise'), 0); // bytes outside any frame are not a frame arriving
    expect(codec.receiving(0)).toBe(false);
    codec.push(DOC_FRAME.subarray(0, 1), 10);
    expect(codec.receiving(10)).toBe(true);
    codec.push(DOC_FRAME.subarray(1, 13), 20);
    expect(codec.receiving(120)).toBe(true);
    expect(codec.receiving(121)).toBe(false); // stale: it will be thrown away, not completed
    expect(credentials(codec.push(DOC_FRAME.subarray(13), 30))).toEqual(['62E3086CED']);
    expect(codec.receiving(30)).toBe(false);
    codec.push(DOC_FRAME.subarray(0, 4), 40);
    codec.reset();
    expect(codec.receiving(40)).toBe(false);
  });
});
