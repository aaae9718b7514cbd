/** readers[].protocol: osdp — the osdp block, secure: false required, one bus per path. */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, OSDP_SECURE_UNSUPPORTED, parseConfig } from '../../controller/config/index.js';
import { minimalConfig } from '../helpers/config.js';

function problems(cfg: unknown): string[] {
  try {
    parseConfig(stringify(cfg));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

const withReaders = (readers: Record<string, unknown>[]) => {
  const cfg = minimalConfig() as unknown as { readers: unknown[]; doors: unknown[] };
  cfg.readers = readers;
  (cfg.doors[0] as Record<string, unknown>).entryReader = readers[0]!.id;
  if (readers[1]) (cfg.doors[0] as Record<string, unknown>).exitReader = readers[1].id;
  return cfg;
};
const osdp = (id: string, address: number, extra: Record<string, unknown> = {}, path = '/dev/ttyUSB0') => ({
  id,
  path,
  protocol: 'osdp',
  osdp: { address, secure: false, ...extra },
});

describe('OSDP reader config', () => {
  it('fills the defaults: 9600 baud, poll 100 ms, reply 200 ms, offline after 8 s', () => {
    const cfg = parseConfig(stringify(withReaders([osdp('entry', 1), osdp('exit', 2)])));
    expect(cfg.readers[0]!.osdp).toEqual({
      address: 1,
      baudRate: 9600,
      pollMs: 100,
      replyTimeoutMs: 200,
      offlineAfterMs: 8000,
      secure: false,
    });
  });

  it('requires secure: false to be said, and refuses secure: true as not yet supported', () => {
    const missing = withReaders([
      { id: 'entry', path: '/dev/ttyUSB0', protocol: 'osdp', osdp: { address: 1 } },
    ]);
    expect(problems(missing).join('\n')).toMatch(
      /readers\[0\]\.osdp\.secure: osdp\.secure is required: false/,
    );
    expect(problems(withReaders([osdp('entry', 1, { secure: true })]))).toContain(
      `readers[0].osdp.secure: ${OSDP_SECURE_UNSUPPORTED}`,
    );
  });

  it('needs the osdp block with protocol osdp, and only then', () => {
    expect(
      problems(withReaders([{ id: 'entry', path: '/dev/ttyUSB0', protocol: 'osdp' }])).join('\n'),
    ).toMatch(/readers\[0\]\.osdp: protocol osdp needs an osdp block/);
    expect(
      problems(
        withReaders([
          { id: 'entry', path: '/dev/ttyUSB0', protocol: 'rdm6300', osdp: { address: 1, secure: false } },
        ]),
      ),
    ).toContain('readers[0].osdp: only for protocol: osdp');
  });

  it('refuses two readers at one address on one bus, and two line speeds', () => {
    expect(problems(withReaders([osdp('entry', 1), osdp('exit', 1)]))).toContain(
      "readers[1].osdp.address: address 1 on /dev/ttyUSB0 is already readers[0]'s: readers on one bus need distinct addresses",
    );
    expect(
      problems(withReaders([osdp('entry', 1), osdp('exit', 2, { baudRate: 38400 })])).join('\n'),
    ).toMatch(/readers\[1\]\.osdp\.baudRate: \/dev\/ttyUSB0 runs at 9600 baud/);
    // The same address on two buses is fine.
    expect(() =>
      parseConfig(stringify(withReaders([osdp('entry', 1), osdp('exit', 1, {}, '/dev/ttyUSB1')]))),
    ).not.toThrow();
  });

  it('refuses another protocol on an OSDP bus', () => {
    expect(
      problems(withReaders([osdp('entry', 1), { id: 'exit', path: '/dev/ttyUSB0', protocol: 'rdm6300' }])),
    ).toContain('readers[1].path: /dev/ttyUSB0 is an OSDP bus; a rdm6300 reader needs a port of its own');
  });

  it('bounds the address, the line speed and the timings', () => {
    const p = problems(
      withReaders([
        osdp('entry', 127, { baudRate: 14400, pollMs: 500, replyTimeoutMs: 5, offlineAfterMs: 100 }),
      ]),
    );
    expect(p.join('\n')).toMatch(/osdp\.address/);
    expect(p).toContain(
      'readers[0].osdp.baudRate: expected one of 9600, 19200, 38400, 57600, 115200, 230400',
    );
    expect(p).toContain('readers[0].osdp.pollMs: must be 20–200 ms');
    expect(p).toContain('readers[0].osdp.replyTimeoutMs: must be 20–1000 ms');
    expect(p).toContain('readers[0].osdp.offlineAfterMs: must be 1000–60000 ms');
  });
});
