// A stand-in for the Arduino core, just enough to compile sekisho_bridge.ino on the host and run
// it in tests/firmware/board_sim.cpp against a simulated clock, pins and USB port.
#ifndef SEKISHO_FAKE_ARDUINO_H
#define SEKISHO_FAKE_ARDUINO_H

#include <stddef.h>
#include <stdint.h>

#define HIGH 1
#define LOW 0
#define INPUT 0
#define OUTPUT 1
#define INPUT_PULLUP 2
#define FALLING 2
#define LED_BUILTIN 25

namespace sim {
/** Microseconds since the simulated power-on (64-bit: micros() and millis() wrap like the real ones). */
extern uint64_t clockUs;
extern int level[64];
extern int mode[64];
extern bool interruptsOn;
extern void (*isr[64])();
extern int isrMode[64];
extern bool hostOpen;
extern int writeSpace;
extern unsigned wdtResets;
extern unsigned wdtBeginMs;
void recordWrite(const uint8_t *data, size_t length);
}  // namespace sim

inline uint32_t micros() { return static_cast<uint32_t>(sim::clockUs); }
inline uint32_t millis() { return static_cast<uint32_t>(sim::clockUs / 1000); }
inline void pinMode(uint8_t pin, int m) { sim::mode[pin] = m; }
inline int digitalRead(uint8_t pin) { return sim::level[pin]; }
inline void digitalWrite(uint8_t pin, int value) { sim::level[pin] = value; }
inline void noInterrupts() { sim::interruptsOn = false; }
inline void interrupts() { sim::interruptsOn = true; }
inline int digitalPinToInterrupt(uint8_t pin) { return pin; }
inline void attachInterrupt(int irq, void (*fn)(), int m) {
  sim::isr[irq] = fn;
  sim::isrMode[irq] = m;
}

struct FakeSerial {
  void begin(unsigned long) {}
  int availableForWrite() { return sim::writeSpace; }
  size_t write(const uint8_t *data, size_t length) {
    sim::recordWrite(data, length);
    return length;
  }
  explicit operator bool() const { return sim::hostOpen; }
};
extern FakeSerial Serial;

struct FakeRp2040 {
  void wdt_begin(unsigned ms) { sim::wdtBeginMs = ms; }
  void wdt_reset() { sim::wdtResets++; }
};
extern FakeRp2040 rp2040;

#endif
