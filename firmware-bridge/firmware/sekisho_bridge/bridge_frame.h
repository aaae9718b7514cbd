// Sekisho bridge board: the portable part of the firmware.
//
// The frame encoder and CRC of docs/bridge-frame.md (protocol 1), the Wiegand bit receiver that the
// D0/D1 interrupts feed, the tamper switch debouncer and the heartbeat schedule. Plain C++11 with no
// Arduino headers, so the same file builds for the board (arduino-cli) and on a PC, where
// tests/firmware compiles it with g++ and checks it byte for byte against
// firmware-bridge/test-vectors.json and the TypeScript decoder.
//
// Frame: 0xA5 | type | len | payload (len bytes) | CRC-16/CCITT-FALSE over type..payload, big-endian.
#ifndef SEKISHO_BRIDGE_FRAME_H
#define SEKISHO_BRIDGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

namespace sekisho {

const uint8_t kSync = 0xA5;
const uint8_t kProtocolVersion = 1;
const uint8_t kMaxPayload = 32;
/** Sync, type, length, payload, CRC: the longest frame. */
const uint8_t kMaxFrame = 3 + kMaxPayload + 2;
const uint8_t kMaxCardBits = 64;

const uint8_t kTypeHello = 0x01;
const uint8_t kTypeHeartbeat = 0x02;
const uint8_t kTypeCard = 0x03;
const uint8_t kTypeTamper = 0x04;

/** Heartbeat flags bit 0: the case tamper switch is open. Bits 1..7 are reserved, sent as 0. */
const uint8_t kHeartbeatFlagTamper = 0x01;

/** A Wiegand message ends when no bit arrived for this long (docs/bridge-frame.md). */
const uint32_t kWiegandEndUs = 25000;
/**
 * An edge closer than this to the previous accepted bit is ringing or crosstalk, not a bit. Readers
 * send 20..100 us pulses at least 200 us apart; a bit lost here becomes a parity error at the
 * controller, which is where bad reads are counted.
 */
const uint32_t kWiegandMinGapUs = 150;
const uint32_t kHeartbeatPeriodMs = 1000;
const uint32_t kTamperDebounceMs = 50;

/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR. */
uint16_t crc16(const uint8_t *data, size_t length);

/**
 * Writes one frame into `out` (at least kMaxFrame bytes) and returns its length, or 0 when `length`
 * is over kMaxPayload.
 */
size_t encodeFrame(uint8_t *out, uint8_t type, const uint8_t *payload, size_t length);

size_t encodeHello(uint8_t *out, uint8_t protocol, uint8_t major, uint8_t minor, uint8_t patch);
size_t encodeHeartbeat(uint8_t *out, uint32_t seq, uint32_t uptimeMs, bool tamperOpen);
size_t encodeTamper(uint8_t *out, bool open);
/**
 * A card frame: `bits` holds `bitCount` bits packed as they arrived, the first in the most significant
 * bit of bits[0]; unused bits of the last byte must be 0. Returns 0 unless 1 <= bitCount <= 64.
 */
size_t encodeCard(uint8_t *out, const uint8_t *bits, uint8_t bitCount);

/** One complete Wiegand message, as received. */
struct WiegandMessage {
  uint8_t bitCount;
  uint8_t bits[kMaxCardBits / 8];
};

/**
 * Collects the bits of one Wiegand message. onBit() is called from the D0 (bit 0) and D1 (bit 1)
 * falling-edge interrupts; take() from the main loop *with interrupts disabled* (it reads what the
 * interrupts write). Times are the microsecond counter (micros()), compared with wrap-safe
 * arithmetic.
 */
class WiegandReceiver {
 public:
  WiegandReceiver();

  /** A pulse arrived on D0 (bit = 0) or D1 (bit = 1) at `nowUs`. Interrupt context. */
  void onBit(uint8_t bit, uint32_t nowUs);

  /**
   * When a message is complete (no bit for kWiegandEndUs), copies it into `out`, forgets it and
   * returns true. A message of more than kMaxCardBits bits is thrown away (counted in overflows()).
   */
  bool take(uint32_t nowUs, WiegandMessage &out);

  /** Messages thrown away for being longer than kMaxCardBits. */
  uint32_t overflows() const { return overflows_; }
  /** Edges ignored for arriving within kWiegandMinGapUs of the previous bit. */
  uint32_t glitches() const { return glitches_; }

 private:
  volatile uint8_t bits_[kMaxCardBits / 8];
  volatile uint8_t count_;
  volatile bool overflow_;
  volatile uint32_t lastUs_;
  volatile uint32_t overflows_;
  volatile uint32_t glitches_;
};

/** A switch input that must hold a new level for kTamperDebounceMs before it counts. */
class Debouncer {
 public:
  explicit Debouncer(bool initial, uint32_t stableMs = kTamperDebounceMs);

  /** Feed the raw level read at `nowMs`; returns true when the debounced level just changed. */
  bool update(bool raw, uint32_t nowMs);
  bool level() const { return level_; }

 private:
  bool level_;
  bool candidate_;
  uint32_t since_;
  uint32_t stableMs_;
};

/**
 * The heartbeat schedule: due every kHeartbeatPeriodMs from boot, seq 0 first and +1 per heartbeat
 * (wrapping at 2^32). A loop that stalled for several periods sends one heartbeat, not a burst.
 */
class HeartbeatSchedule {
 public:
  explicit HeartbeatSchedule(uint32_t bootMs, uint32_t periodMs = kHeartbeatPeriodMs);

  /** True when a heartbeat is due at `nowMs`; its sequence number is then in `seq`. */
  bool due(uint32_t nowMs, uint32_t &seq);

 private:
  uint32_t next_;
  uint32_t seq_;
  uint32_t periodMs_;
};

}  // namespace sekisho

#endif  // SEKISHO_BRIDGE_FRAME_H
