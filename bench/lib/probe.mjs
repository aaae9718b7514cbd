// The storage bench's probe inside the controller process (bench/sdcard.ts): loaded with
// `node --import` before the deployed build, it changes nothing the controller does and reports, on
// file descriptor 3 (a pipe the bench reads), the moments the bench times against:
//   o <ns> <output> <0|1>   the simulated board drove an output (the lock)
//   i <ns> <input> <0|1>    an input changed on the simulated wire (the door contact)
//   e <ns> <type> <result>  a journal row was handed to MQTT for …/events (result: access rows)
//   a <ns> <event> <id>     an …/alarms message was handed to the MQTT client
//   p <ns> <event> <id>     Mosquitto's PUBACK of an …/alarms message arrived
// and the stages of the door's path and of the work that may stand in its way (issue #21), each a
// start mark in lower case and an end mark in upper case:
//   d <ns> <bytes>          a chunk from a reader's serial port reached its codec (the frame read)
//   b/B <ns>                Controller.handleBadge (decision, the visit rules, the commit, the lock)
//   v <ns>                  the visit rules' step began (the registry lookups and decide() are done)
//   j/J <ns>                the writer opened its transaction (BEGIN IMMEDIATE: the write lock)
//   c/C <ns> <rows> [<frames>]  the writer's event transaction committed (Journal.commitOpen: the
//                           flush); with PROBE_WAL_SHM (the journal's -shm file), the end mark says
//                           how many WAL frames (pages) the commit wrote
//   t/T <ns> <what>         other work on the thread: wal (a WAL checkpoint), snap (a derived-state
//                           snapshot), sign (a checkpoint's own transaction), ack (the outbox's
//                           bookkeeping), index (the log index's sync), tx (any other transaction)
//   g <ns> <ms>             a garbage collection pause of V8 (its start and length)
// <ns> is process.hrtime.bigint(): CLOCK_MONOTONIC, the clock of the bench process and of the
// flush preload's stall windows alike. The build is SEKISHO_DIST's; mqtt resolves to the same
// node_modules as the build's, so both patches hit the classes the controller uses.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { MqttClient } from 'mqtt';

const FD = 3;
const say = (line) => {
  try {
    writeSync(FD, `${line}\n`);
  } catch {
    // the bench stopped reading: nothing to report to
  }
};
const t = () => process.hrtime.bigint().toString();

const dist = process.env.SEKISHO_DIST;
if (!dist) throw new Error('bench probe: SEKISHO_DIST is not set');
const load = (path) => import(pathToFileURL(join(dist, ...path.split('/'))).href);
const { SimBoard } = await load('hardware/sim-board.js');
const { ReaderPort } = await load('firmware-bridge/reader.js');
const { Controller } = await load('controller/runtime/controller.js');
const { Journal } = await load('controller/journal/journal.js');
const { WalCheckpointer } = await load('controller/journal/wal-checkpointer.js');
const { Checkpoints } = await load('controller/runtime/derived.js');
const { Visits } = await load('controller/runtime/visits.js');
const { LogIndex } = await load('dashboards/logindex.js');

const write = SimBoard.prototype.write;
SimBoard.prototype.write = function (name, on) {
  const r = write.call(this, name, on);
  say(`o ${t()} ${name} ${on ? 1 : 0}`);
  return r;
};
const simulate = SimBoard.prototype.simulate;
SimBoard.prototype.simulate = function (name, active) {
  say(`i ${t()} ${name} ${active ? 1 : 0}`);
  return simulate.call(this, name, active);
};

/** Wraps a method with a start and an end mark (`what` may depend on the call). */
function span(proto, method, start, end, what) {
  const orig = proto[method];
  if (typeof orig !== 'function') throw new Error(`bench probe: no method ${method} to time`);
  proto[method] = function (...args) {
    const w = typeof what === 'function' ? what.call(this, args) : what;
    say(`${start} ${t()}${w === undefined ? '' : ` ${w}`}`);
    try {
      return orig.apply(this, args);
    } finally {
      say(`${end} ${t()}${w === undefined ? '' : ` ${w}`}`);
    }
  };
}

const onData = ReaderPort.prototype.onData;
ReaderPort.prototype.onData = function (chunk) {
  say(`d ${t()} ${chunk.length}`);
  return onData.call(this, chunk);
};
span(Controller.prototype, 'handleBadge', 'b', 'B');
const visitStep = Visits.prototype.step;
Visits.prototype.step = function (event) {
  if (event?.kind === 'badge') say(`v ${t()}`);
  return visitStep.call(this, event);
};

