/**
 * The events feed as evidence, end to end: a real Mosquitto and the real controller (`sekisho
 * start`, demo people and badges enrolled — rows holding secrets). A subscriber off the device
 * recomputes every row's hash from the published bytes with the off-device verifier, follows the
 * chain from genesis and checks the signed checkpoints with the pinned public key; no badge's keyed
 * hash is on the feed. One byte changed in one published row is named, and stops the verified head.
 */

import { createPublicKey } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedVerifier } from '../../controller/journal/feed-verify.js';
import { type Checkpoint, chainHash } from '../../controller/journal/index.js';
import type { EventPayload } from '../../controller/mqtt/payloads.js';
import {
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { sqlite } from '../helpers/util.js';
import { Consumer } from '../mqtt/consumer.js';

const STAFF = '0A1B2C3D4E';
const UNKNOWN = 'DEADBEEF00';

describe('the events feed carries the exact hashed bytes', { timeout: 180_000 }, () => {
  const dir = tempDir('sekisho-feed-');
  const storage = join(dir, 'data');
  const base = 'sekisho/test-ctl';
  let broker: Mosquitto;
  let consumer: Consumer;
  let cfgFile: string;
  let ctl: Running | undefined;

  beforeAll(async () => {
    broker = await startMosquitto();
    cfgFile = writeConfig(
      dir,
      doorConfig(dir, simReaders(), { demo: { seed: true }, mqtt: { url: broker.url, reconnectS: 1 } }),
    );
    consumer = await Consumer.connect(broker.url, [`${base}/events`, `${base}/journal/checkpoint`], {
      persistent: 'feed-evidence-test',
    });
  });

  afterAll(async () => {
    await ctl?.kill9();
    await consumer?.end();
    await broker?.kill();
  });

  it('a subscriber recomputes every row and verifies the checkpoints with the pinned key', async () => {
    ctl = await startController(cfgFile, storage);
    const pinned = join(dir, 'pinned.pem');
    copyFileSync(join(storage, 'device-public.pem'), pinned); // enrolled once, at install
    const publicKey = createPublicKey(readFileSync(pinned, 'utf8'));
    for (const c of [STAFF, UNKNOWN, STAFF])
      expect((await ctl.api('POST', '/api/sim/badge', { reader: 'entry', credential: c })).status).toBe(200);
    expect(await ctl.stop()).toBe(0); // a clean stop signs a checkpoint and publishes it
    ctl = undefined;
    const db = join(storage, 'journal.db');
    const head = Number(sqlite(db, 'SELECT MAX(seq) FROM journal;').trim());
    const signedSeq = Number(sqlite(db, 'SELECT MAX(seq) FROM checkpoints;').trim());
    const secrets = sqlite(db, 'SELECT credential_hash FROM badges;').trim().split('\n');
    expect(secrets.length).toBeGreaterThan(0);
    expect(Number(sqlite(db, 'SELECT COUNT(*) FROM journal_secrets;').trim())).toBeGreaterThanOrEqual(
      secrets.length,
    );

    const events = () => consumer.json<EventPayload>(`${base}/events`);
    const checkpoints = () => consumer.json<Checkpoint>(`${base}/journal/checkpoint`);
    await until(
      () =>
        new Set(events().map((e) => e.seq)).size === head && checkpoints().some((c) => c.seq === signedSeq),
      'every row and the stop checkpoint on the feed',
      60_000,
    );

    // Nothing secret on the feed: no badge's keyed hash, anywhere in any message.
    const feedText = consumer
      .on(`${base}/events`)
      .map((m) => m.text)
      .join('\n');
    for (const s of secrets) expect(feedText).not.toContain(s);
    const enrolled = events().filter((e) => e.type === 'badge_added');
    expect(enrolled.length).toBe(secrets.length);
    for (const e of enrolled) expect(e.bytes).toMatch(/"credentialHash":\{"c":"[0-9a-f]{64}"\}/);

    const v = new FeedVerifier('test-ctl', publicKey);
    for (const e of events()) {
      expect(e.bytes, `row ${e.seq}`).not.toBeNull();
      expect(chainHash(e.prevHash, e.bytes!)).toBe(e.hash);
      expect(v.observeRow(e).findings).toEqual([]);
    }
    for (const cp of checkpoints()) expect(v.observeCheckpoint(cp).findings).toEqual([]);
    const headHash = sqlite(db, `SELECT hash FROM journal WHERE seq = ${head};`).trim();
    const signedHash = sqlite(db, `SELECT hash FROM checkpoints WHERE seq = ${signedSeq};`).trim();
    expect(v.report()).toMatchObject({
      verified: { seq: head, hash: headHash },
      signed: { seq: signedSeq, hash: signedHash },
      gaps: [],
      forks: [],
      withheld: [],
      alarms: {},
    });

    // One byte of one published row changed on the way: named, and the head stops before it.
    const k = enrolled[0]!.seq;
    const tampered = new FeedVerifier('test-ctl', publicKey);
    for (const e of events()) {
      const sent = e.seq === k ? { ...e, bytes: e.bytes!.replace('"masked":"', '"masked":"X') } : e;
      const o = tampered.observeRow(sent);
      if (e.seq === k) expect(o.findings.map((f) => f.alarm)).toEqual(['bad_row']);
    }
    expect(tampered.report()).toMatchObject({ verified: { seq: k - 1 }, gaps: [{ from: k, to: k }] });
  });
});
