/**
 * The collector's store (`--only collector`): a real PostgreSQL cluster started here
 * (tests/helpers/postgres.ts), fed with the bench dataset's journal.
 *
 * - Catch-up: a controller's journal replayed into the store as the collector does it — every row's
 *   hash recomputed from its bytes and chained, then `CollectorStore.insert` in batches (the
 *   idempotency gate, the fork check, month partitions) — beside bare batched INSERTs of the same
 *   rows into the same partitioned table (no hash, no gate) in the same run. Goal ≥ 0.5×.
 * - Cross-room queries: the same journal stored under several controller ids up to the target row
 *   count; then the log's searches (a person over a month, a card over a month, a room's day, the
 *   newest page of everything), p95 against the goal of 100 ms.
 */
import Database from 'better-sqlite3';
import { type CollectedRow, CollectorStore, monthPartition } from '../controller/collector/store.js';
import { chainHash, GENESIS_HASH } from '../controller/journal/journal.js';
import { TestPostgres } from '../tests/helpers/postgres.js';
import type { Figure } from './lib/report.js';
import { fmt, now, rng, summarize } from './lib/stats.js';

const BATCH = 5000;
const PEM = '-----BEGIN PUBLIC KEY-----\nbench\n-----END PUBLIC KEY-----\n';

interface Source {
  rows: CollectedRow[];
  persons: string[];
  badges: string[];
  doors: string[];
  from: number;
  to: number;
}

/** The first `limit` rows of the journal, with their chain fields. */
function readJournal(dbFile: string, limit: number): Source {
  const db = new Database(dbFile, { readonly: true });
  try {
    const rows: CollectedRow[] = [];
    let prev = GENESIS_HASH;
    const persons = new Set<string>();
    const badges = new Set<string>();
    const doors = new Set<string>();
    for (const r of db
      .prepare('SELECT seq, hash, bytes, person, door FROM journal ORDER BY seq LIMIT ?')
      .iterate(limit) as Iterable<{
      seq: number;
      hash: string;
      bytes: string;
      person: string | null;
      door: string | null;
    }>) {
      rows.push({ seq: r.seq, hash: r.hash, prevHash: prev, bytes: r.bytes });
      prev = r.hash;
      if (r.person && persons.size < 5000) persons.add(r.person);
      if (r.door) doors.add(r.door);
      if (badges.size < 5000) {
        const b = /"badge":"(b_[^"]+)"/.exec(r.bytes)?.[1];
        if (b) badges.add(b);
      }
    }
    const at = (r: CollectedRow) => (JSON.parse(r.bytes) as { at: number }).at;
    return {
      rows,
      persons: [...persons],
      badges: [...badges],
      doors: [...doors],
      from: at(rows[0]!),
      to: at(rows[rows.length - 1]!),
    };
  } finally {
    db.close();
  }
}

/** Bare batched INSERTs of the rows into journal_rows (months made first). */
async function bareInsert(
  pg: TestPostgres,
  database: string,
  controller: string,
  rows: readonly CollectedRow[],
) {
  const c = pg.client(database);
  await c.connect();
  try {
    // Timed from the parse: a bare insert needs the columns too, and the months.
    const t = now();
    const months = new Set<string>();
    const parsed = rows.map((r) => JSON.parse(r.bytes) as Record<string, unknown>);
    for (const p of parsed) {
      const m = monthPartition(p.at as number);
      if (!months.has(m.name)) {
        months.add(m.name);
        await c.query('SELECT collector_ensure_month($1::timestamptz)', [m.from]);
      }
    }
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const meta = parsed.slice(i, i + BATCH);
      const text = (v: unknown) => (typeof v === 'string' ? v : null);
      await c.query(
        `INSERT INTO journal_rows (controller, seq, at, type, door, person, actor, badge, person_name, hash, prev_hash, bytes)
         SELECT $1, s, to_timestamp(a / 1000.0), ty, d, p, ac, b, pn, h, ph, by
         FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::text[], $10::text[], $11::text[], $12::text[]) AS t(s, a, ty, d, p, ac, b, pn, h, ph, by)`,
        [
          controller,
          batch.map((r) => r.seq),
          meta.map((m) => m.at),
          meta.map((m) => m.type),
          meta.map((m) => text(m.door)),
          meta.map((m) => text(m.person)),
          meta.map((m) => text(m.actor)),
          meta.map((m) => text((m.data as Record<string, unknown>)?.badge)),
          meta.map((m) => text((m.data as Record<string, unknown>)?.personName)),
          batch.map((r) => r.hash),
          batch.map((r) => r.prevHash),
          batch.map((r) => r.bytes),
        ],
      );
    }
    return now() - t;
  } finally {
    await c.end();
  }
}

