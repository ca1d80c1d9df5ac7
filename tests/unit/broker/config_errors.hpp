// Config unit tests: a text the parser must refuse, with a message that holds `expected`
// (typically "test.conf:LINE: ...": errors name the file and line).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "petrel/broker/config.hpp"

namespace petrel::broker {

inline void expect_config_error(const std::string& text, const std::string& expected) {
    try {
        parse_config(text, "test.conf");
        ADD_FAILURE() << "accepted: " << text;
    } catch (const ConfigError& error) {
        EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
}

}  // namespace petrel::broker
