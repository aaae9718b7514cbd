/**
 * The storage's free space on the Live page and in /api/status: red with the floor while
 * `storage_low` holds (a floor above the file system's real free space), plain otherwise.
 */
import { mkdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/index.js';
import { MIB } from '../../controller/domain/index.js';
import { doorConfig, simReaders, tempDir } from '../helpers/controller.js';
import { makeDash, type TestDash } from './helpers.js';

const dashes: TestDash[] = [];
afterEach(async () => {
  for (const d of dashes.splice(0)) await d.close();
});

async function dashWithFloor(lowSpaceMiB?: number): Promise<TestDash> {
  const dir = tempDir('sekisho-dash-space-');
  mkdirSync(dir, { recursive: true });
  const storage = { path: join(dir, 'data'), ...(lowSpaceMiB ? { lowSpaceMiB } : {}) };
  const cfg = doorConfig(dir, simReaders(), { storage });
  const d = await makeDash({
    loaded: {
      config: parseConfig(stringify(cfg)),
      file: join(dir, 'config.yaml'),
      storageDir: join(dir, 'data'),
    },
  });
  dashes.push(d);
  return d;
}

const spaceField = (body: string) =>
  /<span( class="bad")? data-field="storage-space">([^<]*)<\/span>/.exec(body);

describe('free space on the Live page', () => {
  it('shows the free space, red with the floor while storage_low holds', async () => {
    const probe = tempDir('sekisho-dash-space-');
    const s = statfsSync(probe);
    const floor = Math.ceil((s.bavail * s.bsize) / MIB) + 1024;
    const d = await dashWithFloor(floor);
    const manager = await d.login('manager1');
    const page = await manager.req('GET', '/', undefined, { 'accept-language': 'en' });
    expect(page.statusCode).toBe(200);
    const field = spaceField(page.body)!;
    expect(field[1]).toBe(' class="bad"');
    expect(field[2]).toMatch(
      new RegExp(
        `^Low on space: .* free \\(floor ${floor >= 10_240 ? `${(floor / 1024).toFixed(1)} GiB` : `${floor} MiB`}\\)$`,
      ),
    );
    expect(page.body).toContain('Storage low on space'); // the alarm in the Live page's alarm list
    const ja = await manager.req('GET', '/', undefined, { 'accept-language': 'ja' });
    expect(spaceField(ja.body)![2]).toMatch(/^空き容量不足：.*（下限 .*）$/);

    const status = await manager.get('/api/status');
    expect(status.json().storage).toMatchObject({ low: true, floorBytes: floor * MIB, error: null });
  });

  it('plain while there is room', async () => {
    const d = await dashWithFloor();
    const manager = await d.login('manager1');
    const page = await manager.req('GET', '/', undefined, { 'accept-language': 'en' });
    const field = spaceField(page.body)!;
    expect(field[1]).toBeUndefined();
    expect(field[2]).toMatch(/^\d+(\.\d)? (MiB|GiB) free$/);
    expect((await manager.get('/api/status')).json().storage).toMatchObject({ low: false });
  });
});
