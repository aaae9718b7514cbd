import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uncataloguedType } from '../../controller/domain/index.js';
import { CACHE_KIB, PAGE_SIZE } from '../../controller/journal/db.js';
import {
  canonicalJson,
  checkpointBytes,
  GENESIS_HASH,
  JournalDataError,
  publicKeyId,
  verifyCheckpoint,
  verifyJournal,
} from '../../controller/journal/index.js';
import { fill, openJournal, sampleInput, sqlite, T0, tempDir } from './helpers.js';

describe('append and the hash chain', () => {
  it('writes canonical bytes with a fixed field order and chains SHA-256(prevHash ‖ bytes)', () => {
    const { journal } = openJournal(join(tempDir(), 'j.db'));
    const first = journal.append({
      type: uncataloguedType('access_decision'),
      at: T0,
      door: 'machine-room',
      person: 'p_1',
      data: { z: 1, a: { y: [3, { b: true, a: null }], x: 'テスト' } },
    });
    expect(first.seq).toBe(1);
    expect(first.id).toBe('ctl-1:1');
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(first.bytes).toBe(
      `{"v":2,"seq":1,"at":${T0},"type":"access_decision","door":"machine-room","person":"p_1","actor":null,` +
        '"data":{"a":{"x":"テスト","y":[3,{"a":null,"b":true}]},"z":1}}',
    );
    // Recompute independently of the implementation.
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from(GENESIS_HASH, 'ascii'), Buffer.from(first.bytes, 'utf8')]))
      .digest('hex');
    expect(first.hash).toBe(expected);

    const second = journal.append({
      type: uncataloguedType('door_state'),
      at: T0 + 1,
      door: 'machine-room',
      data: {},
    });
    expect(second.seq).toBe(2);
    expect(second.prevHash).toBe(first.hash);
    expect(second.hash).toBe(
      createHash('sha256')
        .update(first.hash + second.bytes)
        .digest('hex'),
    );
    expect(journal.head()).toEqual({ seq: 2, hash: second.hash });
    expect(journal.get(2)).toEqual(second);
    expect(journal.get(1)).toEqual(first);
  });

  it('verifies an intact chain and reports its head', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    fill(journal, 250);
    const progress: number[] = [];
    const result = verifyJournal(db, { onProgress: (n) => progress.push(n) });
    expect(result).toMatchObject({
      ok: true,
      rows: 250,
      headSeq: 250,
      headHash: journal.head().hash,
      warnings: [],
    });
    expect(result.firstBadSeq).toBeUndefined();
    expect(progress.at(-1)).toBe(250);
  });

  it('verifies an empty journal', () => {
    const { db } = openJournal(join(tempDir(), 'j.db'));
    expect(verifyJournal(db)).toMatchObject({ ok: true, rows: 0, headSeq: 0, headHash: GENESIS_HASH });
  });

  it.each([
    ['undefined', { a: undefined }, /data\.a is a undefined/],
    ['NaN', { n: Number.NaN }, /data\.n is NaN/],
    ['Infinity', { list: [1, Number.POSITIVE_INFINITY] }, /data\.list\[1\] is Infinity/],
    ['a function', { f: () => 1 }, /data\.f is a function/],
    ['a bigint', { big: 10n }, /data\.big is a bigint/],
    ['a Date', { when: new Date(0) }, /data\.when is a Date/],
    [
      'a sparse array',
      (() => {
        const s: number[] = [];
        s[2] = 3;
        return { s };
      })(),
      /data\.s\[0\] is a hole/,
    ],
    [
      'a cycle',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
      /too deeply/,
    ],
  ])('refuses data with %s and writes nothing', (_name, data, message) => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    journal.append(sampleInput(0));
    expect(() =>
      journal.append({ type: uncataloguedType('x'), at: T0, data: data as Record<string, unknown> }),
    ).toThrow(message);
    expect(() =>
      journal.append({ type: uncataloguedType('x'), at: T0, data: data as Record<string, unknown> }),
    ).toThrow(JournalDataError);
    expect(journal.head().seq).toBe(1);
    expect(db.prepare('SELECT COUNT(*) AS n FROM journal').get()).toEqual({ n: 1 });
  });

  it('refuses a bad type, time or column, and a batch with one bad input writes none', () => {
    const { journal } = openJournal(join(tempDir(), 'j.db'));
    expect(() => journal.append({ type: uncataloguedType('Bad Type'), at: T0, data: {} })).toThrow(/type/);
    expect(() => journal.append({ type: uncataloguedType('x'), at: 1.5, data: {} })).toThrow(/at must be/);
    expect(() => journal.append({ type: uncataloguedType('x'), at: -1, data: {} })).toThrow(/at must be/);
    expect(() => journal.append({ type: uncataloguedType('x'), at: T0, door: '', data: {} })).toThrow(/door/);
    expect(() =>
      journal.appendMany([sampleInput(0), { type: uncataloguedType('x'), at: T0, data: { n: Number.NaN } }]),
    ).toThrow(JournalDataError);
    expect(journal.head().seq).toBe(0);
  });

  it('canonicalJson sorts keys recursively and is stable', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }], é: 'x', A: -0 })).toBe(
      '{"A":0,"a":[{"c":2,"d":1}],"b":1,"é":"x"}',
    );
    expect(canonicalJson({ s: 'quote " and \\ and \n' })).toBe('{"s":"quote \\" and \\\\ and \\n"}');
  });
});

