/** Commissioning a door whose two OSDP readers share one bus: one port, both probes served. */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readerProbe } from '../../../controller/commission/readers.js';
import { ReaderSchema } from '../../../controller/config/schema.js';
import { OsdpPdSim } from '../../helpers/osdp-pd/index.js';
import { makePtyPair } from '../../helpers/pty.js';
import { tempDir, until } from '../../helpers/util.js';

describe('OSDP commissioning probes', () => {
  const dir = tempDir('sekisho-osdp-probe-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('share the bus, each reporting its own reader, and release the port together', async () => {
    const pty = await makePtyPair(dir);
    const sim = new OsdpPdSim(pty.a, [{ address: 1 }, { address: 2, serial: 0x77 }]);
    await sim.open();
    const cfg = (id: string, address: number) =>
      ReaderSchema.parse({
        id,
        path: pty.b,
        protocol: 'osdp',
        osdp: { address, pollMs: 50, replyTimeoutMs: 100, secure: false },
      });
    const probes = [readerProbe(cfg('entry', 1)), readerProbe(cfg('exit', 2))];
    const badges: string[][] = [[], []];
    probes.forEach((p, i) => {
      p.on('badge', (b) => badges[i]!.push(b.masked));
    });
    try {
      for (const p of probes) p.start();
      await until(() => probes.every((p) => p.online() === true), 'both online');
      expect(probes[1]!.firmware()).toMatch(/serial 00000077, plain/);
      sim.presentW26(2, 5, 4321);
      await until(() => badges[1]!.length === 1, 'exit badge');
      expect(badges[0]).toEqual([]);
      await Promise.all(probes.map((p) => p.stop()));
      // The port is free again: a new probe on the same path opens it.
      const again = readerProbe(cfg('entry', 1));
      again.start();
      await until(() => again.online() === true, 'online again');
      await again.stop();
    } finally {
      await sim.close();
      await pty.stop();
    }
  });
});
