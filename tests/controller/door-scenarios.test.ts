/**
 * Door scenarios through the real controller (real SQLite journal) on the simulated board, with a
 * controlled clock (vitest fake timers drive both Date.now and the door's timers).
 */

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Controller } from '../../controller/runtime/index.js';
import type { SimBoard } from '../../hardware/index.js';
import { tempDir } from '../helpers/controller.js';
import { startInProcess } from '../helpers/in-process.js';

const T0 = Date.UTC(2026, 10, 26, 1, 0, 0); // Thursday 10:00 in Tokyo

/** Start a controller on the simulated board over the storage in `dir`. */
function startIn(dir: string) {
  return startInProcess(dir, {
    readers: [
      { id: 'entry', path: 'sim', protocol: 'rdm6300' },
      { id: 'exit', path: 'sim', protocol: 'rdm6300' },
    ],
    extra: {
      schedules: [{ id: 'office-hours', windows: [{ days: [1, 2, 3, 4, 5], from: '08:30', to: '18:00' }] }],
    },
  });
}

async function setup(dir = tempDir('sekisho-door-')) {
  const { c, board } = await startIn(dir);
  const staff = c.registry.addPerson(
    { displayId: 'S-1', name: 'Yamada', category: 'staff' },
    'test',
    Date.now(),
  );
  const b1 = c.registry.addBadge({ personId: staff.id, credential: '0A1B2C3D4E' }, 'test', Date.now());
  c.registry.grantDoor(staff.id, 'machine-room', 'always', 'test', Date.now());
  const boss = c.registry.addPerson(
    { displayId: 'S-2', name: 'Takahashi', category: 'staff', lockdownOverride: true },
    'test',
    Date.now(),
  );
  c.registry.addBadge({ personId: boss.id, credential: '99AABBCCDD' }, 'test', Date.now());
  c.registry.grantDoor(boss.id, 'machine-room', 'always', 'test', Date.now());
  return { c, board, dir, staff, b1 };
}

const types = (c: Controller, afterSeq = 0) => [...c.journal.iterate(afterSeq + 1)].map((r) => r.type);
const lockOn = (board: SimBoard) => board.readOutput('machine-room.lock');
const contact = (board: SimBoard, open: boolean) => board.simulate('machine-room.contact', open);