describe('reopening', () => {
  it('keeps the head after close and continues the same chain', () => {
    const file = join(tempDir(), 'j.db');
    const a = openJournal(file);
    fill(a.journal, 10);
    const head = a.journal.head();
    a.db.close();

    const b = openJournal(file);
    expect(b.journal.head()).toEqual(head);
    const next = b.journal.append(sampleInput(10));
    expect(next.seq).toBe(11);
    expect(next.prevHash).toBe(head.hash);
    expect(verifyJournal(b.db)).toMatchObject({ ok: true, rows: 11, headSeq: 11 });
  });

  it('rows committed before a SIGKILL are all there: append returns only after commit', async () => {
    const dir = tempDir();
    const file = join(dir, 'j.db');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/append-forever.ts'), file],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const acknowledged: number[] = [];
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) acknowledged.push(Number(line));
        if (acknowledged.length >= 40) {
          child.removeAllListeners('exit');
          child.kill('SIGKILL');
          child.on('exit', () => resolve());
        }
      });
    });
    const { db, journal } = openJournal(file);
    const last = acknowledged.at(-1)!;
    expect(acknowledged).toEqual(Array.from({ length: acknowledged.length }, (_, i) => i + 1));
    expect(journal.head().seq).toBeGreaterThanOrEqual(last);
    for (const seq of acknowledged) expect(journal.get(seq)?.data).toEqual({ n: seq });
    expect(verifyJournal(db).ok).toBe(true);
    expect(journal.append(sampleInput(0)).seq).toBe(journal.head().seq);
  });

  it('uses WAL, synchronous=FULL, foreign keys and a busy timeout', () => {
    const { db } = openJournal(join(tempDir(), 'j.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    expect(db.pragma('cache_size', { simple: true })).toBe(-CACHE_KIB);
  });

  it('gives a new database 1 KiB pages and keeps the page size of an existing one', () => {
    const dir = tempDir();
    const fresh = openJournal(join(dir, 'new.db'));
    expect(fresh.db.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
    // A database made before (SQLite's default 4,096), with a table in it: opened as it is.
    const old = join(dir, 'old.db');
    sqlite(old, 'CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    const reopened = openJournal(old);
    expect(reopened.db.pragma('page_size', { simple: true })).toBe(4096);
    expect(reopened.journal.append(sampleInput(0)).seq).toBe(1);
  });
});

describe('an open transaction across calls (the writer’s one transaction per event)', () => {
  it('rows appended after begin() are one commit: invisible to another connection until commitOpen()', () => {
    const file = join(tempDir(), 'j.db');
    const { db, journal } = openJournal(file);
    journal.append(sampleInput(0));
    const other = openJournal(file).db;
    const count = () => (other.prepare('SELECT COUNT(*) AS n FROM journal').get() as { n: number }).n;
    journal.begin();
    journal.append(sampleInput(1));
    journal.transaction(() => journal.append(sampleInput(2))); // joins it
    expect(db.inTransaction).toBe(true);
    expect(journal.head().seq).toBe(3);
    expect(count()).toBe(1);
    journal.commitOpen();
    expect(db.inTransaction).toBe(false);
    expect(count()).toBe(3);
    expect(verifyJournal(db).ok).toBe(true);
  });

  it('rollbackOpen() drops them and reads the head again: the chain goes on from what was committed', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    const first = journal.append(sampleInput(0));
    journal.begin();
    journal.append(sampleInput(1));
    journal.append(sampleInput(2));
    journal.rollbackOpen();
    expect(db.inTransaction).toBe(false);
    expect(journal.head()).toEqual({ seq: 1, hash: first.hash });
    expect(journal.append(sampleInput(3)).prevHash).toBe(first.hash);
    expect(verifyJournal(db).ok).toBe(true);
    expect(() => journal.rollbackOpen()).not.toThrow(); // nothing open: nothing to do
  });
});

describe('transactions and the outbox', () => {
  it('announces each row in the outbox in the same transaction; ack removes it', () => {
    const { journal } = openJournal(join(tempDir(), 'j.db'));
    journal.append(sampleInput(0));
    journal.append(sampleInput(1), { outbox: false });
    journal.appendMany([sampleInput(2), sampleInput(3)]);
    expect(journal.outboxCount()).toBe(3);
    expect(journal.outboxPeek(0, 10).map((r) => r.seq)).toEqual([1, 3, 4]);
    expect(journal.outboxPeek(1, 1).map((r) => r.id)).toEqual(['ctl-1:3']);
    expect(journal.outboxPeek(0, 10)[1]).toEqual(journal.get(3));
    expect(journal.outboxAckMany([3])).toBe(1);
    expect(journal.outboxAckMany([3])).toBe(0);
    expect(journal.outboxPeek(0, 10).map((r) => r.seq)).toEqual([1, 4]);
    expect(journal.outboxCount()).toBe(2);
  });

  it('outboxAckMany removes delivered rows in one commit at synchronous=NORMAL, then FULL again', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    for (let i = 0; i < 5; i++) journal.append(sampleInput(i));
    const calls: string[] = [];
    const pragma = db.pragma.bind(db);
    db.pragma = ((source: string, options?: { simple?: boolean }) => {
      calls.push(`${source}${db.inTransaction ? ' (in transaction)' : ''}`);
      return pragma(source, options);
    }) as typeof db.pragma;
    try {
      expect(journal.outboxAckMany([2, 4, 99])).toBe(2);
    } finally {
      db.pragma = pragma;
    }
    // The level is lowered before the transaction begins and restored after it commits.
    expect(calls).toEqual(['synchronous', 'synchronous = NORMAL', 'synchronous = 2']);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(journal.outboxPeek(0, 10).map((r) => r.seq)).toEqual([1, 3, 5]);
    // Inside a caller's transaction it joins that commit and leaves the level alone.
    journal.transaction(() => {
      expect(journal.outboxAckMany([1])).toBe(1);
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
    });
    expect(journal.outboxCount()).toBe(2);
  });

  it('a failing transaction leaves neither the journal row nor its outbox row, and the chain goes on', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    journal.append(sampleInput(0));
    const head = journal.head();
    expect(() =>
      journal.transaction(() => {
        journal.append(sampleInput(1));
        journal.append(sampleInput(2));
        throw new Error('registry change failed');
      }),
    ).toThrow('registry change failed');
    expect(journal.head()).toEqual(head);
    expect(db.prepare('SELECT COUNT(*) AS n FROM journal').get()).toEqual({ n: 1 });
    expect(journal.outboxCount()).toBe(1);
    const next = journal.append(sampleInput(3));
    expect(next.seq).toBe(2);
    expect(next.prevHash).toBe(head.hash);
    expect(verifyJournal(db).ok).toBe(true);
  });

  it('when the outbox insert fails the journal row is not written either', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    db.exec(
      "CREATE TEMP TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
    );
    expect(() => journal.append(sampleInput(0))).toThrow('disk says no');
    expect(db.prepare('SELECT COUNT(*) AS n FROM journal').get()).toEqual({ n: 0 });
    expect(journal.head().seq).toBe(0);
    expect(journal.append(sampleInput(0), { outbox: false }).seq).toBe(1);
  });

  it('nested transactions join the outer one', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    expect(() =>
      journal.transaction(() => {
        journal.append(sampleInput(0));
        journal.transaction(() => journal.append(sampleInput(1)));
        expect(db.inTransaction).toBe(true);
        throw new Error('outer fails');
      }),
    ).toThrow('outer fails');
    expect(journal.head().seq).toBe(0);
    const rows = journal.transaction(() => [
      journal.append(sampleInput(0)),
      journal.transaction(() => journal.append(sampleInput(1))),
    ]);
    expect(rows.map((r) => r.seq)).toEqual([1, 2]);
    expect(db.inTransaction).toBe(false);
  });

  it('recovers its in-memory head when a foreign transaction rolled back its rows', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    journal.append(sampleInput(0));
    const foreign = db.transaction(() => {
      journal.append(sampleInput(1));
      throw new Error('rolled back');
    });
    expect(() => foreign()).toThrow('rolled back');
    const next = journal.append(sampleInput(2));
    expect(next.seq).toBe(2);
    expect(verifyJournal(db).ok).toBe(true);
  });

  it('a second writer on the same file continues the chain instead of forking it', () => {
    const file = join(tempDir(), 'j.db');
    const a = openJournal(file);
    const b = openJournal(file);
    a.journal.append(sampleInput(0));
    b.journal.append(sampleInput(1));
    a.journal.append(sampleInput(2));
    expect(a.journal.head()).toEqual({ seq: 3, hash: a.journal.get(3)!.hash });
    expect(verifyJournal(a.db)).toMatchObject({ ok: true, rows: 3 });
  });
});

