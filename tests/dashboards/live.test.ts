/** The live event stream over real HTTP: a first view at once, an update after each change, the end of the session. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, makeDash, type TestDash } from './helpers.js';

interface SseEvent {
  event: string;
  data: unknown;
}

/** Opens the stream with fetch and hands out parsed events as they arrive. */
async function openStream(base: string, path: string, cookie: string) {
  const ac = new AbortController();
  const res = await fetch(base + path, { headers: { cookie }, signal: ac.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const queue: SseEvent[] = [];
  const waiter: { wake: (() => void) | null } = { wake: null };
  let done = false;
  void (async () => {
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buf += decoder.decode(value, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) queue.push({ event, data: JSON.parse(data) });
          waiter.wake?.();
        }
      }
    } catch {
      // aborted
    }
    done = true;
    waiter.wake?.();
  })();
  return {
    res,
    ended: () => done,
    async next(pred: (e: SseEvent) => boolean = () => true, timeoutMs = 5000): Promise<SseEvent> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const i = queue.findIndex(pred);
        if (i >= 0) return queue.splice(i, 1)[0]!;
        if (done) throw new Error('stream ended');
        if (Date.now() > end) throw new Error('no such event in time');
        await new Promise<void>((r) => {
          waiter.wake = r;
          setTimeout(r, 100);
        });
        waiter.wake = null;
      }
    },
    close: () => ac.abort(),
  };
}

describe('live stream', () => {
  let d: TestDash;
  let base: string;
  let m: Client;
  beforeAll(async () => {
    d = await makeDash();
    base = await d.app.listen({ host: '127.0.0.1', port: 0 });
    m = await d.login('manager1');
  });
  afterAll(async () => {
    await d?.close();
  });

  it('sends the current view at once, then a new one after a badge, with the Live panel as HTML', async () => {
    const s = await openStream(base, '/api/live?html=1', m.cookie);
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(s.res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const first = (await s.next()) as {
      event: string;
      data: { status: { doors: { occupants: unknown[] }[] }; html: string };
    };
    expect(first.event).toBe('status');
    expect(first.data.status.doors[0]!.occupants).toHaveLength(0);
    expect(first.data.html).toContain('data-door="machine-room"');
    // Enrol someone and let them in.
    const p = (
      await m.post('/api/people', { name: '山田 太郎', displayId: 'S-1001', category: 'staff' })
    ).json();
    // A badge is a request that another person approves; here the registry enrols it directly.
    d.controller.registry.addBadge({ personId: p.id, credential: '0A1B2C3D4E' }, 'test', d.controller.now());
    d.controller.registry.grantDoor(p.id, 'machine-room', 'always', 'test', d.controller.now());
    d.controller.simulateBadge('entry', '0A1B2C3D4E');
    const update = (await s.next((e) => {
      const st = (e.data as { status: { doors: { occupants: unknown[] }[] } }).status;
      return e.event === 'status' && st.doors[0]!.occupants.length === 1;
    })) as { data: { html: string } };
    expect(update.data.html).toContain('山田 太郎');
    expect(update.data.html).toContain('S-1001');
    s.close();
  });

  it('a burst of rows gives few updates, each with the latest state', async () => {
    const s = await openStream(base, '/api/live', m.cookie);
    await s.next();
    for (let i = 0; i < 30; i++) d.controller.simulateBadge('entry', `00000000${String(i).padStart(2, '0')}`);
    const head = d.controller.journal.head().seq;
    const last = (await s.next(
      (e) => (e.data as { status: { journal: { headSeq: number } } }).status.journal.headSeq === head,
    )) as { data: { html?: string } };
    expect(last.data.html).toBeUndefined(); // JSON only unless html=1
    s.close();
  });

  it('tells the page when its session has ended, and closes', async () => {
    const c = await d.login('operator1');
    const s = await openStream(base, '/api/live?html=1', c.cookie);
    await s.next();
    await c.req('DELETE', '/api/session');
    d.controller.simulateBadge('entry', '00000000FF');
    const ev = await s.next((e) => e.event === 'expired');
    expect(ev.event).toBe('expired');
    for (let i = 0; i < 50 && !s.ended(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(s.ended()).toBe(true);
  });

  it('needs a session and the right to watch', async () => {
    const res = await fetch(`${base}/api/live`);
    expect(res.status).toBe(401);
  });
});
