// Start-up, command line and config file of the real binary: --help, --version, errors
// that name FILE:LINE with exit code 1, clean exit on SIGTERM/SIGINT, several listeners.
#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using protocol::Connack;

// A round trip through the broker on `port`: subscribe, publish, receive.
void expect_serves(std::uint16_t subscribe_port, std::uint16_t publish_port) {
    RawClient subscriber(subscribe_port);
    auto connack = subscriber.connect(unique_client_id("sub"));
    ASSERT_TRUE(connack);
    ASSERT_EQ(connack->reason, ReasonCode::Success);
    ASSERT_TRUE(subscriber.subscribe("startup/t", 1));

    RawClient publisher(publish_port);
    ASSERT_TRUE(publisher.connect(unique_client_id("pub")));
    ASSERT_TRUE(publisher.publish("startup/t", "hello", 1));

    auto message = subscriber.receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(message->topic, "startup/t");
    EXPECT_EQ(payload_of(*message), "hello");
}

TEST(StartupTest, HelpPrintsUsageAndExitsZero) {
    const auto result = run_petrel({"--help"});
    EXPECT_EQ(result.status, 0) << result.err;
    EXPECT_NE(result.out.find("-c"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("--version"), std::string::npos) << result.out;
}

TEST(StartupTest, VersionPrintsNameAndVersion) {
    const auto result = run_petrel({"--version"});
    EXPECT_EQ(result.status, 0) << result.err;
    EXPECT_NE(result.out.find("petrel 0.1.0"), std::string::npos) << result.out;
}

TEST(StartupTest, UnknownOptionIsAnError) {
    const auto result = run_petrel({"--no-such-option"});
    EXPECT_NE(result.status, 0);
    EXPECT_NE(result.status, -1) << "timed out: it should not start";
}

TEST(StartupTest, UnknownKeywordNamesFileAndLine) {
    TempDir dir;
    const auto config = dir.path() / "bad.conf";
    write_file(config, "# a comment\nlistener 0 127.0.0.1\n\nno_such_keyword 1\n");
    const auto result = run_petrel({"-c", config.string()});
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_NE(result.err.find(config.string() + ":4:"), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("listening on"), std::string::npos) << result.err;
}

TEST(StartupTest, MissingConfigFileFails) {
    TempDir dir;
    const auto missing = (dir.path() / "absent.conf").string();
    const auto result = run_petrel({"-c", missing});
    EXPECT_NE(result.status, 0);
    EXPECT_NE(result.status, -1) << "timed out: it should not start";
    EXPECT_NE(result.err.find("absent.conf"), std::string::npos) << result.err;
}

class BadValueTest : public ::testing::TestWithParam<const char*> {};

TEST_P(BadValueTest, NamesFileAndLineAndExitsOne) {
    TempDir dir;
    const auto config = dir.path() / "bad.conf";
    write_file(config, std::string("# line one\n") + GetParam() + "\nlistener 0 127.0.0.1\n");
    const auto result = run_petrel({"-c", config.string()});
    EXPECT_EQ(result.status, 1) << "config line: " << GetParam() << "\n" << result.err;
    EXPECT_NE(result.err.find(config.string() + ":2:"), std::string::npos)
        << "config line: " << GetParam() << "\n"
        << result.err;
}

INSTANTIATE_TEST_SUITE_P(
    Values, BadValueTest,
    ::testing::Values("listener 70000", "listener abc", "listener", "allow_anonymous maybe",
                      "allow_anonymous", "max_packet_size lots", "max_packet_size -5",
                      "threads many", "threads -1", "log_level loud", "max_queued_messages x",
                      "max_inflight_messages -1", "allow_anonymous true false",
                      "max_connections -2", "max_connection_rate fast",
                      "max_inbound_message_rate -1", "max_topic_levels 40000", "memory_limit 512"));

TEST(StartupTest, AcceptsEveryDocumentedKeyword) {
    BrokerProcess broker(
        "# every keyword of the contract\n"
        "\n"
        "allow_anonymous true\n"
        "max_packet_size 65536\n"
        "threads 2\n"
        "log_level debug\n"
        "max_queued_messages 100\n"
        "max_inflight_messages 10\n"
        "max_connections 100\n"
        "max_connection_rate 50\n"
        "max_inbound_message_rate 1000\n"
        "max_topic_levels 32\n"
        "memory_limit 1073741824\n");
    expect_serves(broker.port(), broker.port());
}

TEST(StartupTest, LogsTheListeningAddress) {
    BrokerProcess broker;
    EXPECT_NE(broker.log().find("listening on 127.0.0.1:" + std::to_string(broker.port())),
              std::string::npos)
        << broker.log();
}

TEST(StartupTest, SigtermExitsZero) {
    BrokerProcess broker;
    RawClient client(broker.port());
    ASSERT_TRUE(client.connect("sigterm-client"));
    EXPECT_EQ(broker.stop(SIGTERM), 0);
    EXPECT_TRUE(client.wait_closed());
}

TEST(StartupTest, SigintExitsZero) {
    BrokerProcess broker;
    RawClient client(broker.port());
    ASSERT_TRUE(client.connect("sigint-client"));
    EXPECT_EQ(broker.stop(SIGINT), 0);
    EXPECT_TRUE(client.wait_closed());
}

TEST(StartupTest, RestartsWithTheSameConfig) {
    BrokerProcess broker;
    expect_serves(broker.port(), broker.port());
    broker.restart();
    expect_serves(broker.port(), broker.port());
}

TEST(StartupTest, StartsAgainAfterSigkill) {
    BrokerProcess broker;
    RawClient client(broker.port());
    ASSERT_TRUE(client.connect("killed-under-me"));
    EXPECT_EQ(broker.kill_hard(), 128 + SIGKILL);
    EXPECT_TRUE(client.wait_closed());
    // Nothing left behind (lock files, data directory state) stops a fresh start.
    broker.restart();
    expect_serves(broker.port(), broker.port());
}

TEST(StartupTest, TwoListenersBothServe) {
    BrokerProcess broker("listener 0 127.0.0.1\n");
    ASSERT_EQ(broker.ports().size(), 2u) << broker.log();
    ASSERT_NE(broker.ports()[0], broker.ports()[1]);
    expect_serves(broker.ports()[0], broker.ports()[1]);
    expect_serves(broker.ports()[1], broker.ports()[0]);
}

TEST(StartupTest, PortOptionReplacesConfiguredListeners) {
    BrokerOptions options;
    options.extra_config = "listener 0 127.0.0.1\n";  // two configured listeners
    options.extra_args = {"-p", "0"};
    BrokerProcess broker(options);
    expect_serves(broker.port(), broker.port());
    EXPECT_EQ(parse_listening_ports(broker.log()).size(), 1u) << broker.log();
}

TEST(StartupTest, VerboseLogsAtDebugLevel) {
    BrokerOptions options;
    options.extra_args = {"-v"};
    BrokerProcess broker(options);
    expect_serves(broker.port(), broker.port());
    EXPECT_TRUE(broker.wait_for_log("debug")) << broker.log();
}

}  // namespace
}  // namespace petrel::test
