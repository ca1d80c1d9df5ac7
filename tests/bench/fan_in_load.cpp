#include "fan_in_load.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <future>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace petrel::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kHost = "127.0.0.1";
constexpr int kKeepAliveSeconds = 60;
constexpr int kLoopTimeoutMs = 100;  // also how often a blocked loop rechecks the deadline
constexpr auto kConnectTimeout = std::chrono::seconds{10};
constexpr std::string_view kTopicPrefix = "bench/";
constexpr std::size_t kMissingSampleSize = 10;

struct ClientState {
    bool connacked = false;
    int connack_code = -1;
};

struct PublisherState : ClientState {
    std::uint64_t acked = 0;
};

// Touched only by the subscriber's own thread until that thread is joined.
struct SubscriberState : ClientState {
    bool subacked = false;
    int granted_qos = -1;
    unsigned messages = 0;  // per publisher
    unsigned publishers = 0;
    std::vector<std::uint8_t> seen;  // publisher * messages + sequence
    std::uint64_t unique = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t malformed = 0;
    std::uint64_t late_duplicates = 0;
    Clock::time_point complete_at{};
};

struct MosquittoDeleter {
    void operator()(mosquitto* client) const { mosquitto_destroy(client); }
};
using Mosquitto = std::unique_ptr<mosquitto, MosquittoDeleter>;

void on_connect(mosquitto*, void* user, int code) {
    auto* state = static_cast<ClientState*>(user);
    state->connacked = true;
    state->connack_code = code;
}

void on_publish(mosquitto*, void* user, int) {
    ++static_cast<PublisherState*>(user)->acked;
}

void on_subscribe(mosquitto*, void* user, int, int count, const int* granted) {
    auto* state = static_cast<SubscriberState*>(user);
    state->subacked = true;
    state->granted_qos = count > 0 ? granted[0] : -1;
}

std::uint32_t read_u32(const void* bytes) {
    std::uint32_t value = 0;
    std::memcpy(&value, bytes, sizeof value);
    return value;
}

void on_message(mosquitto*, void* user, const mosquitto_message* message) {
    auto* state = static_cast<SubscriberState*>(user);
    const std::string_view topic = message->topic != nullptr ? message->topic : "";
    unsigned topic_index = 0;
    const bool topic_ok =
        topic.starts_with(kTopicPrefix) && std::from_chars(topic.data() + kTopicPrefix.size(),
                                                           topic.data() + topic.size(), topic_index)
                                                   .ptr == topic.data() + topic.size();
    if (!topic_ok || message->qos != 1 ||
        message->payloadlen < static_cast<int>(kMinPayloadBytes)) {
        ++state->malformed;
        return;
    }
    const std::uint32_t publisher = read_u32(message->payload);
    const std::uint32_t sequence = read_u32(static_cast<const char*>(message->payload) + 4);
    if (publisher != topic_index || publisher >= state->publishers || sequence >= state->messages) {
        ++state->malformed;
        return;
    }
    std::uint8_t& seen = state->seen[std::size_t{publisher} * state->messages + sequence];
    if (seen != 0) {
        ++state->duplicates;
        return;
    }
    seen = 1;
    if (++state->unique == state->seen.size()) {
        state->complete_at = Clock::now();
    }
}

