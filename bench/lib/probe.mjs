// The storage bench's probe inside the controller process (bench/sdcard.ts): loaded with
// `node --import` before the deployed build, it changes nothing the controller does and reports, on
// file descriptor 3 (a pipe the bench reads), the moments the bench times against:
//   o <ns> <output> <0|1>   the simulated board drove an output (the lock)
//   i <ns> <input> <0|1>    an input changed on the simulated wire (the door contact)
//   e <ns> <type> <result>  a journal row was handed to MQTT for …/events (result: access rows)
//   p <ns> <event> <id>     Mosquitto's PUBACK of an …/alarms message arrived
// <ns> is process.hrtime.bigint(): CLOCK_MONOTONIC, the clock of the bench process and of the
// flush preload's stall windows alike. The build is SEKISHO_DIST's; mqtt resolves to the same
// node_modules as the build's, so both patches hit the classes the controller uses.
import { writeSync } from 'node:fs';
import { join } from 'node:path';
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
const { SimBoard } = await import(pathToFileURL(join(dist, 'hardware', 'sim-board.js')).href);

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
      const done = cb;
      cb = (err, ...rest) => {
        if (!err) say(`p ${t()} ${meta.event} ${meta.alarmId}`);
        return done(err, ...rest);
      };
    }
  }
  return publish.call(this, topic, message, opts, cb);
};
