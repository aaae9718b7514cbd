// Runs the real bridge firmware (firmware-bridge/firmware/sekisho_bridge/sekisho_bridge.ino) on the
// host against a simulated clock, pins and USB port (tests/firmware/arduino/Arduino.h), driven by a
// script on stdin. Prints every frame the firmware writes, with its time.
//
// Script (one per line):
//   base <us>                 the microsecond counter at power-on (to test micros()/millis() wraps)
//   tamper <0|1>              the tamper pin's raw level at power-on (1 = HIGH = lid open)
//   host <0|1>                whether the host has the port open at power-on
//   at <us> d0|d1             a Wiegand pulse on D0 or D1, <us> after power-on
//   at <us> tamper|host|space <v>   change the tamper pin, the host's port, the USB write space
//   run <us>                  run until <us> after power-on (loop() every 20 us), then stop
// Output: "<us after power-on> <frame hex>" per write, then "pins <d0 mode> <d1 mode> <tamper mode>
// edge <d0> <d1>" and "wdt <begin ms> <resets>".
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "Arduino.h"

namespace sim {
uint64_t clockUs = 0;
int level[64] = {0};
int mode[64] = {0};
bool interruptsOn = true;
void (*isr[64])() = {nullptr};
int isrMode[64] = {0};
bool hostOpen = false;
int writeSpace = 64;
unsigned wdtResets = 0;
unsigned wdtBeginMs = 0;
static uint64_t bootUs = 0;

void recordWrite(const uint8_t *data, size_t length) {
  static const char digits[] = "0123456789ABCDEF";
  std::string hex;
  for (size_t i = 0; i < length; i++) {
    hex += digits[data[i] >> 4];
    hex += digits[data[i] & 15];
  }
  std::cout << (clockUs - bootUs) << " " << hex << "\n";
}
}  // namespace sim

FakeSerial Serial;
FakeRp2040 rp2040;

#include "sekisho_bridge.ino"

struct Event {
  uint64_t at;
  std::string what;
  int value;
  size_t order;
};

int main() {
  std::vector<Event> events;
  uint64_t runUntil = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "base") {
      in >> sim::bootUs;
    } else if (cmd == "tamper") {
      in >> sim::level[PIN_TAMPER];
    } else if (cmd == "host") {
      int v;
      in >> v;
      sim::hostOpen = v != 0;
    } else if (cmd == "at") {
      Event e{0, "", 0, events.size()};
      in >> e.at >> e.what;
      in >> e.value;
      events.push_back(e);
    } else if (cmd == "run") {
      in >> runUntil;
    } else if (!cmd.empty()) {
      std::cerr << "unknown script command: " << cmd << "\n";
      return 2;
    }
  }
  std::stable_sort(events.begin(), events.end(), [](const Event &a, const Event &b) { return a.at < b.at; });

  // Inputs idle high (pull-ups); the tamper level was set by the script.
  sim::level[PIN_D0] = HIGH;
  sim::level[PIN_D1] = HIGH;
  sim::clockUs = sim::bootUs;
  setup();
  size_t next = 0;
  for (uint64_t t = 0; t <= runUntil; t += 20) {
    sim::clockUs = sim::bootUs + t;
    while (next < events.size() && events[next].at <= t) {
      const Event &e = events[next++];
      if (e.what == "d0" || e.what == "d1") {
        const uint8_t pin = e.what == "d0" ? PIN_D0 : PIN_D1;
        if (sim::isr[pin] && sim::isrMode[pin] == FALLING && sim::mode[pin] == INPUT_PULLUP) sim::isr[pin]();
      } else if (e.what == "tamper") {
        sim::level[PIN_TAMPER] = e.value;
      } else if (e.what == "host") {
        sim::hostOpen = e.value != 0;
      } else if (e.what == "space") {
        sim::writeSpace = e.value;
      } else {
        std::cerr << "unknown event: " << e.what << "\n";
        return 2;
      }
    }
    loop();
    if (!sim::interruptsOn) {
      std::cerr << "loop() returned with interrupts disabled\n";
      return 3;
    }
  }
  std::cout << "pins " << sim::mode[PIN_D0] << " " << sim::mode[PIN_D1] << " " << sim::mode[PIN_TAMPER] << " edge "
            << sim::isrMode[PIN_D0] << " " << sim::isrMode[PIN_D1] << "\n";
  std::cout << "wdt " << sim::wdtBeginMs << " " << sim::wdtResets << "\n";
  return 0;
}
