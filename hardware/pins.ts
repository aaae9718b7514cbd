/**
 * Pin naming and bookkeeping shared by both boards: the names a door's pins are claimed under,
 * the electrical level of a logical level, and the one-name-one-pin rule.
 */
import type { DoorConfig } from '../controller/config/schema.js';

/** The board names of a door's pins: `<door id>.<role>`, e.g. `machine-room.lock`. */
export interface DoorPinNames {
  contact: string;
  exitButton: string;
  tamper: string;
  lock: string;
  buzzer: string;
}

export function doorPinNames(doorId: string): DoorPinNames {
  return {
    contact: `${doorId}.contact`,
    exitButton: `${doorId}.exitButton`,
    tamper: `${doorId}.tamper`,
    lock: `${doorId}.lock`,
    buzzer: `${doorId}.buzzer`,
  };
}

/** Every pin name a door claims (optional pins only when configured). */
export function doorPinList(door: DoorConfig): { inputs: string[]; outputs: string[] } {
  const n = doorPinNames(door.id);
  return {
    inputs: [n.contact, ...(door.exitButton ? [n.exitButton] : []), ...(door.tamper ? [n.tamper] : [])],
    outputs: [n.lock, ...(door.buzzer ? [n.buzzer] : [])],
  };
}

/** The electrical level (true = 3.3 V) of a pin carrying `logical`, given its polarity. */
export function pinLevel(logical: boolean, activeLow: boolean): boolean {
  return logical !== activeLow;
}

/** One name, one BCM pin: refuses a second claim of either. */
export class PinClaims {
  private readonly byName = new Map<string, { pin: number; direction: 'in' | 'out' }>();
  private readonly byPin = new Map<number, string>();

  claim(name: string, pin: number, direction: 'in' | 'out'): void {
    const had = this.byName.get(name);
    if (had) throw new Error(`pin name "${name}" is already claimed (BCM ${had.pin}, ${had.direction}put)`);
    const other = this.byPin.get(pin);
    if (other !== undefined) throw new Error(`BCM ${pin} is already claimed by "${other}"`);
    this.byName.set(name, { pin, direction });
    this.byPin.set(pin, name);
  }

  release(name: string): void {
    const had = this.byName.get(name);
    if (!had) return;
    this.byName.delete(name);
    this.byPin.delete(had.pin);
  }

  clear(): void {
    this.byName.clear();
    this.byPin.clear();
  }
}

/** The error for a name that was never claimed (or claimed with the other direction). */
export function unknownPin(kind: 'input' | 'output', name: string, known: Iterable<string>): Error {
  const list = [...known];
  return new Error(
    `unknown ${kind} "${name}" (claimed ${kind}s: ${list.length > 0 ? list.map((k) => `"${k}"`).join(', ') : 'none'})`,
  );
}
