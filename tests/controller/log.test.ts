import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../controller/log.js';

function capture(level: 'debug' | 'info' | 'warn' | 'error' = 'debug') {
  const lines: string[] = [];
  return { lines, log: createLogger({ level, write: (l) => lines.push(l) }) };
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('logger', () => {
  it('never prints a secret-looking field, however deep it is nested', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    log.warn('mqtt setup', {
      broker: 'mqtts://broker:8883',
      password: 'hunter2-hunter2',
      request: { credential: '0A1B2C3D4E', nested: [{ apiToken: 'tok-123' }] },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('mqtts://broker:8883');
    for (const secret of ['hunter2-hunter2', '0A1B2C3D4E', 'tok-123']) expect(lines[0]).not.toContain(secret);
  });

  it('redacts passwords, tokens, secrets, key material, credentials, cookies and auth headers; keeps the rest', () => {
    const { lines, log } = capture();
    const fields = {
      door: 'machine-room',
      password: 'S3cret-password',
      token: 'S3cret-token',
      secret: 'S3cret-secret',
      privateKey: 'S3cret-private-key',
      hmacKey: 'S3cret-hmac-key',
      signingKey: 'S3cret-signing-key',
      credential: 'S3cret-0A1B2C3D4E',
      user: { name: 'operator', passwordHash: 'S3cret-hash', initialPassword: 'S3cret-initial' },
      session: { cookie: 'S3cret-cookie', csrfToken: 'S3cret-csrf' },
      headers: {
        'user-agent': 'curl/8',
        authorization: 'Bearer S3cret-bearer',
        'set-cookie': ['sid=S3cret-sid'],
      },
      badges: [{ label: 'blue badge', credential: 'S3cret-badge' }],
    };
    const before = structuredClone(fields);
    log.warn('request', fields);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).not.toContain('S3cret');
    expect(line.match(/"\[redacted\]"/g)).toHaveLength(14);
    // The control: harmless fields, nested or not, are printed as they are.
    for (const kept of [
      '"door":"machine-room"',
      '"name":"operator"',
      '"user-agent":"curl/8"',
      '"label":"blue badge"',
    ])
      expect(line).toContain(kept);
    // Redaction works on a copy: the caller's object (which may be journalled next) is untouched.
    expect(fields).toEqual(before);
  });

  it('hides a field whose name only contains a secret word, however deep', () => {
    const { lines, log } = capture();
    log.error('broker refused', {
      broker: { url: 'mqtts://broker:8883', mqttPassword: 'S3cret-mqtt', clientKeyPem: 'S3cret-pem' },
      a: { b: { c: { d: { e: { sessionToken: 'S3cret-deep' } } } } },
      reason: 'not authorised',
    });
    const line = lines[0]!;
    expect(line).not.toContain('S3cret');
    expect(line.match(/"\[redacted\]"/g)).toHaveLength(3);
    expect(line).toContain('"url":"mqtts://broker:8883"');
    expect(line).toContain('"reason":"not authorised"');
  });

  it('writes one line: ISO time, padded level, the message as given, then the fields as JSON', () => {
    const { lines, log } = capture();
    log.info('mqtt backlog 90 % full %s', { backlog: 90, maxBacklog: 100 });
    log.error('journal writable again');
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}mqtt backlog 90 % full %s \{"backlog":90,"maxBacklog":100\}$/,
    );
    expect(lines[1]).toMatch(/^\S+Z ERROR journal writable again$/);
  });

  it('drops messages below its level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', write: (l) => lines.push(l) });
    log.info('quiet');
    log.error('loud');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ERROR loud$/);
  });

  it('takes its level from SEKISHO_LOG (info when unset or unknown) and writes to stderr', () => {
    const out: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => out.push(String(s)) > 0);
    vi.stubEnv('SEKISHO_LOG', 'error');
    createLogger().warn('not at error');
    vi.stubEnv('SEKISHO_LOG', 'loud');
    createLogger().debug('not at info');
    createLogger().info('at info');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\S+Z INFO {2}at info\n$/);
  });
});