export async function benchCollector(
  dbFile: string,
  size: { rows: number; queryRows: number; queries: number },
  log: (s: string) => void,
): Promise<{ figures: Figure[]; extra: Record<string, unknown> }> {
  const src = readJournal(dbFile, size.rows);
  const n = src.rows.length;
  const pg = new TestPostgres();
  await pg.start();
  try {
    // Catch-up as the collector does it.
    await pg.createDatabase('catchup');
    const store = await CollectorStore.open(pg.connection('catchup'));
    await store.enrol('bench-ctl', PEM, 'bench');
    log(`collector: catch-up of ${n.toLocaleString('en')} rows …`);
    let t = now();
    let prev = GENESIS_HASH;
    for (let i = 0; i < n; i += BATCH) {
      const batch = src.rows.slice(i, i + BATCH);
      for (const r of batch) {
        if (r.prevHash !== prev || chainHash(prev, r.bytes) !== r.hash)
          throw new Error(`seq ${r.seq} does not verify`);
        prev = r.hash;
      }
      const res = await store.insert('bench-ctl', batch);
      if (res.inserted.length !== batch.length)
        throw new Error('catch-up stored fewer rows than it was given');
    }
    const catchUpMs = now() - t;

    // The same rows, bare.
    await pg.createDatabase('bare');
    const bareStore = await CollectorStore.open(pg.connection('bare'));
    await bareStore.close();
    log('collector: bare batched INSERTs of the same rows …');
    const bareMs = await bareInsert(pg, 'bare', 'bench-ctl', src.rows);

    // Cross-room queries on queryRows rows: copies of the journal under other controller ids.
    const copies = Math.max(0, Math.ceil(size.queryRows / n) - 1);
    log(`collector: ${copies} more rooms for ${((copies + 1) * n).toLocaleString('en')} rows …`);
    t = now();
    for (let k = 1; k <= copies; k++) {
      await store.enrol(`room-${k}`, PEM, 'bench');
      await bareInsert(pg, 'catchup', `room-${k}`, src.rows);
    }
    await pg.sql('ANALYZE journal_rows', 'catchup');
    const loadS = (now() - t) / 1000;
    const total = Number((await pg.sql('SELECT count(*) AS n FROM journal_rows', 'catchup')).rows[0].n);
    const random = rng(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const month = 30 * 86_400_000;
    const span = Math.max(1, src.to - src.from - month);
    const kinds = {
      person: () => {
        const from = src.from + Math.floor(random() * span);
        return store.search({ person: pick(src.persons), from, to: from + month, limit: 100 });
      },
      card: () => {
        const from = src.from + Math.floor(random() * span);
        return store.search({ badge: pick(src.badges), from, to: from + month, limit: 100 });
      },
      room: () => {
        const from = src.from + Math.floor(random() * span);
        return store.search({
          controllers: [copies > 0 ? `room-${1 + Math.floor(random() * copies)}` : 'bench-ctl'],
          door: pick(src.doors),
          from,
          to: from + 86_400_000,
          limit: 100,
        });
      },
      newest: () => store.search({ limit: 100 }),
    };
    const lat: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
    const all: number[] = [];
    for (let i = 0; i < size.queries; i++) {
      for (const [k, q] of Object.entries(kinds)) {
        const q0 = now();
        await q();
        const ms = now() - q0;
        lat[k]!.push(ms);
        all.push(ms);
      }
    }
    await store.close();

    const catchUpRate = n / (catchUpMs / 1000);
    const bareRate = n / (bareMs / 1000);
    const ratio = catchUpRate / bareRate;
    const q = summarize(all);
    const figures: Figure[] = [
      {
        group: 'collector',
        measure: `catch-up into PostgreSQL, hashes recomputed, idempotent insert (${n.toLocaleString('en')} rows)`,
        figure: `${fmt(catchUpRate)} rows/s`,
        limit: `${fmt(bareRate)} rows/s (bare batched INSERTs, same rows)`,
        ratio: `${ratio.toFixed(2)}×`,
        goal: '≥ 0.5×',
        met: ratio >= 0.5,
      },
      {
        group: 'collector',
        measure: `cross-room log queries, ${Object.keys(kinds).join(' / ')} (${total.toLocaleString('en')} rows, ${copies + 1} rooms, ${all.length} queries)`,
        figure: `p50 ${fmt(q.p50)} / p95 ${fmt(q.p95)} ms`,
        limit: '100 ms (goal)',
        ratio: `${(q.p95 / 100).toFixed(2)}×`,
        goal: 'p95 ≤ 100 ms',
        met: q.p95 <= 100,
      },
    ];
    return {
      figures,
      extra: {
        rows: n,
        catchUpMs,
        bareMs,
        queryRows: total,
        loadS,
        queries: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, summarize(v)])),
      },
    };
  } finally {
    await pg.destroy();
  }
}