// The journal: which transaction is the writer's event commit, which is something else's.
let staged = 0;
let open = false;
let inTx = 0;
let other = null;
const begin = Journal.prototype.begin;
Journal.prototype.begin = function () {
  staged = 0;
  open = true;
  say(`j ${t()}`);
  try {
    return begin.call(this);
  } finally {
    say(`J ${t()}`);
  }
};
const rollbackOpen = Journal.prototype.rollbackOpen;
Journal.prototype.rollbackOpen = function () {
  open = false;
  return rollbackOpen.call(this);
};
const append = Journal.prototype.append;
Journal.prototype.append = function (...args) {
  staged++;
  return append.apply(this, args);
};
// The WAL index header's mxFrame (sqlite.org/walformat.html; native byte order, read as the
// checkpointer does): the log's last frame, so the frames a commit wrote are the difference.
const shm = process.env.PROBE_WAL_SHM;
let shmFd = null;
const mxFrame = () => {
  if (!shm) return null;
  try {
    shmFd ??= openSync(shm, 'r');
    const b = Buffer.alloc(48);
    if (readSync(shmFd, b, 0, 48, 0) < 48) return null;
    return b.readUInt32LE(16);
  } catch {
    if (shmFd !== null) closeSync(shmFd);
    shmFd = null;
    return null;
  }
};
const commitOpen = Journal.prototype.commitOpen;
Journal.prototype.commitOpen = function () {
  open = false;
  const rows = staged;
  const before = mxFrame();
  say(`c ${t()} ${rows}`);
  try {
    return commitOpen.call(this);
  } finally {
    const after = mxFrame();
    // A log restarted by this commit (after a checkpoint) begins again at frame 1.
    const frames = before === null || after === null ? '' : ` ${after >= before ? after - before : after}`;
    say(`C ${t()} ${rows}${frames}`);
  }
};
const transaction = Journal.prototype.transaction;
Journal.prototype.transaction = function (fn) {
  // Only the outermost of a transaction of its own (not one joining the writer's open transaction).
  if (inTx > 0 || open) return transaction.call(this, fn);
  const w = other ?? 'tx';
  inTx++;
  say(`t ${t()} ${w}`);
  try {
    return transaction.call(this, fn);
  } finally {
    inTx--;
    say(`T ${t()} ${w}`);
  }
};
/** Names the transactions `method` runs (the span marks come from transaction(), or its own). */
function named(proto, method, w, own) {
  const orig = proto[method];
  if (typeof orig !== 'function') throw new Error(`bench probe: no method ${method} to time`);
  proto[method] = function (...args) {
    const outer = other;
    other = w;
    if (own) say(`t ${t()} ${w}`);
    try {
      return orig.apply(this, args);
    } finally {
      other = outer;
      if (own) say(`T ${t()} ${w}`);
    }
  };
}
named(Journal.prototype, 'outboxAckMany', 'ack', false);
named(WalCheckpointer.prototype, 'checkpoint', 'wal', true);
named(Checkpoints.prototype, 'snapshot', 'snap', true);
named(Checkpoints.prototype, 'signIfUnsigned', 'sign', false);
named(LogIndex.prototype, 'sync', 'index', true);

// V8's garbage collections, as the performance timeline reports them (start on the hrtime clock).
const origin = process.hrtime.bigint() - BigInt(Math.round(performance.now() * 1e6));
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    say(`g ${(origin + BigInt(Math.round(e.startTime * 1e6))).toString()} ${e.duration.toFixed(3)}`);
}).observe({ entryTypes: ['gc'] });

const publish = MqttClient.prototype.publish;
MqttClient.prototype.publish = function (topic, message, opts, cb) {
  if (typeof topic === 'string' && typeof cb === 'function') {
    let meta = {};
    try {
      meta = JSON.parse(String(message));
    } catch {
      // not JSON: not ours to time
    }
    if (topic.endsWith('/events')) say(`e ${t()} ${meta.type} ${meta.result ?? '-'}`);
    if (topic.endsWith('/alarms')) {
      say(`a ${t()} ${meta.event} ${meta.alarmId}`);
      const done = cb;
      cb = (err, ...rest) => {
        if (!err) say(`p ${t()} ${meta.event} ${meta.alarmId}`);
        return done(err, ...rest);
      };
    }
  }
  return publish.call(this, topic, message, opts, cb);
};
