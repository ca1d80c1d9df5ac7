// Fixed header framing (spec 2.1) and variable byte integers (1.5.5).
#include "petrel/protocol/codec.hpp"

namespace petrel::protocol {

void encode_varint(std::uint32_t value, std::string& out) {
    do {
        auto byte = static_cast<std::uint8_t>(value & 0x7F);
        value >>= 7;
        if (value != 0) {
            byte |= 0x80;
        }
        out.push_back(static_cast<char>(byte));
    } while (value != 0);
}

std::size_t varint_size(std::uint32_t value) {
    std::size_t size = 1;
    while (value >= 0x80) {
        value >>= 7;
        ++size;
    }
    return size;
}

FrameResult frame(ByteView buffer) {
    FrameResult result;
    if (buffer.empty()) {
        return result;
    }
    const std::uint8_t first = buffer[0];
    if ((first >> 4) == 0) {
        // Packet type 0 is reserved in every version (2.1.2).
        result.status = FrameStatus::Malformed;
        return result;
    }
    std::uint32_t length = 0;
    for (std::size_t i = 1; i <= 4; ++i) {
        if (i >= buffer.size()) {
            return result;  // the remaining length has not fully arrived
        }
        const std::uint8_t byte = buffer[i];
        length |= static_cast<std::uint32_t>(byte & 0x7F) << (7 * (i - 1));
        if ((byte & 0x80) == 0) {
            result.frame.first_byte = first;
            result.frame.remaining_length = length;
            result.frame.header_length = i + 1;
            result.status = buffer.size() >= result.frame.total_length() ? FrameStatus::Complete
                                                                         : FrameStatus::Incomplete;
            return result;
        }
    }
    // [MQTT-1.5.5-1] a fourth byte with the continuation bit would need a fifth.
    result.status = FrameStatus::Malformed;
    return result;
}

}  // namespace petrel::protocol
