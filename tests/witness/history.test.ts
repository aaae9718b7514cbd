/**
 * The witness's history file and its checks, without a broker: the line chain (an edit, a removal,
 * a torn last line are refused and the line named), and each check of state.ts on the messages
 * the witness receives.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, checkpointBytes, publicKeyId } from '../../controller/journal/index.js';
import {
  HISTORY_FORMAT,
  HistoryError,
  loadHistoryFile,
  loadHistoryText,
  readHistoryFile,
} from '../../controller/witness/history.js';
import { WitnessState } from '../../controller/witness/state.js';
import { HistoryWriter } from '../../controller/witness/witness.js';
import { tempDir } from '../helpers/util.js';

const keys = generateKeyPairSync('ed25519');
const h = (c: string) => c.repeat(64);

function signed(seq: number, hash: string, at = 1000, key: KeyObject = keys.privateKey): Checkpoint {
  const cp = { seq, hash, at, controller: 'c1' };
  return {
    ...cp,
    signature: sign(null, Buffer.from(checkpointBytes(cp), 'utf8'), key).toString('base64'),
    keyId: publicKeyId(keys.publicKey),
  };
}

function writeHistory(): string {
  const file = join(tempDir('sekisho-history-'), 'history.jsonl');
  const w = new HistoryWriter(file, 0, '0'.repeat(64), (err) => {
    throw err;
  });
  w.append(
    {
      kind: 'history',
      format: HISTORY_FORMAT,
      controller: 'c1',
      topic: 'sekisho/c1',
      keyId: publicKeyId(keys.publicKey),
    },
    1,
  );
  w.append({ kind: 'started', broker: 'b:1883', clientId: 'w', version: '0' }, 2);
  w.append({ kind: 'event', seq: 1, hash: h('1'), prevHash: h('0'), at: 3, type: 'access' }, 3);
  w.append({ kind: 'event', seq: 2, hash: h('2'), prevHash: h('1'), at: 4, type: 'access' }, 4);
  w.append({ kind: 'checkpoint', checkpoint: signed(2, h('2')) }, 5);
  w.append({ kind: 'stopped', reason: 'SIGTERM' }, 6);
  w.close();
  return file;
}

describe('the history file', () => {
  it('reads back what was written: checkpoints, events, the line count and the last hash', () => {
    const file = writeHistory();
    const seen: number[] = [];
    const c = loadHistoryFile(file, (e) => seen.push(e.seq));
    expect(c).toMatchObject({ lines: 6, events: 2, alarms: [] });
    expect(seen).toEqual([1, 2]);
    expect(c.checkpoints.get(2)?.[0]?.hash).toBe(h('2'));
    expect(loadHistoryText(readFileSync(file, 'utf8')).lastHash).toBe(c.lastHash);
  });

  it('refuses an edited line, naming the line after it', () => {
    const file = writeHistory();
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[2] = lines[2]!.replace(h('1'), h('9'));
    writeFileSync(file, lines.join('\n'));
    expect(() => readHistoryFile(file, () => undefined)).toThrow(/line 4 does not chain from line 3/);
  });

  it('refuses a removed line and a renumbered one', () => {
    const file = writeHistory();
    const lines = readFileSync(file, 'utf8').split('\n');
    writeFileSync(file, [...lines.slice(0, 3), ...lines.slice(4)].join('\n'));
    expect(() => readHistoryFile(file, () => undefined)).toThrow(/line 4 says it is line 5/);
  });

  it('refuses a torn last line with what to do', () => {
    const file = writeHistory();
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"n":7,"pr`);
    const err = (() => {
      try {
        readHistoryFile(file, () => undefined);
      } catch (e) {
        return e as HistoryError;
      }
    })();
    expect(err).toBeInstanceOf(HistoryError);
    expect(err?.line).toBe(7);
    expect(err?.message).toContain('head -n 6');
  });

  it('refuses a file that is not a history', () => {
    expect(() => loadHistoryText('{"n":1}\n')).toThrow(/line 1 does not chain|line 1:/);
    expect(() => loadHistoryText('')).toThrow(/empty/);
    expect(() => loadHistoryText('not json\n')).toThrow(/line 1 is not a JSON object/);
  });
});

describe('the witness checks', () => {
  const state = () => new WitnessState('c1', keys.publicKey);
  const ev = (seq: number, hash: string, prevHash: string) => ({
    seq,
    hash,
    prevHash,
    at: seq,
    type: 'access',
  });

  it('records new messages once: a re-delivered checkpoint or event is no alarm and no line', () => {
    const s = state();
    expect(s.observeEvent(ev(1, h('1'), h('0')))).toEqual({ record: true, findings: [] });
    expect(s.observeEvent(ev(1, h('1'), h('0')))).toEqual({ record: false, findings: [] });
    const cp = signed(1, h('1'));
    expect(s.observeCheckpoint(cp)).toEqual({ record: true, findings: [] });
    expect(s.observeCheckpoint(cp)).toEqual({ record: false, findings: [] });
  });

  it('equivocation: two signed hashes for one seq, or a signed hash against a witnessed event', () => {
    const s = state();
    s.observeCheckpoint(signed(5, h('a')));
    expect(s.observeCheckpoint(signed(5, h('b'), 2000)).findings.map((f) => f.alarm)).toEqual([
      'equivocation',
    ]);
    s.observeEvent(ev(7, h('7'), h('6')));
    expect(s.observeCheckpoint(signed(7, h('c'))).findings.map((f) => f.alarm)).toEqual(['equivocation']);
    expect(s.observeEvent(ev(5, h('d'), h('4'))).findings.map((f) => f.alarm)).toEqual(['equivocation']);
  });

  it('fork: another hash at a known seq, or a prevHash that is not the witnessed hash of seq − 1', () => {
    const s = state();
    s.observeEvent(ev(1, h('1'), h('0')));
    expect(s.observeEvent(ev(1, h('9'), h('0'))).findings.map((f) => f.alarm)).toEqual(['fork']);
    expect(s.observeEvent(ev(2, h('2'), h('8'))).findings.map((f) => f.alarm)).toEqual(['fork']);
    // Arriving before its predecessor: the predecessor is checked against the later one's prevHash.
    s.observeEvent(ev(11, h('b'), h('a')));
    expect(s.observeEvent(ev(10, h('c'), h('9'))).findings.map((f) => f.alarm)).toEqual(['fork']);
  });

  it('a lost range the controller declares itself is a rollback alarm, not a fork', () => {
    const s = state();
    s.observeEvent(ev(1, h('1'), h('0')));
    const f = s.observeEvent({ ...ev(2, h('2'), h('7')), type: 'journal_restored' }).findings;
    expect(f.map((x) => x.alarm)).toEqual(['rollback']);
  });

  it('rollback: a checkpoint below the last one with a hash the history does not know', () => {
    const s = state();
    s.observeCheckpoint(signed(10, h('a')));
    expect(s.observeCheckpoint(signed(4, h('4'))).findings.map((f) => f.alarm)).toEqual(['rollback']);
    s.observeEvent(ev(6, h('6'), h('5')));
    expect(s.observeCheckpoint(signed(6, h('6'))).findings).toEqual([]); // a known hash: an old message
  });

  it('a bad signature is one alarm however often it is re-delivered, and is not recorded as a checkpoint', () => {
    const s = state();
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = signed(3, h('3'), 1000, other);
    expect(s.observeCheckpoint(forged)).toMatchObject({
      record: false,
      findings: [{ alarm: 'bad_signature', seq: 3 }],
    });
    expect(s.observeCheckpoint(forged)).toEqual({ record: false, findings: [] });
    const elsewhere = { ...signed(3, h('3')), controller: 'c2' };
    const resigned = {
      ...elsewhere,
      signature: sign(null, Buffer.from(checkpointBytes(elsewhere), 'utf8'), keys.privateKey).toString(
        'base64',
      ),
    };
    expect(s.observeCheckpoint(resigned).findings.map((f) => f.alarm)).toEqual(['wrong_controller']);
  });
});
