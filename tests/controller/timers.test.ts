/**
 * A controller that runs for months must not accumulate anything per badge. Node keeps an empty timer
 * list per distinct duration of a cleared unref'd timer until that duration has passed; re-arming the
 * visit deadline (the end of the day: hours away) with a fresh duration at every badge left one list
 * per badge in memory for up to a day. Counted here in a real heap snapshot.
 */

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import type { Controller } from '../../controller/runtime/index.js';
import { startInProcess } from '../helpers/in-process.js';
import { tempDir } from '../helpers/util.js';

function countInHeap(constructorName: string, dir: string): number {
  const file = writeHeapSnapshot(join(dir, 'heap.heapsnapshot'));
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[] } };
    nodes: number[];
    strings: string[];
  };
  rmSync(file);
  const width = snap.snapshot.meta.node_fields.length;
  const nameAt = snap.snapshot.meta.node_fields.indexOf('name');
  let n = 0;
  for (let i = 0; i < snap.nodes.length; i += width)
    if (snap.strings[snap.nodes[i + nameAt]!] === constructorName) n++;
  return n;
}

const started: Controller[] = [];
afterEach(async () => {
  for (const c of started.splice(0)) await c.stop('test end');
});

describe('timers', () => {
  it('1,000 badges leave no timer lists behind', async () => {
    const dir = tempDir();
    const { c } = await startInProcess(dir);
    started.push(c);
    const at = Date.now();
    const p = c.registry.addPerson({ displayId: 'S-1', name: 'Sato', category: 'staff' }, 'test', at);
    c.registry.addBadge({ personId: p.id, credential: '0A1B2C3D4E' }, 'test', at);
    c.registry.grantDoor(p.id, 'machine-room', 'always', 'test', at);
    const before = countInHeap('TimersList', dir);
    let granted = 0;
    for (let i = 0; i < 1000; i++) {
      const out = c.simulateBadge(i % 2 === 0 ? 'entry' : 'exit', '0A1B2C3D4E');
      if (out.decision.granted) granted++;
      // A millisecond apart, as real badges are: each step asks for the deadline at a new time.
      const t = Date.now();
      while (Date.now() === t) {
        /* wait for the next millisecond */
      }
    }
    expect(granted).toBe(1000);
    const after = countInHeap('TimersList', dir);
    expect(after - before).toBeLessThan(20);
  });
});