Mosquitto new_client(const std::string& id, bool clean_session, ClientState* state,
                     const FanInOptions& options) {
    Mosquitto client{mosquitto_new(id.c_str(), clean_session, state)};
    if (!client) {
        throw std::runtime_error("mosquitto_new failed");
    }
    mosquitto_int_option(client.get(), MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(client.get(), MOSQ_OPT_TCP_NODELAY, options.tcp_nodelay ? 1 : 0);
    mosquitto_max_inflight_messages_set(client.get(), options.inflight);
    mosquitto_connect_callback_set(client.get(), on_connect);
    return client;
}

// Runs the client's loop until `done()`; returns an error text, "" on success.
template <class Done>
std::string loop_until(mosquitto* client, Done done, Clock::time_point deadline, const char* what) {
    while (!done()) {
        if (Clock::now() >= deadline) {
            return std::string("timed out waiting for ") + what;
        }
        const int rc = mosquitto_loop(client, kLoopTimeoutMs, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            return std::string("connection lost waiting for ") + what + ": " +
                   mosquitto_strerror(rc);
        }
    }
    return {};
}

std::string connect(mosquitto* client, const ClientState& state, std::uint16_t port) {
    const int rc = mosquitto_connect(client, kHost, port, kKeepAliveSeconds);
    if (rc != MOSQ_ERR_SUCCESS) {
        return std::string("connect: ") + mosquitto_strerror(rc);
    }
    std::string error = loop_until(
        client, [&] { return state.connacked; }, Clock::now() + kConnectTimeout, "CONNACK");
    if (error.empty() && state.connack_code != 0) {
        error = "CONNACK refused: " + std::string(mosquitto_connack_string(state.connack_code));
    }
    return error;
}

// Shared by the threads of one run.
struct RunControl {
    std::latch publishers_ready;
    std::latch go{1};
    std::atomic<bool> abort{false};
    std::atomic<Clock::rep> deadline{Clock::time_point::max().time_since_epoch().count()};

    explicit RunControl(unsigned publishers) : publishers_ready(publishers) {}
    Clock::time_point deadline_point() const {
        return Clock::time_point{Clock::duration{deadline.load()}};
    }
};

struct PublisherOutcome {
    std::string error;
    std::uint64_t acked = 0;
    bool timed_out = false;
    Clock::time_point last_ack{};
};

void run_publisher(unsigned index, const FanInOptions& options, RunControl& control,
                   PublisherOutcome& outcome) {
    PublisherState state;
    Mosquitto client =
        new_client("petrel-bench-pub-" + std::to_string(index), true, &state, options);
    mosquitto_publish_callback_set(client.get(), on_publish);
    outcome.error = connect(client.get(), state, options.port);
    control.publishers_ready.count_down();
    control.go.wait();
    if (!outcome.error.empty() || control.abort) {
        return;
    }

    const std::string topic = std::string(kTopicPrefix) + std::to_string(index);
    std::vector<char> payload(options.payload_bytes, '.');
    const std::uint32_t publisher = index;
    std::memcpy(payload.data(), &publisher, sizeof publisher);
    const auto deadline = control.deadline_point();
    std::uint64_t sent = 0;
    while (state.acked < options.messages) {
        while (sent < options.messages && sent - state.acked < options.inflight) {
            const auto sequence = static_cast<std::uint32_t>(sent);
            std::memcpy(payload.data() + 4, &sequence, sizeof sequence);
            const int rc =
                mosquitto_publish(client.get(), nullptr, topic.c_str(),
                                  static_cast<int>(payload.size()), payload.data(), 1, false);
            if (rc != MOSQ_ERR_SUCCESS) {
                outcome.error = std::string("publish: ") + mosquitto_strerror(rc);
                break;
            }
            ++sent;
        }
        if (!outcome.error.empty()) {
            break;
        }
        if (Clock::now() >= deadline || control.abort) {
            outcome.timed_out = true;
            break;
        }
        const int rc = mosquitto_loop(client.get(), kLoopTimeoutMs, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            outcome.error = std::string("publisher connection lost: ") + mosquitto_strerror(rc);
            break;
        }
    }
    outcome.last_ack = Clock::now();
    outcome.acked = state.acked;
    mosquitto_disconnect(client.get());
}

void run_subscriber(const FanInOptions& options, RunControl& control, SubscriberState& state,
                    std::promise<std::string>& subscribed, std::string& error) {
    Mosquitto client = new_client("petrel-bench-sub", false, &state, options);
    mosquitto_subscribe_callback_set(client.get(), on_subscribe);
    mosquitto_message_callback_set(client.get(), on_message);
    std::string setup_error = connect(client.get(), state, options.port);
    if (setup_error.empty()) {
        const int rc = mosquitto_subscribe(client.get(), nullptr, "bench/#", 1);
        setup_error = rc != MOSQ_ERR_SUCCESS ? std::string("subscribe: ") + mosquitto_strerror(rc)
                                             : loop_until(
                                                   client.get(), [&] { return state.subacked; },
                                                   Clock::now() + kConnectTimeout, "SUBACK");
        if (setup_error.empty() && state.granted_qos != 1) {
            setup_error = "SUBACK granted " + std::to_string(state.granted_qos) + ", not QoS 1";
        }
    }
    subscribed.set_value(setup_error);
    if (!setup_error.empty()) {
        return;
    }
    const auto loop = [&](Clock::time_point until, auto done) {
        while (!done() && !control.abort && Clock::now() < until) {
            const int rc = mosquitto_loop(client.get(), kLoopTimeoutMs, 1);
            if (rc != MOSQ_ERR_SUCCESS) {
                error = std::string("subscriber connection lost: ") + mosquitto_strerror(rc);
                return false;
            }
        }
        return true;
    };
    if (!loop(Clock::time_point::max(), [&] {
            return state.unique == state.seen.size() || Clock::now() >= control.deadline_point();
        })) {
        return;
    }
    const std::uint64_t duplicates_in_time = state.duplicates;
    if (!loop(Clock::now() + options.drain, [] { return false; })) {
        return;
    }
    state.late_duplicates = state.duplicates - duplicates_in_time;
    mosquitto_disconnect(client.get());
}

}  // namespace