describe('append-only triggers and retention', () => {
  it('refuses UPDATE and DELETE of journal rows, even a retention sweep by date', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    fill(journal, 10);
    expect(() => db.prepare('UPDATE journal SET person = NULL WHERE seq = 3').run()).toThrow(
      /append-only: UPDATE/,
    );
    expect(() => db.prepare('DELETE FROM journal WHERE seq = 10').run()).toThrow(/append-only: DELETE/);
    expect(() => db.prepare('DELETE FROM journal WHERE at < ?').run(T0 + 5 * 60_000)).toThrow(
      /append-only: DELETE/,
    );
    expect(() => db.prepare('DELETE FROM journal').run()).toThrow(/append-only: DELETE/);
    expect(db.prepare('SELECT COUNT(*) AS n FROM journal').get()).toEqual({ n: 10 });
    expect(verifyJournal(db).ok).toBe(true);
  });

  it('refuses inserts that would replace or skip rows (INSERT OR REPLACE, gaps)', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    fill(journal, 3);
    const replace = db.prepare(
      "INSERT OR REPLACE INTO journal (seq, at, type, bytes, hash) VALUES (?, 0, 'x', '{}', 'h')",
    );
    expect(() => replace.run(2)).toThrow(/seq must continue/);
    expect(() => replace.run(5)).toThrow(/seq must continue/);
    expect(verifyJournal(db)).toMatchObject({ ok: true, rows: 3 });
  });

  it('the triggers also stop the sqlite3 command-line shell', () => {
    const file = join(tempDir(), 'j.db');
    const { db, journal } = openJournal(file);
    fill(journal, 5);
    db.close();
    expect(() => sqlite(file, 'DELETE FROM journal WHERE at < 99999999999999;')).toThrow(
      /append-only: DELETE/,
    );
    expect(() => sqlite(file, "UPDATE journal SET bytes = '{}' WHERE seq = 1;")).toThrow(
      /append-only: UPDATE/,
    );
    expect(sqlite(file, 'SELECT COUNT(*) FROM journal;').trim()).toBe('5');
  });

  it('has no method that deletes journal rows', () => {
    const { journal } = openJournal(join(tempDir(), 'j.db'));
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(journal));
    expect(methods.filter((m) => /delete|purge|prune|truncate|remove|retain|archive/i.test(m))).toEqual([]);
  });
});

