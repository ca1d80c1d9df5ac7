// libFuzzer target for the broker's connection handling: packet sequences from one or two
// clients, sent over loopback TCP to brokers running in this process. What one input does
// is in connection_script.hpp, its format in connection_input.hpp, and what the broker's
// output is held to in stream_check.hpp.
//
// Two brokers serve the inputs, the setup choosing one: an open one (anonymous clients, an
// ACL, roomy limits) and a restricted one (a password file for password and SCRAM logins,
// every optional MQTT 5 feature off, tight limits), so that both sides of each switch are
// fuzzed. Sessions, retained messages and delayed wills that one input leaves behind meet
// the next inputs. Every kInputsPerCheck inputs each broker must still serve a
// well-behaved client (subscribe, publish QoS 1, get it back) and is then replaced by a
// fresh one, which bounds what inputs accumulate. Anything a broker logs at error level is
// a finding: with the memory store only a broken invariant logs one.
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "broker_link.hpp"
#include "connection_input.hpp"
#include "connection_script.hpp"
#include "finding.hpp"
#include "petrel/auth/password_file.hpp"
#include "petrel/broker/broker.hpp"
#include "petrel/broker/config.hpp"

namespace petrel::fuzz {
namespace {

constexpr unsigned kInputsPerCheck = 500;
constexpr std::uint32_t kOpenMaxPacketSize = 16384;
constexpr std::uint32_t kRestrictedMaxPacketSize = 2048;
// Low on purpose: a login costs the harness's time. Unknown users still cost the broker's
// default count (its defence against probing), which the restricted broker alone pays.
constexpr unsigned kPasswordIterations = 1000;
constexpr unsigned kScramIterations = 64;

class FindingSink final : public spdlog::sinks::base_sink<std::mutex> {
  protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        if (message.level >= spdlog::level::err) {
            finding("a broker logged an error: " +
                    std::string(message.payload.data(), message.payload.size()));
        }
    }
    void flush_() override {}
};

// The restricted broker's password file and both brokers' ACL, in a directory of their
// own that lives as long as the brokers' construction (they read the files only then).
class AuthFiles {
  public:
    AuthFiles() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "petrel-fuzz.XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            finding("harness: mkdtemp failed");
        }
        directory_ = pattern;
        std::ofstream passwords(password_file());
        for (std::string_view user : {kUser, kOtherUser}) {
            const auth::UserRecord record{std::string(user),
                                          auth::make_password_hash(kPassword, kPasswordIterations),
                                          auth::make_scram_verifier(kPassword, kScramIterations)};
            passwords << auth::format_user_line(record) << '\n';
        }
        std::ofstream(acl_file()) << "topic readwrite #\n"
                                     "topic deny fz/deny/#\n"
                                     "user fz-user\n"
                                     "topic readwrite fz/#\n"
                                     "topic read $SYS/#\n"
                                     "topic deny fz/deny/#\n"
                                     "pattern readwrite own/%c\n"
                                     "pattern readwrite own/%c/#\n"
                                     "pattern write %u\n";
    }
    ~AuthFiles() {
        std::error_code ignored;
        std::filesystem::remove_all(directory_, ignored);
    }
    AuthFiles(const AuthFiles&) = delete;
    AuthFiles& operator=(const AuthFiles&) = delete;

    std::string password_file() const { return (directory_ / "passwords").string(); }
    std::string acl_file() const { return (directory_ / "acl").string(); }

  private:
    std::filesystem::path directory_;
};

broker::Config common_config(const AuthFiles& files) {
    broker::Config config;
    config.listeners = {broker::ListenerConfig{0, "127.0.0.1", std::nullopt}};
    config.allow_anonymous = true;
    config.persistence = false;
    config.threads = 2;  // connections handed between workers, cross-worker deliveries
    config.log_level = broker::LogLevel::Error;
    config.acl_file = files.acl_file();
    return config;
}

broker::Config open_config(const AuthFiles& files) {
    broker::Config config = common_config(files);
    config.max_packet_size = kOpenMaxPacketSize;
    config.max_queued_messages = 50;
    config.max_inflight_messages = 4;
    config.receive_maximum = 8;
    config.topic_alias_maximum = 4;
    config.outgoing_topic_alias_maximum = 2;
    return config;
}

broker::Config restricted_config(const AuthFiles& files) {
    broker::Config config = common_config(files);
    config.password_file = files.password_file();
    config.max_packet_size = kRestrictedMaxPacketSize;
    config.maximum_qos = 1;
    config.retain_available = false;
    config.wildcard_subscription_available = false;
    config.subscription_identifier_available = false;
    config.shared_subscription_available = false;
    config.max_keepalive = 30;
    config.receive_maximum = 2;
    config.topic_alias_maximum = 0;
    config.outgoing_topic_alias_maximum = 0;
    config.max_subscriptions_per_client = 3;
    config.max_queued_messages = 5;
    config.max_queued_bytes = 2048;
    config.max_inflight_messages = 2;
    config.response_topic_prefix = "";
    config.shared_subscription_strategy = broker::SharedStrategy::HashClient;
    return config;
}