describe('door scenarios (simulated board, controlled clock)', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    vi.useFakeTimers({
      now: T0,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    ctx = await setup();
    vi.advanceTimersByTime(1); // the board reports the start levels (door closed)
  });
  afterEach(async () => {
    await ctx.c.stop('test end');
    vi.useRealTimers();
  });

  it('grant → unlock → open → close → relock at once', () => {
    const { c, board } = ctx;
    const head = c.journal.head().seq;
    const out = c.simulateBadge('entry', '0A1B2C3D4E');
    expect(out.decision).toEqual({ granted: true, reason: 'granted' });
    expect(lockOn(board)).toBe(true);
    vi.advanceTimersByTime(1000);
    contact(board, true);
    vi.advanceTimersByTime(2000);
    contact(board, false);
    expect(lockOn(board)).toBe(false);
    expect(types(c, head)).toEqual(['access', 'door_unlocked', 'door_opened', 'door_closed', 'door_locked']);
    expect(c.activeAlarms()).toEqual([]);
    // Without a broker configured nothing piles up in the MQTT outbox (registry rows included).
    expect(c.journal.outboxCount()).toBe(0);
  });

  it('the grant row is committed before the lock output changes', () => {
    const { c, board } = ctx;
    const seen: { on: boolean; committedAccess: number }[] = [];
    board.onOutput((name, on) => {
      if (name !== 'machine-room.lock') return;
      // Read the committed journal through a second, independent connection.
      const other = new Database(join(ctx.dir, 'data', 'journal.db'), { readonly: true });
      const n = (
        other.prepare("SELECT COUNT(*) AS n FROM journal WHERE type = 'access'").get() as { n: number }
      ).n;
      other.close();
      seen.push({ on, committedAccess: n });
    });
    c.simulateBadge('entry', '0A1B2C3D4E');
    expect(seen).toEqual([{ on: true, committedAccess: 1 }]);
  });

  it('a storage fault: the badge is refused, the door stays locked, the record is written on recovery', () => {
    const { c, board } = ctx;
    // A real refusal from SQLite: the connection may no longer write (SQLITE_READONLY), as when the
    // file system is remounted read-only. (The full-disk case runs on a small tmpfs in tests/torture.)
    c.db.pragma('query_only = ON');
    const out = c.simulateBadge('entry', '0A1B2C3D4E');
    expect(out.decision).toEqual({ granted: false, reason: 'storage_unavailable' });
    expect(lockOn(board)).toBe(false);
    contact(board, true); // forced while storage is down: queued, not lost
    expect(c.status().journal).toMatchObject({ storageOk: false, pendingWrites: 3 }); // access, door_opened, alarm_raised
    c.db.pragma('query_only = OFF');
    vi.advanceTimersByTime(2000);
    expect(c.status().journal).toMatchObject({ storageOk: true, pendingWrites: 0 });
    const rows = [...c.journal.iterate(1)];
    expect(rows.find((r) => r.type === 'access')).toMatchObject({
      type: 'access',
      data: { result: 'denied', reason: 'storage_unavailable', decided: 'granted' },
    });
    const types = rows.map((r) => r.type);
    expect(types).toContain('door_opened');
    expect(
      c
        .activeAlarms()
        .map((a) => a.type)
        .sort(),
    ).toEqual(['forced_open', 'storage_fault']);
  });

  it('a grant never used relocks after unlockMs', () => {
    const { c, board } = ctx;
    c.simulateBadge('entry', '0A1B2C3D4E');
    vi.advanceTimersByTime(4999);
    expect(lockOn(board)).toBe(true);
    vi.advanceTimersByTime(2);
    expect(lockOn(board)).toBe(false);
  });

  it('forced open raises a critical alarm at once, latched until acknowledged', () => {
    const { c, board } = ctx;
    contact(board, true);
    const alarms = c.activeAlarms();
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({ type: 'forced_open', severity: 'critical', door: 'machine-room' });
    contact(board, false);
    expect(c.activeAlarms()[0]).toMatchObject({ type: 'forced_open', conditionCleared: true });
    expect(c.acknowledgeAlarm(alarms[0]!.id, 'manager', 'checked: cleaner')).toBe(true);
    expect(c.activeAlarms()).toEqual([]);
  });

  it('held open: pre-alarm with buzzer, then the alarm; closing clears the condition', () => {
    const { c, board } = ctx;
    c.simulateBadge('entry', '0A1B2C3D4E');
    contact(board, true);
    vi.advanceTimersByTime(19_999);
    expect(board.readOutput('machine-room.buzzer')).toBe(false);
    vi.advanceTimersByTime(2);
    expect(board.readOutput('machine-room.buzzer')).toBe(true);
    expect(types(c)).toContain('held_open_prealarm');
    expect(c.activeAlarms()).toEqual([]);
    vi.advanceTimersByTime(10_000);
    expect(c.activeAlarms().map((a) => a.type)).toEqual(['held_open']);
    contact(board, false);
    expect(board.readOutput('machine-room.buzzer')).toBe(false);
    expect(lockOn(board)).toBe(false);
    const [a] = c.activeAlarms();
    expect(a!.conditionCleared).toBe(true);
    c.acknowledgeAlarm(a!.id, 'manager', 'delivery');
    expect(c.activeAlarms()).toEqual([]);
  });

  it('the exit button unlocks without an alarm; opening is authorised', () => {
    const { c, board } = ctx;
    board.simulate('machine-room.exitButton', true);
    board.simulate('machine-room.exitButton', false);
    expect(lockOn(board)).toBe(true);
    contact(board, true);
    contact(board, false);
    expect(lockOn(board)).toBe(false);
    expect(c.activeAlarms()).toEqual([]);
    expect(types(c)).toContain('exit_request');
  });

  it('tamper raises door_tamper', () => {
    const { c, board } = ctx;
    board.simulate('machine-room.tamper', true);
    expect(c.activeAlarms().map((a) => a.type)).toEqual(['door_tamper']);
    board.simulate('machine-room.tamper', false);
    expect(c.activeAlarms()[0]!.conditionCleared).toBe(true);
  });

  it('lockdown: only override badges open; a lost badge is refused at once', () => {
    const { c, board, b1 } = ctx;
    c.setMode('machine-room', 'lockdown', 'manager');
    expect(c.simulateBadge('entry', '0A1B2C3D4E').decision).toEqual({ granted: false, reason: 'lockdown' });
    expect(lockOn(board)).toBe(false);
    expect(c.simulateBadge('entry', '99AABBCCDD').decision).toEqual({
      granted: true,
      reason: 'override_granted',
    });
    c.setMode('machine-room', 'normal', 'manager');
    vi.advanceTimersByTime(1500);
    c.registry.setBadgeStatus(b1.id, 'lost', 'manager', Date.now(), 'reported lost');
    expect(c.simulateBadge('entry', '0A1B2C3D4E').decision).toEqual({ granted: false, reason: 'badge_lost' });
  });

  it('a restart rebuilds presence, alarms and door modes from the journal', async () => {
    const { c, board, dir } = ctx;
    c.simulateBadge('entry', '0A1B2C3D4E');
    contact(board, false);
    vi.advanceTimersByTime(6000);
    contact(board, true); // forced
    contact(board, false);
    c.setMode('machine-room', 'lockdown', 'manager');
    const before = c.status();
    expect(before.doors[0]!.occupants.map((o) => o.personId)).toEqual([ctx.staff.id]);
    await c.stop('restart test');
    const again = await setupAgain(dir);
    vi.advanceTimersByTime(1);
    const after = again.status();
    expect(after.alarms).toEqual(before.alarms);
    expect(after.doors[0]!.occupants).toEqual(before.doors[0]!.occupants);
    expect(after.doors[0]!.mode).toBe('lockdown');
    ctx.c = again;
  });
});

async function setupAgain(dir: string) {
  return (await startIn(dir)).c;
}