describe('iterate and query', () => {
  it('iterates in seq order in pages, and the connection stays usable meanwhile', () => {
    const { journal } = openJournal(join(tempDir(), 'j.db'));
    fill(journal, 2500);
    const seen: number[] = [];
    for (const row of journal.iterate(1)) {
      seen.push(row.seq);
      if (row.seq === 1500) journal.append(sampleInput(9999)); // would throw if a cursor held the connection
    }
    expect(seen).toEqual(Array.from({ length: 2501 }, (_, i) => i + 1));
    expect([...journal.iterate(2499)].map((r) => r.seq)).toEqual([2499, 2500, 2501]);
    const some = [...journal.iterate(1000)].slice(0, 2);
    expect(some[1]!.prevHash).toBe(some[0]!.hash);
  });

  it('filters by time, person, door and type, newest first, with a beforeSeq cursor', () => {
    const { journal } = openJournal(join(tempDir(), 'j.db'));
    fill(journal, 100);
    const all = [...journal.iterate()];

    const byPerson = journal.query({ person: 'p_000000000001', limit: 1000 });
    expect(byPerson.map((r) => r.seq)).toEqual(
      all
        .filter((r) => r.person === 'p_000000000001')
        .map((r) => r.seq)
        .reverse(),
    );

    const window = journal.query({
      from: T0 + 10 * 60_000,
      to: T0 + 20 * 60_000,
      door: 'machine-room',
      limit: 100,
    });
    expect(window.map((r) => r.seq)).toEqual([19, 17, 15, 13, 11]);
    expect(window.every((r) => r.at >= T0 + 10 * 60_000 && r.at < T0 + 20 * 60_000)).toBe(true);

    expect(journal.query({ types: ['door_state'], limit: 3 }).map((r) => r.seq)).toEqual([100, 96, 92]);
    expect(journal.query({ types: [], limit: 3 })).toEqual([]);

    // Paging with the cursor visits every row exactly once.
    const paged: number[] = [];
    let cursor: number | undefined;
    for (;;) {
      const page = journal.query({ door: 'server-cage', limit: 7, ...(cursor ? { beforeSeq: cursor } : {}) });
      if (page.length === 0) break;
      paged.push(...page.map((r) => r.seq));
      cursor = page.at(-1)!.seq;
    }
    expect(paged).toEqual(
      all
        .filter((r) => r.door === 'server-cage')
        .map((r) => r.seq)
        .reverse(),
    );
    expect(journal.query({ beforeSeq: 1, limit: 5 })).toEqual([]);
    expect(() => journal.query({ limit: 0 })).toThrow(RangeError);
  });

  it('orders by time first, so a clock set back does not break the cursor', () => {
    const { journal } = openJournal(join(tempDir(), 'j.db'));
    journal.append({ type: uncataloguedType('a'), at: T0 + 5000, data: {} });
    journal.append({ type: uncataloguedType('a'), at: T0 + 1000, data: {} }); // clock corrected backwards
    journal.append({ type: uncataloguedType('a'), at: T0 + 5000, data: {} });
    expect(journal.query({ limit: 10 }).map((r) => r.seq)).toEqual([3, 1, 2]);
    expect(journal.query({ limit: 10, beforeSeq: 1 }).map((r) => r.seq)).toEqual([2]);
  });

  it('answers filtered queries from the indexes without sorting the table', () => {
    const { db } = openJournal(join(tempDir(), 'j.db'));
    const plan = (where: string) =>
      db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT seq FROM journal j WHERE ${where} ORDER BY j.at DESC, j.seq DESC LIMIT 50`,
        )
        .all()
        .map((r) => (r as { detail: string }).detail)
        .join(' | ');
    expect(plan("j.person = 'p'")).toMatch(/INDEX journal_person_at/);
    expect(plan("j.door = 'd' AND j.at >= 1 AND j.at < 2")).toMatch(/INDEX journal_door_at/);
    expect(plan("j.type IN ('t')")).toMatch(/INDEX journal_type_at/);
    expect(plan('j.at >= 1 AND j.at < 2')).toMatch(/INDEX journal_at/);
    for (const where of ["j.person = 'p'", "j.door = 'd'", "j.type IN ('t')", 'j.at >= 1']) {
      expect(plan(where)).not.toMatch(/TEMP B-TREE/);
    }
  });
});

describe('signed checkpoints', () => {
  it('signs the head; verifyCheckpoint checks it with only the public key and the published fields', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyId = publicKeyId(publicKey);
    expect(() => journal.checkpoint(T0, privateKey, keyId)).toThrow(/empty/);
    fill(journal, 5);
    const cp = journal.checkpoint(T0 + 1, privateKey, keyId);
    expect(cp).toMatchObject({ seq: 5, hash: journal.head().hash, at: T0 + 1, controller: 'ctl-1', keyId });
    expect(checkpointBytes(cp)).toBe(`{"seq":5,"hash":"${cp.hash}","at":${T0 + 1},"controller":"ctl-1"}`);
    expect(journal.checkpoint(T0 + 2, privateKey, keyId)).toEqual(cp); // same head: same checkpoint
    expect(journal.checkpoints()).toEqual([cp]);

    // Off the device: a JSON copy and the PEM of the public key are enough.
    const published = JSON.parse(JSON.stringify(cp));
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(verifyCheckpoint(published, pem)).toBe(true);
    expect(verifyCheckpoint({ ...published, seq: 4 }, pem)).toBe(false);
    expect(verifyCheckpoint({ ...published, hash: 'f'.repeat(64) }, pem)).toBe(false);
    expect(verifyCheckpoint({ ...published, at: published.at + 1 }, pem)).toBe(false);
    expect(verifyCheckpoint({ ...published, controller: 'ctl-2' }, pem)).toBe(false);
    expect(verifyCheckpoint(published, generateKeyPairSync('ed25519').publicKey)).toBe(false);
    expect(verifyCheckpoint({ ...published, signature: 'garbage' }, pem)).toBe(false);

    fill(journal, 3, 5);
    expect(journal.checkpoint(T0 + 3, privateKey, keyId).seq).toBe(8);
    expect(journal.latestCheckpoint()?.seq).toBe(8);
    expect(verifyJournal(db, { publicKey })).toMatchObject({
      ok: true,
      checkpoints: 2,
      signaturesChecked: true,
    });
  });

  it('checkpoints are append-only too', () => {
    const { db, journal } = openJournal(join(tempDir(), 'j.db'));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    fill(journal, 2);
    journal.checkpoint(T0, privateKey, publicKeyId(publicKey));
    expect(() => db.prepare("UPDATE checkpoints SET hash = 'x'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM checkpoints').run()).toThrow(/append-only/);
    const result = verifyJournal(db, { publicKey });
    expect(result).toMatchObject({ ok: true, checkpoints: 1, signaturesChecked: true });
  });
});