// A well-behaved client: subscribes, publishes QoS 1 to itself, must get it back.
void check_health(const BrokerTarget& target, const char* name, unsigned round) {
    BrokerLink link(target.port, target.maximum_packet_size);
    protocol::Connect connect;
    connect.client_id = "fz-health";
    // Within the restricted broker's max_keepalive: an MQTT 3.1.1 client asking for more
    // is refused (it cannot be told a Server Keep Alive).
    connect.keep_alive = 20;
    link.send(connect);
    protocol::Subscribe subscribe;
    subscribe.packet_id = 1;
    subscribe.subscriptions.push_back({"fz/health", protocol::SubscribeOptions{1}});
    link.send(subscribe);
    protocol::Publish publish;
    publish.qos = 1;
    publish.packet_id = 2;
    publish.topic = "fz/health";
    const std::string payload = "alive " + std::to_string(round);
    publish.payload = protocol::make_payload(payload);
    link.send(publish);

    bool subscribed = false;
    bool acknowledged = false;
    std::optional<protocol::PacketId> delivered;
    link.wait(
        [&] {
            for (const protocol::Packet& packet : link.received()) {
                if (const auto* suback = std::get_if<protocol::Suback>(&packet)) {
                    subscribed = suback->packet_id == 1 && suback->reasons.size() == 1 &&
                                 suback->reasons[0] == protocol::ReasonCode::GrantedQos1;
                } else if (const auto* puback = std::get_if<protocol::Puback>(&packet)) {
                    acknowledged = puback->packet_id == 2;
                } else if (const auto* message = std::get_if<protocol::Publish>(&packet)) {
                    if (message->topic == "fz/health" && *message->payload == payload) {
                        delivered = message->packet_id;
                    }
                }
            }
            link.received().clear();
            return subscribed && acknowledged && delivered;
        },
        "health check");
    if (!subscribed || !acknowledged || !delivered) {
        finding(std::string("health check: the ") + name +
                " broker closed a well-behaved client (" + (subscribed ? "" : "no SUBACK; ") +
                (acknowledged ? "" : "no PUBACK; ") + (delivered ? "" : "no delivery; ") +
                "after " + std::to_string(round * kInputsPerCheck) + " inputs)");
    }
    link.send(protocol::Puback{*delivered, protocol::ReasonCode::Success, {}});
    link.send(protocol::Disconnect{});
    link.drain("health check: DISCONNECT did not close the connection");
}

class FuzzBrokers {
  public:
    FuzzBrokers()
        : log_(std::make_shared<spdlog::logger>("fuzz", std::make_shared<FindingSink>())) {
        log_->set_level(spdlog::level::err);  // nothing below is even formatted
        start();
    }

    // Every kInputsPerCheck inputs: the health check, then fresh brokers.
    void before_input() {
        if (++inputs_ % kInputsPerCheck != 0) {
            return;
        }
        ++checks_;
        check_health(open(), "open", checks_);
        check_health(restricted(), "restricted", checks_);
        start();
    }

    BrokerTarget open() const { return {open_->listening_ports().at(0), kOpenMaxPacketSize}; }
    BrokerTarget restricted() const {
        return {restricted_->listening_ports().at(0), kRestrictedMaxPacketSize};
    }

  private:
    void start() {
        open_.reset();  // stops it
        restricted_.reset();
        const AuthFiles files;
        open_ = std::make_unique<broker::Broker>(open_config(files), log_);
        restricted_ = std::make_unique<broker::Broker>(restricted_config(files), log_);
        open_->start();
        restricted_->start();
    }

    std::shared_ptr<spdlog::logger> log_;
    std::unique_ptr<broker::Broker> open_;
    std::unique_ptr<broker::Broker> restricted_;
    std::uint64_t inputs_ = 0;
    unsigned checks_ = 0;
};

}  // namespace
}  // namespace petrel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // libFuzzer gives the target no context to keep between inputs, and a broker per input
    // would cost more than the input (threads, listeners) and lose what one input leaves
    // for the next; hence one function-local static. It is destroyed at exit, after
    // libFuzzer's final report, so that LeakSanitizer checks a broker that shut down.
    static petrel::fuzz::FuzzBrokers brokers;
    brokers.before_input();
    petrel::fuzz::run_connection_script({data, size}, brokers.open(), brokers.restricted());
    return 0;
}
