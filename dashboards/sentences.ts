/**
 * Every journal record and every alarm as one sentence a manager can read, in Japanese and in
 * English (issue #18, "Evidence a manager can read"; the words are docs/glossary.md's).
 *
 * Pure: a row, the names it needs (people, cards, doors, readers, accounts — looked up by the route
 * in one batch, see `referencedIds`) and a language give plain text, which the pages escape. A
 * sentence never shows an internal id (`p_…`, `b_…`, `u_…`, `t_…`): a person is named, a card is
 * shown masked as everywhere on the dashboard, and what cannot be resolved is said as such
 * ("a person not in the register"). The raw data stays available behind the pages' 詳細 / Details.
 *
 * One table, `SENTENCES`, keyed by every type of the record catalogue: the compiler refuses a
 * catalogue type without a sentence, and tests/dashboards/sentences.test.ts renders each one in
 * both languages. A row of a type this version does not know (a newer controller's) still gets a
 * sentence, a generic one.
 */
import type { AlarmType, KnownRecordType } from '../controller/domain/index.js';
import { formatLocal } from '../controller/time.js';
import { type Lang, translator } from './i18n.js';

/** A person as a sentence names them. */
export interface NamedPerson {
  name: string;
  displayId?: string | null;
  category?: string | null;
}

/** Everything a sentence may need to resolve, gathered by the route before rendering. */
export interface Names {
  /** Person id → the person (from the registry). */
  people: ReadonlyMap<string, NamedPerson>;
  /** Badge id → its masked number. */
  badges: ReadonlyMap<string, string>;
  /** The configured doors, with their readers (to say "the entry reader of Server room"). */
  doors: readonly {
    id: string;
    name: string;
    entryReader?: string | undefined;
    exitReader?: string | undefined;
  }[];
  /** Schedule id → its name. */
  schedules: ReadonlyMap<string, string>;
  /** `user:tanaka` → "Tanaka Ichiro (tanaka)". */
  actors: ReadonlyMap<string, string>;
  /** The zone times are shown in. */
  tz: string;
  /**
   * A wall screen with names hidden: people are said by their role (職員（氏名非表示）, a visitor
   * (name hidden)), never by name, ID or card; the rows it is given carry no names (maskForSentences).
   */
  masked?: boolean;
}

/** A journal row as a sentence reads it (the journal's row, or the alarm page's context row). */
export interface SentenceRow {
  type: string;
  at: number;
  door: string | null;
  person: string | null;
  actor: string | null;
  data: unknown;
}

/** An alarm as a sentence reads it: an active alarm, or one of the history with its raised row's columns. */
export interface SentenceAlarm {
  type: string;
  door: string | null;
  person?: string | null | undefined;
  source?: string | null | undefined;
  detail: string;
}

/** Names nothing can be resolved from (a test's, or a page that shows no people). */
export function emptyNames(tz = 'UTC'): Names {
  return { people: new Map(), badges: new Map(), doors: [], schedules: new Map(), actors: new Map(), tz };
}

/** The record fields that hold a person id (one, or a list). */
const PERSON_FIELDS = ['personId', 'escort', 'hostId', 'from', 'to'] as const;
const PERSON_LIST_FIELDS = ['visitorsInside', 'visitors', 'persons', 'added', 'removed', 'entering'] as const;

/** An id as the registry makes them: `p_` / `b_` and twelve hex digits. */
const REGISTRY_ID = /^[pb]_[0-9a-f]{6,}$/;

/** How a masked row names a person (maskForSentences): `masked:` and their category, nothing else. */
const MASKED_PREFIX = 'masked:';
const HIDDEN_EN: Record<string, string> = {
  staff: 'a staff member',
  contractor: 'a contractor',
  visitor: 'a visitor',
};

function maskedCategory(token: string): string | null {
  return token.startsWith(MASKED_PREFIX) ? token.slice(MASKED_PREFIX.length) || null : null;
}

/** The data keys that hold a name, an ID card, a card number or free text: never on a masked screen. */
const NAME_KEYS = new Set([
  'personName',
  'escortName',
  'name',
  'displayId',
  'masked',
  'purpose',
  'equipment',
  'note',
  'comment',
  'detail',
  'organisation',
  'reading',
]);

/** A value a masked row may keep as it is: a number, a boolean, or a word of the code's (an enum, a reader, a date). */
const PLAIN = /^[A-Za-z0-9_.:-]{0,64}$/;

/**
 * A journal row as a wall screen with names hidden may have it put into words: each person becomes
 * `masked:<category>` (their category from `categoryOf`), cards, names, IDs and free text are left
 * out, and any other text that is not a plain code word is dropped. What no sentence may show stays
 * on the server.
 */
export function maskForSentences<R extends { person: string | null; data: unknown }>(
  row: R,
  categoryOf: (personId: string) => string | null | undefined,
): R {
  const token = (id: string) => `${MASKED_PREFIX}${categoryOf(id) ?? ''}`;
  const walk = (v: unknown, key: string): unknown => {
    if (NAME_KEYS.has(key)) return undefined;
    if (typeof v === 'string') {
      if (REGISTRY_ID.test(v)) return v.startsWith('p_') ? token(v) : null;
      return PLAIN.test(v) ? v : undefined;
    }
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, '')).filter((x) => x !== undefined);
    if (typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const w = walk(x, k);
        if (w !== undefined) out[k] = w;
      }
      return out;
    }
    return undefined;
  };
  return {
    ...row,
    person: row.person ? token(row.person) : null,
    data: walk(row.data, '') ?? {},
  };
}

/**
 * The person and badge ids that rows (and alarms) name, for the route to resolve in one query each.
 * Only strings shaped like registry ids are collected: `from`/`to` are times or roles elsewhere.
 */
export function referencedIds(rows: readonly { person?: string | null; data?: unknown; detail?: string }[]): {
  people: Set<string>;
  badges: Set<string>;
} {
  const people = new Set<string>();
  const badges = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v !== 'string' || !REGISTRY_ID.test(v)) return;
    (v.startsWith('p_') ? people : badges).add(v);
  };
  for (const r of rows) {
    add(r.person);
    const d = (r.data ?? {}) as Record<string, unknown>;
    for (const f of PERSON_FIELDS) add(d[f]);
    add(d.badge);
    add(d.badgeId);
    for (const f of PERSON_LIST_FIELDS) {
      const list = d[f];
      if (Array.isArray(list))
        for (const x of list) add(typeof x === 'string' ? x : (x as { person?: unknown })?.person);
    }
    for (const key of ['inside', 'present', 'unreturnedBadges'] as const) {
      const list = d[key];
      if (Array.isArray(list))
        for (const x of list as Record<string, unknown>[]) {
          add(x.personId);
          add(x.escort);
          add(x.hostId);
          add(x.badgeId);
        }
    }
    // An alarm's detail names the escort it misses (visits.ts writes it; no column holds it).
    if (r.detail) for (const m of r.detail.matchAll(/\b[pb]_[0-9a-f]{6,}\b/g)) add(m[0]);
  }
  return { people, badges };
}

// -------------------------------------------------------------------------------------------------
// The helpers a sentence is written with, bound to one language.

type Data = Record<string, unknown>;
type Pair = readonly [ja: string, en: string];

