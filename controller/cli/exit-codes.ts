/**
 * Every exit status of every `sekisho` command, in one place: the code returns these names, each
 * command's `--help` lists its own, and docs/cli.md prints the same table (a test compares them).
 *
 * 0, 1 and 2 mean the same for every command; 3 and above are a command's own.
 */

/** What every command means by 0, 1 and 2. */
export const EXIT_OK = 0;
/** It ran and failed or was refused (the message says why); for verify: tampering found. */
export const EXIT_FAILED = 1;
/** Bad usage (an unknown option, an impossible date, an unknown person or door) or a bad config. */
export const EXIT_USAGE = 2;

/** `start`: stopped cleanly for a power failure (systemd does not restart it). */
export const EXIT_POWER_FAILING = 3;
/** `verify`: the chain verifies, but a protective trigger is missing or altered. */
export const EXIT_PROTECTIONS = 3;
/** `witness`: the history file fails its own check, belongs to another controller or key, or is in use. */
export const EXIT_WITNESS_HISTORY = 3;
/** `witness`: stopped after an alarm. */
export const EXIT_WITNESS_ALARM = 4;
/** `doctor`: nothing failed, but a check warned. */
export const EXIT_DOCTOR_WARNINGS = 3;
/** `upgrade`: not an artefact, truncated, a checksum differs, a bad manifest. */
export const EXIT_UPGRADE_DAMAGED = 3;
/** `upgrade`: unsigned, or not signed by the pinned release key. */
export const EXIT_UPGRADE_SIGNATURE = 4;
/** `upgrade`: another platform, architecture or Node.js ABI. */
export const EXIT_UPGRADE_PLATFORM = 5;
/** `upgrade`: a downgrade, the same version, or a schema older than the journal's. */
export const EXIT_UPGRADE_VERSION = 6;
/** `commission`: interrupted by a signal (128 + its number); every lock secured first. */
export const EXIT_SIGNAL = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

export interface ExitCodeRow {
  code: number;
  meaning: string;
}

/** The codes every command shares. */
export const COMMON_EXIT_CODES: readonly ExitCodeRow[] = [
  { code: EXIT_OK, meaning: 'done (nothing wrong found)' },
  { code: EXIT_FAILED, meaning: 'failed or refused; the message on stderr says why' },
  {
    code: EXIT_USAGE,
    meaning:
      'bad usage (unknown command or option, a missing value, an impossible date, an unknown person, door or type) or a bad config',
  },
];

/**
 * The codes a command adds to, or words differently from, the common ones. A command not listed
 * here exits only 0, 1 or 2.
 */
export const COMMAND_EXIT_CODES: Readonly<Record<string, readonly ExitCodeRow[]>> = {
  start: [
    { code: EXIT_FAILED, meaning: 'could not start (e.g. another process drives the doors of this storage)' },
    { code: EXIT_POWER_FAILING, meaning: 'stopped cleanly for a power failure (not restarted by systemd)' },
  ],
  verify: [
    { code: EXIT_OK, meaning: 'intact' },
    { code: EXIT_FAILED, meaning: 'tampering found: the first bad row is named (wins over 3)' },
    { code: EXIT_USAGE, meaning: 'bad usage; with --witness: the witness history or key cannot be used' },
    { code: EXIT_PROTECTIONS, meaning: 'the chain verifies but a protective trigger is missing or altered' },
  ],
  doctor: [
    { code: EXIT_FAILED, meaning: 'a check failed' },
    { code: EXIT_DOCTOR_WARNINGS, meaning: 'no check failed, but at least one warned (see the WARN lines)' },
  ],
  commission: [
    { code: EXIT_OK, meaning: 'every step passed' },
    {
      code: EXIT_FAILED,
      meaning: 'a step failed or was skipped, or the controller runs on this storage',
    },
    { code: EXIT_SIGNAL.SIGHUP, meaning: 'interrupted by SIGHUP (every lock secured)' },
    { code: EXIT_SIGNAL.SIGINT, meaning: 'interrupted by Ctrl-C / SIGINT (every lock secured)' },
    { code: EXIT_SIGNAL.SIGTERM, meaning: 'interrupted by SIGTERM (every lock secured)' },
  ],
  witness: [
    {
      code: EXIT_WITNESS_HISTORY,
      meaning: 'the history fails its own check, is another controller’s or key’s, or is in use',
    },
    { code: EXIT_WITNESS_ALARM, meaning: 'stopped after an alarm (at once with --exit-on-alarm)' },
  ],
  upgrade: [
    { code: EXIT_FAILED, meaning: 'it began and failed (what was changed is put back)' },
    { code: EXIT_USAGE, meaning: 'bad usage or config (no release key pinned)' },
    { code: EXIT_UPGRADE_DAMAGED, meaning: 'not an artefact, truncated, a checksum differs, a bad manifest' },
    { code: EXIT_UPGRADE_SIGNATURE, meaning: 'unsigned, or not signed by the pinned release key' },
    { code: EXIT_UPGRADE_PLATFORM, meaning: 'another platform, architecture or Node.js ABI' },
    {
      code: EXIT_UPGRADE_VERSION,
      meaning: 'a downgrade, the same version, or a schema older than the journal’s',
    },
  ],
};

/** A command's exit codes: its own words where it has them, else the common ones, by code. */
export function exitCodesOf(command: string): ExitCodeRow[] {
  const own = COMMAND_EXIT_CODES[command] ?? [];
  const byCode = new Map<number, string>(COMMON_EXIT_CODES.map((r) => [r.code, r.meaning]));
  for (const r of own) byCode.set(r.code, r.meaning);
  return [...byCode].sort(([a], [b]) => a - b).map(([code, meaning]) => ({ code, meaning }));
}
