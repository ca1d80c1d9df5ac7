// How a fuzz harness (fuzz_broker, fuzz_client_endpoint) reports a finding: a line
// naming what went wrong (and the bytes involved), then abort(), which libFuzzer turns
// into a crash report with the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace petrel::fuzz {

[[noreturn]] inline void finding(std::string_view what, std::string_view bytes = {}) {
    std::fprintf(stderr, "fuzz: FINDING: %.*s\n", static_cast<int>(what.size()), what.data());
    if (!bytes.empty()) {
        std::fprintf(stderr, "  bytes (%zu):", bytes.size());
        for (std::size_t i = 0; i < bytes.size() && i < 256; ++i) {
            std::fprintf(stderr, " %02x", static_cast<unsigned char>(bytes[i]));
        }
        std::fprintf(stderr, bytes.size() > 256 ? " ...\n" : "\n");
    }
    std::abort();
}

}  // namespace petrel::fuzz
