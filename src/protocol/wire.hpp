// Byte-level reading and writing of the MQTT data representations (spec section 1.5),
// shared by every packet decoder and encoder. Internal to the protocol layer.
//
// `Reader` never reads past its span. Its first error is sticky: once a read fails the
// reader jumps to the end, later reads return zero values, and the decoder reports the
// first error when it finishes. That keeps decoders linear instead of a ladder of checks,
// and loops such as "while (!reader.at_end())" always terminate.
//
// `Writer` appends to a string, or only counts when given none, so that one routine both
// sizes and encodes a packet and `encoded_size()` cannot drift from `encode()`.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "petrel/protocol/codec.hpp"

namespace petrel::protocol::wire {

class Reader {
  public:
    explicit Reader(ByteView bytes) : bytes_(bytes) {}

    std::size_t remaining() const { return bytes_.size() - pos_; }
    bool at_end() const { return pos_ == bytes_.size(); }
    bool ok() const { return !error_.has_value(); }
    const std::optional<Error>& error() const { return error_; }

    // Records `error` unless an earlier one is already recorded, and stops reading.
    void fail(Error error) {
        if (!error_) {
            error_ = error;
        }
        pos_ = bytes_.size();
    }

    std::uint8_t u8();
    std::uint16_t u16();
    std::uint32_t u32();
    // Variable byte integer (1.5.5), at most four bytes.
    std::uint32_t varint();
    // Two-byte length prefixed binary data (1.5.6).
    std::string binary();
    // Two-byte length prefixed UTF-8 string (1.5.4), validated by is_valid_utf8.
    std::string utf8();
    // Everything left, e.g. a PUBLISH payload.
    std::string rest();
    // A sub-reader over the next `length` bytes, which this reader skips. Malformed when
    // fewer bytes remain: a nested length may not run past its container.
    Reader slice(std::size_t length, const char* what);

  private:
    bool need(std::size_t count, const char* what) {
        if (remaining() < count) {
            fail(malformed(what));
            return false;
        }
        return true;
    }

    ByteView bytes_;
    std::size_t pos_ = 0;
    std::optional<Error> error_;
};

class Writer {
  public:
    // Counts only when `out` is null.
    explicit Writer(std::string* out) : out_(out) {}

    std::size_t size() const { return size_; }

    void u8(std::uint8_t value) {
        if (out_) {
            out_->push_back(static_cast<char>(value));
        }
        ++size_;
    }
    void u16(std::uint16_t value) {
        u8(static_cast<std::uint8_t>(value >> 8));
        u8(static_cast<std::uint8_t>(value));
    }
    void u32(std::uint32_t value) {
        u16(static_cast<std::uint16_t>(value >> 16));
        u16(static_cast<std::uint16_t>(value));
    }
    void varint(std::uint32_t value) {
        if (out_) {
            encode_varint(value, *out_);
        }
        size_ += varint_size(value);
    }
    void raw(std::string_view bytes) {
        if (out_) {
            out_->append(bytes);
        }
        size_ += bytes.size();
    }
    // Length-prefixed string or binary data. The caller guarantees it fits 65,535 bytes;
    // longer input is truncated so that the prefix and the content always agree.
    void prefixed(std::string_view bytes) {
        const auto length = static_cast<std::uint16_t>(std::min<std::size_t>(bytes.size(), 0xFFFF));
        u16(length);
        raw(bytes.substr(0, length));
    }

  private:
    std::string* out_;
    std::size_t size_ = 0;
};

}  // namespace petrel::protocol::wire
