/**
 * Every state-changing way into Sekisho — each HTTP route that is not a GET, and each `sekisho`
 * command — with what separation of duties (POLICY §4(3)) makes of it. One table: the tests
 * (tests/dashboards/duties.test.ts) fail when a route or command appears that is not in it, and
 * prove each `second-person` entry by a real call; docs/policy-compliance.md shows the same table.
 *
 * - `revocation`: narrows access; takes effect at once, needs nobody else (never waits).
 * - `second-person`: widens access (or carries such a change out); takes effect only when a
 *   different person approves — or, where `breakGlass` says so, alone on the break-glass path.
 * - `break-glass`: the break-glass path itself (its after-the-fact review by another person).
 * - `none`: no effect on who may enter (a session, an alarm's acknowledgement, a check, a read,
 *   the simulation, one's own password, a backup).
 */
export type DutyClass = 'revocation' | 'second-person' | 'break-glass' | 'none';

export interface Duty {
  readonly class: DutyClass;
  /** Can also be carried out alone, with a reason, on the break-glass path. */
  readonly breakGlass?: true;
  readonly why: string;
}

const revocation = (why: string): Duty => ({ class: 'revocation', why });
const second = (why: string, breakGlass = true): Duty =>
  breakGlass ? { class: 'second-person', breakGlass: true, why } : { class: 'second-person', why };
const none = (why: string): Duty => ({ class: 'none', why });

/** The dashboard's state-changing routes, as `METHOD /url` of their declaration. */
export const ROUTE_DUTIES: Readonly<Record<string, Duty>> = {
  'POST /api/session': none('log in'),
  'DELETE /api/session': none('log out'),
  'POST /api/me/password': none('one’s own password'),
  'POST /api/alarms/:id/ack': none('acknowledging an alarm'),
  'POST /api/doors/:door/mode': none('lockdown narrows; lifting it returns to the approved access'),
  'POST /api/doors/:door/presence': none('correcting who is inside (occupancy), not who may enter'),
  'POST /api/integrity/verify': none('verify the journal now'),
  'POST /api/integrity/witness': none('compare the journal with a witness history'),
  'POST /api/config-changes/:seq/acknowledge': none(
    'a different person acknowledges config changes already in effect (the config file is root’s; issue #14 path 8)',
  ),
  'POST /api/restores/:seq/acknowledge': none(
    'a different person acknowledges a restore of a backup and the rows it declares lost (issue #15)',
  ),
  'POST /api/people': second(
    'adding a person grants nothing; `lockdownOverride` is a lockdown_override request',
  ),
  'PATCH /api/people/:id': second(
    'an earlier start, a later end, re-activation and the lockdown override are requests; the rest narrows',
  ),
  'POST /api/people/:id/badges': second('a badge_enrol request'),
  'POST /api/people/:id/escort-revoke': revocation('withdraw the right to escort'),
  'POST /api/people/:id/revoke-door': revocation('withdraw door access'),
  'POST /api/badges/:id/lost': revocation('lost badge (§6(1)⑧)'),
  'POST /api/badges/:id/revoke': revocation('revoke a badge'),
  'POST /api/badges/:id/found': revocation(
    'a lost badge found: it stays refused (revoked); using the card again is a badge_enrol request',
  ),
  'POST /api/requests': second('files a request; with `breakGlass` carries it out alone'),
  'POST /api/requests/:id/approve': second('the second person’s act: refused to the filer', false),
  'POST /api/requests/:id/reject': none('refusing a request changes no access'),
  'POST /api/requests/:id/withdraw': none(
    'the filer withdraws a request (pending, or an approved visitor request whose card is not handed out)',
  ),
  'POST /api/requests/:id/issue-badge': second(
    'hands out the card of an approved visitor request only',
    false,
  ),
  'POST /api/visitors/:id/return': revocation('a visitor card came back'),
  'POST /api/break-glass/:id/review': { class: 'break-glass', why: 'the review by another person' },
  'POST /api/users/:id/disable': revocation('disable an account'),
  'POST /api/users/:id/unlock': none('lift a login lock-out'),
  'POST /api/users/:id/monitor': none(
    'a wall screen’s address and name masking: a monitor reads Live and Alarms, opens no door, files and approves nothing',
  ),
  'POST /api/users/:id/revoke': revocation('end a wall screen’s sessions'),
  'POST /api/requests/:id/activation-half': second(
    'the applicant’s half of an account request a different administrator approved (dual control)',
    false,
  ),
  'POST /api/activate': second(
    'the account’s user sets its password with both halves: the applicant’s and the approver’s',
    false,
  ),
  'POST /api/sim/badge': none('simulation only'),
  'POST /api/sim/doors/:door/contact': none('simulation only'),
  'POST /api/sim/doors/:door/exit-button': none('simulation only'),
  'POST /api/sim/doors/:door/tamper': none('simulation only'),
  'POST /api/sim/power': none('simulation only'),
};

