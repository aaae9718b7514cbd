/**
 * The Integrity page's check takes a bare checkpoints file too — JSON Lines as a subscriber saved
 * them from the retained MQTT topic, what `sekisho verify --checkpoints` reads — besides a witness
 * history (issue #15). Through the HTTP API: an untouched journal agrees (ja and en); a forged line
 * or another controller's checkpoint is refused, naming the line; the newest rows and the local
 * checkpoints above them deleted with the sqlite3 shell are named by the first missing seq. Each
 * check is journaled.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../controller/journal/index.js';
import { checkpointPayload } from '../../controller/mqtt/payloads.js';
import { type Client, makeDash, type TestDash } from '../dashboards/helpers.js';

describe('the Integrity page and a checkpoints file', () => {
  let d: TestDash;
  let aud: Client;
  let pem: string;
  const saved: Checkpoint[] = [];
  const file = (cps: Checkpoint[], plainLast = false) =>
    cps
      .map((cp, i) => JSON.stringify(plainLast && i === cps.length - 1 ? cp : checkpointPayload(cp)))
      .join('\n');
  const upload = (history: string, lang: 'ja' | 'en' = 'ja') =>
    aud.req(
      'POST',
      '/api/integrity/witness',
      { history, publicKey: pem },
      { cookie: `${aud.cookie}; sekisho_lang=${lang}` },
    );

  beforeAll(async () => {
    d = await makeDash();
    aud = await d.login('auditor1');
    const { journal, secrets } = d.controller;
    pem = secrets.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    // What a subscriber kept: two checkpoints, some rows apart (the device signs them as it goes).
    saved.push(journal.checkpoint(Date.now(), secrets.signingKey, secrets.keyId));
    for (let i = 0; i < 4; i++) d.controller.simulateBadge('entry', `AC0000000${i}`);
    saved.push(journal.checkpoint(Date.now(), secrets.signingKey, secrets.keyId));
  });
  afterAll(async () => {
    await d?.close();
  });

  it('agrees with an untouched journal, in Japanese and English, and the check is journaled', async () => {
    const ja = await upload(file(saved, true));
    expect(ja.statusCode).toBe(200);
    expect(ja.json()).toMatchObject({ ok: true, refused: false, format: 'checkpoints', firstBadSeq: null });
    expect(ja.json().message).toContain(
      '保管されていたチェックポイントと一致しています（署名付きチェックポイント 2 件',
    );
    const en = await upload(file(saved), 'en');
    expect(en.json().message).toContain(
      `The journal agrees with the saved checkpoints (signed checkpoints: 2, the newest at seq ${saved[1]!.seq}`,
    );
    const row = d.controller.journal.query({ types: ['witness_checked'], limit: 1 })[0]!;
    expect(row).toMatchObject({
      actor: 'user:auditor1',
      data: { ok: true, refused: false, format: 'checkpoints', checkpoints: 2 },
    });
  });

  it('refuses a forged line and another controller’s checkpoint, naming the line', async () => {
    const forged = { ...saved[1]!, seq: saved[1]!.seq + 100 };
    const r = await upload(file([saved[0]!, forged]));
    expect(r.json()).toMatchObject({ ok: false, refused: true });
    expect(r.json().problem).toMatch(
      /line 2: the checkpoint for seq \d+ does not verify with the pinned public key/,
    );
    const other = await upload(file([{ ...saved[0]!, controller: 'elsewhere' }]));
    expect(other.json().problem).toMatch(/line 1: a checkpoint of controller "elsewhere"/);
    const garbage = await upload('{"seq": "one"}\n');
    expect(garbage.json()).toMatchObject({ ok: false, refused: true });
    expect(garbage.json().problem).toMatch(/line 1: /);
  });

  it('names the first missing row when the newest rows and local checkpoints were deleted', async () => {
    const cut = saved[0]!.seq + 1;
    const evil = new Database(d.controller.db.name);
    evil.exec(`DROP TRIGGER journal_no_delete; DROP TRIGGER checkpoints_no_delete;
      DELETE FROM outbox WHERE seq > ${cut}; DELETE FROM journal WHERE seq > ${cut};
      DELETE FROM checkpoints WHERE seq > ${cut};`);
    evil.close();
    const r = await upload(file(saved), 'en');
    expect(r.json()).toMatchObject({
      ok: false,
      refused: false,
      kind: 'truncated',
      firstBadSeq: cut + 1,
      line: 2,
    });
    expect(r.json().message).toBe(
      `Rows the saved checkpoints vouch for are missing from the journal. First missing row: seq ${cut + 1}`,
    );
    // The running controller journaled that check at the next seq; still short of the checkpoint.
    const ja = await upload(file(saved));
    expect(ja.json()).toMatchObject({ ok: false, kind: 'truncated' });
    expect(ja.json().message).toMatch(
      /^保管されていたチェックポイントの時点より後の行が入退室記録から失われています。最初に失われた行：seq \d+$/,
    );
  });
});
