/**
 * What the golden transcript test needs beyond tests/helpers: an MQTT recorder that keeps every
 * message with its topic, retain flag and bytes, a dashboard login over real HTTP, and the
 * normaliser that turns a run's journal rows and payloads into text that is the same on every run.
 */
import { realpathSync } from 'node:fs';
import { connect, type MqttClient } from 'mqtt';

export interface Message {
  topic: string;
  /** As published: MQTT 5 "retain as published", so a live retained message keeps its flag. */
  retain: boolean;
  payload: Buffer;
}

/** Subscribes (QoS 1) to `filters` and records every message in arrival order. */
export class Recorder {
  readonly messages: Message[] = [];
  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, retain: packet.retain, payload: Buffer.from(payload) });
    });
  }

  static async connect(url: string, filters: string[]): Promise<Recorder> {
    const client = connect(url, { protocolVersion: 5, clean: true, reconnectPeriod: 200 });
    const recorder = new Recorder(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(filters, { qos: 1, rap: true });
    return recorder;
  }

  /** The JSON payloads on `topic`. */
  json<T = Record<string, unknown>>(topic: string): T[] {
    return this.messages.filter((m) => m.topic === topic).map((m) => JSON.parse(m.payload.toString('utf8')));
  }

  async end(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

/** A dashboard session over real HTTP: the cookie and the CSRF token of one logged-in user. */
export interface Session {
  post<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T>;
}

/** A fixed user agent: the login is journaled, and the default one names the runtime's version. */
const USER_AGENT = 'sekisho-golden-test';

export async function login(base: string, username: string, password: string): Promise<Session> {
  const res = await fetch(`${base}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return {
    async post<T>(path: string, body: unknown = {}) {
      const r = await fetch(base + path, {
        method: 'POST',
        headers: {
          cookie,
          'x-csrf-token': csrfToken,
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
        },
        body: JSON.stringify(body),
      });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${username}: POST ${path}: ${r.status} ${text}`);
      return JSON.parse(text) as T;
    },
  };
}

/**
 * Replaces what legitimately differs between runs with placeholders, working on the text itself so
 * that everything else stays byte for byte what the controller wrote. Placeholders that stand for
 * a value (ids, hashes, keys, signatures) are numbered in order of first appearance, so that the
 * same id in two rows is still the same placeholder; times are not numbered (two events in the
 * same millisecond would otherwise renumber everything after them).
 */
export class Normaliser {
  readonly #numbered = new Map<string, Map<string, string>>();
  readonly #literals: [string, string][] = [];

  /** `value` (e.g. a temp folder, also by its real path) becomes `placeholder` everywhere. */
  literal(value: string, placeholder: string): this {
    const values = new Set([value]);
    try {
      values.add(realpathSync(value));
    } catch {
      // a value that is not a path
    }
    // Longest first, so that a folder inside another one is not half-replaced.
    for (const v of values) this.#literals.push([v, placeholder]);
    this.#literals.sort((a, b) => b[0].length - a[0].length);
    return this;
  }

  /** A journal row's hash is named by its seq: a reference to it reads `<hash of 12>`. */
  rowHash(hash: string, seq: number): void {
    this.#map('hash').set(hash, `<hash of ${seq}>`);
  }

  #map(kind: string): Map<string, string> {
    let m = this.#numbered.get(kind);
    if (!m) {
      m = new Map();
      this.#numbered.set(kind, m);
    }
    return m;
  }

  #number(kind: string, value: string): string {
    const m = this.#map(kind);
    let p = m.get(value);
    if (p === undefined) {
      p = `<${kind}${m.size + 1}>`;
      m.set(value, p);
    }
    return p;
  }

  text(input: string): string {
    let s = input;
    for (const [value, placeholder] of this.#literals) s = s.replaceAll(value, placeholder);
    // Ports are picked free on every run.
    s = s.replace(/\b(127\.0\.0\.1|localhost):\d{2,5}\b/g, '$1:<port>');
    // Versions of Sekisho and of what it runs on.
    s = s.replace(
      /"(version|sw_version|node|sqlite|os|[A-Za-z]+Version)":"[^"]*"/g,
      (_, key: string) => `"${key}":"<version>"`,
    );
    // Random ids: people, badges, dashboard users, API tokens.
    s = s.replace(/\b([pbut])_[0-9a-f]{12}\b/g, (id, prefix: string) => this.#number(prefix, id));
    // Keys and signatures (random per install): base64 after these keys.
    s = s.replace(
      /"(signature|publicKey|keyId|key)":"([^"]*)"/g,
      (_, key: string, value: string) => `"${key}":"${this.#number(key, value)}"`,
    );
    // SHA-256 hex: row hashes by their seq, the genesis hash as it is, anything else numbered.
    s = s.replace(/\b[0-9a-f]{64}\b/g, (h) =>
      /^0+$/.test(h) ? h : (this.#map('hash').get(h) ?? this.#number('sha', h)),
    );
    // Times: ISO 8601 instants, then UTC milliseconds (13 digits from 2001 to 2286).
    s = s.replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<time>');
    s = s.replace(/(?<![\d.])1\d{12}(?![\d.])/g, '<ms>');
    // Local dates (the end-of-day report's).
    s = s.replace(/"\d{4}-\d{2}-\d{2}"/g, '"<date>"');
    return s;
  }
}
