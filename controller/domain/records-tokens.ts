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

export const TokenRecordSchemas = {
  token_created: TokenCreatedRecord,
  token_rotated: TokenRotatedRecord,
  token_revoked: TokenRevokedRecord,
} as const;