class Say {
  readonly t;
  constructor(
    readonly lang: Lang,
    readonly n: Names,
  ) {
    this.t = translator(lang);
  }
  private pick(ja: string, en: string): string {
    return this.lang === 'ja' ? ja : en;
  }
  /** The one of two words for this language (for the sentences' own use). */
  pick2(ja: string, en: string): string {
    return this.pick(ja, en);
  }
  /** A person by id: their name, or that they are not in the register (masked: their role). */
  person(id: unknown): string {
    if (this.n.masked) return this.hidden(typeof id === 'string' ? maskedCategory(id) : null);
    if (typeof id !== 'string' || id === '') return this.pick('不明な人', 'an unknown person');
    const p = this.n.people.get(id);
    return p ? p.name : this.pick('登録にない人', 'a person not in the register');
  }
  /** A person whose name is hidden, by their role: 「職員（氏名非表示）」, "a staff member (name hidden)". */
  hidden(category: string | null | undefined): string {
    const ja = category ? this.t(`cat_${category}`) : '';
    const en = category ? (HIDDEN_EN[category] ?? 'someone') : 'someone';
    return this.pick(`${ja && !ja.startsWith('cat_') ? ja : ''}（氏名非表示）`, `${en} (name hidden)`);
  }
  /** A person said with their role in front: 「来訪者 山田 太郎」; masked, the role alone. */
  as(category: 'visitor' | 'escort', id: unknown): string {
    if (this.n.masked)
      return category === 'visitor'
        ? this.hidden('visitor')
        : this.pick('同行者（氏名非表示）', 'an escort (name hidden)');
    const role = category === 'visitor' ? this.pick('来訪者', 'visitor') : this.pick('同行者', 'escort');
    return `${role} ${this.person(id)}`;
  }
  /** Visitors said with their role in front: 「来訪者 山田 太郎、…」; masked, how many. */
  visitorList(ids: unknown): string {
    if (this.n.masked) {
      const n = Array.isArray(ids) ? ids.length : 0;
      return this.pick(`来訪者 ${n} 人`, n === 1 ? '1 visitor' : `${n} visitors`);
    }
    return `${this.pick('来訪者', 'visitors')} ${this.people(ids)}`;
  }
  /** A person and the ID on their identity card: 「山田 太郎（S-1001）」. */
  personWithId(id: string): string {
    if (this.n.masked) return this.person(id);
    const p = this.n.people.get(id);
    return p?.displayId
      ? this.pick(`${p.name}（${p.displayId}）`, `${p.name} (${p.displayId})`)
      : this.person(id);
  }
  /** A person with their category: 「来訪者 田中 一郎」; `recorded`: the name the row itself kept. */
  personCat(id: unknown, category?: unknown, recorded?: unknown): string {
    if (this.n.masked)
      return this.hidden(
        typeof category === 'string' ? category : typeof id === 'string' ? maskedCategory(id) : null,
      );
    const cat =
      typeof category === 'string'
        ? category
        : typeof id === 'string'
          ? this.n.people.get(id)?.category
          : null;
    const name = this.named(recorded, id);
    if (!cat) return name;
    return this.pick(`${this.t(`cat_${cat}`)} ${name}`, `${this.t(`cat_${cat}`).toLowerCase()} ${name}`);
  }
  /** A name recorded in the row itself, else the register's. */
  named(name: unknown, id: unknown): string {
    if (this.n.masked) return this.person(id);
    return typeof name === 'string' && name !== '' ? name : this.person(id);
  }
  people(ids: unknown): string {
    const list = Array.isArray(ids) ? ids : [];
    if (list.length === 0) return this.pick('なし', 'nobody');
    return list
      .map((x) =>
        typeof x === 'string' ? this.person(x) : this.named((x as Data)?.name, (x as Data)?.person),
      )
      .join(this.pick('、', ', '));
  }
  door(id: unknown): string {
    if (typeof id !== 'string' || id === '') return this.pick('扉（不明）', 'a door');
    return this.n.doors.find((d) => d.id === id)?.name ?? id;
  }
  /** A reader: 「サーバー室の入室側リーダー」, or its configured id. */
  reader(id: unknown): string {
    if (typeof id !== 'string' || id === '') return this.pick('カードリーダー', 'a card reader');
    for (const d of this.n.doors) {
      if (d.entryReader === id)
        return this.pick(`${d.name}の入室側リーダー`, `the entry reader of ${d.name}`);
      if (d.exitReader === id) return this.pick(`${d.name}の退室側リーダー`, `the exit reader of ${d.name}`);
    }
    return this.pick(`カードリーダー ${id}`, `card reader ${id}`);
  }
  /** A card: its masked number (from the row, else the register), never its badge id. */
  card(masked: unknown, badgeId?: unknown): string {
    if (this.n.masked) return this.pick('カード', 'a badge');
    const m =
      typeof masked === 'string' && masked !== ''
        ? masked
        : typeof badgeId === 'string'
          ? this.n.badges.get(badgeId)
          : undefined;
    return m ? this.pick(`カード ${m}`, `badge ${m}`) : this.pick('カード', 'a badge');
  }
  /** A card's masked number alone, in brackets (「（••••3D4E）」), or nothing when it is not known. */
  cardNo(masked: unknown, badgeId?: unknown): string {
    if (this.n.masked) return '';
    const m =
      typeof masked === 'string' && masked !== ''
        ? masked
        : typeof badgeId === 'string'
          ? this.n.badges.get(badgeId)
          : undefined;
    return m ? this.pick(`（${m}）`, ` (${m})`) : '';
  }
  actor(actor: unknown): string {
    if (typeof actor !== 'string' || actor === '') return this.pick('制御装置', 'the controller');
    if (actor.startsWith('user:')) return this.n.actors.get(actor) ?? actor.slice(5);
    if (actor.startsWith('cli:'))
      return this.pick(`端末の ${actor.slice(4)}`, `${actor.slice(4)} at the device`);
    if (actor.startsWith('token:'))
      return this.pick(`API トークン「${actor.slice(6)}」`, `API token “${actor.slice(6)}”`);
    if (actor.startsWith('system')) return this.pick('システム', 'the system');
    return actor;
  }
  time(at: unknown): string {
    return typeof at === 'number' && Number.isFinite(at) ? formatLocal(at, this.n.tz) : '—';
  }
  /** A duration in seconds, rounded for people. */
  secs(s: unknown): string {
    const v = typeof s === 'number' && Number.isFinite(s) ? Math.round(s) : 0;
    if (v < 120) return this.pick(`${v} 秒`, `${v} s`);
    const m = Math.round(v / 60);
    if (m < 120) return this.pick(`${m} 分`, `${m} min`);
    return this.pick(`${Math.round(m / 60)} 時間`, `${Math.round(m / 60)} h`);
  }
  /** The i18n label `prefix_value`, or `fallback` for a value it has no words for. */
  label(prefix: string, value: unknown, fallback: string): string {
    if (typeof value !== 'string') return fallback;
    const key = `${prefix}_${value}`;
    const s = this.t(key);
    return s === key ? fallback : s;
  }
  reason(code: unknown): string {
    return this.label(
      'reason',
      code,
      typeof code === 'string' ? code : this.pick('理由不明', 'no reason recorded'),
    );
  }
  kind(kind: unknown): string {
    return this.label('kind', kind, this.pick('申請', 'request'));
  }
  role(role: unknown): string {
    return this.label(
      'role',
      role,
      typeof role === 'string' ? role : this.pick('不明な役割', 'an unknown role'),
    );
  }
  schedule(id: unknown): string {
    const s = typeof id === 'string' ? id : '';
    return this.n.schedules.get(s) ?? s;
  }
  alarmName(type: unknown): string {
    const key = `alarm_${String(type)}`;
    const s = this.t(key);
    return s === key ? this.pick('警報', 'alarm') : s;
  }
  /** A user account named in a row: its display name if known, else its user name. */
  account(d: Data): string {
    const u = typeof d.username === 'string' ? d.username : null;
    const known = u ? this.n.actors.get(`user:${u}`) : undefined;
    return known ?? (u ? u : this.pick('不明なアカウント', 'an unknown account'));
  }
  num(v: unknown): string {
    return typeof v === 'number' ? v.toLocaleString(this.lang === 'ja' ? 'ja-JP' : 'en-GB') : '?';
  }
  quote(text: unknown): string {
    // Free text (a purpose, a note) may name someone: a masked screen is not shown it.
    if (this.n.masked) return '';
    const s = typeof text === 'string' ? text.trim() : '';
    return s === '' ? '' : this.pick(`「${s}」`, `“${s}”`);
  }
}

type Sentence = (d: Data, r: SentenceRow, x: Say) => Pair;

const dirJa = (d: Data) => (d.direction === 'out' ? '退室' : '入室');
const dirEn = (d: Data) => (d.direction === 'out' ? 'exit' : 'entry');

function access(d: Data, r: SentenceRow, x: Say): Pair {
  // The name as recorded with the entry: what the person was called when they badged.
  const who = r.person ? x.personCat(r.person, d.category, d.personName) : null;
  const card = x.card(d.masked, d.badge);
  const where = x.door(r.door);
  const extrasJa: string[] = [];
  const extrasEn: string[] = [];
  if (typeof d.escort === 'string') {
    extrasJa.push(`同行者：${x.named(d.escortName, d.escort)}`);
    extrasEn.push(`escorted by ${x.named(d.escortName, d.escort)}`);
  } else if (d.escort === null && d.category === 'visitor' && d.result === 'granted') {
    extrasJa.push('同行者なし');
    extrasEn.push('with no escort');
  }
  if (Array.isArray(d.visitors) && d.visitors.length) {
    extrasJa.push(`同行した来訪者：${x.people(d.visitors)}`);
    extrasEn.push(`with visitors ${x.people(d.visitors)}`);
  }
  if (Array.isArray(d.visitorsInside) && d.visitorsInside.length) {
    extrasJa.push(`室内に残る来訪者：${x.people(d.visitorsInside)}`);
    extrasEn.push(`visitors still inside: ${x.people(d.visitorsInside)}`);
  }
  if (d.passback === 'violation') {
    extrasJa.push('アンチパスバック違反');
    extrasEn.push('anti-passback violation');
  }
  if (typeof d.decided === 'string') {
    extrasJa.push(`判定は「${x.reason(d.decided)}」でしたが記録できませんでした`);
    extrasEn.push(`decided “${x.reason(d.decided)}” but it could not be recorded`);
  }
  const ja = extrasJa.length ? `（${extrasJa.join('、')}）` : '';
  const en = extrasEn.length ? ` (${extrasEn.join('; ')})` : '';
  if (d.result === 'granted') {
    const who2 = who ?? x.person(null);
    return [
      `${who2}が${card}で${where}に${dirJa(d)}しました${ja}。`,
      `${cap(who2)} ${d.direction === 'out' ? 'left' : 'entered'} ${where} with ${card}${en}.`,
    ];
  }
  const reason = x.reason(d.reason);
  if (!who)
    return [
      `登録されていない${card}が${where}で拒否されました（${reason}）${ja}。`,
      `Unregistered ${card} refused at ${where} (${reason})${en}.`,
    ];
  return [
    `${who}の${where}への${dirJa(d)}を拒否しました（${reason}・${card}）${ja}。`,
    `${cap(who)} was refused ${dirEn(d)} at ${where} (${reason}; ${card})${en}.`,
  ];
}

