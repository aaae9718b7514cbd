/**
 * The collector's PostgreSQL store against a real cluster (tests/helpers/postgres.ts): idempotent
 * inserts by (controller, seq), forks kept, rows by month, append-only even for the owner, the
 * collector's own role unable to remove anything, retention that never touches five years, and a
 * server restart survived.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorRoleGrants, SCHEMA_VERSION } from '../../controller/collector/schema.js';
import { type CollectedRow, CollectorStore, CollectorStoreError } from '../../controller/collector/store.js';
import { TestPostgres } from '../helpers/postgres.js';

const pg = new TestPostgres();
const stores: CollectorStore[] = [];
let db = 0;

beforeAll(async () => {
  await pg.start();
}, 60_000);
afterAll(async () => {
  for (const s of stores) await s.close().catch(() => {});
  await pg.destroy();
});

/** A fresh database and a store on it, as the owner. */
async function fresh(): Promise<{ name: string; store: CollectorStore }> {
  const name = `collector_${++db}`;
  await pg.createDatabase(name);
  const store = await CollectorStore.open(pg.connection(name));
  stores.push(store);
  return { name, store };
}

/** A chain of rows as a controller publishes them. */
function chain(
  n: number,
  start: { seq: number; hash: string; at: number },
  extra: Record<string, unknown> = {},
) {
  const rows: CollectedRow[] = [];
  let prev = start.hash;
  for (let i = 0; i < n; i++) {
    const seq = start.seq + i;
    const at = start.at + i * 60_000;
    const bytes = JSON.stringify({
      v: 1,
      seq,
      at,
      type: 'access',
      door: 'mr1',
      person: i % 2 ? 'p_sato' : 'p_yamada',
      actor: null,
      data: { badge: i % 2 ? 'b_sato' : 'b_yamada', personName: i % 2 ? '佐藤 花子' : '山田 太郎', ...extra },
    });
    const hash = createHash('sha256')
      .update(prev + bytes)
      .digest('hex');
    rows.push({ seq, hash, prevHash: prev, bytes });
    prev = hash;
  }
  return rows;
}

const ZERO = '0'.repeat(64);
const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAexample\n-----END PUBLIC KEY-----\n';
const DEC_2026 = Date.UTC(2026, 11, 7, 9, 0);

