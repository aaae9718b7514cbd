/**
 * The record type of a bridge board's firmware (docs/bridge-frame.md, `hello`): journaled when the
 * controller first hears a version from a reader's board, and whenever it changes (a reflash, a
 * board swapped). The same version announced again (a board restart) is not journaled.
 */
import { z } from 'zod';

export const ReaderFirmwareRecord = z.object({
  reader: z.string(),
  /** `major.minor.patch` as the board's hello announced it. */
  firmware: z.string(),
  /** The frame protocol version of the hello (1). */
  protocol: z.number(),
  /** The version journaled before for this reader; null the first time one is heard. */
  previous: z.string().nullable(),
});
export type ReaderFirmwareRecord = z.infer<typeof ReaderFirmwareRecord>;

export const ReaderFirmwareRecordSchemas = {
  reader_firmware: ReaderFirmwareRecord,
} as const;
