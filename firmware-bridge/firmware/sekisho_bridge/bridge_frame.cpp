// Sekisho bridge board: the portable part of the firmware. See bridge_frame.h and docs/bridge-frame.md.
#include "bridge_frame.h"

namespace sekisho {

uint16_t crc16(const uint8_t *data, size_t length) {
  uint16_t crc = 0xFFFF;
  while (length--) {
    crc ^= static_cast<uint16_t>(static_cast<uint16_t>(*data++) << 8);
    for (int i = 0; i < 8; i++) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

size_t encodeFrame(uint8_t *out, uint8_t type, const uint8_t *payload, size_t length) {
  if (length > kMaxPayload) return 0;
  out[0] = kSync;
  out[1] = type;
  out[2] = static_cast<uint8_t>(length);
  for (size_t i = 0; i < length; i++) out[3 + i] = payload[i];
  // The CRC covers type, len and payload: everything after the sync byte.
  const uint16_t crc = crc16(out + 1, 2 + length);
  out[3 + length] = static_cast<uint8_t>(crc >> 8);
  out[4 + length] = static_cast<uint8_t>(crc & 0xFF);
  return 5 + length;
}

static void putU32(uint8_t *p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

size_t encodeHello(uint8_t *out, uint8_t protocol, uint8_t major, uint8_t minor, uint8_t patch) {
  const uint8_t payload[4] = {protocol, major, minor, patch};
  return encodeFrame(out, kTypeHello, payload, sizeof payload);
}

size_t encodeHeartbeat(uint8_t *out, uint32_t seq, uint32_t uptimeMs, bool tamperOpen) {
  uint8_t payload[9];
  putU32(payload, seq);
  putU32(payload + 4, uptimeMs);
  payload[8] = tamperOpen ? kHeartbeatFlagTamper : 0;
  return encodeFrame(out, kTypeHeartbeat, payload, sizeof payload);
}

size_t encodeTamper(uint8_t *out, bool open) {
  const uint8_t payload[1] = {static_cast<uint8_t>(open ? 1 : 0)};
  return encodeFrame(out, kTypeTamper, payload, sizeof payload);
}

size_t encodeCard(uint8_t *out, const uint8_t *bits, uint8_t bitCount) {
  if (bitCount < 1 || bitCount > kMaxCardBits) return 0;
  uint8_t payload[1 + kMaxCardBits / 8];
  const size_t bytes = (bitCount + 7u) / 8u;
  payload[0] = bitCount;
  for (size_t i = 0; i < bytes; i++) payload[1 + i] = bits[i];
  // Padding after the last bit is 0 on the wire whatever the caller left there.
  if (bitCount % 8 != 0) payload[bytes] &= static_cast<uint8_t>(0xFF << (8 - bitCount % 8));
  return encodeFrame(out, kTypeCard, payload, 1 + bytes);
}

// ---------------------------------------------------------------------------------------------

WiegandReceiver::WiegandReceiver() : count_(0), overflow_(false), lastUs_(0), overflows_(0), glitches_(0) {
  for (size_t i = 0; i < sizeof bits_; i++) bits_[i] = 0;
}

void WiegandReceiver::onBit(uint8_t bit, uint32_t nowUs) {
  const bool inMessage = count_ > 0 || overflow_;
  if (inMessage && static_cast<uint32_t>(nowUs - lastUs_) < kWiegandMinGapUs) {
    glitches_ = glitches_ + 1;
    return;
  }
  lastUs_ = nowUs;
  if (count_ >= kMaxCardBits) {
    overflow_ = true;
    return;
  }
  const uint8_t index = count_;
  if (bit) bits_[index >> 3] = static_cast<uint8_t>(bits_[index >> 3] | (0x80 >> (index & 7)));
  count_ = static_cast<uint8_t>(index + 1);
}

bool WiegandReceiver::take(uint32_t nowUs, WiegandMessage &out) {
  if (count_ == 0 && !overflow_) return false;
  // Signed: a bit that arrived after the caller read the clock makes the difference negative.
  if (static_cast<int32_t>(nowUs - lastUs_) < static_cast<int32_t>(kWiegandEndUs)) return false;
  const bool complete = !overflow_;
  if (complete) {
    out.bitCount = count_;
    for (size_t i = 0; i < sizeof out.bits; i++) out.bits[i] = bits_[i];
  } else {
    overflows_ = overflows_ + 1;
  }
  for (size_t i = 0; i < sizeof bits_; i++) bits_[i] = 0;
  count_ = 0;
  overflow_ = false;
  return complete;
}

// ---------------------------------------------------------------------------------------------

Debouncer::Debouncer(bool initial, uint32_t stableMs)
    : level_(initial), candidate_(initial), since_(0), stableMs_(stableMs) {}

bool Debouncer::update(bool raw, uint32_t nowMs) {
  if (raw != candidate_) {
    candidate_ = raw;
    since_ = nowMs;
  }
  if (candidate_ != level_ && static_cast<uint32_t>(nowMs - since_) >= stableMs_) {
    level_ = candidate_;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------

HeartbeatSchedule::HeartbeatSchedule(uint32_t bootMs, uint32_t periodMs)
    : next_(bootMs + periodMs), seq_(0), periodMs_(periodMs) {}

bool HeartbeatSchedule::due(uint32_t nowMs, uint32_t &seq) {
  if (static_cast<int32_t>(nowMs - next_) < 0) return false;
  seq = seq_++;
  next_ += periodMs_;
  // Stalled for a whole period or more: start the schedule again from now instead of catching up.
  if (static_cast<int32_t>(nowMs - next_) >= 0) next_ = nowMs + periodMs_;
  return true;
}

}  // namespace sekisho
