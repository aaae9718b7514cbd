/**
 * Input checks shared by the registry's aggregates and views: every refusal is a `RegistryError`
 * naming the field, thrown before anything is written.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { normaliseReading } from '../domain/romaji.js';
import { nameField } from '../domain/text.js';
import type { DoorPermission } from '../domain/types.js';
import { RegistryError } from './errors.js';

export const Millis = z.number().int().nonnegative();
export const Text = z.string().trim().min(1).max(200);
/** A person's name or ID card number: no control, bidirectional or invisible characters, NFC (domain/text.ts). */
export const Name = nameField(200);
export const Id = z.string().min(1).max(64);
/** A reading (フリガナ): kana, stored as katakana (domain/romaji.ts); hiragana and half-width taken. */
export const Reading = z
  .string()
  .max(100)
  .transform((v, ctx) => {
    const r = normaliseReading(v);
    if (r === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected the reading in kana (フリガナ), e.g. サトウ ハナコ',
      });
      return z.NEVER;
    }
    return r;
  });
const Actor = z.string().min(1).max(128);

export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.length ? `${what}.${issue.path.join('.')}` : what;
  throw new RegistryError('invalid_input', `${path}: ${issue.message}`);
}

export function checkActorAt(actor: string, at: number): void {
  parse(Actor, actor, 'actor');
  parse(Millis, at, 'at');
}

export function checkCredential(credential: string, what: string): void {
  if (credential.length === 0 || credential.length > 256 || credential.trim() !== credential) {
    throw new RegistryError(
      'invalid_input',
      `${what}.credential must be a normalised credential (1-256 characters, no surrounding spaces)`,
    );
  }
}

export function checkWindow(from: number | null, until: number | null): void {
  if (from !== null && until !== null && until <= from) {
    throw new RegistryError('invalid_input', 'validUntil must be after validFrom');
  }
}

export function parsePermission(personId: string, doorId: string, scheduleId: string): DoorPermission {
  return {
    personId: parse(Id, personId, 'personId'),
    doorId: parse(Id, doorId, 'doorId'),
    scheduleId: parse(Id, scheduleId, 'scheduleId'),
  };
}

export function newId(prefix: 'p' | 'b'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}
