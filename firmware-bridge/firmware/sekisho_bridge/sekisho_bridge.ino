// Sekisho bridge board firmware (protocol 1, docs/bridge-frame.md).
//
// Reads a Wiegand reader's D0/D1 lines with falling-edge interrupts and a case tamper switch, and
// reports to the Sekisho controller over USB serial: `hello` at boot and whenever the host opens the
// port, a `heartbeat` every second, a `card` frame per Wiegand message, a `tamper` frame on every
// debounced change of the case switch. The board only talks; it never reads from the port.
//
// Boards: Raspberry Pi Pico / any RP2040 (arduino-pico core) or an ATmega32U4 board (Leonardo,
// Micro, Pro Micro). Wiring, building and flashing: README.md beside this folder.
//
// Everything that decides bytes lives in bridge_frame.{h,cpp}, which is also compiled and tested on
// the host (tests/firmware). This file is only the glue to the pins, the clock and the USB port.
#include <Arduino.h>

#include "bridge_frame.h"

#define BRIDGE_FW_MAJOR 1
#define BRIDGE_FW_MINOR 0
#define BRIDGE_FW_PATCH 0

#if defined(ARDUINO_ARCH_RP2040)
// Raspberry Pi Pico: GP2 = D0, GP3 = D1 (through the 5 V -> 3.3 V dividers), GP4 = tamper switch.
const uint8_t PIN_D0 = 2;
const uint8_t PIN_D1 = 3;
const uint8_t PIN_TAMPER = 4;
#define BRIDGE_WATCHDOG_MS 4000
#else
// ATmega32U4 (5 V logic, D0/D1 wired directly): digital 2 and 3 are interrupt pins on the Leonardo
// and Micro. Digital 4 = tamper switch.
const uint8_t PIN_D0 = 2;
const uint8_t PIN_D1 = 3;
const uint8_t PIN_TAMPER = 4;
#endif

#ifndef LED_BUILTIN
#define LED_BUILTIN 13
#endif

// The tamper switch is closed (to GND) while the lid is on: HIGH through the pull-up = open = tamper.
// A cut wire reads "open" too.
static inline bool tamperRaw() { return digitalRead(PIN_TAMPER) == HIGH; }

static sekisho::WiegandReceiver wiegand;
static sekisho::Debouncer tamper(false);
static sekisho::HeartbeatSchedule *heartbeat = nullptr;
static bool hostWasConnected = false;
static uint32_t ledOffAt = 0;
static uint32_t framesDropped = 0;

static void onD0() { wiegand.onBit(0, micros()); }
static void onD1() { wiegand.onBit(1, micros()); }

// Each frame goes out in one write, or not at all when the host does not read and the USB buffer is
// full (a half-written frame would only be counted as damaged by the controller).
static void send(const uint8_t *frame, size_t length) {
  if (length == 0) return;
  if (static_cast<size_t>(Serial.availableForWrite()) < length) {
    framesDropped++;
    return;
  }
  Serial.write(frame, length);
}

static void sendHello() {
  uint8_t frame[sekisho::kMaxFrame];
  send(frame, sekisho::encodeHello(frame, sekisho::kProtocolVersion, BRIDGE_FW_MAJOR, BRIDGE_FW_MINOR,
                                   BRIDGE_FW_PATCH));
}

static void blink(uint32_t nowMs, uint32_t ms) {
  digitalWrite(LED_BUILTIN, HIGH);
  ledOffAt = nowMs + ms;
}

void setup() {
  pinMode(PIN_D0, INPUT_PULLUP);
  pinMode(PIN_D1, INPUT_PULLUP);
  pinMode(PIN_TAMPER, INPUT_PULLUP);
  pinMode(LED_BUILTIN, OUTPUT);
  Serial.begin(115200);  // USB CDC ignores the rate; a UART bridge would use it.

  const uint32_t now = millis();
  tamper = sekisho::Debouncer(tamperRaw());
  static sekisho::HeartbeatSchedule schedule(now);
  heartbeat = &schedule;

  attachInterrupt(digitalPinToInterrupt(PIN_D0), onD0, FALLING);
  attachInterrupt(digitalPinToInterrupt(PIN_D1), onD1, FALLING);
#ifdef BRIDGE_WATCHDOG_MS
  rp2040.wdt_begin(BRIDGE_WATCHDOG_MS);
#endif
  sendHello();
  hostWasConnected = static_cast<bool>(Serial);
  if (tamper.level()) {
    uint8_t frame[sekisho::kMaxFrame];
    send(frame, sekisho::encodeTamper(frame, true));
  }
}

void loop() {
#ifdef BRIDGE_WATCHDOG_MS
  rp2040.wdt_reset();
#endif
  uint8_t frame[sekisho::kMaxFrame];

  // A completed Wiegand message. micros() is read inside the critical section so that a bit
  // arriving meanwhile cannot make the message look finished.
  sekisho::WiegandMessage message;
  noInterrupts();
  const bool haveCard = wiegand.take(micros(), message);
  interrupts();
  const uint32_t now = millis();
  if (haveCard) {
    send(frame, sekisho::encodeCard(frame, message.bits, message.bitCount));
    blink(now, 200);
  }

  if (tamper.update(tamperRaw(), now)) send(frame, sekisho::encodeTamper(frame, tamper.level()));

  uint32_t seq;
  if (heartbeat->due(now, seq)) {
    send(frame, sekisho::encodeHeartbeat(frame, seq, now, tamper.level()));
    blink(now, 20);
  }

  // The host (re)opened the port (DTR raised): say hello so it learns the firmware version at once.
  const bool hostConnected = static_cast<bool>(Serial);
  if (hostConnected && !hostWasConnected) sendHello();
  hostWasConnected = hostConnected;

  if (ledOffAt != 0 && static_cast<int32_t>(now - ledOffAt) >= 0) {
    digitalWrite(LED_BUILTIN, LOW);
    ledOffAt = 0;
  }
}
