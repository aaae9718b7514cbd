import { describe, expect, it } from 'vitest';
import { type CodecEvent, createLineCodec, type LineCodecOptions } from '../../firmware-bridge/index.js';
import { credentials, droppedBytes, nonDropped } from './util.js';

function feed(chunks: (Buffer | string)[], options: LineCodecOptions = {}, at = 0): CodecEvent[] {
  const codec = createLineCodec(options);
  return chunks.flatMap((c) => codec.push(Buffer.from(c), at));
}

describe('line codec', () => {
  it('reads one credential per line, trimmed and upper-cased, with LF, CR LF or CR line ends', () => {
    expect(feed(['0a1b2c3d4e\n'])).toEqual([
      { kind: 'credential', credential: '0A1B2C3D4E', format: 'line' },
    ]);
    expect(credentials(feed(['  0a1b2c3d4e \r\n', 'FFEE\r', '12345678\n']))).toEqual([
      '0A1B2C3D4E',
      'FFEE',
      '12345678',
    ]);
  });

  it('ignores empty lines without counting them as drops', () => {
    const codec = createLineCodec();
    expect(codec.push(Buffer.from('\r\n\n  \r\n'), 0)).toEqual([]);
    expect(codec.stats()).toMatchObject({ frames: 0, credentials: 0 });
  });

  it('requires the whole trimmed line to match the pattern', () => {
    const events = feed(['XX0A1B2C\n', '0A1B 2C3D\n', '0A1B2C3D4E\n'], { linePattern: '[0-9A-Fa-f]{4,}' });
    expect(credentials(events)).toEqual(['0A1B2C3D4E']);
    expect(droppedBytes(events)).toEqual({ no_match: 9 + 10 });
    // The default pattern: 4 to 32 hex digits.
    expect(credentials(feed(['ABC\n', 'ABCD\n', `${'A'.repeat(33)}\n`]))).toEqual(['ABCD']);
  });

  it('matches against the configured pattern before upper-casing', () => {
    expect(credentials(feed(['abcdef\nABCDEF\n'], { linePattern: '[a-f]+' }))).toEqual(['ABCDEF']);
    expect(credentials(feed(['00123456\n'], { linePattern: '\\d{8}' }))).toEqual(['00123456']);
  });

  it('drops a line over 256 bytes whole, never decoding its tail', () => {
    const long = `${'Z'.repeat(290)}0A1B2C3D4E\n`;
    // The pattern would match the long line (and its tail) if length were not checked first.
    const events = feed([long, 'FFEEDDCC00\n'], { linePattern: '.*[0-9A-F]{10}' });
    expect(credentials(events)).toEqual(['FFEEDDCC00']);
    expect(droppedBytes(events)).toEqual({ overlong: 301 });
    // Exactly 256 bytes is allowed, 257 is not.
    const pattern = { linePattern: 'A+' };
    expect(credentials(feed([`${'A'.repeat(256)}\n`], pattern))).toEqual(['A'.repeat(256)]);
    expect(droppedBytes(feed([`${'A'.repeat(257)}\n`], pattern))).toEqual({ overlong: 258 });
  });

  it('drops an overlong line spread over many chunks, then reads the next line', () => {
    const chunks = [...Array(10)].map(() => '0A1B2C3D4E'.repeat(10)); // 1000 bytes, no line end
    const events = feed([...chunks, '0A1B2C3D4E\nFFEEDDCC\n']);
    expect(credentials(events)).toEqual(['FFEEDDCC']);
    expect(droppedBytes(events)).toEqual({ overlong: 1011 });
  });

  it('gives the same result however the stream is cut into chunks', () => {
    const stream = Buffer.from(
      `junk line\r\n0a1b2c3d4e\r\n${'x'.repeat(300)}\nFFEE\n\n  1234  \rnot hex\n${'A'.repeat(256)}\n9999\n`,
    );
    const whole = feed([stream], { linePattern: '[0-9A-Fa-f]{4,256}' });
    expect(credentials(whole)).toEqual(['0A1B2C3D4E', 'FFEE', '1234', 'A'.repeat(256), '9999']);
    for (let k = 1; k < stream.length; k++) {
      const split = feed([stream.subarray(0, k), stream.subarray(k)], { linePattern: '[0-9A-Fa-f]{4,256}' });
      expect(nonDropped(split), `split at ${k}`).toEqual(nonDropped(whole));
      expect(droppedBytes(split), `split at ${k}`).toEqual(droppedBytes(whole));
    }
  });

  it('never joins a partial line to bytes that arrive after a silence', () => {
    const codec = createLineCodec({ staleMs: 100 });
    expect(codec.push(Buffer.from('0A1B'), 0)).toEqual([]);
    expect(codec.push(Buffer.from('2C3D4E\n'), 500)).toEqual([
      { kind: 'dropped', why: 'bad_length', bytes: 4 },
      { kind: 'credential', credential: '2C3D4E', format: 'line' },
    ]);
    codec.push(Buffer.from('0A1B'), 1000);
    expect(credentials(codec.push(Buffer.from('2C3D4E\n'), 1020))).toEqual(['0A1B2C3D4E']);
  });

  it('tells when a line is arriving: from its first byte to its end, but not an overlong one it drops', () => {
    const codec = createLineCodec({ staleMs: 100 });
    expect(codec.receiving(0)).toBe(false);
    codec.push(Buffer.from('0A1B'), 0);
    expect(codec.receiving(100)).toBe(true);
    expect(codec.receiving(101)).toBe(false);
    expect(credentials(codec.push(Buffer.from('2C\n'), 50))).toEqual(['0A1B2C']);
    expect(codec.receiving(50)).toBe(false);
    codec.push(Buffer.alloc(300, 0x41), 60); // over the 256-byte limit: thrown away as it comes
    expect(codec.receiving(60)).toBe(false);
  });

  it('refuses an invalid pattern when the codec is made', () => {
    expect(() => createLineCodec({ linePattern: '([0-9' })).toThrow(/invalid linePattern/);
  });
});
