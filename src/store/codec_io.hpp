// Bounds-checked big-endian writing and reading for record_codec. Internal to src/store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "petrel/store/record_codec.hpp"

namespace petrel::store::codec {

class Writer {
  public:
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u16(std::uint16_t v) { big_endian(v, 2); }
    void u32(std::uint32_t v) { big_endian(v, 4); }
    void u64(std::uint64_t v) { big_endian(v, 8); }
    // Lengths are 32-bit: a payload may exceed 65,535 bytes (MQTT allows ~256 MB).
    void bytes(std::string_view b) {
        u32(static_cast<std::uint32_t>(b.size()));
        out_.append(b);
    }
    void raw(std::string_view b) { out_.append(b); }
    std::string take() { return std::move(out_); }

  private:
    void big_endian(std::uint64_t v, int width) {
        for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
            out_.push_back(static_cast<char>((v >> shift) & 0xFF));
        }
    }
    std::string out_;
};

// Reads with every access bounds-checked; the first failure sticks, so a decoder reads
// its fields unconditionally and checks ok() once at the end.
class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}

    std::uint8_t u8() { return static_cast<std::uint8_t>(big_endian(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(big_endian(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(big_endian(4)); }
    std::uint64_t u64() { return big_endian(8); }
    bool flag() {
        const auto v = u8();
        if (v > 1) {
            ok_ = false;
        }
        return v == 1;
    }
    std::string_view raw(std::size_t n) {
        if (!ok_ || in_.size() - pos_ < n) {
            ok_ = false;
            return {};
        }
        auto out = in_.substr(pos_, n);
        pos_ += n;
        return out;
    }
    std::string bytes() { return std::string(raw(u32())); }
    std::string_view rest() { return raw(in_.size() - pos_); }
    std::size_t position() const { return pos_; }
    void fail() { ok_ = false; }
    bool ok() const { return ok_; }
    // Trailing bytes are corruption too: every layout is read to its end.
    bool done() const { return ok_ && pos_ == in_.size(); }

  private:
    std::uint64_t big_endian(std::size_t width) {
        std::uint64_t v = 0;
        for (char c : raw(width)) {
            v = (v << 8) | static_cast<std::uint8_t>(c);
        }
        return v;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

// Splits the name part off the front of `key`; `rest` receives what follows it.
std::optional<NamePart> split_name(std::string_view key, std::string_view* rest);

// The client id a client part names: the name itself, or a hashed one's full id as
// `names` knows it. Nullopt when a hashed part has no known name.
std::optional<std::string> resolve_client(const NamePart& part, const ClientNames& names);

}  // namespace petrel::store::codec
