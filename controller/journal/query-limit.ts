/**
 * How many rows one journal query may return: Journal.query refuses more, and `sekisho log --limit`
 * and `GET /api/journal?limit=` accept exactly this range (one definition, so a value one accepts
 * is never refused by the other).
 */
import { z } from 'zod';

export const QUERY_LIMIT = { min: 1, max: 10_000, default: 100 } as const;

/** A `limit` as text or number: an integer from QUERY_LIMIT.min to QUERY_LIMIT.max, default QUERY_LIMIT.default. */
export const QueryLimit = z.coerce
  .number()
  .int()
  .min(QUERY_LIMIT.min)
  .max(QUERY_LIMIT.max)
  .default(QUERY_LIMIT.default);
