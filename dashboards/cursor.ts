/**
 * The cursors of the dashboard's paged lists. They are opaque to clients: an answer's `next` (or
 * `prev`) is given back as the `cursor` of the following request.
 */
import { z } from 'zod';
import { ApiError } from './http.js';

/** A people-list cursor: which way, the person it starts from, and that person's position. */
const PeopleCursor = z.strictObject({
  d: z.enum(['a', 'b']),
  n: z.string().max(200),
  i: z.string().max(64),
  o: z.number().int().nonnegative(),
});
export type PeopleCursor = z.infer<typeof PeopleCursor>;

export function encodePeopleCursor(c: PeopleCursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

export function decodePeopleCursor(text: string): PeopleCursor {
  try {
    return PeopleCursor.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw new ApiError(
      400,
      'invalid_request',
      'query.cursor: expected the `next` or `prev` of a previous answer',
    );
  }
}

/** A newest-first cursor of the log and alarm lists: the last row's time and id, `at.id`. */
export function timeCursor(at: number, id: number): string {
  return `${at}.${id}`;
}

/** The time and id of an `at.id` cursor (its shape already checked by the route's query schema). */
export function parseTimeCursor(text: string): { at: number; id: number } {
  const [at, id] = text.split('.').map(Number) as [number, number];
  return { at, id };
}