/** Every `sekisho` command and subcommand (as `sekisho help` lists them). */
export const CLI_DUTIES: Readonly<Record<string, Duty>> = {
  start: none('runs the controller'),
  verify: none('reads'),
  log: none('reads'),
  'person add': second('adding grants nothing; --lockdown-override is a lockdown_override request'),
  'person grant': second('an access_grant request'),
  'person revoke-door': revocation('withdraw door access'),
  'person list': none('reads'),
  'person may-escort': second('an escort_permission request; with --no a revocation'),
  'badge add': second('a badge_enrol request'),
  'badge lost': revocation('lost badge (§6(1)⑧)'),
  'badge revoke': revocation('revoke a badge'),
  'badge found': revocation('a lost badge found: it stays refused (revoked); re-enrolling is a request'),
  'badge list': none('reads'),
  'visitor issue': second('a visitor_badge request; with --break-glass and --number issued at once'),
  'visitor return': revocation('a visitor card came back'),
  'visitor list': none('reads'),
  presence: none('reads'),
  'record-manual-entry': second(
    'a manual_entry request: a key-and-paper entry is journaled only when a different person approves it; never alone',
    false,
  ),
  'user add': second(
    'refused once two administrators are active (accounts are account_create requests); before, the journaled bootstrap of the first two. A monitor (--role monitor: a read-only wall screen bound to one address, opening no door) is made alone, journaled',
    false,
  ),
  'user monitor': none('a wall screen’s address and name masking (journaled)'),
  'user list': none('reads'),
  'user passwd': second('a password_reset request (bootstrap aside, as user add)', false),
  'user half': second('one’s own half of an account request a different administrator approved', false),
  'token create': none('a scoped API token: no token is a person, none can file, approve or grant'),
  'token list': none('reads'),
  'token rotate': none('a new secret for a token'),
  'token revoke': revocation('the token stops working at once'),
  'user unlock': none('lift a login lock-out'),
  'user disable': revocation('disable an account'),
  'config declare': none('records that the config file was changed (its hash)'),
  'config show-changes': none('reads'),
  doctor: none('checks'),
  backup: none('a verified copy'),
  restore: none(
    'root’s recovery with the controller stopped, journaled as a declared gap (journal_restored) that a different person acknowledges; root can forge anything on the box (the witness and the published checkpoints are what show it)',
  ),
  archive: none('moves records past retention into a signed archive'),
  'verify-archive': none('reads'),
  'secure-outputs': none('locks every door'),
  witness: none('an off-device subscriber: reads MQTT, writes only its own history and alarm topic'),
  upgrade: none(
    'root installs a release signed by the release key (held off the device by another person, docs/roles.md); journaled with who, from, to and the artefact’s hash; grants nobody anything',
  ),
  release: none(
    'a maintainer signs a release artefact with the release key, off the device; changes no controller',
  ),
  commission: none(
    'tests the door’s hardware with the controller stopped and journals the signed result; grants nobody anything',
  ),
};
