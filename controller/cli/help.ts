/**
 * The `sekisho` command's help: the whole table (`sekisho help`) and one command's part of it
 * (`sekisho <command> --help`, `sekisho help <command>`), with that command's exit codes. Printing
 * help reads no config and opens no journal.
 */
import { exitCodesOf } from './exit-codes.js';

/** One line a command (`  name …`) plus its continuation lines, as the table prints them. */
const COMMANDS = `  start                                   run the controller (and its dashboard)
                                          (exit status 3: stopped cleanly for a power failure)
  verify [--public-key PEM] [--checkpoints FILE] [--archives DIR]
                                          check the journal's hash chain, signed checkpoints and
                                          protective triggers; --public-key: the pinned copy of the
                                          device key; --checkpoints: checkpoints kept off the device
                                          (JSON Lines as published on MQTT); --archives: also every
                                          archive file and the chain archive → archive → live journal.
                                          Exit 0 intact, 1 tampered, 2 usage, 3 the chain verifies
                                          but a protective trigger is missing or altered
  verify --witness FILE --public-key PEM  also compare with a witness history: name the first row
                                          deleted or altered since the witness saw it (exit 1; 2 when
                                          the history or key cannot be used)
  log [--from D] [--to D] [--person ID|CARD_ID] [--door ID] [--type T[,T...]|all] [--limit N] [--json]
                                          the entry/exit log (入退室管理簿), newest first: entries and
                                          exits (access, manual_entry_recorded) unless --type names other
                                          record types (or all); D is YYYY-MM-DD or "YYYY-MM-DD HH:MM" in
                                          the site's time zone, a --to date includes that whole day;
                                          --limit N rows (1-10000, default 100)
  person add --name N --id DISPLAY_ID --category staff|contractor|visitor
             [--reading KANA] [--valid-from D] [--valid-until D] [--lockdown-override [--break-glass REASON]]
                                          the override is filed as a request; an ID another person
                                          holds is refused
  person grant PERSON --door DOOR [--schedule ID] [--break-glass REASON]
                                          request access through a door
  person revoke-door PERSON --door DOOR   withdraw door access at once
  person list [--json]
  badge add --person PERSON --number CREDENTIAL [--format F] [--valid-from D] [--valid-until D]
            [--break-glass REASON]        request a badge (enrolled when approved); CREDENTIAL in a form
                                          the configured readers produce (0A1B2C3D4E, 12:3456, …);
                                          F = auto|em4100|wiegand26|wiegand34|line
  badge lost BADGE --reason TEXT          disable a lost badge at once (no approval needed); the
                                          reason says where and when it was lost
  badge revoke BADGE [--reason TEXT]
  badge found BADGE --note TEXT           a lost badge turned up: it stays refused (revoked), re-enrol it to use it
  badge list [--json]
  person may-escort PERSON [--break-glass REASON]   request that a staff member may escort visitors
  person may-escort PERSON --no           stop them escorting, at once
  visitor issue --host STAFF --name N --purpose TEXT [--id CARD_ID] [--organisation ORG] [--door DOOR]
                [--equipment ITEM]... [--from D] [--until D]      request a visitor badge (the card is
                                          handed out on the Visitors page once approved)
  visitor issue ... --number CREDENTIAL --break-glass REASON      issue it at once, alone
  visitor return BADGE [--note TEXT]      a visitor badge came back: revoked at once
  visitor list [--unreturned] [--json]
  presence [--json]                       who is inside each room, visitors with their escort
  record-manual-entry --person ID|CARD_ID --direction in|out --at "YYYY-MM-DD HH:MM" --paper-ref REF
             --reason TEXT [--door DOOR] [--escort ID|CARD_ID] [--outside-outage]
                                          transcribe an entry or exit made with the mechanical key from
                                          the paper 入退室管理簿: filed as a request, journaled
                                          (manual_entry_recorded) once a different person approves it;
                                          exit 1 if refused (unknown person, future time, duplicate, no
                                          recorded outage at that time without --outside-outage)
  user add --username U --role admin|manager|operator|auditor [--name N] [--valid-until D] [--generate]
                                          bootstrap only: an administrator while there are fewer than
                                          two active ones (a new installation); the password is typed
                                          twice (or read from stdin, or generated and shown once).
                                          Otherwise refused: accounts are requested on the dashboard and
                                          approved by a different administrator. No default account.
  user add --username U --role monitor --address IP [--mask-names] [--name N] [--generate]
                                          a wall screen, at any time: read-only Live and Alarms, usable
                                          from that address only, no idle logout (journaled)
  user monitor U [--address IP] [--mask-names|--show-names]
                                          change a monitor's screen address (its sessions end) or
                                          whether it is shown names (journaled as monitor_bound)
  user passwd U [--generate]              bootstrap only, as user add: set a password directly
  user passwd U --reason TEXT             with two active administrators: request a password reset as
                                          yourself (U's sessions end now); a different administrator
                                          approves it on the dashboard, and U sets the new password at
                                          /activate with two halves: the approver's and yours
  user half REQUEST_ID                    your half of the activation code of your approved account
                                          request (new account or reset), shown once
  user list [--json]
  user unlock U                           lift a lock-out (journaled with who ran it)
  user disable U                          disable an account at once; its sessions end
  token create NAME --scope metrics[,read,sim] [--expires D|Nd|never]
                                          a named API token for scripts and monitoring; the secret
                                          (sks_NAME_…) is printed once, alone on stdout. Scopes:
                                          metrics (GET /metrics), read (status, log, alarms),
                                          sim (simulation routes; simulated board only)
  token list [--json]                     name, scopes, created, last used, expiry; never the secret
  token rotate NAME [--expires D|Nd|never]   a new secret; the old one stops working at once
  token revoke NAME [--reason TEXT]       the token stops working at once
  doctor                                  check GPIO, serial ports, storage, clock and what is missing
  config declare --reason TEXT            record that you changed the config file (its current hash):
                                          a different person must acknowledge the change
  config show-changes [--all] [--pending] [--json]
                                          each start's access-relevant config changes and who
                                          acknowledged them (read-only)
  backup --to FILE [--keep N|all] [--force]
                                          online, verified backup of the journal and device secrets (mode 0600);
                                          then keeps the N newest of this device's backups in that folder
                                          (default backup.keep, 14), removing older ones (journaled)
  restore --from FILE [--force] [--public-key PEM] [--lost-through SEQ] [--checkpoint FILE] [--lost-unknown]
                                          verify a backup, then replace the journal and secrets with it
                                          (controller stopped; the replaced files are kept aside);
                                          journals journal_restored with the seqs lost since the backup
                                          (known from the replaced journal, --lost-through or a published
                                          --checkpoint; refused when unknown, unless --lost-unknown: then the
                                          next start must read the head published on MQTT first), for a
                                          different person to acknowledge
  restore --from FILE --check [--public-key PEM]   only verify a backup
  archive --to FILE [--before D]          move journal records older than storage.retentionYears into
                                          a signed archive file (mode 0600), verified before deletion
  verify-archive FILE [--public-key PEM]  verify an archive file on its own
  witness --broker URL --controller ID --public-key PEM --history FILE [--topic-prefix P] [--ca PEM]
          [--cert PEM --key PEM] [--username U --password-file F] [--client-id ID] [--exit-on-alarm]
          [--config WITNESS.yaml]        keep an off-device history of the signed checkpoints and events
                                          and alarm on a rewrite (another machine; exit 4 after an alarm)
  witness --check --history FILE [--public-key PEM]   check a witness history's own chain
  secure-outputs                          drive every lock to secured and every buzzer off, then exit
                                          (systemd runs it after the service stops)
  commission [--door ID] [--lang ja|en] [--timeout S] [--confirm-outputs] [--skip STEP=REASON]...
                                          before a door goes live, with the controller stopped: test its
                                          lock relay, contact, exit button, tamper and readers on the real
                                          board, step by step; journals a signed door_commissioned record.
                                          Answers from the terminal, or one a line from stdin (a script).
                                          Exit 0 every step passed, 1 a step failed or was skipped, the
                                          controller runs, or it was interrupted (every lock secured)
  upgrade FILE [--no-restart] [--root DIR] [--unit NAME]
                                          as root: install a signed release artefact (offline). Verifies
                                          the signature (upgrade.releaseKey), every checksum, the arch and
                                          Node.js ABI and the version first; a backup before a schema
                                          migration; journals software_upgraded; switches /opt/sekisho
                                          (the old one stays as /opt/sekisho.previous) and restarts the
                                          service (doors locked throughout). Exit 1 failed, 3 damaged,
                                          4 not signed by the release key, 5 another machine, 6 downgrade
  upgrade --check FILE                    only verify an artefact
  upgrade --rollback [--no-restart] [--root DIR]
                                          back to /opt/sekisho.previous; after a schema migration the
                                          pre-upgrade backup's journal is restored and the rows since are
                                          kept and exported beside it (software_rolled_back)
  release --tree DIR --key PEM --out FILE for maintainers (scripts/release.sh): sign a prepared tree
`;

