/**
 * The record types of API tokens (`controller/accounts/tokens.ts`). `actor` column = who made the
 * change: the CLI's actor, or `system` for the simulation token the controller makes and retires
 * itself. The secret is never in a row; `tokenId` tells apart two tokens that had the same name.
 */
import { z } from 'zod';

const token = { tokenId: z.string(), name: z.string() };

export const TokenCreatedRecord = z.object({
  ...token,
  scopes: z.array(z.string()),
  /** UTC ms; null = no expiry. */
  expiresAt: z.number().nullable(),
});
export type TokenCreatedRecord = z.infer<typeof TokenCreatedRecord>;

/** A new secret; the old one stopped working in the same transaction. */
export const TokenRotatedRecord = z.object({
  ...token,
  scopes: z.array(z.string()),
  expiresAt: z.number().nullable(),
});
export type TokenRotatedRecord = z.infer<typeof TokenRotatedRecord>;

export const TokenRevokedRecord = z.object({ ...token, reason: z.string().optional() });
export type TokenRevokedRecord = z.infer<typeof TokenRevokedRecord>;

/**
 * A token asked for a route outside its scopes and was refused (403). At most one row per token a
 * minute: `suppressed` counts the refusals since the previous row that got none.
 */
export const TokenRefusedRecord = z.object({
  ...token,
  method: z.string(),
  /** The route as declared (`/api/alarms/:id/ack`), not the URL asked for. */
  route: z.string(),
  permission: z.string(),
  suppressed: z.number().int().nonnegative(),
});
export type TokenRefusedRecord = z.infer<typeof TokenRefusedRecord>;

export const TokenRecordSchemas = {
  token_created: TokenCreatedRecord,
  token_rotated: TokenRotatedRecord,
  token_revoked: TokenRevokedRecord,
  token_refused: TokenRefusedRecord,
} as const;
