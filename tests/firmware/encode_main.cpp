// Host driver for the bridge firmware's portable part (firmware-bridge/firmware/sekisho_bridge/
// bridge_frame.cpp). Reads one command per line on stdin and prints one answer line per command, so
// tests/firmware/firmware.test.ts can check the C++ against firmware-bridge/test-vectors.json and
// the TypeScript decoder.
//
//   crc <hex|->                          -> CRC as 4 hex digits
//   hello <protocol> <major> <minor> <patch>, heartbeat <seq> <uptimeMs> <0|1>, tamper <0|1>,
//   card <bits as 0/1 characters>, raw <type> <hex|->
//                                        -> the frame as upper-case hex ("-" if refused)
//   bit <0|1> <us>                       -> "ok"                   (WiegandReceiver::onBit)
//   take <us>                            -> card frame hex or "none"
//   counters                             -> "overflows=N glitches=N"
//   debounce <0|1> <ms>                  -> "changed <level>" or "same <level>"
//   beat <ms>                            -> "seq <n>" or "none"  (HeartbeatSchedule from boot at 0 ms)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bridge_frame.h"

using namespace sekisho;

static std::string toHex(const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789ABCDEF";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

static std::vector<uint8_t> fromHex(const std::string &h) {
  std::vector<uint8_t> out;
  if (h == "-") return out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  return out;
}

static std::string frameOrDash(const uint8_t *frame, size_t n) { return n == 0 ? "-" : toHex(frame, n); }

int main() {
  WiegandReceiver receiver;
  Debouncer debouncer(false);
  HeartbeatSchedule schedule(0);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    uint8_t frame[kMaxFrame + 8];
    std::memset(frame, 0xEE, sizeof frame);
    if (cmd == "crc") {
      std::string h;
      in >> h;
      std::vector<uint8_t> data = fromHex(h);
      char buf[8];
      std::snprintf(buf, sizeof buf, "%04X", crc16(data.data(), data.size()));
      std::cout << buf << "\n";
    } else if (cmd == "hello") {
      unsigned p, a, b, c;
      in >> p >> a >> b >> c;
      size_t n = encodeHello(frame, static_cast<uint8_t>(p), static_cast<uint8_t>(a), static_cast<uint8_t>(b),
                             static_cast<uint8_t>(c));
      std::cout << frameOrDash(frame, n) << "\n";
    } else if (cmd == "heartbeat") {
      unsigned long seq, up;
      int t;
      in >> seq >> up >> t;
      size_t n = encodeHeartbeat(frame, static_cast<uint32_t>(seq), static_cast<uint32_t>(up), t != 0);
      std::cout << frameOrDash(frame, n) << "\n";
    } else if (cmd == "tamper") {
      int t;
      in >> t;
      std::cout << frameOrDash(frame, encodeTamper(frame, t != 0)) << "\n";
    } else if (cmd == "card") {
      std::string bits;
      in >> bits;
      uint8_t packed[16] = {0};
      for (size_t i = 0; i < bits.size() && i < 128; i++)
        if (bits[i] == '1') packed[i >> 3] = static_cast<uint8_t>(packed[i >> 3] | (0x80 >> (i & 7)));
      size_t n = encodeCard(frame, packed, static_cast<uint8_t>(bits.size() > 255 ? 255 : bits.size()));
      std::cout << frameOrDash(frame, n) << "\n";
    } else if (cmd == "raw") {
      unsigned type;
      std::string h;
      in >> type >> h;
      std::vector<uint8_t> payload = fromHex(h);
      size_t n = encodeFrame(frame, static_cast<uint8_t>(type), payload.data(), payload.size());
      std::cout << frameOrDash(frame, n) << "\n";
    } else if (cmd == "bit") {
      unsigned bit;
      unsigned long us;
      in >> bit >> us;
      receiver.onBit(static_cast<uint8_t>(bit), static_cast<uint32_t>(us));
      std::cout << "ok\n";
    } else if (cmd == "take") {
      unsigned long us;
      in >> us;
      WiegandMessage m;
      if (receiver.take(static_cast<uint32_t>(us), m))
        std::cout << frameOrDash(frame, encodeCard(frame, m.bits, m.bitCount)) << "\n";
      else
        std::cout << "none\n";
    } else if (cmd == "counters") {
      std::cout << "overflows=" << receiver.overflows() << " glitches=" << receiver.glitches() << "\n";
    } else if (cmd == "debounce") {
      int raw;
      unsigned long ms;
      in >> raw >> ms;
      bool changed = debouncer.update(raw != 0, static_cast<uint32_t>(ms));
      std::cout << (changed ? "changed " : "same ") << (debouncer.level() ? 1 : 0) << "\n";
    } else if (cmd == "beat") {
      unsigned long ms;
      in >> ms;
      uint32_t seq;
      if (schedule.due(static_cast<uint32_t>(ms), seq))
        std::cout << "seq " << seq << "\n";
      else
        std::cout << "none\n";
    } else if (!cmd.empty()) {
      std::cerr << "unknown command: " << cmd << "\n";
      return 2;
    }
  }
  return 0;
}
