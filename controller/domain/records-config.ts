/**
 * The record types of the config file (issue #14 path 8): what every start loaded, who declared a
 * change, and the second person's acknowledgement. The access-relevant keys are classified in
 * controller/config/access.ts; docs/config.md, "What is journaled".
 */
import { z } from 'zod';

/** A JSON value (the config's access-relevant part, a key's old or new value). */
const json = z.unknown();

/** One changed access-relevant key: `old` absent = the key is new; `new` absent = it was removed. */
export const ConfigChangeEntry = z.object({
  /** e.g. `schedules[office-hours].always`, `holidays`, `visitors.escortExit`. */
  path: z.string(),
  old: json.optional(),
  new: json.optional(),
});
export type ConfigChangeEntry = z.infer<typeof ConfigChangeEntry>;

/**
 * The controller started with this config. `actor` column = who started it (`cli:<os user>`, or
 * `cli:<sudo user>/<os user>`; the service account under systemd = no person; null when not known).
 */
export const ConfigLoadedRecord = z.object({
  /** The config file's absolute path. */
  file: z.string(),
  /** SHA-256 (hex) of the file's bytes as read; null for a config not read from a file. */
  sha256: z.string().nullable(),
  /** The file's modification time (UTC ms), or null. */
  modifiedAt: z.number().nullable(),
  /**
   * The access-relevant part of the config as loaded (defaults filled in, secrets and operational
   * keys left out): the journal alone shows what was in force from this row on.
   */
  access: z.record(z.string(), json),
  /** SHA-256 (hex) of `access` as canonical JSON. */
  accessSha256: z.string(),
  /** The previous start's `config_loaded` row, or null: this row is the baseline. */
  previousSeq: z.number().nullable(),
  /** The access-relevant changes since that row; on the baseline, every key (no `old`). */
  changes: z.array(ConfigChangeEntry),
});
export type ConfigLoadedRecord = z.infer<typeof ConfigLoadedRecord>;

/**
 * Someone at the device states that they changed the config file (`sekisho config declare`): they
 * are the author of the config with this hash, and may not acknowledge its changes. `actor` = them.
 */
export const ConfigChangeDeclaredRecord = z.object({
  file: z.string(),
  /** SHA-256 of the file's bytes when declared. */
  sha256: z.string(),
  reason: z.string(),
});
export type ConfigChangeDeclaredRecord = z.infer<typeof ConfigChangeDeclaredRecord>;

/** A different person reviewed the changes of a `config_loaded` row. `actor` = who. */
export const ConfigChangeAcknowledgedRecord = z.object({
  /** The `config_loaded` row's seq. */
  configSeq: z.number(),
  sha256: z.string().nullable(),
  /** How many changes were acknowledged. */
  changes: z.number(),
  note: z.string(),
});
export type ConfigChangeAcknowledgedRecord = z.infer<typeof ConfigChangeAcknowledgedRecord>;

/**
 * An acknowledgement refused because it was not a different person (§4(3)): `started` = they
 * started the controller with that config, `declared` = they declared the change, `no_person` = the
 * credential stands for no person. `actor` = who tried.
 */
export const ConfigChangeAckRefusedRecord = z.object({
  configSeq: z.number(),
  reason: z.enum(['started', 'declared', 'no_person']),
  /** The actor of the row that made them the author (the start, or the declaration). */
  by: z.string().nullable(),
});
export type ConfigChangeAckRefusedRecord = z.infer<typeof ConfigChangeAckRefusedRecord>;

export const ConfigRecordSchemas = {
  config_loaded: ConfigLoadedRecord,
  config_change_declared: ConfigChangeDeclaredRecord,
  config_change_acknowledged: ConfigChangeAcknowledgedRecord,
  config_change_ack_refused: ConfigChangeAckRefusedRecord,
} as const;
