// Parameters for tests that run once per MQTT protocol version.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "petrel/protocol/packet.hpp"
#include "support/raw_client.hpp"

namespace petrel::test {

inline auto both_versions() {
    return ::testing::Values(ProtocolVersion::V311, ProtocolVersion::V5);
}

// Test name suffix: "v311", "v5".
struct VersionParamName {
    std::string operator()(const ::testing::TestParamInfo<ProtocolVersion>& info) const {
        return std::string{version_name(info.param)};
    }
};

inline bool is_v5(ProtocolVersion version) {
    return version == ProtocolVersion::V5;
}

// A client id unique within the test binary, readable in broker logs.
inline std::string unique_client_id(const std::string& stem) {
    static int counter = 0;
    return stem + "-" + std::to_string(++counter);
}

}  // namespace petrel::test