bool FanInResult::all_acked(unsigned messages) const {
    return std::all_of(pubacks.begin(), pubacks.end(),
                       [&](std::uint64_t acked) { return acked == messages; });
}

FanInResult run_fan_in(const FanInOptions& options) {
    FanInResult result;
    result.expected = std::uint64_t{options.publishers} * options.messages;
    result.pubacks.assign(options.publishers, 0);

    RunControl control(options.publishers);
    SubscriberState subscriber;
    subscriber.publishers = options.publishers;
    subscriber.messages = options.messages;
    subscriber.seen.assign(result.expected, 0);
    std::promise<std::string> subscribed;
    std::string subscriber_error;
    std::thread subscriber_thread(run_subscriber, std::cref(options), std::ref(control),
                                  std::ref(subscriber), std::ref(subscribed),
                                  std::ref(subscriber_error));
    result.error = subscribed.get_future().get();
    if (!result.error.empty()) {
        subscriber_thread.join();
        result.error = "subscriber: " + result.error;
        return result;
    }

    std::vector<PublisherOutcome> outcomes(options.publishers);
    std::vector<std::thread> publishers;
    for (unsigned index = 0; index < options.publishers; ++index) {
        publishers.emplace_back(run_publisher, index, std::cref(options), std::ref(control),
                                std::ref(outcomes[index]));
    }
    control.publishers_ready.wait();
    for (unsigned index = 0; index < options.publishers && result.error.empty(); ++index) {
        if (!outcomes[index].error.empty()) {
            result.error = "publisher " + std::to_string(index) + ": " + outcomes[index].error;
            control.abort = true;
        }
    }
    const auto start = Clock::now();
    control.deadline = (start + options.timeout).time_since_epoch().count();
    result.started = !control.abort;
    control.go.count_down();
    for (auto& thread : publishers) {
        thread.join();
    }
    subscriber_thread.join();
    if (!result.error.empty()) {
        return result;
    }

    const auto seconds = [&](Clock::time_point end) {
        return std::chrono::duration<double>(end - start).count();
    };
    Clock::time_point last_ack = start;
    for (unsigned index = 0; index < options.publishers; ++index) {
        const PublisherOutcome& outcome = outcomes[index];
        result.pubacks[index] = outcome.acked;
        result.timed_out = result.timed_out || outcome.timed_out;
        last_ack = std::max(last_ack, outcome.last_ack);
        if (!outcome.error.empty() && result.error.empty()) {
            result.error = "publisher " + std::to_string(index) + ": " + outcome.error;
        }
    }
    if (result.error.empty() && !subscriber_error.empty()) {
        result.error = subscriber_error;
    }
    result.publish_seconds = seconds(last_ack);
    result.unique = subscriber.unique;
    result.duplicates = subscriber.duplicates;
    result.late_duplicates = subscriber.late_duplicates;
    result.malformed = subscriber.malformed;
    if (result.unique == result.expected) {
        result.seconds = seconds(subscriber.complete_at);
    } else {
        result.timed_out = result.timed_out || subscriber_error.empty();
        result.seconds = seconds(Clock::now());
        for (std::size_t at = 0;
             at < subscriber.seen.size() && result.missing_sample.size() < kMissingSampleSize;
             ++at) {
            if (subscriber.seen[at] == 0) {
                result.missing_sample.push_back(std::to_string(at / options.messages) + "/" +
                                                std::to_string(at % options.messages));
            }
        }
    }
    return result;
}

}  // namespace petrel::bench
