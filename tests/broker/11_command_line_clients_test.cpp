// Debian's mosquitto_pub and mosquitto_sub against the broker: the tools users reach for
// first must exchange QoS 0/1/2 and retained messages with MQTT 3.1.1 and 5.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "support/broker_process.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "support/versions.hpp"
#include "support/wait.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;

std::string cli_version(ProtocolVersion version) {
    return version == ProtocolVersion::V5 ? "mqttv5" : "mqttv311";
}

// "MSG|topic|qos|retain|payload" lines printed by mosquitto_sub -F.
std::vector<std::string> message_lines(const std::string& output) {
    std::vector<std::string> lines;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("MSG|")) {
            lines.push_back(line);
        }
    }
    return lines;
}

// mosquitto_sub running in the background until it got `count` messages.
class Subscriber {
  public:
    Subscriber(std::uint16_t port, ProtocolVersion version, const std::string& topic, int qos,
               int count)
        : output_(dir_.path() / "sub.out") {
        SpawnOptions options;
        // stdbuf: line-buffered stdout, so the -d "SUBACK" line shows while it runs.
        options.argv = {find_program("stdbuf"),
                        "-oL",
                        find_program("mosquitto_sub"),
                        "-h",
                        kLoopback,
                        "-p",
                        std::to_string(port),
                        "-V",
                        cli_version(version),
                        "-t",
                        topic,
                        "-q",
                        std::to_string(qos),
                        "-C",
                        std::to_string(count),
                        "-W",
                        "10",
                        "-d",
                        "-F",
                        "MSG|%t|%q|%r|%p"};
        options.stdout_path = output_;
        options.stderr_path = output_;
        child_ = std::make_unique<ChildProcess>(options);
    }

    // Waits until the SUBACK arrived (printed by -d).
    bool wait_subscribed() {
        return eventually([&] { return output().find("SUBACK") != std::string::npos; });
    }
    std::optional<int> wait_for_exit() { return child_->wait_for_exit(12s); }
    std::string output() const { return read_file(output_); }

  private:
    TempDir dir_{"petrel-sub-"};
    std::filesystem::path output_;
    std::unique_ptr<ChildProcess> child_;
};

CommandResult mosquitto_pub(std::uint16_t port, ProtocolVersion version,
                            std::vector<std::string> args) {
    std::vector<std::string> argv{find_program("mosquitto_pub"), "-h", kLoopback,           "-p",
                                  std::to_string(port),          "-V", cli_version(version)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 15s);
}

TEST(CommandLineClientsTest, ToolsAreInstalled) {
    EXPECT_FALSE(find_program("mosquitto_pub").empty());
    EXPECT_FALSE(find_program("mosquitto_sub").empty());
}

using CliCase = std::tuple<ProtocolVersion, int>;
class CommandLineQosTest : public ::testing::TestWithParam<CliCase> {};

TEST_P(CommandLineQosTest, PubToSub) {
    const auto [version, qos] = GetParam();
    BrokerProcess broker;
    Subscriber subscriber(broker.port(), version, "cli/t", qos, 2);
    ASSERT_TRUE(subscriber.wait_subscribed()) << subscriber.output();

    for (const char* text : {"first message", "second message"}) {
        const auto result = mosquitto_pub(broker.port(), version,
                                          {"-t", "cli/t", "-q", std::to_string(qos), "-m", text});
        ASSERT_EQ(result.status, 0) << result.out << result.err;
    }
    EXPECT_EQ(subscriber.wait_for_exit(), std::optional<int>{0}) << subscriber.output();
    const std::string q = std::to_string(qos);
    EXPECT_EQ(message_lines(subscriber.output()),
              (std::vector<std::string>{"MSG|cli/t|" + q + "|0|first message",
                                        "MSG|cli/t|" + q + "|0|second message"}))
        << subscriber.output();
}

INSTANTIATE_TEST_SUITE_P(All, CommandLineQosTest,
                         ::testing::Combine(both_versions(), ::testing::Values(0, 1, 2)),
                         [](const ::testing::TestParamInfo<CliCase>& info) {
                             return std::string{version_name(std::get<0>(info.param))} + "_qos" +
                                    std::to_string(std::get<1>(info.param));
                         });

class CommandLineRetainedTest : public ::testing::TestWithParam<ProtocolVersion> {};

TEST_P(CommandLineRetainedTest, RetainedMessageReachesLaterSubscriber) {
    const auto version = GetParam();
    BrokerProcess broker;
    auto result = mosquitto_pub(broker.port(), version,
                                {"-t", "cli/retained", "-q", "1", "-r", "-m", "kept"});
    ASSERT_EQ(result.status, 0) << result.out << result.err;

    Subscriber subscriber(broker.port(), version, "cli/retained", 1, 1);
    EXPECT_EQ(subscriber.wait_for_exit(), std::optional<int>{0}) << subscriber.output();
    EXPECT_EQ(message_lines(subscriber.output()),
              std::vector<std::string>{"MSG|cli/retained|1|1|kept"})
        << subscriber.output();

    // An empty retained message (-n) deletes it: a new subscriber sees only live traffic.
    result = mosquitto_pub(broker.port(), version, {"-t", "cli/retained", "-r", "-n"});
    ASSERT_EQ(result.status, 0) << result.out << result.err;
    Subscriber after(broker.port(), version, "cli/retained", 1, 1);
    ASSERT_TRUE(after.wait_subscribed()) << after.output();
    result = mosquitto_pub(broker.port(), version, {"-t", "cli/retained", "-q", "1", "-m", "live"});
    ASSERT_EQ(result.status, 0) << result.out << result.err;
    EXPECT_EQ(after.wait_for_exit(), std::optional<int>{0}) << after.output();
    EXPECT_EQ(message_lines(after.output()), std::vector<std::string>{"MSG|cli/retained|1|0|live"})
        << after.output();
}

TEST_P(CommandLineRetainedTest, CrossVersionExchange) {
    const auto subscriber_version = GetParam();
    const auto publisher_version =
        is_v5(subscriber_version) ? ProtocolVersion::V311 : ProtocolVersion::V5;
    BrokerProcess broker;
    Subscriber subscriber(broker.port(), subscriber_version, "cli/cross", 2, 1);
    ASSERT_TRUE(subscriber.wait_subscribed()) << subscriber.output();
    const auto result = mosquitto_pub(broker.port(), publisher_version,
                                      {"-t", "cli/cross", "-q", "2", "-m", "across"});
    ASSERT_EQ(result.status, 0) << result.out << result.err;
    EXPECT_EQ(subscriber.wait_for_exit(), std::optional<int>{0}) << subscriber.output();
    EXPECT_EQ(message_lines(subscriber.output()),
              std::vector<std::string>{"MSG|cli/cross|2|0|across"})
        << subscriber.output();
}

INSTANTIATE_TEST_SUITE_P(Versions, CommandLineRetainedTest, both_versions(), VersionParamName{});

}  // namespace
}  // namespace petrel::test
