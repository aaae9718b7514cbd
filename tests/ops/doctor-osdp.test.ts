/** `sekisho doctor` on an OSDP bus: the reader that answers is named, the absent one fails, both warn plain. */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import { runChecks } from '../../controller/doctor.js';
import { doorConfig, tempDir } from '../helpers/controller.js';
import { OsdpPdSim } from '../helpers/osdp-pd/index.js';
import { makePtyPair } from '../helpers/pty.js';

describe('doctor, OSDP readers', () => {
  const dir = tempDir('sekisho-doctor-osdp-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('polls the bus once, identifies the reader that answers and fails the one that does not', async () => {
    const pty = await makePtyPair(dir);
    const sim = new OsdpPdSim(pty.a, [{ address: 1, serial: 0x12345678 }]);
    await sim.open();
    try {
      const osdp = { pollMs: 50, replyTimeoutMs: 100, secure: false };
      const cfg = doorConfig(dir, [
        { id: 'entry', path: pty.b, protocol: 'osdp', osdp: { ...osdp, address: 1 } },
        { id: 'exit', path: pty.b, protocol: 'osdp', osdp: { ...osdp, address: 2 } },
      ]);
      const file = join(dir, 'config.yaml');
      writeFileSync(file, JSON.stringify(cfg));
      const checks = await runChecks(loadConfig(file), { serialListenMs: 1500 });
      const of = (what: string) =>
        checks.filter((c) => c.what === what).map((c) => `${c.verdict}: ${c.detail}`);
      expect(of('reader entry')).toEqual([
        expect.stringMatching(/^WARN: OSDP in plain text \(secure: false\)/),
        expect.stringMatching(
          /^OK: .* address 1 answers: vendor 001B2C, model 7, serial 12345678, firmware 2\.1\.0/,
        ),
      ]);
      expect(of('reader exit')).toEqual([
        expect.stringMatching(/^WARN: OSDP in plain text/),
        expect.stringMatching(
          /^FAIL: .* address 2 does not answer \(no reply\) — check the address and baud rate/,
        ),
      ]);
      // One start-up for the reader that answered, not one per check.
      expect(sim.pd(1).commands.filter((c) => c.code === 0x61)).toHaveLength(1);
    } finally {
      await sim.close();
      await pty.stop();
    }
  });
});
