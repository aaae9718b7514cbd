/**
 * The `ledger:` part of the config: how the printed 入退室管理簿 (/log/print) looks — the row of
 * approval seals in its head and whether its dates are Gregorian or in the Japanese era calendar.
 * Presentation only: nothing here changes what is recorded or who may enter. docs/config.md
 * ("ledger") is the reference.
 */
import { z } from 'zod';
import { nameField } from '../domain/text.js';

export const LedgerDates = z.enum(['gregorian', 'japanese'], {
  error: 'expected gregorian or japanese',
});
export type LedgerDates = z.infer<typeof LedgerDates>;

export const LedgerFields = z.strictObject({
  /**
   * The titles of the seal boxes, in the order they are stamped (e.g. 担当, 係長, 課長). Empty: one
   * box headed 確認者印 / "Checked by", which every reviewed ledger needs.
   */
  seals: z
    .array(nameField(12))
    .max(8, { error: 'at most 8 seals fit the page' })
    .refine((l) => new Set(l).size === l.length, { error: 'a seal title is listed twice' })
    .default([]),
  /** `japanese`: 令和8年12月7日; `gregorian`: 2026-12-07 (as the CSV export writes them). */
  dates: LedgerDates.default('gregorian'),
});

export const LEDGER_DEFAULTS = LedgerFields.parse({});
export const LedgerSchema = LedgerFields;
export type LedgerConfig = z.infer<typeof LedgerFields>;
