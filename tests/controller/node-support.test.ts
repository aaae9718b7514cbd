import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_LINES, nodeSupport, SUPPORTED_MAJORS } from '../../controller/node-support.js';

describe('nodeSupport', () => {
  it('reports Node.js 20 as past its end of life after 2026-04-30, and supported the day before', () => {
    expect(nodeSupport('v20.20.2', '2026-12-07')).toMatchObject({
      status: 'end-of-life',
      major: 20,
      end: '2026-04-30',
      daysLeft: -221,
    });
    expect(nodeSupport('20.20.2', '2026-04-30').status).not.toBe('end-of-life');
    expect(nodeSupport('20.20.2', '2026-05-01').status).toBe('end-of-life');
    expect(nodeSupport('20.20.2', '2026-12-07').message).toMatch(/end of life on 2026-04-30.*24 or 26/);
  });

  it('supports the LTS lines 22, 24 and 26 until their end of life', () => {
    expect(nodeSupport('22.23.5', '2026-12-07')).toMatchObject({ status: 'supported', end: '2027-04-30' });
    expect(nodeSupport('24.22.3', '2026-12-07')).toMatchObject({ status: 'supported', daysLeft: 510 });
    expect(nodeSupport('26.12.1', '2026-12-07')).toMatchObject({ status: 'supported', end: '2029-04-30' });
    expect(nodeSupport('22.23.5', '2027-05-01').status).toBe('end-of-life');
  });

  it('does not call an odd line, or a line before its LTS date, supported', () => {
    expect(nodeSupport('25.9.0', '2026-05-01').status).toBe('untested');
    expect(nodeSupport('25.9.0', '2026-06-02').status).toBe('end-of-life');
    expect(nodeSupport('26.0.0', '2026-05-01').status).toBe('untested');
    expect(nodeSupport('26.0.0', '2026-10-28').status).toBe('supported');
  });

  it('never calls a line it does not know supported', () => {
    const r = nodeSupport('28.1.0', '2028-06-01');
    expect(r).toMatchObject({ status: 'unknown', end: null, daysLeft: null });
    expect(r.message).toMatch(/not in Sekisho's table.*checked on \d{4}-\d{2}-\d{2}/);
  });

  it("agrees with package.json's engines", () => {
    const engines: string = JSON.parse(readFileSync('package.json', 'utf8')).engines.node;
    const majors = [...engines.matchAll(/\^(\d+)\./g)].map((m) => Number(m[1]));
    expect(majors).toEqual(SUPPORTED_MAJORS);
    for (const major of SUPPORTED_MAJORS) expect(NODE_LINES.find((l) => l.major === major)?.lts).toBeTruthy();
  });
});
