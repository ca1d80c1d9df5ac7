// The config keys of the limits that protect the broker: defaults, listener scoping of
// max_connections, and errors that name the file and line.
#include <gtest/gtest.h>

#include "config_errors.hpp"
#include "petrel/broker/config.hpp"

namespace petrel::broker {
namespace {

TEST(ConfigLimits, Defaults) {
    const Config config = parse_config("", "limits.conf");
    EXPECT_EQ(config.max_connections, 0u);  // no limit
    EXPECT_EQ(config.max_connection_rate, 0u);
    EXPECT_EQ(config.max_inbound_message_rate, 0u);
    EXPECT_EQ(config.max_topic_levels, 128u);
    EXPECT_FALSE(config.memory_limit);  // the machine decides (memory_guard.hpp)
    EXPECT_EQ(config.effective_listeners().at(0).max_connections, 0u);
}

TEST(ConfigLimits, EveryKeyIsRead) {
    const Config config = parse_config(
        "max_connections 100\nmax_connection_rate 5\nmax_inbound_message_rate 20\n"
        "max_topic_levels 16\nmemory_limit 1073741824\n",
        "limits.conf");
    EXPECT_EQ(config.max_connections, 100u);
    EXPECT_EQ(config.max_connection_rate, 5u);
    EXPECT_EQ(config.max_inbound_message_rate, 20u);
    EXPECT_EQ(config.max_topic_levels, 16u);
    ASSERT_TRUE(config.memory_limit);
    EXPECT_EQ(*config.memory_limit, 1073741824u);
    EXPECT_EQ(parse_config("memory_limit 0\n", "t").memory_limit, std::optional<std::size_t>{0});
    EXPECT_EQ(parse_config("max_topic_levels 0\n", "t").max_topic_levels, 0u);
}

TEST(ConfigLimits, MaxConnectionsBeforeAListenerIsGlobalAfterOneItIsThatListeners) {
    const Config config = parse_config(
        "max_connections 1000\n"
        "listener 1883 127.0.0.1\n"
        "max_connections 10\n"
        "listener 1884 127.0.0.1\n"
        "listener 1885 127.0.0.1\n"
        "max_connections -1\n",
        "limits.conf");
    EXPECT_EQ(config.max_connections, 1000u);
    ASSERT_EQ(config.listeners.size(), 3u);
    EXPECT_EQ(config.listeners[0].max_connections, 10u);
    EXPECT_EQ(config.listeners[1].max_connections, 0u);
    EXPECT_EQ(config.listeners[2].max_connections, 0u);  // -1: no limit, as in Mosquitto
    EXPECT_EQ(config.effective_listeners()[0].max_connections, 10u);

    // Only after a listener: the global limit stays unset.
    const Config scoped = parse_config("listener 1883\nmax_connections 5\n", "limits.conf");
    EXPECT_EQ(scoped.max_connections, 0u);
    EXPECT_EQ(scoped.listeners[0].max_connections, 5u);
    EXPECT_EQ(parse_config("max_connections -1\n", "t").max_connections, 0u);
}

TEST(ConfigLimits, BadValuesNameTheFileAndLine) {
    expect_config_error("\nmax_connections -2\n", "test.conf:2: bad value for 'max_connections'");
    expect_config_error("listener 1883\n\nmax_connections many\n", "test.conf:3:");
    expect_config_error("max_connection_rate -1\n",
                        "test.conf:1: bad value for 'max_connection_rate'");
    expect_config_error("max_connection_rate 10 20\n",
                        "test.conf:1: 'max_connection_rate' takes 1");
    expect_config_error("max_inbound_message_rate 1.5\n",
                        "test.conf:1: bad value for 'max_inbound_message_rate'");
    expect_config_error("max_topic_levels 40000\n", "expected a whole number from 0 to 32768");
    expect_config_error("\n\nmemory_limit 512\n", "test.conf:3: bad value for 'memory_limit'");
    expect_config_error("memory_limit 512\n", "expected 0 (off) or bytes from 1048576");
    expect_config_error("memory_limit 2GiB\n", "test.conf:1:");
}

}  // namespace
}  // namespace petrel::broker
