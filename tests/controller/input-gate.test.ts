/**
 * The input gate (controller/runtime/input-gate.ts): while the start waits for the broker's head,
 * the board reports each input's start level on a timer; a part that registers its listener only
 * afterwards must still hear it. The gate holds the reports until it is opened, then hands them on
 * in order; later reports pass straight through. Reads and writes go to the board unchanged.
 */
import { describe, expect, it } from 'vitest';
import { InputGate } from '../../controller/runtime/input-gate.js';
import { SimBoard } from '../../hardware/index.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('InputGate', () => {
  it('hands the start levels reported before the parts listened to them once opened, then passes through', async () => {
    const board = new SimBoard({ initialInputs: { 'd.contact': true } });
    board.addInput('d.contact', { pin: 17, activeLow: false, debounceMs: 0 });
    board.addInput('d.tamper', { pin: 24, activeLow: false, debounceMs: 0 });
    board.addOutput('d.lock', { pin: 22, activeLow: false }, false);
    const gate = new InputGate(board);
    await wait(20); // the board's start-level timers have fired: a late listener on the board hears nothing
    const late: string[] = [];
    board.onInput((name, active) => late.push(`${name}=${active}`));
    const heard: string[] = [];
    gate.board.onInput((name, active) => heard.push(`${name}=${active}`));
    expect(heard).toEqual([]); // held until the parts have started
    gate.open();
    expect(heard).toEqual(['d.contact=true', 'd.tamper=false']);
    board.simulate('d.contact', false);
    expect(heard.at(-1)).toBe('d.contact=false');
    expect(late).toEqual(['d.contact=false']);
    // The rest of the board is the board itself.
    gate.board.write('d.lock', true);
    expect(board.readOutput('d.lock')).toBe(true);
    expect(gate.board.readInput('d.contact')).toBe(false);
    expect(gate.board.kind).toBe('sim');
  });
});
