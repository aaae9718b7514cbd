/**
 * The record types of OSDP readers (firmware-bridge/osdp, docs/readers.md): who answered at a
 * reader's address, a different unit answering there, and a command the reader refused.
 */
import { z } from 'zod';

/** How the line to the reader is protected: `plain` until the Secure Channel exists. */
export const OsdpLink = z.enum(['plain', 'secure']);
export type OsdpLink = z.infer<typeof OsdpLink>;

/** A reader answered its start-up: its identity (osdp_PDID), at every (re)start of its session. */
export const ReaderIdentifiedRecord = z.object({
  reader: z.string(),
  address: z.number(),
  /** IEEE OUI, 6 hex digits. */
  vendor: z.string(),
  model: z.number(),
  version: z.number(),
  /** 8 hex digits. */
  serial: z.string(),
  firmware: z.string(),
  link: OsdpLink,
});
export type ReaderIdentifiedRecord = z.infer<typeof ReaderIdentifiedRecord>;

/**
 * A different unit answers at a reader's address: its serial number is not the one journaled
 * before. Raises `reader_tamper` (a swapped reader is how a line is taken over).
 */
export const ReaderReplacedRecord = z.object({
  reader: z.string(),
  address: z.number(),
  previousSerial: z.string(),
  serial: z.string(),
  vendor: z.string(),
  model: z.number(),
  firmware: z.string(),
});
export type ReaderReplacedRecord = z.infer<typeof ReaderReplacedRecord>;

/**
 * A reader refused a command (osdp_NAK): recorded once per reader, command and code per run of
 * the controller, so a reader that refuses every poll cannot fill the journal.
 */
export const ReaderRefusedRecord = z.object({
  reader: z.string(),
  /** e.g. osdp_LED */
  command: z.string(),
  code: z.number(),
  /** e.g. unknown_command, sequence_error, security_required */
  name: z.string(),
});
export type ReaderRefusedRecord = z.infer<typeof ReaderRefusedRecord>;

export const OsdpRecordSchemas = {
  reader_identified: ReaderIdentifiedRecord,
  reader_replaced: ReaderReplacedRecord,
  reader_refused: ReaderRefusedRecord,
} as const;
