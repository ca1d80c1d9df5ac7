// Reader for the MQTT data representations (spec section 1.5); see wire.hpp.
#include "wire.hpp"

namespace petrel::protocol::wire {

std::uint8_t Reader::u8() {
    if (!need(1, "truncated byte")) {
        return 0;
    }
    return bytes_[pos_++];
}

std::uint16_t Reader::u16() {
    if (!need(2, "truncated two byte integer")) {
        return 0;
    }
    const auto value = static_cast<std::uint16_t>((bytes_[pos_] << 8) | bytes_[pos_ + 1]);
    pos_ += 2;
    return value;
}

std::uint32_t Reader::u32() {
    if (!need(4, "truncated four byte integer")) {
        return 0;
    }
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
        value = (value << 8) | bytes_[pos_++];
    }
    return value;
}

std::uint32_t Reader::varint() {
    std::uint32_t value = 0;
    // [MQTT-1.5.5-1] at most four bytes; a continuation bit on the fourth is malformed.
    for (int shift = 0; shift < 28; shift += 7) {
        if (!need(1, "truncated variable byte integer")) {
            return 0;
        }
        const std::uint8_t byte = bytes_[pos_++];
        value |= static_cast<std::uint32_t>(byte & 0x7F) << shift;
        if ((byte & 0x80) == 0) {
            return value;
        }
    }
    fail(malformed("variable byte integer longer than four bytes"));
    return 0;
}

std::string Reader::binary() {
    const std::uint16_t length = u16();
    if (!need(length, "length prefix runs past the packet")) {
        return {};
    }
    std::string value(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return value;
}

std::string Reader::utf8() {
    std::string value = binary();
    if (ok() && !is_valid_utf8(value)) {
        fail(malformed("invalid UTF-8 string"));  // [MQTT-1.5.4-1] [MQTT-1.5.4-2]
        return {};
    }
    return value;
}

std::string Reader::rest() {
    std::string value(reinterpret_cast<const char*>(bytes_.data() + pos_), remaining());
    pos_ = bytes_.size();
    return value;
}

Reader Reader::slice(std::size_t length, const char* what) {
    if (!need(length, what)) {
        return Reader(ByteView{});
    }
    Reader inner(bytes_.subspan(pos_, length));
    pos_ += length;
    return inner;
}

}  // namespace petrel::protocol::wire