/** A recorded text or number as written; a dash for what an older row lacks. */
function str(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '—';
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function lockCause(c: unknown): Pair {
  switch (c) {
    case 'grant':
      return ['入室の許可により', 'for a granted badge'];
    case 'exit_request':
      return ['退室ボタンにより', 'for the exit button'];
    case 'timeout':
      return ['時間切れにより', 'after the unlock time ran out'];
    case 'closed':
      return ['扉が閉じたため', 'as the door closed'];
    case 'lockdown':
      return ['ロックダウンにより', 'for the lockdown'];
    case 'startup':
      return ['起動時に', 'at start-up'];
    case 'shutdown':
      return ['停止時に', 'at shutdown'];
    default:
      return ['', ''];
  }
}

const yes = (b: unknown) => b === true;

/** A software version as a record names it: "0.2.0" (its journal schema is not for the reader). */
const ver = (v: unknown): string =>
  typeof v === 'object' && v !== null && typeof (v as { version?: unknown }).version === 'string'
    ? (v as { version: string }).version
    : '?';

/** One sentence per record type of the catalogue. */
const SENTENCES: { readonly [T in KnownRecordType]: Sentence } = {
  access,
  exit_request: (_d, r, x) => [
    `${x.door(r.door)}の退室ボタンが押されました。`,
    `The exit button of ${x.door(r.door)} was pressed.`,
  ],
  door_opened: (d, r, x) =>
    yes(d.initial)
      ? [
          `起動時、${x.door(r.door)}は開いていました。`,
          `${x.door(r.door)} was open when the controller started.`,
        ]
      : yes(d.authorized)
        ? [`${x.door(r.door)}が開きました。`, `${x.door(r.door)} opened.`]
        : [
            `${x.door(r.door)}が許可なく開きました。`,
            `${x.door(r.door)} opened without a grant or exit request.`,
          ],
  door_closed: (_d, r, x) => [`${x.door(r.door)}が閉じました。`, `${x.door(r.door)} closed.`],
  door_unlocked: (d, r, x) => {
    const [ja, en] = lockCause(d.cause);
    return [`${x.door(r.door)}を${ja}解錠しました。`, `${x.door(r.door)} was unlocked ${en}.`];
  },
  door_locked: (d, r, x) => {
    const [ja, en] = lockCause(d.cause);
    return [`${x.door(r.door)}を${ja}施錠しました。`, `${x.door(r.door)} was locked ${en}.`];
  },
  held_open_prealarm: (_d, r, x) => [
    `${x.door(r.door)}が開いたままのため、ブザーで予告しました。`,
    `${x.door(r.door)} has been open too long: the buzzer warned.`,
  ],
  alarm_raised: (d, r, x) => {
    const s = alarmPair(
      {
        type: str(d.alarm),
        door: r.door,
        person: r.person,
        source: d.source as string,
        detail: str(d.detail ?? ''),
      },
      x,
    );
    return [`警報「${x.alarmName(d.alarm)}」：${s[0]}`, `Alarm “${x.alarmName(d.alarm)}”: ${s[1]}`];
  },
  alarm_condition_cleared: (d, r, x) => [
    `警報 #${x.num(d.alarmId)} の原因が解消しました${r.door ? `（${x.door(r.door)}）` : ''}。`,
    `The condition of alarm #${x.num(d.alarmId)} cleared${r.door ? ` (${x.door(r.door)})` : ''}.`,
  ],
  alarm_acknowledged: (d, r, x) => [
    `${x.actor(r.actor)}が警報 #${x.num(d.alarmId)} を確認しました：${x.quote(d.comment)}`,
    `${cap(x.actor(r.actor))} acknowledged alarm #${x.num(d.alarmId)}: ${x.quote(d.comment)}`,
  ],
  mode_changed: (d, r, x) =>
    d.mode === 'lockdown'
      ? [
          `${x.actor(r.actor)}が${x.door(r.door)}をロックダウンにしました。`,
          `${cap(x.actor(r.actor))} locked down ${x.door(r.door)}.`,
        ]
      : [
          `${x.actor(r.actor)}が${x.door(r.door)}を通常に戻しました。`,
          `${cap(x.actor(r.actor))} returned ${x.door(r.door)} to normal.`,
        ],
  reader_online: (d, _r, x) => [
    `${x.reader(d.reader)}が応答しています。`,
    `${cap(x.reader(d.reader))} is online.`,
  ],
  reader_offline: (d, _r, x) =>
    d.reason === 'flood'
      ? [
          `${x.reader(d.reader)}から回線の能力を大きく超えるデータが届いたため、受信を止めました。`,
          `${cap(x.reader(d.reader))} sent far more data than its line can carry; it was cut off.`,
        ]
      : [`${x.reader(d.reader)}が応答しません。`, `${cap(x.reader(d.reader))} is offline.`],
  reader_firmware: (d, _r, x) =>
    d.previous === null || d.previous === undefined
      ? [
          `${x.reader(d.reader)}の変換基板のファームウェアはバージョン ${str(d.firmware)} です。`,
          `${cap(x.reader(d.reader))}'s bridge board runs firmware ${str(d.firmware)}.`,
        ]
      : [
          `${x.reader(d.reader)}の変換基板のファームウェアが ${str(d.previous)} から ${str(d.firmware)} に変わりました。`,
          `${cap(x.reader(d.reader))}'s bridge board firmware changed from ${str(d.previous)} to ${str(d.firmware)}.`,
        ],
  controller_started: (d) => [
    `制御装置が起動しました（バージョン ${str(d.version)}${d.clockSynced === false ? '、時刻未同期' : ''}）。`,
    `The controller started (version ${str(d.version)}${d.clockSynced === false ? ', clock not synchronised' : ''}).`,
  ],
  controller_stopped: () => [
    '制御装置が停止しました。扉は施錠されています。',
    'The controller stopped; the doors are secured.',
  ],
  witness_checked: (d, r, x) =>
    yes(d.refused)
      ? [
          `${x.actor(r.actor)}が立会人の記録と照合しようとしましたが、その記録は使えませんでした。`,
          `${cap(x.actor(r.actor))} tried to check the journal against a witness history, which could not be used.`,
        ]
      : yes(d.ok)
        ? [
            `${x.actor(r.actor)}が立会人の記録と照合し、一致しました（${x.num(d.compared)} 件）。`,
            `${cap(x.actor(r.actor))} checked the journal against a witness history: it agrees (${x.num(d.compared)} rows).`,
          ]
        : [
            `${x.actor(r.actor)}が立会人の記録と照合し、不一致が見つかりました（最初は記録 #${x.num(d.firstBadSeq)}）。`,
            `${cap(x.actor(r.actor))} checked the journal against a witness history: it differs (first at record #${x.num(d.firstBadSeq)}).`,
          ],
  escort_visitors_joined: (d, r, x) => [
    `${x.person(r.person)}の同行で、${x.visitorList(d.visitors)} が${x.door(r.door)}に入室しました。`,
    `${cap(x.visitorList(d.visitors))} entered ${x.door(r.door)} escorted by ${x.person(r.person)}.`,
  ],
  escort_window_expired: (d, r, x) => [
    `${x.as('visitor', r.person)}（${x.card(d.masked, d.badge)}）は同行者を待ちましたが、時間内に同行者が来ませんでした。`,
    `${cap(x.as('visitor', r.person))} (${x.card(d.masked, d.badge)}) waited for an escort, and none came in time.`,
  ],
  handover_offered: (d, r, x) => [
    `${x.person(r.person)}が${x.visitorList(d.visitors)} の新しい同行者となることを申し出ました（${x.time(d.until)} まで）。`,
    `${x.person(r.person)} offered to take over as escort of ${x.people(d.visitors)} (until ${x.time(d.until)}).`,
  ],
  handover: (d, r, x) => [
    `${x.as('visitor', r.person)} の同行者が${d.from ? ` ${x.person(d.from)} から` : ''} ${x.person(d.to)} に替わりました。`,
    `${cap(x.as('visitor', r.person))} was handed over${d.from ? ` from ${x.person(d.from)}` : ''} to ${x.person(d.to)}.`,
  ],
  escort_left_unbadged: (d, r, x) => [
    `${x.as('escort', r.person)} は退室を拒否された後、${d.cause === 'exit_button' ? '退室ボタンで' : '扉を開けて'}退室しました。${x.visitorList(d.visitorsInside)} が室内に残っています。`,
    `${cap(x.as('escort', r.person))}, refused exit, left anyway (${d.cause === 'exit_button' ? 'exit button' : 'door opened'}); ${x.visitorList(d.visitorsInside)} are still inside.`,
  ],
  presence_uncertain: (d, r, x) => [
    `${d.cause === 'exit_button' ? '退室ボタンで' : '扉が内側から開けられ、'}${x.door(r.door)}から誰かが退室した可能性があります（在室のままとした人：${x.people(d.persons)}）。`,
    `Someone may have left ${x.door(r.door)} by the ${d.cause === 'exit_button' ? 'exit button' : 'door'} without badging (still counted inside: ${x.people(d.persons)}).`,
  ],
  presence_reconciled: (d, r, x) => [
    `${x.actor(r.actor)}が${x.door(r.door)}の在室者を訂正しました（追加：${x.people(d.added)}、除外：${x.people(d.removed)}）。理由：${x.quote(d.note)}`,
    `${cap(x.actor(r.actor))} corrected who is inside ${x.door(r.door)} (added: ${x.people(d.added)}; removed: ${x.people(d.removed)}). Note: ${x.quote(d.note)}`,
  ],
  passback_violation: (d, r, x) => [
    `${x.person(r.person)}の${dirJa(d)}は入退室の順序に反しています（アンチパスバック、${d.mode === 'hard' ? '拒否' : '通過は許可'}）。`,
    `${x.person(r.person)}'s ${dirEn(d)} broke the in/out sequence (anti-passback, ${d.mode === 'hard' ? 'refused' : 'let through'}).`,
  ],
  room_secured: (d, r, x) =>
    yes(d.late)
      ? [
          `無人の${x.door(r.door)}が閉じて施錠されました（定めた時間を過ぎてから）。`,
          `The empty room behind ${x.door(r.door)} was closed and locked, late.`,
        ]
      : [
          `無人の${x.door(r.door)}が閉じて施錠されました。`,
          `The empty room behind ${x.door(r.door)} was closed and locked.`,
        ],
  end_of_day_report: (d, _r, x) => {
    const inside = Array.isArray(d.inside) ? d.inside.length : 0;
    const badges = Array.isArray(d.unreturnedBadges) ? d.unreturnedBadges.length : 0;
    return [
      `${str(d.date)} の終業時点：在室者 ${x.num(inside)} 人、未返却の来訪者カード ${x.num(badges)} 枚。`,
      `End of day ${str(d.date)}: ${x.num(inside)} inside, ${x.num(badges)} visitor badges not returned.`,
    ];
  },
  visitor_badge_issued: (d, _r, x) => [
    `${x.as('visitor', d.personId)} に来訪者カード${x.cardNo(d.masked, d.badgeId)}を発行しました（受入担当：${x.person(d.hostId)}、目的：${x.quote(d.purpose)}、${x.time(d.validUntil)} まで）。`,
    `Visitor badge${x.cardNo(d.masked, d.badgeId)} issued to ${x.person(d.personId)} (host ${x.person(d.hostId)}, purpose ${x.quote(d.purpose)}, until ${x.time(d.validUntil)}).`,
  ],
  visitor_badge_in_use: (d, _r, x) => [
    `${x.as('visitor', d.personId)} の来訪者カード${x.cardNo(null, d.badgeId)}が使用中になりました。`,
    `The visitor badge${x.cardNo(null, d.badgeId)} of ${x.person(d.personId)} is in use.`,
  ],
  visitor_badge_returned: (d, r, x) => [
    `${x.as('visitor', d.personId)} の来訪者カード${x.cardNo(null, d.badgeId)}が返却されました（受領：${x.actor(r.actor)}）。`,
    `The visitor badge${x.cardNo(null, d.badgeId)} of ${x.person(d.personId)} was returned (taken back by ${x.actor(r.actor)}).`,
  ],
  escort_permission_granted: (d, r, x) => [
    `${x.person(d.personId)}に同行者となる権限を付与しました（${x.actor(r.actor)}）。`,
    `${x.person(d.personId)} may now escort visitors (by ${x.actor(r.actor)}).`,
  ],
  escort_permission_revoked: (d, r, x) => [
    `${x.person(d.personId)}の同行者となる権限を取り消しました（${x.actor(r.actor)}）。`,
    `${x.person(d.personId)} may no longer escort visitors (by ${x.actor(r.actor)}).`,
  ],
  unlock_skipped: (d, r, x) => [
    `記録ができなかったため、${x.door(r.door)}は開きませんでした（入室しなかった人：${x.people(d.entering)}）。`,
    `${x.door(r.door)} did not open because the records could not be written (not entered: ${x.people(d.entering)}).`,
  ],
  config_loaded: (d, r, x) => {
    const n = Array.isArray(d.changes) ? d.changes.length : 0;
    return d.previousSeq === null
      ? [
          `${x.actor(r.actor)}が設定ファイルで制御装置を起動しました（初回の記録）。`,
          `${cap(x.actor(r.actor))} started the controller with the config file (baseline).`,
        ]
      : [
          `${x.actor(r.actor)}が設定ファイルで制御装置を起動しました（入室に関わる変更 ${x.num(n)} 件）。`,
          `${cap(x.actor(r.actor))} started the controller with the config file (${x.num(n)} access-relevant changes).`,
        ];
  },
  config_change_declared: (d, r, x) => [
    `${x.actor(r.actor)}が設定ファイルの変更を申告しました：${x.quote(d.reason)}`,
    `${cap(x.actor(r.actor))} declared a change of the config file: ${x.quote(d.reason)}`,
  ],
  config_change_acknowledged: (d, r, x) => [
    `${x.actor(r.actor)}が設定変更（記録 #${x.num(d.configSeq)}、${x.num(d.changes)} 件）を確認しました：${x.quote(d.note)}`,
    `${cap(x.actor(r.actor))} acknowledged the config changes of record #${x.num(d.configSeq)} (${x.num(d.changes)}): ${x.quote(d.note)}`,
  ],
  config_change_ack_refused: (d, r, x) => [
    `${x.actor(r.actor)}による設定変更（記録 #${x.num(d.configSeq)}）の確認を拒否しました（${d.reason === 'no_person' ? '人に結び付かない認証情報' : '本人が行った変更'}）。`,
    `${cap(x.actor(r.actor))} was refused acknowledging the config changes of record #${x.num(d.configSeq)} (${d.reason === 'no_person' ? 'no person behind the credential' : 'their own change'}).`,
  ],
  person_added: (d, r, x) => [
    `${x.actor(r.actor)}が${x.label('cat', d.category, x.pick2('登録者', 'person'))} ${str(d.name)}（${str(d.displayId)}）を登録しました。`,
    `${cap(x.actor(r.actor))} registered ${x.label('cat', d.category, x.pick2('登録者', 'person')).toLowerCase()} ${str(d.name)} (${str(d.displayId)}).`,
  ],
  person_updated: (d, r, x) => {
    const fields = Object.keys((d.changes ?? {}) as Data);
    return [
      `${x.actor(r.actor)}が${x.person(r.person ?? d.id)}の登録内容（${fields.map(fieldJa).join('、')}）を変更しました。`,
      `${cap(x.actor(r.actor))} changed ${x.person(r.person ?? d.id)}'s ${fields.map(fieldEn).join(', ')}.`,
    ];
  },
  badge_added: (d, r, x) => [
    `${x.actor(r.actor)}が${x.person(d.personId)}に${x.card(d.masked)}を登録しました。`,
    `${cap(x.actor(r.actor))} enrolled ${x.card(d.masked)} for ${x.person(d.personId)}.`,
  ],
  badge_status_changed: (d, r, x) => [
    `${x.actor(r.actor)}が${x.person(d.personId)}の${x.card(null, d.badgeId)}を「${x.label('badge_status', d.status, '—')}」にしました${d.reason ? `（${str(d.reason)}）` : ''}。`,
    `${cap(x.actor(r.actor))} marked ${x.person(d.personId)}'s ${x.card(null, d.badgeId)} ${x.label('badge_status', d.status, '—')}${d.reason ? ` (${str(d.reason)})` : ''}.`,
  ],
  permission_granted: (d, r, x) => [
    `${x.actor(r.actor)}が${x.person(d.personId)}に${x.door(d.doorId)}の入室権限（時間帯：${x.schedule(d.scheduleId)}）を付与しました。`,
    `${cap(x.actor(r.actor))} gave ${x.person(d.personId)} access to ${x.door(d.doorId)} (schedule ${x.schedule(d.scheduleId)}).`,
  ],
  permission_revoked: (d, r, x) => [
    `${x.actor(r.actor)}が${x.person(d.personId)}の${x.door(d.doorId)}の入室権限を取り消しました。`,
    `${cap(x.actor(r.actor))} withdrew ${x.person(d.personId)}'s access to ${x.door(d.doorId)}.`,
  ],
  user_added: (d, r, x) => [
    `${x.actor(r.actor)}がアカウント ${str(d.displayName)}（${str(d.username)}、${x.role(d.role)}）を作成しました。`,
    `${cap(x.actor(r.actor))} created the account ${str(d.displayName)} (${str(d.username)}, ${x.role(d.role)}).`,
  ],
  user_role_changed: (d, r, x) => [
    `${x.actor(r.actor)}がアカウント ${x.account(d)} の役割を${x.role(d.from)}から${x.role(d.role)}に変更しました。`,
    `${cap(x.actor(r.actor))} changed the role of ${x.account(d)} from ${x.role(d.from)} to ${x.role(d.role)}.`,
  ],
  user_enabled: (d, r, x) => [
    `${x.actor(r.actor)}がアカウント ${x.account(d)} を有効にしました。`,
    `${cap(x.actor(r.actor))} enabled the account ${x.account(d)}.`,
  ],
  user_disabled: (d, r, x) => [
    `${x.actor(r.actor)}がアカウント ${x.account(d)} を無効にしました。`,
    `${cap(x.actor(r.actor))} disabled the account ${x.account(d)}.`,
  ],
  user_unlocked: (d, r, x) => [
    `${x.actor(r.actor)}がアカウント ${x.account(d)} のロックを解除しました。`,
    `${cap(x.actor(r.actor))} unlocked the account ${x.account(d)}.`,
  ],
  user_password_changed: (d, _r, x) => [
    `アカウント ${x.account(d)} のパスワードが変更されました${yes(d.mustChange) ? '（次回ログイン時に変更が必要）' : ''}。`,
    `The password of ${x.account(d)} was changed${yes(d.mustChange) ? ' (to be changed at the next login)' : ''}.`,
  ],
  login_failed: (d, _r, x) =>
    d.username
      ? [
          `アカウント ${x.account(d)} へのログインに失敗しました（${str(d.ip)}、連続 ${x.num(d.failures)} 回目）。`,
          `A login to ${x.account(d)} failed (${str(d.ip)}, ${x.num(d.failures)} in a row).`,
        ]
      : [
          `存在しないユーザー名でのログインに失敗しました（${str(d.ip)}）。`,
          `A login with a user name that has no account failed (${str(d.ip)}).`,
        ],
  user_locked_out: (d, _r, x) => [
    `アカウント ${x.account(d)} が ${x.time(d.until)} までロックされました（${str(d.ip)}）。`,
    `The account ${x.account(d)} was locked until ${x.time(d.until)} (${str(d.ip)}).`,
  ],
  login_throttled: (d, _r, x) => [
    `${d.username ? `アカウント ${x.account(d)}` : '存在しないユーザー名'}へのログインの失敗が続いたため、以後の試行を待たせます（${str(d.ip)}）。`,
    `Repeated failed logins to ${d.username ? x.account(d) : 'a name with no account'}: further attempts are delayed (${str(d.ip)}).`,
  ],
  login_succeeded: (d, _r, x) => [
    `${x.account(d)} がログインしました（${str(d.ip)}）。`,
    `${x.account(d)} logged in (${str(d.ip)}).`,
  ],
  logout: (d, _r, x) =>
    d.why === 'idle'
      ? [
          `${x.account(d)} は操作がなかったためログアウトされました。`,
          `${x.account(d)} was logged out after being idle.`,
        ]
      : [`${x.account(d)} がログアウトしました。`, `${x.account(d)} logged out.`],
  activation_issued: (d, _r, x) => [
    `申請 #${x.num(d.requestId)} の承認により、アカウント ${x.account(d)} の有効化コードを発行しました（${x.time(d.expiresAt)} まで）。`,
    `Request #${x.num(d.requestId)} approved: an activation code for ${x.account(d)} was issued (valid until ${x.time(d.expiresAt)}).`,
  ],
  activation_half_shown: (d, _r, x) => [
    `申請者に、アカウント ${x.account(d)} の有効化コードの半分を表示しました（申請 #${x.num(d.requestId)}）。`,
    `The applicant was shown their half of the activation code of ${x.account(d)} (request #${x.num(d.requestId)}).`,
  ],
  account_activated: (d, _r, x) => [
    `アカウント ${x.account(d)} が有効化され、本人がパスワードを設定しました。`,
    `The account ${x.account(d)} was activated; its user set their password.`,
  ],
  activation_failed: (d, _r, x) => [
    `アカウント ${x.account(d)} の有効化を拒否しました（${d.why === 'expired' ? '期限切れ' : d.why === 'disabled' ? '無効なアカウント' : 'コードの誤り'}、${str(d.ip)}）。`,
    `An activation of ${x.account(d)} was refused (${d.why === 'expired' ? 'expired' : d.why === 'disabled' ? 'account disabled' : 'wrong code'}, ${str(d.ip)}).`,
  ],
  user_sessions_ended: (d, _r, x) => [
    `パスワードの再設定の申請により、アカウント ${x.account(d)} のログイン中の画面をすべて終了しました。`,
    `A password reset was requested: every session of ${x.account(d)} was ended.`,
  ],
  request_created: (d, r, x) => [
    `${x.actor(r.actor)}が「${x.kind(d.kind)}」を申請しました（申請 #${x.num(d.requestId)}${r.person ? `、対象：${x.person(r.person)}` : ''}）。理由：${x.quote(d.reason)}`,
    `${cap(x.actor(r.actor))} filed request #${x.num(d.requestId)}, ${x.kind(d.kind)}${r.person ? `, for ${x.person(r.person)}` : ''}. Reason: ${x.quote(d.reason)}`,
  ],
  self_approval_refused: (d, r, x) => [
    `${x.actor(r.actor)}が自分の申請 #${x.num(d.requestId)}（${x.kind(d.kind)}）を承認しようとしたため、拒否しました。`,
    `${cap(x.actor(r.actor))} tried to approve their own request #${x.num(d.requestId)} (${x.kind(d.kind)}): refused.`,
  ],
  request_approved: (d, r, x) => [
    `${x.actor(r.actor)}が申請 #${x.num(d.requestId)}（${x.kind(d.kind)}、申請者：${x.actor(d.requestedBy)}）を承認しました${d.note ? `：${x.quote(d.note)}` : '。'}`,
    `${cap(x.actor(r.actor))} approved request #${x.num(d.requestId)} (${x.kind(d.kind)}, filed by ${x.actor(d.requestedBy)})${d.note ? `: ${x.quote(d.note)}` : '.'}`,
  ],
  request_rejected: (d, r, x) => [
    `${x.actor(r.actor)}が申請 #${x.num(d.requestId)}（${x.kind(d.kind)}、申請者：${x.actor(d.requestedBy)}）を却下しました${d.note ? `：${x.quote(d.note)}` : '。'}`,
    `${cap(x.actor(r.actor))} rejected request #${x.num(d.requestId)} (${x.kind(d.kind)}, filed by ${x.actor(d.requestedBy)})${d.note ? `: ${x.quote(d.note)}` : '.'}`,
  ],
  request_withdrawn: (d, r, x) =>
    yes(d.afterApproval)
      ? [
          `${x.actor(r.actor)}が承認済みの申請 #${x.num(d.requestId)}（${x.kind(d.kind)}）を、カードを渡す前に取り下げました。`,
          `${cap(x.actor(r.actor))} withdrew approved request #${x.num(d.requestId)} (${x.kind(d.kind)}) before its card was handed out.`,
        ]
      : [
          `${x.actor(r.actor)}が申請 #${x.num(d.requestId)}（${x.kind(d.kind)}）を取り下げました。`,
          `${cap(x.actor(r.actor))} withdrew request #${x.num(d.requestId)} (${x.kind(d.kind)}).`,
        ],
  request_fulfilled: (d, r, x) => [
    `${x.actor(r.actor)}が申請 #${x.num(d.requestId)} の${x.card(d.masked, d.badgeId)}を${x.as('visitor', d.personId)} に渡しました。`,
    `${cap(x.actor(r.actor))} handed ${x.card(d.masked, d.badgeId)} of request #${x.num(d.requestId)} to ${x.as('visitor', d.personId)}.`,
  ],
  request_refused: (d, r, x) => [
    `${x.actor(r.actor)}による「${x.kind(d.kind)}」の${refusedJa(d.action)}を拒否しました（${d.why === 'no_person' ? '人に結び付かない認証情報' : '権限なし'}）。`,
    `${cap(x.actor(r.actor))} was refused to ${refusedEn(d.action)} a ${x.kind(d.kind)} request (${d.why === 'no_person' ? 'no person behind the credential' : 'not allowed'}).`,
  ],
  break_glass_used: (d, r, x) => [
    `${x.actor(d.by ?? r.actor)}が緊急時の単独実施で「${x.kind(d.kind)}」を行いました（申請 #${x.num(d.requestId)}）。理由：${x.quote(d.reason)}`,
    `${cap(x.actor(d.by ?? r.actor))} carried out ${x.kind(d.kind)} alone, break-glass (request #${x.num(d.requestId)}). Reason: ${x.quote(d.reason)}`,
  ],
  break_glass_reviewed: (d, _r, x) => [
    `${x.actor(d.reviewer)}が、${x.actor(d.usedBy)}の緊急時の単独実施（申請 #${x.num(d.requestId)}）を事後確認しました：${x.quote(d.note)}`,
    `${cap(x.actor(d.reviewer))} reviewed the break-glass use of ${x.actor(d.usedBy)} (request #${x.num(d.requestId)}): ${x.quote(d.note)}`,
  ],
  token_created: (d, r, x) => [
    `${x.actor(r.actor)}が API トークン「${str(d.name)}」を作成しました。`,
    `${cap(x.actor(r.actor))} created the API token “${str(d.name)}”.`,
  ],
  token_rotated: (d, r, x) => [
    `${x.actor(r.actor)}が API トークン「${str(d.name)}」の秘密を更新しました。`,
    `${cap(x.actor(r.actor))} rotated the secret of the API token “${str(d.name)}”.`,
  ],
  token_revoked: (d, r, x) => [
    `${x.actor(r.actor)}が API トークン「${str(d.name)}」を失効させました。`,
    `${cap(x.actor(r.actor))} revoked the API token “${str(d.name)}”.`,
  ],
  token_refused: (d, _r, x) => [
    `API トークン「${str(d.name)}」は権限の範囲外の操作を求めたため、拒否しました${typeof d.suppressed === 'number' && d.suppressed > 0 ? `（ほか ${x.num(d.suppressed)} 回）` : ''}。`,
    `The API token “${str(d.name)}” asked for something outside its scopes and was refused${typeof d.suppressed === 'number' && d.suppressed > 0 ? ` (and ${x.num(d.suppressed)} more times)` : ''}.`,
  ],
  mqtt_connected: (d, _r, x) => [
    `MQTT ブローカーに接続しました（未送信 ${x.num(d.backlog)} 件）。`,
    `Connected to the MQTT broker (${x.num(d.backlog)} waiting).`,
  ],
  mqtt_disconnected: (d, _r, x) => [
    `MQTT ブローカーとの接続が切れました（未送信 ${x.num(d.backlog)} 件）。記録は保持され、再接続後に送信されます。`,
    `The MQTT broker connection was lost (${x.num(d.backlog)} waiting); the records are kept and sent once it is back.`,
  ],
  mqtt_backlog_full: (d, _r, x) => [
    `MQTT の未送信が上限（${x.num(d.maxBacklog)} 件）に達しました。`,
    `The MQTT backlog reached its limit (${x.num(d.maxBacklog)}).`,
  ],
  mqtt_backlog_resumed: (d, _r, x) => [
    `MQTT の送信を再開しました（送信しなかった記録 ${x.num(d.skipped)} 件）。`,
    `MQTT publishing resumed (${x.num(d.skipped)} records skipped).`,
  ],
  backup_created: (d, r, x) => [
    `${x.actor(r.actor)}がバックアップを作成しました（記録 #${x.num(d.headSeq)} まで${yes(d.verified) ? '、検証済み' : ''}${yes(d.sameFileSystem) ? '、記録装置と同じカード上' : ''}）。`,
    `${cap(x.actor(r.actor))} made a backup (up to record #${x.num(d.headSeq)}${yes(d.verified) ? ', verified' : ''}${yes(d.sameFileSystem) ? ', on the same card as the journal' : ''}).`,
  ],
  backup_restored: (d, r, x) => [
    `${x.actor(r.actor)}が ${x.time(d.backupCreatedAt)} のバックアップを復元しました。`,
    `${cap(x.actor(r.actor))} restored the backup of ${x.time(d.backupCreatedAt)}.`,
  ],
  software_upgraded: (d, r, x) => [
    `${x.actor(r.actor)}がソフトウェアを ${ver(d.from)} から ${ver(d.to)} に更新しました（署名付きの更新ファイル ${str(d.artefact)}${d.backup ? '、更新前にバックアップを作成' : ''}）。`,
    `${cap(x.actor(r.actor))} upgraded the software from ${ver(d.from)} to ${ver(d.to)} (signed release ${str(d.artefact)}${d.backup ? ', backed up first' : ''}).`,
  ],
  software_upgrade_failed: (d, r, x) => [
    `${x.actor(r.actor)}によるソフトウェアの更新（${ver(d.from)} → ${ver(d.to)}）が途中で失敗し、元の版に戻しました：${x.quote(d.reason)}`,
    `${cap(x.actor(r.actor))}'s upgrade from ${ver(d.from)} to ${ver(d.to)} failed and the previous version was put back: ${x.quote(d.reason)}`,
  ],
  software_rolled_back: (d, r, x) => [
    `${x.actor(r.actor)}がソフトウェアを ${ver(d.from)} から ${ver(d.to)} に戻しました${yes(d.journalRestored) ? '（記録は更新前のバックアップに戻し、その後の記録は別ファイルに保管）' : ''}。`,
    `${cap(x.actor(r.actor))} rolled the software back from ${ver(d.from)} to ${ver(d.to)}${yes(d.journalRestored) ? ' (the journal is the pre-upgrade backup; the rows written since are kept in a separate file)' : ''}.`,
  ],
  monitor_bound: (d, r, x) => [
    `${x.actor(r.actor)}が監視画面用アカウント ${x.account(d)} の端末アドレスを ${str(d.address)} に設定しました（氏名を${yes(d.maskNames) ? '表示しない' : '表示する'}）。`,
    `${cap(x.actor(r.actor))} bound the wall-screen account ${x.account(d)} to ${str(d.address)} (names ${yes(d.maskNames) ? 'hidden' : 'shown'}).`,
  ],
  monitor_refused: (d, _r, x) => [
    `監視画面用アカウント ${x.account(d)} の${d.during === 'login' ? 'ログイン' : '利用'}を拒否しました（${str(d.ip)} から。${d.why === 'unbound' ? '端末アドレスが未設定' : '登録された端末のアドレスではありません'}）。`,
    `The wall-screen account ${x.account(d)} was refused ${d.during === 'login' ? 'a login' : 'its session'} from ${str(d.ip)} (${d.why === 'unbound' ? 'no screen address is set' : 'not its screen’s address'}).`,
  ],
  monitor_revoked: (d, r, x) => [
    `${x.actor(r.actor)}が監視画面用アカウント ${x.account(d)} のログインを終了させました（${x.num(d.sessions)} 件）。`,
    `${cap(x.actor(r.actor))} ended the sessions of the wall-screen account ${x.account(d)} (${x.num(d.sessions)}).`,
  ],
  journal_archived: (d, r, x) => [
    `${x.actor(r.actor)}が記録 #${x.num(d.fromSeq)}〜#${x.num(d.toSeq)}（${x.num(d.rows)} 件）を保存用ファイルに移しました。`,
    `${cap(x.actor(r.actor))} archived records #${x.num(d.fromSeq)} to #${x.num(d.toSeq)} (${x.num(d.rows)} rows).`,
  ],
  journal_verified: (d, r, x) =>
    yes(d.ok)
      ? [
          `${x.actor(r.actor)}が記録全体を検証しました：改ざんなし（${x.num(d.rows)} 件）${d.protectionsIntact === false ? '。ただし改ざん防止トリガーが外されています' : ''}。`,
          `${cap(x.actor(r.actor))} verified the journal: intact (${x.num(d.rows)} rows)${d.protectionsIntact === false ? ', but its protective triggers are missing' : ''}.`,
        ]
      : [
          `${x.actor(r.actor)}が記録全体を検証しました：改ざんの疑いがあります（最初は記録 #${x.num(d.firstBadSeq)}）。`,
          `${cap(x.actor(r.actor))} verified the journal: NOT intact (first at record #${x.num(d.firstBadSeq)}).`,
        ],
  evidence_exported: (d, r, x) => [
    `${x.actor(r.actor)}が記録 #${x.num(d.fromSeq)}〜#${x.num(d.toSeq)} の署名付き証拠を出力しました。`,
    `${cap(x.actor(r.actor))} exported signed evidence of records #${x.num(d.fromSeq)} to #${x.num(d.toSeq)}.`,
  ],
  log_exported: (_d, r, x) => [
    `${x.actor(r.actor)}が入退室管理簿を CSV で出力しました。`,
    `${cap(x.actor(r.actor))} exported the entry/exit log as CSV.`,
  ],
  manual_entry_recorded: (d, r, x) => [
    `紙の入退室管理簿（${str(d.paperRef)}）から転記：${x.named(d.personName, r.person)}が ${x.time(d.paperAt)} に機械鍵で${x.door(r.door)}に${dirJa(d)}しました（承認：${x.actor(d.approvedBy)}）。`,
    `Transcribed from the paper ledger (${str(d.paperRef)}): ${x.named(d.personName, r.person)} made an ${dirEn(d)} at ${x.door(r.door)} with the mechanical key at ${x.time(d.paperAt)} (approved by ${x.actor(d.approvedBy)}).`,
  ],
  clock_adjusted: (d, _r, x) => {
    const ms = typeof d.stepMs === 'number' ? d.stepMs : 0;
    return [
      `時計が ${x.secs(Math.abs(ms) / 1000)} ${ms < 0 ? '戻されました' : '進められました'}（${x.time(d.from)} → ${x.time(d.to)}）。`,
      `The clock was set ${ms < 0 ? 'back' : 'forward'} by ${x.secs(Math.abs(ms) / 1000)} (${x.time(d.from)} → ${x.time(d.to)}).`,
    ];
  },
  clock_sync_changed: (d) =>
    d.synchronised === true
      ? ['時刻が同期しました。', 'The clock is synchronised.']
      : d.synchronised === false
        ? [
            `時刻が同期していません${d.restriction ? '。時刻に依存する入室を制限しています' : ''}。`,
            `The clock is not synchronised${d.restriction ? '; entry that depends on the time is restricted' : ''}.`,
          ]
        : ['時刻の同期状態を確認できません。', 'The clock’s synchronisation cannot be confirmed.'],
  backups_removed: (d, _r, x) => [
    `古いバックアップ ${x.num(Array.isArray(d.removed) ? d.removed.length : 0)} 件を削除しました（${x.num(d.keep)} 世代を保持）。`,
    `${x.num(Array.isArray(d.removed) ? d.removed.length : 0)} old backups removed (${x.num(d.keep)} generations kept).`,
  ],
  power_on_battery: (d, _r, x) => [
    `停電です。無停電電源装置がバッテリーで運転しています（${x.secs(d.graceS)} 以内に復電しなければ停止します）。`,
    `Power failure: the UPS runs on battery (the controller stops in ${x.secs(d.graceS)} unless power returns).`,
  ],
  power_restored: (d, _r, x) => [
    `商用電源が復旧しました${typeof d.secondsOnBattery === 'number' ? `（バッテリー運転 ${x.secs(d.secondsOnBattery)}）` : ''}。`,
    `Mains power is back${typeof d.secondsOnBattery === 'number' ? ` (after ${x.secs(d.secondsOnBattery)} on battery)` : ''}.`,
  ],
  power_failing: (d, _r, x) => [
    `停電が続いたため、扉を施錠して制御装置を停止します（バッテリー運転 ${x.secs(d.secondsOnBattery)}）。`,
    `The power failure lasted: the doors are secured and the controller stops (after ${x.secs(d.secondsOnBattery)} on battery).`,
  ],
  power_monitor_lost: () => [
    '無停電電源装置の状態を読み取れなくなりました。',
    'The UPS’s status can no longer be read.',
  ],
  power_monitor_restored: (d, _r, x) => [
    `無停電電源装置の状態を再び読み取れるようになりました（${x.secs(d.secondsLost)} 後）。`,
    `The UPS’s status can be read again (after ${x.secs(d.secondsLost)}).`,
  ],
  door_commissioned: (d, r, x) => [
    `${x.actor(r.actor)}が${x.door(r.door)}の据付時の試験を行いました：${x.label('com_outcome', d.outcome, '—')}${d.board === 'sim' ? '（模擬基板）' : ''}。`,
    `${cap(x.actor(r.actor))} commissioned ${x.door(r.door)}: ${x.label('com_outcome', d.outcome, '—').toLowerCase()}${d.board === 'sim' ? ' (simulated board)' : ''}.`,
  ],
  journal_truncated: (d, _r, x) => [
    `記録 #${x.num(d.lostFrom)}〜#${x.num(d.lostThrough)} が失われています（署名済みの記録より短くなっていました）。`,
    `Records #${x.num(d.lostFrom)} to #${x.num(d.lostThrough)} are missing (the journal was behind what it had signed).`,
  ],
  journal_restored: (d, r, x) => [
    `${x.actor(r.actor)}がバックアップ（${x.time(d.backupCreatedAt)}）から記録を復元しました。${d.lostThrough === null ? `記録 #${x.num(d.lostFrom)} 以降が失われた可能性があります` : `記録 #${x.num(d.lostFrom)}〜#${x.num(d.lostThrough)} が失われました`}。`,
    `${cap(x.actor(r.actor))} restored the journal from the backup of ${x.time(d.backupCreatedAt)}; ${d.lostThrough === null ? `records from #${x.num(d.lostFrom)} on may be lost` : `records #${x.num(d.lostFrom)} to #${x.num(d.lostThrough)} were lost`}.`,
  ],
  journal_restore_acknowledged: (d, r, x) => [
    `${x.actor(r.actor)}が復元（記録 #${x.num(d.restoredSeq)}）を確認しました：${x.quote(d.note)}`,
    `${cap(x.actor(r.actor))} acknowledged the restore of record #${x.num(d.restoredSeq)}: ${x.quote(d.note)}`,
  ],
  request_amended: (d, r, x) => [
    `${x.actor(r.actor)}が変更の申請 #${x.num(d.amendment)} を承認したため、変更前の申請 #${x.num(d.requestId)}（${x.kind(d.kind)}、申請者：${x.actor(d.requestedBy)}）は取り消されました。`,
    `${cap(x.actor(r.actor))} approved amendment #${x.num(d.amendment)}, which replaces request #${x.num(d.requestId)} (${x.kind(d.kind)}, filed by ${x.actor(d.requestedBy)}).`,
  ],
  badge_found: (d, r, x) => [
    `${x.actor(r.actor)}が、紛失届の出ていた${x.person(d.personId)}の${x.card(null, d.badgeId)}を発見済みにしました（${str(d.note)}）。このカードは失効のままです。再び使うには登録の申請が必要です。`,
    `${cap(x.actor(r.actor))} recorded ${x.person(d.personId)}'s ${x.card(null, d.badgeId)}, reported lost, as found (${str(d.note)}). It stays revoked; to be used again it must be enrolled through a request.`,
  ],
  journal_restore_ack_refused: (d, r, x) => [
    `${x.actor(r.actor)}による復元（記録 #${x.num(d.restoredSeq)}）の確認を拒否しました（${d.reason === 'no_person' ? '人に結び付かない認証情報' : '復元した本人'}）。`,
    `${cap(x.actor(r.actor))} was refused acknowledging the restore of record #${x.num(d.restoredSeq)} (${d.reason === 'no_person' ? 'no person behind the credential' : 'they ran it'}).`,
  ],
  reader_identified: (d, _r, x) => [
    `${x.reader(d.reader)}（OSDP アドレス ${x.num(d.address)}）が応答しました：製造者 ${x.quote(d.vendor)}、型番 ${x.num(d.model)}、製造番号 ${x.quote(d.serial)}、ファームウェア ${x.quote(d.firmware)}${d.link === 'plain' ? '。通信は暗号化されていません' : ''}。`,
    `${cap(x.reader(d.reader))} (OSDP address ${x.num(d.address)}) identified itself: vendor ${x.quote(d.vendor)}, model ${x.num(d.model)}, serial ${x.quote(d.serial)}, firmware ${x.quote(d.firmware)}${d.link === 'plain' ? '; its line is not encrypted' : ''}.`,
  ],
  reader_replaced: (d, _r, x) => [
    `${x.reader(d.reader)}の位置で別の機器が応答しました（製造番号 ${x.quote(d.previousSerial)} → ${x.quote(d.serial)}）。カードリーダーが交換されたおそれがあります。`,
    `A different unit answers as ${x.reader(d.reader)} (serial ${x.quote(d.previousSerial)} → ${x.quote(d.serial)}): the reader may have been swapped.`,
  ],
  reader_refused: (d, _r, x) => [
    `${x.reader(d.reader)}が命令 ${x.quote(d.command)} を拒否しました（${x.quote(d.name)}）。`,
    `${cap(x.reader(d.reader))} refused the command ${x.quote(d.command)} (${x.quote(d.name)}).`,
  ],
};

function refusedJa(action: unknown): string {
  return (
    {
      create: '申請',
      approve: '承認',
      reject: '却下',
      withdraw: '取下げ',
      break_glass: '単独実施',
      review: '事後確認',
    }[String(action)] ?? '操作'
  );
}
function refusedEn(action: unknown): string {
  return (
    {
      create: 'file',
      approve: 'approve',
      reject: 'reject',
      withdraw: 'withdraw',
      break_glass: 'act alone on',
      review: 'review',
    }[String(action)] ?? 'act on'
  );
}

const FIELD_NAMES: Record<string, Pair> = {
  name: ['氏名', 'name'],
  displayId: ['ID', 'ID'],
  reading: ['フリガナ', 'reading'],
  category: ['区分', 'category'],
  validFrom: ['有効開始', 'valid from'],
  validUntil: ['有効期限', 'valid until'],
  active: ['有効・無効', 'active'],
  lockdownOverride: ['ロックダウン時の特別許可', 'lockdown override'],
  organisation: ['所属', 'organisation'],
  notes: ['備考', 'notes'],
};
const fieldJa = (f: string) => FIELD_NAMES[f]?.[0] ?? f;
const fieldEn = (f: string) => FIELD_NAMES[f]?.[1] ?? f;

// -------------------------------------------------------------------------------------------------
// Alarms

type AlarmSentence = (a: SentenceAlarm, x: Say) => Pair;

/** What a number in an alarm's detail says (the controller writes the detail in English). */
function detailMatch(detail: string, re: RegExp): string | null {
  return re.exec(detail)?.[1] ?? null;
}

const ALARMS: { readonly [T in AlarmType]: AlarmSentence } = {
  forced_open: (a, x) => [
    `${x.door(a.door)}がこじ開けられました（施錠中に、許可も退室ボタンもなく開きました）。`,
    `${x.door(a.door)} was forced open: it opened while locked, with no badge granted and no exit button.`,
  ],
  held_open: (a, x) => {
    const s = detailMatch(a.detail, /longer than (\d+) s/);
    return [
      `${x.door(a.door)}が長時間開放されています${s ? `（${s} 秒を超えて開いたまま）` : ''}。`,
      `${x.door(a.door)} is held open${s ? ` (open longer than ${s} s)` : ''}.`,
    ];
  },
  door_tamper: (a, x) => [
    `${x.door(a.door)}の機器でタンパー検知がありました（カバーや配線が開けられたおそれがあります）。`,
    `Tamper on ${x.door(a.door)}: a cover or the wiring of its equipment may have been opened.`,
  ],
  reader_offline: (a, x) =>
    / flood /.test(a.detail)
      ? [
          `${x.reader(a.source)}から回線の能力を大きく超えるデータが届いたため、受信を止めています。`,
          `${cap(x.reader(a.source))} is flooding its line and is cut off.`,
        ]
      : [`${x.reader(a.source)}が応答しません。`, `${cap(x.reader(a.source))} is offline.`],
  reader_tamper: (a, x) => [
    `${x.reader(a.source)}でタンパー検知がありました（カバーが開けられたおそれがあります）。`,
    `Tamper on ${x.reader(a.source)}: its cover may have been opened.`,
  ],
  controller_fault: () => ['制御装置に異常が発生しました。', 'The controller has a fault.'],
  storage_fault: () => [
    '記録装置に書き込めません。記録は保留され、扉は施錠を保っています。',
    'The journal cannot be written: records are queued and the doors stay secured.',
  ],
  storage_low: (a) => {
    const free = detailMatch(a.detail, /^(\S+ MiB) free/);
    return [
      `記録装置の空き容量が下限を下回りました${free ? `（空き ${free}）` : ''}。`,
      `The storage is below its floor of free space${free ? ` (${free} free)` : ''}.`,
    ];
  },
  break_glass: (a) => {
    const id = detailMatch(a.detail, /\(request (\d+)\)/);
    return [
      `緊急時の単独実施がありました${id ? `（申請 #${id}）` : ''}。別の人の事後確認が必要です。`,
      `A break-glass use${id ? ` (request #${id})` : ''}: another person must review it.`,
    ];
  },
  power_failure: (a, x) =>
    a.source
      ? [
          `${x.reader(a.source)}が電源の異常を報告しています。`,
          `${cap(x.reader(a.source))} reports a power failure.`,
        ]
      : ['停電です。無停電電源装置がバッテリーで運転しています。', 'Power failure: the UPS runs on battery.'],
  power_monitor_offline: () => [
    '無停電電源装置の状態を読み取れません。停電が起きても検知できません。',
    'The UPS cannot be read: a power failure would go unseen.',
  ],
  journal_truncated: () => [
    '記録の末尾が失われています（署名・公開済みの記録より短くなっています）。',
    'The journal is missing its latest records (it is behind what was signed or published).',
  ],
  visitor_unescorted: (a, x) => {
    const escort = detailMatch(a.detail, /their escort (p_[0-9a-f]+)/);
    return escort
      ? [
          `${x.as('visitor', a.person)} が、${x.as('escort', escort)} のいないまま${x.door(a.door)}の室内にいます。`,
          `${cap(x.as('visitor', a.person))} is inside ${x.door(a.door)} without their escort ${x.person(escort)}.`,
        ]
      : [
          `${x.as('visitor', a.person)} が同行者なしで${x.door(a.door)}の室内にいます。`,
          `${cap(x.as('visitor', a.person))} is inside ${x.door(a.door)} without an escort.`,
        ];
  },
  room_unsecured: (a, x) => [
    `${x.door(a.door)}の室内が無人になりましたが、定めた時間内に閉じて施錠されていません。`,
    `The room behind ${x.door(a.door)} is empty but was not closed and locked in time.`,
  ],
  visitor_badge_not_returned: (a, x) => {
    const masked = detailMatch(a.detail, /visitor badge (\S+) of visitor/);
    const due = detailMatch(a.detail, /due back at (\S+)$/);
    const at = due ? Date.parse(due) : Number.NaN;
    const card = x.card(masked && !REGISTRY_ID.test(masked) ? masked : null, masked);
    return [
      `${x.as('visitor', a.person)} の来訪者${card}が${Number.isNaN(at) ? '期限' : `期限（${x.time(at)}）`}を過ぎても返却されていません。`,
      `The visitor ${card} of ${x.person(a.person)} was not returned by ${Number.isNaN(at) ? 'its due time' : x.time(at)}.`,
    ];
  },
};

function alarmPair(a: SentenceAlarm, x: Say): Pair {
  const f = (ALARMS as Record<string, AlarmSentence | undefined>)[a.type];
  if (f) return f(a, x);
  return [
    `${x.alarmName(a.type)}${a.door ? `（${x.door(a.door)}）` : ''}`,
    `${x.alarmName(a.type)}${a.door ? ` (${x.door(a.door)})` : ''}`,
  ];
}

// -------------------------------------------------------------------------------------------------
// The API

const pick = (p: Pair, lang: Lang) => (lang === 'ja' ? p[0] : p[1]);

/** The space a sentence keeps after a name is not wanted after the bracket that hides one. */
const tidy = (text: string, names: Names) =>
  names.masked ? text.replace(/（氏名非表示）\s+/g, '（氏名非表示）') : text;

/** The record types with a sentence of their own (all of the catalogue). */
export function sentenceTypes(): string[] {
  return Object.keys(SENTENCES);
}

/** The alarm types with a sentence of their own. */
export function alarmSentenceTypes(): string[] {
  return Object.keys(ALARMS);
}

/** Whether `type` has a sentence of its own (not the generic one). */
export function hasSentence(type: string): boolean {
  return Object.hasOwn(SENTENCES, type);
}

/** One journal row as a sentence in `lang`. */
export function recordSentence(row: SentenceRow, names: Names, lang: Lang): string {
  const x = new Say(lang, names);
  const d = (row.data !== null && typeof row.data === 'object' ? row.data : {}) as Data;
  const f = (SENTENCES as Record<string, Sentence | undefined>)[row.type];
  if (f) return tidy(pick(f(d, row, x), lang), names);
  // A newer controller's record: say that it is one, with who and where.
  return pick(
    [
      `この版では文章にできない種類の記録です${row.door ? `（${x.door(row.door)}）` : ''}。詳細をご覧ください。`,
      `A record of a kind this version cannot put into words${row.door ? ` (${x.door(row.door)})` : ''}: see its details.`,
    ],
    lang,
  );
}

/** One alarm as a sentence in `lang`: what happened, where, to whom — never the controller's English detail. */
export function alarmSentence(alarm: SentenceAlarm, names: Names, lang: Lang): string {
  return tidy(pick(alarmPair(alarm, new Say(lang, names)), lang), names);
}

/** Does `text` show an internal id? (`p_…`, `b_…`, `u_…`, `t_…`, `v_…` and twelve-odd hex digits.) */
export function showsInternalId(text: string): boolean {
  return /\b[pbutv]_[0-9a-f]{6,}\b/.test(text);
}

// -------------------------------------------------------------------------------------------------
// The details behind the toggle: the row's data, as label/value pairs a person can still read.

/** Keys whose numbers are times (UTC ms). */
const TIME_KEY = /(^at$|^since$|^until$|^from$|^to$|At$|Until$|From$|Since$)/;

/**
 * A row's data flattened to `key: value` lines for the 詳細 / Details toggle: times in the site's
 * zone (never epoch ms), people and cards by name and masked number, nested values as short JSON.
 */
export function detailLines(row: SentenceRow, names: Names, lang: Lang): { key: string; value: string }[] {
  const x = new Say(lang, names);
  const out: { key: string; value: string }[] = [];
  const show = (key: string, v: unknown): string => {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'number') return TIME_KEY.test(key) && v > 1e11 ? x.time(v) : String(v);
    if (typeof v === 'string') {
      if (v.startsWith(MASKED_PREFIX)) return x.person(v);
      // A person by name and the ID on their card: two people may share a name.
      if (REGISTRY_ID.test(v)) return v.startsWith('p_') ? x.personWithId(v) : x.card(null, v);
      return v;
    }
    if (typeof v === 'boolean') return v ? x.t('yes') : x.t('no');
    if (Array.isArray(v))
      return v
        .map((e) => show(key, typeof e === 'object' && e !== null && 'person' in e ? (e as Data).person : e))
        .join(', ');
    return JSON.stringify(v, (k, val) =>
      typeof val === 'number' && TIME_KEY.test(k) && val > 1e11
        ? x.time(val)
        : typeof val === 'string' && (REGISTRY_ID.test(val) || val.startsWith(MASKED_PREFIX))
          ? show(k, val)
          : val,
    );
  };
  const d = (row.data !== null && typeof row.data === 'object' ? row.data : {}) as Data;
  for (const [k, v] of Object.entries(d)) {
    // The credential's keyed hash and signatures are of no use to a reader here.
    if (k === 'credentialHash' || k === 'signature') continue;
    out.push({ key: k, value: show(k, v) });
  }
  return out;
}
