/**
 * Flushes and bytes per physical event of `sekisho start` as deployed (docs/benchmarks.md,
 * Checkpoints), on a fresh storage with 20 staff: n presentations over the HTTP sim route, three in
 * four granted and followed by the door opened and closed, one in four an unknown card; `burst` back
 * to back, `pace` 0.5–1.5 s apart; `mqtt` with a local Mosquitto. Counts every fsync/fdatasync of
 * the process and its threads by file (strace -f -y, attached after a warm-up) and its write_bytes
 * (/proc/<pid>/io) over the load and the 12 s after it. Needs strace and the build:
 *   node scripts/build.mjs --out tmp/bench-dist
 *   [LD_PRELOAD=slowsync.so SLOWSYNC_US=5000] node --import tsx tests/journal/bench-flushes.ts burst 100 mqtt
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOOR, type Staff } from '../../bench/lib/dataset.js';
import { benchConfig } from '../../bench/lib/setup.js';
import { sleep } from '../../bench/lib/stats.js';
import { SimBadges, startProcess } from '../../bench/process.js';
import { writeBytes } from '../../bench/wear.js';
import { loadConfig } from '../../controller/config/index.js';
import { openStorage } from '../../controller/storage.js';
import { startMosquitto } from '../helpers/mosquitto.js';

const mode = process.argv[2] ?? 'burst';
const n = Number(process.argv[3] ?? 100);
const useMqtt = process.argv[4] === 'mqtt';
const credentialOf = (i: number) => (0x0a00000000 + i).toString(16).toUpperCase().padStart(10, '0');

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'sekisho-flushes-'));
  const storage = join(work, 'data');
  const broker = useMqtt ? await startMosquitto() : null;
  const { file } = benchConfig({ storageDir: storage, entry: 'sim', exit: 'sim', mqttUrl: broker?.url });
  const st = openStorage(loadConfig(file));
  const staff: Staff[] = [];
  const at = Date.now();
  for (let i = 0; i < 20; i++) {
    const p = st.registry.addPerson(
      { name: `職員 ${i}`, displayId: `W-${i}`, category: 'staff' },
      'bench',
      at,
    );
    st.registry.grantDoor(p.id, DOOR, 'always', 'bench', at);
    const b = st.registry.addBadge({ personId: p.id, credential: credentialOf(i) }, 'bench', at);
    staff.push({ personId: p.id, badgeId: b.id, credential: credentialOf(i), name: p.name });
  }
  st.db.close();
  const s = await startProcess(file, storage);
  const badges = new SimBadges(s);
  const stranger: Staff = { personId: 'nobody', badgeId: 'x', credential: 'FFFF000001', name: 'x' };
  let events = 0;
  let refused = 0;
  const one = async (i: number) => {
    // Every fourth presentation a refused (unknown) card.
    if (i % 4 === 3) {
      await badges.present(stranger);
      events++;
      refused++;
      return;
    }
    const r = await badges.present(staff[i % staff.length]!);
    events++;
    if (r.granted) {
      await badges.walkThrough();
      events += 2;
    }
  };
  for (let i = 0; i < 40; i++) await one(i);
  await sleep(12_000);
  events = 0;
  refused = 0;
  const pid = s.proc.pid!;
  const out = join(work, 'strace.txt');
  const tr = spawn('strace', ['-f', '-y', '-e', 'trace=fsync,fdatasync', '-o', out, '-p', String(pid)], {
    stdio: 'ignore',
  });
  await sleep(1500);
  const w0 = writeBytes(pid);
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    await one(i);
    if (mode === 'pace') await sleep(500 + Math.random() * 1000);
  }
  const loadS = (Date.now() - t0) / 1000;
  await sleep(12_000);
  const bytes = writeBytes(pid) - w0;
  tr.kill('SIGINT');
  await new Promise((r) => tr.once('exit', r));
  await s.stop();
  await broker?.stop();
  const lines = readFileSync(out, 'utf8')
    .split('\n')
    .filter(
      (l) =>
        (/f(data)?sync\(/.test(l) && !/resumed>|unfinished/.test(l)) || /f(data)?sync\(\d+<[^>]+>/.test(l),
    );
  const byFile = new Map<string, number>();
  for (const l of lines) {
    const m = /(fsync|fdatasync)\(\d+<([^>]+)>/.exec(l);
    if (!m) continue;
    const k = `${m[1]} ${m[2]!.replace(work, '')}`;
    byFile.set(k, (byFile.get(k) ?? 0) + 1);
  }
  const total = [...byFile.values()].reduce((a, b) => a + b, 0);
  rmSync(work, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      mode,
      n,
      events,
      refused,
      loadS,
      mqtt: useMqtt,
      flushes: total,
      flushesPerEvent: +(total / events).toFixed(3),
      kibPerEvent: +(bytes / events / 1024).toFixed(1),
      byFile: Object.fromEntries(byFile),
    }),
  );
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
