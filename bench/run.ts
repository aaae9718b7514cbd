/**
 * `npm run bench [-- --quick] [--only door,alarm,queries,appends,verify,process,wear,sdcard,collector,osdp] [--docs|--no-docs]`
 *
 * Every figure is measured beside its physical limit in the same run (bench/lib/limits.ts) and
 * printed with the ratio and the goal from issue 6. Writes bench-results/<date>[-quick].json, and
 * the table into docs/benchmarks.md (between the bench markers) for a full run or with --docs.
 * The sdcard section (bench/sdcard.ts) writes its own table into docs/benchmarks.md (between the
 * sdcard markers) whenever it runs, unless --no-docs.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../controller/log.js';
import { Controller } from '../controller/runtime/index.js';
import { SimBoard } from '../hardware/index.js';
import { makePtyPair, type PtyPair } from '../tests/helpers/pty.js';
import { forcedDoorToPuback } from './alarm.js';
import { accessBytesLength, durableAppends } from './appends.js';
import { memoryFloor, replayBreakdown, verifyBreakdown } from './breakdown.js';
import { benchCollector } from './collector.js';
import { apiQueries, waitForIndex } from './dashboard.js';
import { type BadgeResult, badgeToUnlock, type DoorRig, lostBadge } from './door.js';
import { startBareBroker } from './lib/broker.js';
import { cacheRoot, type DatasetMeta, ensureDataset } from './lib/dataset.js';
import { LoadWatch, machine, rssOf } from './lib/env.js';
import { bareCommits, mqttRoundTrips, ptyTransfers, rawSha256Rate, sumOfIndependent } from './lib/limits.js';
import { type Figure, renderMarkdown, renderText } from './lib/report.js';
import { benchConfig, workingCopy } from './lib/setup.js';
import { fmt, now, type Summary, summarize } from './lib/stats.js';
import { osdpCardToUnlock } from './osdp.js';
import {
  buildForBench,
  cliVerify,
  loadAndRss,
  SERVICE_NODE_ARGS,
  SETTLE_MS,
  startProcess,
} from './process.js';
import { runQueries } from './queries.js';
import { sdcard, sdcardFigures } from './sdcard.js';
import { checkpointWrites, wear } from './wear.js';

const ROOT = resolve(import.meta.dirname, '..');
const SECTIONS = [
  'door',
  'alarm',
  'queries',
  'appends',
  'verify',
  'process',
  'wear',
  'sdcard',
  'collector',
  'osdp',
] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rows: { type: 'string' },
    people: { type: 'string' },
    presentations: { type: 'string' },
    docs: { type: 'boolean' },
    'no-docs': { type: 'boolean' },
    'sdcard-cases': { type: 'string' },
  },
});
const quick = values.quick ?? false;
// The sdcard and osdp sections run on fresh storage of their own: alone, they need only a token dataset.
const sdcardOnly = values.only?.split(',').every((x) => ['sdcard', 'osdp'].includes(x.trim())) ?? false;
const size = {
  rows: Number(values.rows ?? (sdcardOnly ? 5_000 : quick ? 200_000 : 5_000_000)),
  people: Number(values.people ?? (sdcardOnly ? 200 : quick ? 10_000 : 100_000)),
  presentations: Number(values.presentations ?? (quick ? 500 : 10_000)),
  alarms: quick ? 50 : 1000,
  lost: quick ? 10 : 100,
  repeats: quick ? 20 : 200,
  commits: quick ? 500 : 3000,
  ptys: quick ? 300 : 2000,
  appends: quick ? 500 : 3000,
  load: quick ? 300 : 10_000,
  apiQueries: quick ? 30 : 200,
  wear: quick ? 300 : 3000,
  collectorQueryRows: quick ? 1_000_000 : 50_000_000,
  collectorQueries: quick ? 25 : 100,
};
const only = new Set<Section>(
  values.only ? (values.only.split(',').map((s) => s.trim()) as Section[]) : [...SECTIONS],
);
const writeDocs = values.docs ?? (!quick && !values['no-docs'] && only.size === SECTIONS.length);

const log = (s: string) => process.stdout.write(`${s}\n`);
const figures: Figure[] = [];
const extra: Record<string, unknown> = {};
const load = new LoadWatch();
const sum = (s: Summary) => `p50 ${fmt(s.p50)} / p95 ${fmt(s.p95)} / p99 ${fmt(s.p99)}`;

async function main(): Promise<void> {
  const work = join(cacheRoot(), `work-${process.pid}`);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  log(
    `Sekisho bench (${quick ? 'quick' : 'full'}): ${size.rows.toLocaleString('en')} journal rows, ${size.people.toLocaleString('en')} people`,
  );

  // 1. The dataset (cached) and a working copy of it.
  let t = now();
  const ds = ensureDataset({ rows: size.rows, people: size.people, log });
  const meta: DatasetMeta = ds.meta;
  log(
    `dataset: ${meta.rows.toLocaleString('en')} rows, ${meta.checkpoints.toLocaleString('en')} checkpoints, ${meta.badges.toLocaleString('en')} badges ` +
      `(${meta.generatedInS} s to generate${now() - t < 5000 ? ', cached' : ''})`,
  );
  extra.dataset = { ...meta, staff: meta.staff.length };
  t = now();
  const storage = workingCopy(ds.dir, work);
  log(`working copy in ${((now() - t) / 1000).toFixed(1)} s: ${storage}`);
  const mach = machine(storage, command);
  const dbFile = join(storage, 'journal.db');

  // The controller as deployed runs the build (`npm run build`): the process figures use one.
  buildForBench();

  // 2. A real Mosquitto, when the MQTT helper exists.
  const mosq = await import('../tests/helpers/mosquitto.js').catch(() => null);
  const broker = mosq ? await mosq.startMosquitto() : null;
  const ptys: PtyPair[] = [];
  try {
    // 3. The limits, measured alone.
    log('limits: bare durable commits, pty transfers, MQTT round trips …');
    const rowLen = accessBytesLength();
    const commits = bareCommits(work, size.commits, rowLen);
    const pty = await ptyTransfers(work, size.ptys);
    const mqttRt = broker ? await mqttRoundTrips(broker.url, quick ? 300 : 2000, 420) : [];
    extra.limits = {
      commit: summarize(commits),
      pty: summarize(pty),
      mqttRoundTrip: mqttRt.length ? summarize(mqttRt) : null,
    };
    log(`  commit ${sum(summarize(commits))} ms; pty ${sum(summarize(pty))} ms`);

    if (only.has('door') || only.has('alarm') || only.has('queries')) {
      // 4. The controller in this process, its readers on real ptys.
      const entry = await makePtyPair(join(work, 'pty-entry'));
      const exit = await makePtyPair(join(work, 'pty-exit'));
      ptys.push(entry, exit);
      const { loaded } = benchConfig({
        storageDir: storage,
        entry: entry.b,
        exit: exit.b,
        mqttUrl: broker?.url,
      });
      const board = new SimBoard();
      t = now();
      const controller = await Controller.start({ loaded, board, log: createLogger({ level: 'error' }) });
      const inProcStart = now() - t;
      log(
        `controller started in this process in ${(inProcStart / 1000).toFixed(2)} s (latest snapshot + the rows after it)`,
      );
      extra.inProcessStartS = inProcStart / 1000;
      extra.invalidRowsAtStart = controller.derived.invalidRows;
      const end = Date.now() + 10_000;
      while (!controller.status().readers.every((r) => r.online) && Date.now() < end)
        await new Promise((r) => setTimeout(r, 20));
      const rig: DoorRig = {
        controller,
        board,
        entryFd: openSync(entry.a, 'w'),
        exitFd: openSync(exit.a, 'w'),
      };
      try {
        if (only.has('door')) await benchDoor(rig, meta, work, rowLen, commits, pty);
        if (only.has('alarm')) {
          if (broker) await benchAlarm(controller, board, mqttRt, work, broker.url);
          else
            figures.push(
              skipped('forced door → alarm PUBACK', 'no MQTT helper (tests/helpers/mosquitto.ts)'),
            );
        }
        if (only.has('queries')) benchQueries(controller, meta);
        // The cost of one status() call (/api/status, /healthz), which runs on the door's event loop.
        const st: number[] = [];
        for (let i = 0; i < (quick ? 50 : 200); i++) {
          const t1 = now();
          controller.status();
          st.push(now() - t1);
        }
        extra.statusCall = summarize(st);
        figures.push({
          group: 'Other',
          measure: 'Controller.status() (every /api/status and /healthz), blocks the event loop',
          figure: `${sum(summarize(st))} ms`,
          limit: '—',
          ratio: '—',
          goal: '—',
          met: null,
        });
        extra.benchProcessRssMB = (rssOf(process.pid).rss * 1048576) / 1e6;
      } finally {
        closeSync(rig.entryFd);
        closeSync(rig.exitFd);
        await controller.stop('bench end');
      }
    }

    if (only.has('appends')) benchAppends(dbFile, work, rowLen);
    if (only.has('verify')) await benchVerify(storage, dbFile);
    if (only.has('process')) await benchProcess(storage, work, meta, broker?.url);
    if (only.has('wear')) await benchWear(work, rowLen, broker?.url);
    if (only.has('collector')) {
      const c = await benchCollector(
        dbFile,
        { rows: size.rows, queryRows: size.collectorQueryRows, queries: size.collectorQueries },
        log,
      );
      figures.push(...c.figures);
      extra.collector = c.extra;
    }
    if (only.has('osdp')) await benchOsdp(work);
    if (only.has('sdcard')) {
      if (broker) await benchSdcard(work, broker.url);
      else
        figures.push({
          ...skipped('SD card', 'no MQTT helper (tests/helpers/mosquitto.ts)'),
          group: 'SD card',
        });
    }
  } finally {
    for (const p of ptys) await p.stop();
    await broker?.kill();
    rmSync(work, { recursive: true, force: true }); // the 2 GB working copy
  }

  // Report.
  const loadStats = load.stop();
  const report = { machine: mach, quick, size, load: loadStats, figures, extra };
  const text = renderText(report);
  log(`\n${text}`);
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  const stamp = mach.date.replaceAll(':', '-').slice(0, 19);
  const out = join(ROOT, 'bench-results', `${stamp}${quick ? '-quick' : ''}.json`);
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${out}`);
  if (writeDocs) {
    const doc = join(ROOT, 'docs', 'benchmarks.md');
    // The SD card figures have a table of their own (below).
    const md = renderMarkdown({ ...report, figures: figures.filter((f) => f.group !== 'SD card') });
    const begin = '<!-- bench:begin -->';
    const endMark = '<!-- bench:end -->';
    let current = existsSync(doc) ? readFileSync(doc, 'utf8') : `# Benchmarks\n\n${begin}\n${endMark}\n`;
    if (!current.includes(begin)) current += `\n${begin}\n${endMark}\n`;
    const next = current.replace(new RegExp(`${begin}[\\s\\S]*${endMark}`), `${begin}\n${md}\n${endMark}`);
    writeFileSync(doc, next);
    log(`wrote the table into ${doc}`);
  }
  if (only.has('sdcard') && !values['no-docs'] && extra.sdcard) {
    const doc = join(ROOT, 'docs', 'benchmarks.md');
    const md = renderMarkdown({ ...report, figures: figures.filter((f) => f.group === 'SD card') });
    const begin = '<!-- sdcard:begin -->';
    const endMark = '<!-- sdcard:end -->';
    let current = readFileSync(doc, 'utf8');
    if (!current.includes(begin)) current += `\n${begin}\n${endMark}\n`;
    writeFileSync(
      doc,
      current.replace(new RegExp(`${begin}[\\s\\S]*${endMark}`), `${begin}\n${md}\n${endMark}`),
    );
    log(`wrote the SD card table into ${doc}`);
  }
}

/** OSDP: card at the reader → lock output, beside the link's own limit (bench/osdp.ts). */
async function benchOsdp(work: string) {
  const n = quick ? 50 : 300;
  log(`OSDP card → unlock: ${n} presentations on a 2-reader bus …`);
  const r = await osdpCardToUnlock(work, n);
  const u = summarize(r.unlock);
  const frameMs = (r.frameBytes * 10 * 1000) / r.baudRate;
  const limit = r.pollMs + frameMs;
  extra.osdp = {
    unlock: u,
    failures: r.failures,
    pollMs: r.pollMs,
    baudRate: r.baudRate,
    frameMs,
    limitMs: limit,
  };
  log(`  unlock ${sum(u)} ms; limit ${fmt(limit)} ms; failures ${r.failures}`);
  figures.push({
    group: 'Door',
    measure: `OSDP card at the reader → lock output (2 readers on one bus, ${r.baudRate} baud, poll ≤ ${r.pollMs} ms, random phase), ${u.n} grants`,
    figure: `${sum(u)} ms`,
    limit: `${fmt(limit)} ms (a full poll interval + POLL and osdp_RAW on the line: ${r.frameBytes} bytes, ${fmt(frameMs)} ms)`,
    ratio: `p99 ${ratio(u.p99, limit)}`,
    goal: 'p99 ≤ limit + 10 ms',
    met: u.p99 <= limit + 10 && r.failures === 0,
  });
}