/** What the granting commands share (the last paragraph of the full help). */
const ADMIN_NOTE = `Administrative commands are journal records with who ran them: cli:<os user>, or
cli:<sudo user>/<os user> through sudo (the installed wrapper keeps the sudo user). No --actor.
What widens access (a grant, a badge, the lockdown override, escorting, a visitor badge) is filed
as a request that a different person approves on the dashboard; --break-glass REASON (at least
20 characters) carries it out at once, alone, with a critical alarm and a review by another person.
Revocations never wait. Run as root directly or as the service account (no person), a command may
only revoke.
`;

export const HELP = `sekisho — machine-room access controller

usage: sekisho <command> [options]   (every command takes --config PATH)
       sekisho <command> --help       that command's help alone (reads no config); or: sekisho help <command>

${COMMANDS}
${ADMIN_NOTE}`;

/** Each command's lines of the table, by the command's name (the first word). */
function blocks(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of COMMANDS.split('\n')) {
    const m = /^ {2}([a-z][a-z-]*)/.exec(line);
    if (m) {
      const name = m[1]!;
      current = out.get(name) ?? [];
      out.set(name, current);
    }
    if (line !== '') current?.push(line);
  }
  return out;
}

const BLOCKS = blocks();

/** The commands `sekisho` knows, in the table's order. */
export const COMMAND_NAMES: readonly string[] = [...BLOCKS.keys()];

/** Commands that file requests or change access: their help ends with how that works. */
const ADMINISTRATIVE = new Set(['person', 'badge', 'visitor', 'user', 'record-manual-entry']);

/** One command's help, or undefined for a command that does not exist. */
export function helpFor(command: string): string | undefined {
  const lines = BLOCKS.get(command);
  if (!lines) return undefined;
  const codes = exitCodesOf(command)
    .map((c) => `  ${String(c.code).padEnd(4)}${c.meaning}`)
    .join('\n');
  return (
    `usage: sekisho ${command} [options]   (--config PATH: the controller's config, default\n` +
    `       $SEKISHO_CONFIG or /etc/sekisho/config.yaml; --name=value works as --name value)\n\n` +
    `${lines.join('\n')}\n\n` +
    `exit status:\n${codes}\n` +
    (ADMINISTRATIVE.has(command) ? `\n${ADMIN_NOTE}` : '')
  );
}
