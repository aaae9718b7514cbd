import { describe, expect, it } from 'vitest';
import { createLogger } from '../../controller/log.js';

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

  it('drops messages below its level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', write: (l) => lines.push(l) });
    log.info('quiet');
    log.error('loud');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ERROR loud$/);
  });
});
