// UTF-8 encoded string validation (spec 1.5.4, Unicode 3.9 Table 3-7).
#include <cstdint>

#include "petrel/protocol/codec.hpp"

namespace petrel::protocol {

bool is_valid_utf8(std::string_view text) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t size = text.size();
    std::size_t i = 0;
    while (i < size) {
        const unsigned char lead = bytes[i];
        if (lead < 0x80) {
            if (lead == 0x00) {
                return false;  // [MQTT-1.5.4-2] no U+0000
            }
            ++i;
            continue;
        }
        std::size_t length = 0;
        // Bounds of the second byte exclude overlong forms (C0, C1, E0 80-9F, F0 80-8F),
        // surrogates U+D800-DFFF (ED A0-BF) [MQTT-1.5.4-1] and code points past U+10FFFF.
        unsigned char low = 0x80;
        unsigned char high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            if (lead == 0xE0) {
                low = 0xA0;
            } else if (lead == 0xED) {
                high = 0x9F;
            }
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            if (lead == 0xF0) {
                low = 0x90;
            } else if (lead == 0xF4) {
                high = 0x8F;
            }
        } else {
            return false;  // stray continuation byte, C0/C1, or F5-FF
        }
        if (size - i < length) {
            return false;  // truncated sequence
        }
        if (bytes[i + 1] < low || bytes[i + 1] > high) {
            return false;
        }
        for (std::size_t k = 2; k < length; ++k) {
            if ((bytes[i + k] & 0xC0) != 0x80) {
                return false;
            }
        }
        i += length;
    }
    return true;
}

}  // namespace petrel::protocol
