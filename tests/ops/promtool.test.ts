/**
 * `/metrics` of a real `sekisho start` passes Prometheus's own lint, `promtool check metrics`
 * (Debian's `prometheus` package, installed by `scripts/setup.sh --test`). promtool missing is a
 * failure, not a skip: the lint is the point of the test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cli,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';

const PROMTOOL = '/usr/bin/promtool';
const SLOW = 120_000;

/** promtool's verdict on an exposition text: its exit code and what it printed. */
function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('/metrics and promtool check metrics', () => {
  const dir = tempDir('sekisho-promtool-');
  const storage = join(dir, 'data');
  const cfg = writeConfig(dir, doorConfig(dir, simReaders()));
  let ctl: Running;

  beforeAll(async () => {
    ctl = await startController(cfg, storage, 60_000);
  }, SLOW);
  afterAll(async () => {
    await ctl?.stop();
  }, SLOW);

  it('promtool is installed (scripts/setup.sh --test) and refuses a gauge with quantiles', () => {
    expect(existsSync(PROMTOOL), `${PROMTOOL} missing: run scripts/setup.sh --test`).toBe(true);
    // The form /metrics used to have: proves this promtool lints what the test relies on.
    const bad = promtool('# HELP x_seconds A delay.\n# TYPE x_seconds gauge\nx_seconds{quantile="0.5"} 1\n');
    expect(bad.status).not.toBe(0);
    expect(bad.out).toContain('quantile');
  });

  it(
    "the running controller's /metrics passes the lint, the event-loop delay as a summary",
    async () => {
      const made = cli(['token', 'create', 'prometheus', '--scope', 'metrics', '--config', cfg]);
      expect(made.status, made.stderr).toBe(0);
      const secret = made.stdout.trim();
      const scrape = async () => {
        const r = await fetch(`${ctl.base}/metrics`, { headers: { authorization: `Bearer ${secret}` } });
        expect(r.status).toBe(200);
        return r.text();
      };
      // Some traffic first, so the counters and the summary have samples.
      expect(
        (await ctl.api('POST', '/api/sim/badge', { reader: 'entry', credential: 'FC00000001' })).status,
      ).toBe(200);
      await scrape();
      const text = await scrape();
      expect(text).toContain('# TYPE sekisho_event_loop_delay_seconds summary');
      expect(text).toMatch(/^sekisho_event_loop_delay_seconds_count \d+$/m);
      expect(text).toMatch(/^sekisho_event_loop_delay_seconds_sum [\d.e+-]+$/m);
      const lint = promtool(text);
      expect(lint.out).toBe('');
      expect(lint.status).toBe(0);
    },
    SLOW,
  );
});