describe('collector store', () => {
  it('migrates once, and refuses a schema newer than its own', async () => {
    const { name, store } = await fresh();
    expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
    const again = await CollectorStore.open(pg.connection(name));
    stores.push(again);
    expect(await again.schemaVersion()).toBe(SCHEMA_VERSION);
    await pg.sql(
      `INSERT INTO collector_schema (version, name) VALUES (${SCHEMA_VERSION + 1}, 'from the future')`,
      name,
    );
    await expect(CollectorStore.open(pg.connection(name))).rejects.toMatchObject({ code: 'schema_newer' });
  });

  it('pins a controller key: the same again is fine, another is refused', async () => {
    const { store } = await fresh();
    await store.enrol('honcho-mr1', PEM, 'k1');
    await store.enrol('honcho-mr1', PEM, 'k1');
    await expect(store.enrol('honcho-mr1', PEM.replace('example', 'attacker'), 'k2')).rejects.toMatchObject({
      code: 'key_mismatch',
    });
    expect(await store.publicKey('honcho-mr1')).toBe(PEM);
  });

  it('stores each (controller, seq) once and keeps a fork beside the first', async () => {
    const { store } = await fresh();
    await store.enrol('honcho-mr1', PEM, 'k1');
    await store.enrol('dr-site', PEM, 'k1');
    const rows = chain(10, { seq: 1, hash: ZERO, at: DEC_2026 });
    expect((await store.insert('honcho-mr1', rows)).inserted).toEqual(rows.map((r) => r.seq));
    // The same seqs from another controller are other rows.
    expect((await store.insert('dr-site', rows.slice(0, 3))).inserted).toEqual([1, 2, 3]);

    const again = await store.insert('honcho-mr1', rows.slice(4, 8));
    expect(again).toEqual({ inserted: [], duplicates: [5, 6, 7, 8], forks: [] });

    const forked = chain(3, { seq: 5, hash: rows[3]!.hash, at: DEC_2026 + 3_600_000 }, { forged: true });
    const r = await store.insert('honcho-mr1', [
      ...forked,
      ...chain(1, { seq: 11, hash: rows[9]!.hash, at: DEC_2026 + 600_000 }),
    ]);
    expect(r.inserted).toEqual([11]);
    expect(r.forks.map((f) => f.seq)).toEqual([5, 6, 7]);
    expect(r.forks[0]!.storedHash).toBe(rows[4]!.hash);

    const stored = await store.search({ controllers: ['honcho-mr1'], limit: 100 });
    expect(stored.map((s) => s.seq)).toEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(stored.find((s) => s.seq === 5)!.bytes).toBe(rows[4]!.bytes);
    const forks = await store.forks('honcho-mr1');
    expect(forks.map((f) => [f.seq, f.hash])).toEqual(forked.map((f) => [f.seq, f.hash]));
    expect((await store.controllers()).find((c) => c.id === 'honcho-mr1')!.forks).toBe(3);
  });

  it('refuses an unknown controller or a malformed row and writes nothing', async () => {
    const { store } = await fresh();
    const rows = chain(2, { seq: 1, hash: ZERO, at: DEC_2026 });
    await expect(store.insert('nobody', rows)).rejects.toMatchObject({ code: 'unknown_controller' });
    await store.enrol('honcho-mr1', PEM, 'k1');
    const bad = [...rows, { ...rows[1]!, seq: 3 }];
    await expect(store.insert('honcho-mr1', bad)).rejects.toMatchObject({ code: 'bad_row' });
    await expect(store.insert('honcho-mr1', [{ ...rows[0]!, bytes: '{not json' }])).rejects.toBeInstanceOf(
      CollectorStoreError,
    );
    expect(await store.search({ limit: 10 })).toEqual([]);
  });

  it('keeps rows by month and finds them by person, card, room and time across rooms', async () => {
    const { name, store } = await fresh();
    await store.enrol('honcho-mr1', PEM, 'k1');
    await store.enrol('dr-site', PEM, 'k1');
    const nov = Date.UTC(2026, 10, 30, 23, 0);
    await store.insert('honcho-mr1', chain(4, { seq: 1, hash: ZERO, at: nov })); // 23:00 … 23:03 on 30 Nov
    await store.insert('dr-site', chain(4, { seq: 1, hash: ZERO, at: Date.UTC(2026, 11, 1, 0, 0) }));
    const parts = await pg.sql(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'journal_rows' ORDER BY 1`,
      name,
    );
    expect(parts.rows.map((r) => r.relname)).toEqual(['journal_rows_y2026m11', 'journal_rows_y2026m12']);

    const sato = await store.search({ person: 'p_sato', limit: 10 });
    expect(sato.map((r) => `${r.controller}:${r.seq}`)).toEqual([
      'dr-site:4',
      'dr-site:2',
      'honcho-mr1:4',
      'honcho-mr1:2',
    ]);
    expect(sato[0]!.personName).toBe('佐藤 花子');
    expect((await store.search({ badge: 'b_yamada', limit: 10 })).length).toBe(4);
    const dec = await store.search({ from: Date.UTC(2026, 11, 1), to: Date.UTC(2027, 0, 1), limit: 10 });
    expect(dec.every((r) => r.controller === 'dr-site')).toBe(true);
    expect((await store.search({ door: 'mr1', controllers: ['honcho-mr1'], limit: 10 })).length).toBe(4);

    const page1 = await store.search({ limit: 3 });
    const last = page1[2]!;
    const page2 = await store.search({
      limit: 10,
      before: { at: last.at, controller: last.controller, seq: last.seq },
    });
    expect([...page1, ...page2].map((r) => `${r.controller}:${r.seq}`)).toEqual(
      (await store.search({ limit: 10 })).map((r) => `${r.controller}:${r.seq}`),
    );
    await expect(store.search({ limit: 0 })).rejects.toMatchObject({ code: 'bad_filter' });
  });

  it('refuses to change or delete a collected row, even as the tables’ owner', async () => {
    const { name, store } = await fresh();
    await store.enrol('honcho-mr1', PEM, 'k1');
    const rows = chain(2, { seq: 1, hash: ZERO, at: DEC_2026 });
    await store.insert('honcho-mr1', rows);
    await store.insert('honcho-mr1', chain(1, { seq: 2, hash: rows[0]!.hash, at: DEC_2026 + 1 }));
    for (const sql of [
      `UPDATE journal_rows SET bytes = 'x' WHERE seq = 1`,
      `DELETE FROM journal_rows WHERE seq = 1`,
      `DELETE FROM forks`,
    ])
      await expect(pg.sql(sql, name), sql).rejects.toThrow(/append-only/);
    expect((await store.search({ limit: 10 })).length).toBe(2);
  });

  it('gives the collector’s own role append and read, and nothing that removes rows', async () => {
    const { name, store } = await fresh();
    await store.enrol('honcho-mr1', PEM, 'k1');
    const role = `sekisho_collector_${db}`;
    const password = `collector-pw-${db}`;
    await pg.sql(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await pg.sql(collectorRoleGrants(role), name);
    const own = await CollectorStore.open(pg.connection(name, role, password), { migrate: false });
    stores.push(own);
    // A month no one created yet: made through the owner's function.
    expect(
      (await own.insert('honcho-mr1', chain(3, { seq: 1, hash: ZERO, at: Date.UTC(2027, 2, 3) }))).inserted,
    ).toEqual([1, 2, 3]);
    await own.setVerified('honcho-mr1', 3, 'f'.repeat(64), Date.UTC(2027, 2, 3));
    expect((await own.controllers())[0]!.verifiedSeq).toBe(3);
    const asRole = async (sql: string) => {
      const c = new (await import('pg')).default.Client(pg.connection(name, role, password));
      await c.connect();
      try {
        return await c.query(sql);
      } finally {
        await c.end();
      }
    };
    for (const sql of [
      'DELETE FROM journal_rows',
      'TRUNCATE journal_rows',
      'DROP TABLE journal_rows_y2027m03',
      'ALTER TABLE journal_rows DISABLE TRIGGER journal_rows_append_only',
      "UPDATE controllers SET public_key = 'mine'",
      'DELETE FROM forks',
    ])
      await expect(asRole(sql), sql).rejects.toThrow(/permission denied|must be owner/);
    await expect(own.applyRetention(Date.UTC(2040, 0, 1))).rejects.toThrow(/permission denied|must be owner/);
    expect((await store.search({ limit: 10 })).length).toBe(3);
    // Without the owner's migration, the role's collector says what to run.
    const { name: empty } = await fresh();
    await pg.sql(`GRANT CONNECT ON DATABASE ${empty} TO ${role}`);
    await pg.sql(`DROP TABLE collector_schema CASCADE`, empty).catch(() => {});
    await expect(
      CollectorStore.open(pg.connection(empty, role, password), { migrate: false }),
    ).rejects.toMatchObject({ code: 'schema_older' });
  });

  it('drops only months wholly older than five years', async () => {
    const { store } = await fresh();
    await store.enrol('honcho-mr1', PEM, 'k1');
    const now = Date.now();
    const y = new Date(now).getUTCFullYear();
    const old = Date.UTC(y - 7, 0, 15);
    const edge = Date.UTC(y - 5, new Date(now).getUTCMonth(), 1) + 3_600_000; // the month five years ago
    const recent = Date.UTC(y - 2, 5, 1);
    const a = chain(2, { seq: 1, hash: ZERO, at: old });
    const b = chain(2, { seq: 3, hash: a[1]!.hash, at: edge });
    const c = chain(2, { seq: 5, hash: b[1]!.hash, at: recent });
    await store.insert('honcho-mr1', [...a, ...b, ...c]);
    await expect(store.applyRetention(now, 4)).rejects.toMatchObject({ code: 'retention_too_short' });
    expect(await store.applyRetention(now)).toEqual([`journal_rows_y${y - 7}m01`]);
    expect((await store.search({ limit: 10 })).map((r) => r.seq)).toEqual([6, 5, 4, 3]);
    expect(await store.applyRetention(now)).toEqual([]);
  });

  it('comes back after PostgreSQL restarts: a failed batch is an error, the next one stores', async () => {
    const { store } = await fresh();
    await store.enrol('honcho-mr1', PEM, 'k1');
    const rows = chain(6, { seq: 1, hash: ZERO, at: DEC_2026 });
    await store.insert('honcho-mr1', rows.slice(0, 2));
    await pg.stop();
    await expect(store.insert('honcho-mr1', rows.slice(2, 4))).rejects.toThrow();
    await pg.start();
    const r = await store.insert('honcho-mr1', rows.slice(2));
    expect(r.inserted).toEqual([3, 4, 5, 6]);
    expect((await store.search({ limit: 10 })).length).toBe(6);
  }, 60_000);

  it('loses nothing committed when PostgreSQL is killed', async () => {
    const { store } = await fresh();
    await store.enrol('honcho-mr1', PEM, 'k1');
    const rows = chain(50, { seq: 1, hash: ZERO, at: DEC_2026 });
    await store.insert('honcho-mr1', rows.slice(0, 30));
    await pg.kill();
    await pg.start();
    const r = await store.insert('honcho-mr1', rows);
    expect(r.duplicates).toEqual(rows.slice(0, 30).map((x) => x.seq));
    expect(r.inserted.length).toBe(20);
  }, 60_000);
});