/** The controller on SD-card-class storage: flushes and bytes per event, door and alarm latency. */
async function benchSdcard(work: string, mqttUrl: string) {
  const cases = values['sdcard-cases']?.split(',').map((x) => x.trim());
  const r = await sdcard(work, mqttUrl, quick, log, cases);
  extra.sdcard = r;
  figures.push(...sdcardFigures(r));
}

function skipped(measure: string, why: string): Figure {
  return {
    group: 'Alarms',
    measure,
    figure: `not measured: ${why}`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  };
}

const ratio = (a: number, b: number) => `${fmt(a / b, 1)}×`;

async function benchDoor(
  rig: DoorRig,
  meta: DatasetMeta,
  work: string,
  rowLen: number,
  commits: number[],
  pty: number[],
) {
  log(`badge → unlock: ${size.presentations.toLocaleString('en')} presentations on real ptys …`);
  // In chunks, with more limit samples between them, so that figure and limit see the same load.
  const chunks = quick ? 2 : 10;
  const r: BadgeResult = {
    unlock: [],
    commit: [],
    afterCommit: [],
    failures: [],
    presentations: 0,
    wallS: 0,
  };
  const walBefore = rig.controller.status().journal.walCheckpoints;
  for (let c = 0; c < chunks; c++) {
    const part = await badgeToUnlock(rig, meta.staff, Math.ceil(size.presentations / chunks));
    r.unlock.push(...part.unlock);
    r.commit.push(...part.commit);
    r.afterCommit.push(...part.afterCommit);
    r.presentations += part.presentations;
    r.wallS += part.wallS;
    for (const f of part.failures) {
      const x = r.failures.find((y) => y.reason === f.reason);
      if (x) x.n += f.n;
      else r.failures.push({ ...f });
    }
    commits.push(...bareCommits(work, Math.ceil(size.commits / chunks), rowLen));
    pty.push(...(await ptyTransfers(work, Math.ceil(size.ptys / chunks))));
  }
  const limit = sumOfIndependent(commits, pty);
  (extra.limits as Record<string, unknown>).commitPlusPty = summarize(limit);
  (extra.limits as Record<string, unknown>).commit = summarize(commits);
  (extra.limits as Record<string, unknown>).pty = summarize(pty);
  const u = summarize(r.unlock);
  const l = summarize(limit);
  extra.badge = {
    unlock: u,
    commit: summarize(r.commit),
    afterCommit: summarize(r.afterCommit),
    failures: r.failures,
    presentations: r.presentations,
    wallS: r.wallS,
  };
  log(`  unlock ${sum(u)} ms; failures ${JSON.stringify(r.failures)}`);
  figures.push({
    group: 'Door',
    measure: `badge → unlock (last frame byte into the pty → lock output), ${u.n.toLocaleString('en')} grants`,
    figure: `${sum(u)} ms`,
    limit: `${sum(l)} ms (bare durable commit + pty transfer)`,
    ratio: `p50 ${ratio(u.p50, l.p50)}, p99 ${ratio(u.p99, l.p99)}`,
    goal: 'p99 ≤ 10 ms and ≤ 3× limit',
    met: u.p99 <= 10 && u.p99 <= 3 * l.p99 && r.failures.length === 0,
  });
  // The slowest presentations, and the WAL checkpoints on the controller's thread they may have
  // waited for (a checkpoint delays the presentation whose frame arrives while it runs). The count
  // and the waits are those of the presentations; the longest checkpoint is since the rig started.
  const wal = rig.controller.status().journal.walCheckpoints;
  const walRun = {
    count: wal.count - walBefore.count,
    waitedForFrames: wal.waitedForFrames - walBefore.waitedForFrames,
    maxMsSinceStart: wal.maxMs,
    failuresSinceStart: wal.failures,
  };
  (extra.badge as Record<string, unknown>).walCheckpoints = walRun;
  figures.push({
    group: 'Door',
    measure:
      "… the slowest presentations (p99.9, max), and the WAL checkpoints run on the controller's thread meanwhile",
    figure: `p99.9 ${fmt(u.p999)} / max ${fmt(u.max)} ms; ${walRun.count} checkpoints in ${fmt(r.wallS)} s (${walRun.waitedForFrames} waited for a frame), the longest since start ${fmt(walRun.maxMsSinceStart)} ms`,
    limit: `limit p99.9 ${fmt(l.p999)} / max ${fmt(l.max)} ms`,
    ratio: '—',
    goal: '—',
    met: null,
  });

  const c = summarize(r.commit);
  const cl = summarize(commits);
  figures.push({
    group: 'Door',
    measure: '… of which last byte → access row committed (decode, lookup, decide, commit)',
    figure: `${sum(c)} ms`,
    limit: `commit alone ${sum(cl)} ms, pty alone ${sum(summarize(pty))} ms`,
    ratio: `p50 ${ratio(c.p50, l.p50)}`,
    goal: '—',
    met: null,
  });
  const a = summarize(r.afterCommit);
  figures.push({
    group: 'Door',
    measure: '… of which access row committed → lock output (fold, listeners, door machine)',
    figure: `${sum(a)} ms`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
  // The registry lookups of one decision (keyed hash, badge, person, permissions) on 100,000 badges.
  const reg = rig.controller.registry;
  const lookups: number[] = [];
  for (let i = 0; i < (quick ? 500 : 5000); i++) {
    const s = meta.staff[i % meta.staff.length]!;
    const t = now();
    const badge = reg.findBadgeByCredential(s.credential);
    if (badge) {
      reg.getPerson(badge.personId);
      reg.permissionsFor(badge.personId);
    }
    lookups.push(now() - t);
  }
  const lk = summarize(lookups);
  extra.lookups = lk;
  figures.push({
    group: 'Door',
    measure: `… of which the registry lookups of one decision (HMAC, badge, person, permissions; ${meta.badges.toLocaleString('en')} badges)`,
    figure: `${sum(lk)} ms`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
  log('lost badge → denied …');
  const lb = await lostBadge(rig, meta.staff, size.lost);
  const ld = summarize(lb.lostToDenied);
  const lostLimit = summarize(sumOfIndependent(sumOfIndependent(commits, commits), pty));
  extra.lost = { lostToDenied: ld, disable: summarize(lb.disable), grantedAfterLoss: lb.grantedAfterLoss };
  figures.push({
    group: 'Door',
    measure: `lost badge → denied at the door (disable, then present at once), ${ld.n} times`,
    figure: `${sum(ld)} ms; granted after loss: ${lb.grantedAfterLoss}`,
    limit: `${sum(lostLimit)} ms (2 commits + pty)`,
    ratio: `p99 ${ratio(ld.p99, lostLimit.p99)}`,
    goal: 'effective within 1 s, never granted (§6(1)⑧)',
    met: ld.n === size.lost && ld.p99 < 1000 && lb.grantedAfterLoss === 0,
  });
}

async function benchAlarm(controller: Controller, board: SimBoard, rt: number[], work: string, url: string) {
  log(`forced door → alarm PUBACK: ${size.alarms} times …`);
  const chunks = quick ? 2 : 5;
  const p0: number[] = [];
  const c0: number[] = [];
  let missing = 0;
  for (let c = 0; c < chunks; c++) {
    const part = await forcedDoorToPuback(controller, board, Math.ceil(size.alarms / chunks));
    p0.push(...part.puback);
    c0.push(...part.commit);
    missing += part.missing;
    rt.push(...(await mqttRoundTrips(url, quick ? 100 : 300, 420)));
  }
  const p = summarize(p0);
  const l = summarize(rt);
  extra.alarm = { puback: p, commit: summarize(c0), missing, mqttRoundTrip: l };
  figures.push({
    group: 'Alarms',
    measure: `forced door → alarm PUBACK'd by Mosquitto (test helper's config), ${p.n} alarms${missing ? ` (${missing} missing)` : ''}`,
    figure: `${sum(p)} ms`,
    limit: `${sum(l)} ms (bare mqtt.js QoS 1 round trip)`,
    ratio: `p50 ${ratio(p.p50, l.p50)}, p99 ${ratio(p.p99, l.p99)}`,
    goal: 'p99 ≤ 20 ms',
    met: p.p99 <= 20 && missing === 0,
  });
  const c = summarize(c0);
  figures.push({
    group: 'Alarms',
    measure: '… of which contact opened → alarm_raised committed',
    figure: `${sum(c)} ms`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
  // Diagnosis: the same path against a broker with Nagle's algorithm off (set_tcp_nodelay true). The
  // journal's size does not matter here, so a small fresh controller is used.
  const nd = await startBareBroker(join(work, 'broker-nodelay'), { nodelay: true });
  const storage = join(work, 'alarm-nodelay');
  const { loaded } = benchConfig({ storageDir: storage, entry: 'sim', exit: 'sim', mqttUrl: nd.url });
  const b2 = new SimBoard();
  const c2 = await Controller.start({ loaded, board: b2, log: createLogger({ level: 'error' }) });
  try {
    const n2 = quick ? 50 : 300;
    const part = await forcedDoorToPuback(c2, b2, n2);
    const rt2 = summarize(await mqttRoundTrips(nd.url, quick ? 100 : 300, 420));
    const p2 = summarize(part.puback);
    extra.alarmNodelay = { puback: p2, missing: part.missing, mqttRoundTrip: rt2 };
    figures.push({
      group: 'Alarms',
      measure: `… the same against Mosquitto with set_tcp_nodelay true (fresh journal), ${p2.n} alarms`,
      figure: `${sum(p2)} ms`,
      limit: `${sum(rt2)} ms (bare round trip, same broker)`,
      ratio: `p50 ${ratio(p2.p50, rt2.p50)}, p99 ${ratio(p2.p99, rt2.p99)}`,
      goal: 'p99 ≤ 20 ms',
      met: p2.p99 <= 20 && part.missing === 0,
    });
  } finally {
    await c2.stop('bench end');
    await nd.stop();
  }
}

function benchQueries(controller: Controller, meta: DatasetMeta) {
  log('queries …');
  const q = runQueries(controller.journal, controller.db, meta, { repeats: size.repeats, csvAll: true });
  extra.queries = {
    figures: q.figures.map((f) => ({
      name: f.name,
      rows: f.rows,
      t: summarize(f.samples),
      bare: summarize(f.bare),
    })),
    personAll: { ...q.personAll, pageMs: summarize(q.personAll.pageMs) },
    csvYear: q.csvYear,
    csvAll: q.csvAll,
  };
  for (const f of q.figures) {
    const s = summarize(f.samples);
    const b = summarize(f.bare);
    figures.push({
      group: 'Queries',
      measure: `${f.name}, ${f.rows} rows`,
      figure: `${sum(s)} ms`,
      limit: `${sum(b)} ms (same SQL, bytes only)`,
      ratio: `p95 ${ratio(s.p95, b.p95)}`,
      goal: 'p95 ≤ 50 ms',
      met: s.p95 <= 50,
    });
  }
  const pa = summarize(q.personAll.pageMs);
  figures.push({
    group: 'Queries',
    measure: `one person's five years, all ${q.personAll.pages} pages (${q.personAll.rows.toLocaleString('en')} rows)`,
    figure: `${fmt(q.personAll.ms)} ms in all; page p95 ${fmt(pa.p95)} ms`,
    limit: '—',
    ratio: '—',
    goal: 'page p95 ≤ 50 ms',
    met: pa.p95 <= 50,
  });
  figures.push({
    group: 'Queries',
    measure: `CSV export of the last year via Journal.query pages of 10,000 (${q.csvYear.rows.toLocaleString('en')} rows)`,
    figure: `${fmt(q.csvYear.rowsPerS)} rows/s`,
    limit: `${fmt(q.csvYear.bareRowsPerS)} rows/s (same SQL, bytes only)`,
    ratio: ratio(q.csvYear.bareRowsPerS, q.csvYear.rowsPerS),
    goal: '—',
    met: null,
  });
  figures.push({
    group: 'Queries',
    measure: `CSV export of everything via Journal.iterate (${q.csvAll.rows.toLocaleString('en')} rows)`,
    figure: `${fmt(q.csvAll.rowsPerS)} rows/s`,
    limit: `${fmt(q.csvAll.bareRowsPerS)} rows/s (SELECT bytes ORDER BY seq)`,
    ratio: ratio(q.csvAll.bareRowsPerS, q.csvAll.rowsPerS),
    goal: '—',
    met: null,
  });
}

function benchAppends(dbFile: string, work: string, rowLen: number) {
  log('durable appends …');
  const a = durableAppends(dbFile, work, size.appends, rowLen);
  const l = summarize(a.latency);
  const bl = summarize(a.bareLatency);
  extra.appends = { ...a, latency: l, bareLatency: bl };
  figures.push({
    group: 'Journal',
    measure: `durable journal appends, one per transaction, hash chain + outbox row (${size.appends.toLocaleString('en')})`,
    figure: `${fmt(a.rowsPerS)} rows/s (latency ${sum(l)} ms)`,
    limit: `${fmt(a.bareRowsPerS)} rows/s (bare INSERT, synchronous=FULL, same row size; ${sum(bl)} ms)`,
    ratio: ratio(a.bareRowsPerS, a.rowsPerS),
    goal: '—',
    met: null,
  });
  figures.push({
    group: 'Journal',
    measure: 'journal appendMany, 10,000 rows per transaction',
    figure: `${fmt(a.batchedRowsPerS)} rows/s`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
}

async function benchVerify(storage: string, dbFile: string) {
  log('sekisho verify …');
  const { file } = benchConfig({ storageDir: storage, entry: 'sim', exit: 'sim' });
  const v = await cliVerify(file);
  const raw = rawSha256Rate(dbFile);
  const rate = v.rows / v.secs;
  extra.verify = { ...v, rawSha256: raw };
  figures.push({
    group: 'Journal',
    measure: `sekisho verify, ${v.rows.toLocaleString('en')} rows and ${v.checkpoints.toLocaleString('en')} signed checkpoints${v.ok ? '' : ' (FAILED)'}`,
    figure: `${fmt(rate)} rows/s (${fmt(v.secs)} s; ${fmt(v.wallS)} s with process start)`,
    limit: `${fmt(raw.rowsPerS)} rows/s (raw chained SHA-256 over the same ${fmt(raw.mb)} MB)`,
    ratio: ratio(raw.rowsPerS, rate),
    goal: '≥ 300,000 rows/s',
    met: v.ok && rate >= 300_000,
  });
  const vb = verifyBreakdown(storage);
  extra.verifyBreakdown = vb;
  figures.push({
    group: 'Journal',
    measure: '… verifyJournal in-process: with the checkpoint signatures / chain and checkpoint hashes only',
    figure: `${fmt(vb.rows / vb.withSignaturesS)} / ${fmt(vb.rows / vb.chainOnlyS)} rows/s`,
    limit: `${fmt(((vb.withSignaturesS - vb.chainOnlyS) / vb.checkpoints) * 1e6)} µs per checkpoint signature`,
    ratio: ratio(vb.withSignaturesS, vb.chainOnlyS),
    goal: '≥ 300,000 rows/s',
    met: null,
  });
}

async function benchProcess(storage: string, work: string, meta: DatasetMeta, mqttUrl?: string) {
  log('sekisho start with the full journal …');
  const { file } = benchConfig({ storageDir: storage, entry: 'sim', exit: 'sim', mqttUrl });
  // The first start on a journal the dashboard has not seen builds its log index (once, in the
  // background, while the door serves); the start figure is the start after that, a restart.
  const first = await startProcess(file, storage);
  log(`  first start ${(first.readyMs / 1000).toFixed(2)} s; waiting for the log index …`);
  const ib = await waitForIndex(first, storage, meta.staff);
  await first.stop();
  const full = await startProcess(file, storage);
  log(
    `  index of ${ib.rows.toLocaleString('en')} rows in ${ib.seconds.toFixed(1)} s; restart ${(full.readyMs / 1000).toFixed(2)} s; ` +
      `load of ${size.load.toLocaleString('en')} badges over HTTP …`,
  );
  const fl = await loadAndRss(full, meta.staff, size.load);
  log('  the log through the HTTP API …');
  const demo = /demo-manager\s+(\S+)\s+\(manager\)/.exec(first.output());
  if (!demo) throw new Error('the first start printed no demo manager account');
  const api = await apiQueries(full, meta, { username: 'demo-manager', password: demo[1]! }, size.apiQueries);
  await full.stop();
  // The same restart and load without the unit's node flags, and from the TypeScript sources (tsx).
  const noFlags = await startProcess(file, storage, { nodeArgs: [] });
  const nf = await loadAndRss(noFlags, meta.staff, size.load);
  await noFlags.stop();
  const sources = await startProcess(file, storage, { form: 'sources' });
  const sl = await loadAndRss(sources, meta.staff, size.load);
  await sources.stop();
  // The same with an empty journal: the startup and memory floor of the same code.
  const emptyStorage = join(work, 'empty-data');
  const empty = benchConfig({ storageDir: emptyStorage, entry: 'sim', exit: 'sim', mqttUrl });
  await (await startProcess(empty.file, emptyStorage)).stop();
  const bare = await startProcess(empty.file, emptyStorage);
  const bl = await loadAndRss(bare, meta.staff, size.load);
  await bare.stop();
  extra.process = {
    firstStartMs: first.readyMs,
    startupMs: full.readyMs,
    emptyStartupMs: bare.readyMs,
    locked: full.locked,
    load: { ...fl, http: summarize(fl.http) },
    loadWithoutNodeFlags: { ...nf, http: summarize(nf.http) },
    loadFromSources: { ...sl, http: summarize(sl.http) },
    emptyLoad: { ...bl, http: summarize(bl.http) },
  };
  figures.push({
    group: 'Process',
    measure: `sekisho start (a restart) → "door secured, dashboard on …" with ${meta.rows.toLocaleString('en')} rows`,
    figure: `${fmt(full.readyMs / 1000)} s (door locked: ${full.locked})`,
    limit: `${fmt(bare.readyMs / 1000)} s (same command, empty journal)`,
    ratio: ratio(full.readyMs, bare.readyMs),
    goal: '≤ 2 s',
    met: full.readyMs <= 2000 && full.locked,
  });
  figures.push({
    group: 'Process',
    measure: '… the first start on that journal (the dashboard builds its log index once)',
    figure: `${fmt(first.readyMs / 1000)} s (door locked: ${first.locked})`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
  const ibHttp = summarize(ib.badgeMs);
  const flHttp = summarize(fl.http);
  extra.logIndexBuild = { ...ib, badgeMs: ibHttp };
  figures.push({
    group: 'Process',
    measure: `… its dashboard's log index, built in the background after that first start (${ib.rows.toLocaleString('en')} rows)`,
    figure: `${fmt(ib.seconds)} s (${fmt(ib.rows / ib.seconds)} rows/s); WAL file ≤ ${fmt(ib.walMaxBytes / 1e6)} MB`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
  figures.push({
    group: 'Process',
    measure: '… HTTP sim badge round trip while the index is built (one every 100 ms)',
    figure: `${sum(ibHttp)} ms`,
    limit: `p99 ${fmt(flHttp.p99)} ms (same route, index idle: the load below)`,
    ratio: ratio(ibHttp.p99, flHttp.p99),
    goal: '—',
    met: null,
  });
  const httpFloor = summarize(api.floor);
  extra.apiQueries = {
    floor: httpFloor,
    figures: api.figures.map((f) => ({ name: f.name, rows: f.rows, ...summarize(f.samples) })),
    personAll: api.personAll,
    csvYear: api.csvYear,
  };
  for (const f of api.figures) {
    const q = summarize(f.samples);
    figures.push({
      group: 'Dashboard API',
      measure: `GET /api/log: ${f.name}, ${f.rows} rows`,
      figure: `${sum(q)} ms`,
      limit: `GET /healthz p50 ${fmt(httpFloor.p50)} / p95 ${fmt(httpFloor.p95)} ms`,
      ratio: ratio(q.p95, httpFloor.p95),
      goal: 'p95 ≤ 50 ms',
      met: q.p95 <= 50,
    });
  }
  figures.push({
    group: 'Dashboard API',
    measure: `GET /api/log: the busiest person's five years, 500 a page with the cursor`,
    figure: `${fmt(api.personAll.ms)} ms for ${api.personAll.rows.toLocaleString('en')} rows in ${api.personAll.pages} pages (${fmt(api.personAll.ms / api.personAll.pages)} ms a page)`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
  figures.push({
    group: 'Dashboard API',
    measure: 'GET /api/log.csv: one year',
    figure: `${fmt(api.csvYear.rows / (api.csvYear.ms / 1000))} rows/s (${api.csvYear.rows.toLocaleString('en')} rows, ${fmt(api.csvYear.bytes / 1e6)} MB in ${fmt(api.csvYear.ms / 1000)} s)`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
  const mb = (mib: number) => (mib * 1048576) / 1e6;
  figures.push({
    group: 'Process',
    measure: `resident memory of sekisho start as deployed (the build, the unit's flags and environment) after ${fl.requests.toLocaleString('en')} HTTP badges (+ door open/close)`,
    figure: `${fmt(mb(fl.settled.rss))} MB ${SETTLE_MS / 1000} s after: ${fmt(mb(fl.settled.anon))} anonymous + ${fmt(mb(fl.settled.file))} file pages`,
    limit: `${fmt(mb(bl.settled.rss))} MB: ${fmt(mb(bl.settled.anon))} + ${fmt(mb(bl.settled.file))} (empty journal, same load)`,
    ratio: ratio(fl.settled.rss, bl.settled.rss),
    goal: '≤ 100 MB',
    met: mb(fl.settled.rss) <= 100,
  });
  figures.push({
    group: 'Process',
    measure: '… the same right at the end of the load (V8 heap garbage not yet collected)',
    figure: `${fmt(mb(fl.rss))} MB: ${fmt(mb(fl.anon))} anonymous (V8 heap ${fmt(mb(fl.heapUsed))} used of ${fmt(mb(fl.heapTotal))}) + ${fmt(mb(fl.file))} file pages (peak ${fmt(mb(fl.peak))} MB)`,
    limit: `${fmt(mb(bl.rss))} MB (empty journal; peak ${fmt(mb(bl.peak))} MB)`,
    ratio: ratio(fl.rss, bl.rss),
    goal: '—',
    met: null,
  });
  figures.push({
    group: 'Process',
    measure: `… the same without the unit's node flags (${SERVICE_NODE_ARGS.join(' ')}) / from the TypeScript sources under tsx`,
    figure: `settled ${fmt(mb(nf.settled.rss))} / ${fmt(mb(sl.settled.rss))} MB (at the end of the load ${fmt(mb(nf.rss))} / ${fmt(mb(sl.rss))}; peaks ${fmt(mb(nf.peak))} / ${fmt(mb(sl.peak))} MB)`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
  // Where start-up time goes: reading and folding every row, and what restoring a snapshot costs.
  const rb = replayBreakdown(join(storage, 'journal.db'));
  extra.replay = rb;
  figures.push({
    group: 'Process',
    measure: `… start-up replay in-process: Journal.iterate / foldRows over ${rb.rows.toLocaleString('en')} rows`,
    figure: `${fmt(rb.iterateS)} s / ${fmt(rb.foldS)} s`,
    limit: `restore a snapshot of the same state: ${fmt(rb.restoreMs)} ms (${fmt(rb.snapshotBytes / 1000)} kB JSON)`,
    ratio: ratio(rb.foldS * 1000, rb.restoreMs),
    goal: '—',
    met: null,
  });
  // Where memory goes: the floor under the process.
  const floor = await memoryFloor(work);
  extra.memoryFloor = floor;
  figures.push({
    group: 'Process',
    measure:
      '… memory floor: idle node / node --import tsx / all Sekisho modules loaded under tsx / loaded from the build (unit flags)',
    figure: `${fmt(floor.bareNodeMB)} / ${fmt(floor.tsxNodeMB)} / ${fmt(floor.modulesMB)} / ${fmt(floor.builtModulesMB)} MB`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
  const h = summarize(fl.http);
  figures.push({
    group: 'Process',
    measure: 'HTTP sim badge round trip during that load (request → committed decision → response)',
    figure: `${sum(h)} ms`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
}

/** Bytes written per physical event, for the card's lifetime (bench/wear.ts). */
async function benchWear(work: string, rowLen: number, mqttUrl?: string) {
  log(`card wear: ${size.wear.toLocaleString('en')} presentations with the door opened and closed …`);
  const w = await wear(work, size.wear, rowLen, mqttUrl);
  const checkpoint = await checkpointWrites(work, quick ? 10 : 50);
  extra.wear = { ...w, checkpointBytes: checkpoint };
  const kb = (b: number) => fmt(b / 1000);
  figures.push({
    group: 'Card',
    measure: `bytes written per presentation with its door cycle (${fmt(w.rows / w.presentations, 2)} rows; sekisho start as deployed, /proc/<pid>/io write_bytes, WAL checkpoints included), ${w.presentations.toLocaleString('en')} presentations`,
    figure: `${kb(w.bytesPerPresentation)} kB (${kb(w.bytesPerRow)} kB a row); idle ${kb(w.idleBytesPerS)} kB/s`,
    limit: `${kb(w.bareBytesPerFiveCommits)} kB (five bare durable commits of a journal-sized row)`,
    ratio: ratio(w.bytesPerPresentation, w.bareBytesPerFiveCommits),
    goal: '—',
    met: w.granted === w.presentations ? null : false,
  });
  // A day of a machine room: 100 presentations, a signed checkpoint every 5 min for 10 hours.
  const day = 100 * w.bytesPerPresentation + 120 * checkpoint + 86_400 * w.idleBytesPerS;
  extra.wearDay = { bytes: day, presentations: 100, checkpoints: 120 };
  figures.push({
    group: 'Card',
    measure:
      '… one signed checkpoint with its snapshot (every storage.checkpointEveryS while rows are written); a day of 100 presentations, 120 checkpoints, idle otherwise',
    figure: `${kb(checkpoint)} kB a checkpoint; ${fmt(day / 1e6)} MB a day`,
    limit: '—',
    ratio: '—',
    goal: '—',
    met: null,
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
