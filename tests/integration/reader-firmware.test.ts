/**
 * A bridge board's firmware version, end to end: a real pseudo-terminal (socat) as a Wiegand bridge
 * of a real `sekisho start`. Before the board speaks the reader is `waiting`; its hello's version is
 * shown in `/api/status` and on the Live page's reader panel, and journaled (`reader_firmware`) when
 * first heard and when it changes — not when a restarted board says the same again, nor after the
 * controller restarts. docs/api.md lists the reasons; docs/bridge-frame.md the hello.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReaderStatusView } from '../../controller/runtime/readers.js';
import { emptyNames, recordSentence } from '../../dashboards/sentences.js';
import { encodeBridgeFrame } from '../../firmware-bridge/index.js';
import { makeDash } from '../dashboards/helpers.js';
import {
  doorConfig,
  type Running,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { makePtyPair } from '../helpers/pty.js';

describe('a bridge board’s firmware version: shown, journaled when first heard and when changed', () => {
  const dir = tempDir('sekisho-fw-');
  const storage = join(dir, 'data');
  let pty: Awaited<ReturnType<typeof makePtyPair>>;
  let cfgFile: string;
  let ctl: Running | undefined;
  let fd: number | undefined;
  let seq = 0;

  const reader = async () =>
    (await ctl!.api<{ readers: ReaderStatusView[] }>('GET', '/api/status')).body.readers.find(
      (r) => r.id === 'entry',
    )!;
  const fwRows = () => {
    const db = new Database(join(storage, 'journal.db'), { readonly: true });
    try {
      return (
        db.prepare("SELECT bytes FROM journal WHERE type = 'reader_firmware' ORDER BY seq").all() as {
          bytes: string;
        }[]
      ).map((r) => JSON.parse(r.bytes).data as { reader: string; firmware: string; previous: string | null });
    } finally {
      db.close();
    }
  };
  const send = (...frames: Parameters<typeof encodeBridgeFrame>[0][]) => {
    for (const f of frames) writeSync(fd!, encodeBridgeFrame(f));
  };
  const hello = (major: number, minor: number, patch: number) => ({
    type: 'hello' as const,
    major,
    minor,
    patch,
  });
  const heartbeat = () => ({ type: 'heartbeat' as const, seq: seq++, uptimeMs: seq * 1000, tamper: false });

  beforeAll(async () => {
    pty = await makePtyPair(dir);
    cfgFile = writeConfig(
      dir,
      doorConfig(dir, [{ id: 'entry', path: pty.b, protocol: 'wiegand-bridge', offlineAfterMs: 600_000 }]),
    );
    ctl = await startController(cfgFile, storage, 60_000);
    fd = openSync(pty.a, 'w');
  }, 90_000);
  afterAll(async () => {
    if (fd !== undefined) closeSync(fd);
    await ctl?.stop();
    await pty?.stop();
  }, 60_000);

  it('waiting, then the hello’s version in the status and the journal', async () => {
    // The port is open, the board has not spoken: `waiting` (not `starting`), no version yet.
    await until(async () => (await reader()).reason === 'waiting', 'the reader waiting for its board');
    expect(await reader()).toEqual({ id: 'entry', online: false, reason: 'waiting', firmware: null });
    expect(fwRows()).toEqual([]);

    send(hello(1, 2, 3), heartbeat());
    await until(async () => (await reader()).online, 'the board heard');
    expect(await reader()).toEqual({ id: 'entry', online: true, reason: 'receiving', firmware: '1.2.3' });
    expect(fwRows()).toEqual([{ reader: 'entry', firmware: '1.2.3', protocol: 1, previous: null }]);
  });

  it('the same version again (a board restart) is not journaled; a new one is, with the old', async () => {
    send(hello(1, 2, 3), heartbeat(), hello(1, 3, 0), heartbeat());
    await until(async () => fwRows().length >= 2, 'the new version journaled');
    expect(fwRows()).toEqual([
      { reader: 'entry', firmware: '1.2.3', protocol: 1, previous: null },
      { reader: 'entry', firmware: '1.3.0', protocol: 1, previous: '1.2.3' },
    ]);
    expect((await reader()).firmware).toBe('1.3.0');
  });

  it('after a restart of the controller: the journaled version is shown, and heard again not journaled', async () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    expect(await ctl!.stop()).toBe(0);
    ctl = await startController(cfgFile, storage, 60_000);
    fd = openSync(pty.a, 'w');
    await until(async () => (await reader()).reason === 'waiting', 'the reader waiting again');
    expect((await reader()).firmware).toBe('1.3.0');
    send(hello(1, 3, 0), heartbeat(), hello(2, 0, 0), heartbeat());
    await until(async () => fwRows().length >= 3, 'the next version journaled');
    expect(fwRows().map((r) => [r.previous, r.firmware])).toEqual([
      [null, '1.2.3'],
      ['1.2.3', '1.3.0'],
      ['1.3.0', '2.0.0'],
    ]);
  }, 120_000); // a controller stop and start: slow on a loaded machine
});

describe('the Live page’s reader panel and the log name the firmware', () => {
  it('shows the version beside the reader, and its row as a sentence in both languages', async () => {
    const dir = tempDir('sekisho-fw-live-');
    const pty = await makePtyPair(dir);
    const d = await makeDash({
      config: {
        readers: [
          { id: 'entry', path: pty.b, protocol: 'wiegand-bridge', offlineAfterMs: 600_000 },
          { id: 'exit', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 },
        ],
      },
    });
    const fd = openSync(pty.a, 'w');
    try {
      const m = await d.login('manager1');
      const page = async (lang: 'ja' | 'en') =>
        (await m.req('GET', '/', undefined, { cookie: `${m.cookie}; sekisho_lang=${lang}` })).body;
      expect(await page('ja')).not.toContain('data-field="firmware"');
      writeSync(fd, encodeBridgeFrame({ type: 'hello', major: 3, minor: 1, patch: 4 }));
      writeSync(fd, encodeBridgeFrame({ type: 'heartbeat', seq: 0, uptimeMs: 10, tamper: false }));
      await until(
        () => d.controller.status().readers.find((r) => r.id === 'entry')?.firmware === '3.1.4',
        'the hello heard',
      );
      expect(await page('ja')).toContain(
        '<span class="meta" data-field="firmware">ファームウェア 3.1.4</span>',
      );
      expect(await page('en')).toContain('<span class="meta" data-field="firmware">firmware 3.1.4</span>');
      const [row] = d.controller.journal.query({ types: ['reader_firmware'], limit: 5 });
      expect(row?.data).toEqual({ reader: 'entry', firmware: '3.1.4', protocol: 1, previous: null });
      const say = (lang: 'ja' | 'en', data: Record<string, unknown>) =>
        recordSentence({ ...row!, data: { ...row!.data, ...data } }, emptyNames('Asia/Tokyo'), lang);
      expect(say('ja', {})).toMatch(/entry.*の変換基板のファームウェアはバージョン 3\.1\.4 です。$/);
      expect(say('en', {})).toMatch(/entry.*'s bridge board runs firmware 3\.1\.4\.$/);
      expect(say('ja', { previous: '3.0.0' })).toContain(
        'ファームウェアが 3.0.0 から 3.1.4 に変わりました。',
      );
      expect(say('en', { previous: '3.0.0' })).toContain(
        'bridge board firmware changed from 3.0.0 to 3.1.4.',
      );
    } finally {
      closeSync(fd);
      await d.close();
      await pty.stop();
    }
  }, 60_000);
});
