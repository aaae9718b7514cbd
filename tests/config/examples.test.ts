/**
 * The example configs (config/*.yaml) load as shipped, and so does each commented-out `power:`
 * variant once uncommented, as an installer would: the NUT and GPIO variants are valid, their pins
 * free on the example's board, and the sections the field procedures rely on are there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/index.js';

const DIR = join(import.meta.dirname, '../../config');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

/** Each commented block that begins `# power:`, uncommented (its lines up to the first that is not `#   …`). */
function commentedPowerBlocks(text: string): string[] {
  const lines = text.split('\n');
  const blocks: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (line !== '# power:') continue;
    const block = ['power:'];
    for (const next of lines.slice(i + 1)) {
      if (!next.startsWith('#   ')) break;
      block.push(next.slice(2));
    }
    blocks.push(block.join('\n'));
  }
  return blocks;
}

describe('config/*.yaml', () => {
  it('there are the two examples', () => {
    expect(files.sort()).toEqual(['raspberry-pi.yaml', 'sim.yaml']);
  });

  for (const file of files) {
    const text = readFileSync(join(DIR, file), 'utf8');

    it(`${file} loads as shipped, with a clock section`, () => {
      const config = parseConfig(text, join(DIR, file));
      expect(/^clock:$/m.test(text)).toBe(true);
      expect(config.clock.whenUnsynchronised).toEqual(expect.any(String));
      // Shipped without a UPS: a site without one must not see a UPS alarm.
      expect(config.power).toBeUndefined();
    });

    it(`${file}: each commented power variant loads once uncommented`, () => {
      const blocks = commentedPowerBlocks(text);
      expect(blocks.length).toBeGreaterThan(0);
      const sources = blocks.map((block) => {
        const config = parseConfig(`${text}\n${block}\n`, join(DIR, file));
        expect(config.power).toBeDefined();
        return config.power!.nut ? 'nut' : 'gpio';
      });
      // The Pi shows both sources; the simulation only the contacts it can drive.
      expect(sources.sort()).toEqual(file === 'raspberry-pi.yaml' ? ['gpio', 'nut'] : ['gpio']);
    });
  }

  it('the Raspberry Pi example bars a door until it is commissioned; the simulation does not', () => {
    const rpi = parseConfig(
      readFileSync(join(DIR, 'raspberry-pi.yaml'), 'utf8'),
      join(DIR, 'raspberry-pi.yaml'),
    );
    expect(rpi.doors.map((d) => d.requireCommissioning)).toEqual([true]);
    expect(rpi.clock.whenUnsynchronised).toBe('staff_always_only');
    const sim = parseConfig(readFileSync(join(DIR, 'sim.yaml'), 'utf8'), join(DIR, 'sim.yaml'));
    expect(sim.doors.map((d) => d.requireCommissioning ?? false)).toEqual([false]);
  });
});
