// QoS 1 fan-in load: P publishers, one persistent subscriber, real libmosquitto clients.
//
// The subscriber (MQTT 3.1.1, clean session false, fixed client id) connects and subscribes
// to bench/# at QoS 1 first. Then every publisher, each on its own thread and connection,
// publishes N QoS 1 messages to bench/<index> as fast as its in-flight window allows.
// Each payload carries (publisher, sequence), so the subscriber checks that every message
// arrived and counts duplicates. Every client runs its own libmosquitto loop on its own
// thread (no threaded loop, no cross-thread wake-ups), and the publishers keep at most
// `inflight` messages outstanding themselves: libmosquitto would otherwise queue the whole
// backlog inside the client, and its per-ack queue walk would make the load generator the
// bottleneck.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace petrel::bench {

struct FanInOptions {
    std::uint16_t port = 0;  // broker on 127.0.0.1
    unsigned publishers = 8;
    unsigned messages = 20000;  // per publisher
    std::size_t payload_bytes = 64;
    unsigned inflight = 20;             // per publisher; also libmosquitto's own send maximum
    bool tcp_nodelay = true;            // on the client sockets, for both brokers alike
    std::chrono::seconds timeout{300};  // from the first publish
    // The subscriber keeps reading this long after it holds every message, so that late
    // duplicates are counted too (not timed).
    std::chrono::milliseconds drain{500};
};

// Smallest payload that holds the (publisher, sequence) tag.
inline constexpr std::size_t kMinPayloadBytes = 8;

struct FanInResult {
    bool started = false;  // false: a client could not connect or subscribe (see error)
    std::string error;     // set up, or a connection lost during the run
    bool timed_out = false;

    double seconds = 0;          // first publish -> subscriber holds every message
    double publish_seconds = 0;  // first publish -> last PUBACK at the publishers
    std::uint64_t expected = 0;
    std::uint64_t unique = 0;                 // distinct (publisher, sequence) received
    std::uint64_t duplicates = 0;             // received again after the first time
    std::uint64_t late_duplicates = 0;        // of those, received in the drain period
    std::uint64_t malformed = 0;              // payload or topic that carries no valid tag
    std::vector<std::uint64_t> pubacks;       // per publisher
    std::vector<std::string> missing_sample;  // first few "publisher/sequence" not received

    std::uint64_t missing() const { return expected - unique; }
    bool all_acked(unsigned messages) const;
    // Every message received at least once and acknowledged to its publisher.
    bool complete(unsigned messages) const {
        return error.empty() && missing() == 0 && malformed == 0 && all_acked(messages);
    }
};

// Runs one load against the broker; blocks until done or timed out. Call
// mosquitto_lib_init() once before.
FanInResult run_fan_in(const FanInOptions& options);

}  // namespace petrel::bench
