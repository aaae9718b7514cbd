/**
 * Measures verifyJournal over a large journal (not part of `vitest run`):
 *   npx tsx tests/journal/bench-verify.ts [rows=1000000] [file]
 * Builds the file once (kept for reruns when a file is given), then times a full verification.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uncataloguedType } from '../../controller/domain/index.js';
import {
  Journal,
  openDatabase,
  type UncataloguedInput,
  verifyJournal,
} from '../../controller/journal/index.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const given = process.argv[3];
const dir = given ? undefined : mkdtempSync(join(tmpdir(), 'sekisho-bench-'));
const file = given ?? join(dir!, 'journal.db');
const fresh = !existsSync(file);
const db = openDatabase(file);
const journal = new Journal(db, { controllerId: 'bench' });

if (fresh || journal.head().seq < rows) {
  const t0 = performance.now();
  const batch: UncataloguedInput[] = [];
  const start = journal.head().seq;
  for (let i = start; i < rows; i++) {
    batch.push({
      type: uncataloguedType(i % 3 === 0 ? 'door_state' : 'access_decision'),
      at: 1_767_225_600_000 + i * 1000,
      door: 'machine-room',
      person: `p_${(i % 500).toString(16).padStart(12, '0')}`,
      actor: null,
      data: {
        badge: `b_${(i % 700).toString(16).padStart(12, '0')}`,
        direction: i % 2 ? 'in' : 'out',
        granted: true,
        reason: 'granted',
        reader: 'r1',
      },
    });
    if (batch.length === 10_000) journal.appendMany(batch.splice(0), { outbox: false });
  }
  if (batch.length) journal.appendMany(batch, { outbox: false });
  const s = (performance.now() - t0) / 1000;
  console.log(
    `built ${rows - start} rows in ${s.toFixed(1)} s (${Math.round((rows - start) / s)} rows/s, batched)`,
  );
}

for (let run = 0; run < 3; run++) {
  const t0 = performance.now();
  const result = verifyJournal(db);
  const s = (performance.now() - t0) / 1000;
  console.log(
    `verify: ok=${result.ok} rows=${result.rows} in ${s.toFixed(2)} s = ${Math.round(result.rows / s).toLocaleString('en')} rows/s`,
  );
}
db.close();
if (dir) rmSync(dir, { recursive: true, force: true });
