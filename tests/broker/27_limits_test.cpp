// The limits on new connections, through the real broker: max_connections (global and per
// listener), max_connection_rate per source address, and the memory guard. A refused
// socket is closed right after accept, without a CONNACK; the refusal is logged, at most
// once per reason every 10 s. Meanwhile the clients already connected keep getting their
// messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/well_behaved_pair.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;

constexpr unsigned kThreads = 2;

// Sends CONNECT on a new connection: the client once the CONNACK accepts it, or null when
// the broker closed the socket without a reply (refused right after accept).
std::unique_ptr<RawClient> try_connect(std::uint16_t port, const std::string& id,
                                       ProtocolVersion version = ProtocolVersion::V311) {
    auto client = std::make_unique<RawClient>(port, version);
    client->send(client->connect_packet(id));  // fails when the socket is already closed
    const auto packet = client->receive(3s);
    if (!packet) {
        EXPECT_TRUE(client->closed()) << "neither a CONNACK nor a close within 3 s";
        return nullptr;
    }
    const auto* connack = std::get_if<protocol::Connack>(&*packet);
    if (connack == nullptr || connack->reason != ReasonCode::Success) {
        ADD_FAILURE() << "unexpected " << describe(*packet);
        return nullptr;
    }
    return client;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1)) {
        ++count;
    }
    return count;
}

BrokerOptions without_default_listener(std::string config) {
    BrokerOptions options;
    options.default_listener = false;
    options.extra_config = std::move(config);
    return options;
}

TEST(ConnectionLimitTest, MaxConnectionsRefusesBeyondTheLimitAndCountsClosedOnesOut) {
    ignore_sigpipe();
    // Before the listener line: the global limit.
    BrokerProcess broker(
        without_default_listener("threads 2\nmax_connections 3\nlistener 0 127.0.0.1\n"));
    WellBehavedPair pair(broker, "maxconn", kThreads);  // two of the three

    // Clients homed on both workers come and go: those that moved to another worker after
    // CONNECT must give their place back as well as those that stayed.
    for (int i = 0; i < 8; ++i) {
        const std::string id = client_id_on_worker("maxconn-cycle-" + std::to_string(i),
                                                   static_cast<unsigned>(i) % kThreads, kThreads);
        std::unique_ptr<RawClient> third;
        ASSERT_TRUE(eventually([&] { return (third = try_connect(broker.port(), id)) != nullptr; }))
            << "place " << i << " not given back";
        // The fourth is one too many.
        EXPECT_FALSE(try_connect(broker.port(), "maxconn-fourth")) << "a fourth connection";
        if (i % 2 == 0) {
            third->disconnect();
        } else {
            third->close();  // gone without DISCONNECT
        }
    }
    EXPECT_TRUE(broker.wait_for_log("refused: max_connections 3 reached"));
    EXPECT_NE(broker.log().find("connection from 127.0.0.1:"), std::string::npos);
    pair.exchange(5);

    // A flood of refusals costs the log one line per 10 s, not one per connection.
    std::unique_ptr<RawClient> third;
    ASSERT_TRUE(
        eventually([&] { return (third = try_connect(broker.port(), "maxconn-3")) != nullptr; }));
    for (int i = 0; i < 40; ++i) {
        RawClient refused(broker.port(), ProtocolVersion::V311);
        EXPECT_TRUE(refused.wait_closed(3s)) << i;
    }
    EXPECT_LE(count_of(broker.log(), "refused: max_connections"), 2u) << broker.log();
    pair.exchange(5);
}

TEST(ConnectionLimitTest, MaxConnectionsAfterAListenerLineLimitsThatListenerOnly) {
    ignore_sigpipe();
    BrokerProcess broker(without_default_listener(
        "threads 2\nlistener 0 127.0.0.1\nmax_connections 2\nlistener 0 127.0.0.1\n"));
    ASSERT_EQ(broker.ports().size(), 2u);
    const std::uint16_t limited = broker.ports()[0];
    const std::uint16_t open = broker.ports()[1];
    WellBehavedPair pair(broker, "perlistener", kThreads, open);

    auto first = try_connect(limited, "limited-1");
    auto second = try_connect(limited, "limited-2");
    ASSERT_TRUE(first && second);
    EXPECT_FALSE(try_connect(limited, "limited-3")) << "a third connection on the listener";
    EXPECT_TRUE(broker.wait_for_log("refused: max_connections 2 of listener 127.0.0.1:" +
                                    std::to_string(limited) + " reached"));
    // The other listener has no limit of its own, and no global one applies.
    std::vector<std::unique_ptr<RawClient>> others;
    for (int i = 0; i < 4; ++i) {
        others.push_back(try_connect(open, "open-" + std::to_string(i)));
        ASSERT_TRUE(others.back()) << i;
    }
    pair.exchange(5);
    first->disconnect();
    std::unique_ptr<RawClient> again;
    EXPECT_TRUE(eventually([&] { return (again = try_connect(limited, "limited-4")) != nullptr; }));
    pair.exchange(5);
}

TEST(ConnectionLimitTest, MaxConnectionRateRefusesABurstFromOneAddress) {
    ignore_sigpipe();
    BrokerProcess broker("threads 2\nmax_connection_rate 5\n");
    // The pair's two connections come out of the same bucket (loopback is not exempt).
    WellBehavedPair pair(broker, "rate", kThreads);
    std::vector<std::unique_ptr<RawClient>> burst;
    for (int i = 0; i < 20; ++i) {
        burst.push_back(std::make_unique<RawClient>(broker.port(), ProtocolVersion::V311));
    }
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < 20; ++i) {
        RawClient& client = *burst[i];
        client.send(client.connect_packet("rate-" + std::to_string(i)));
        const auto packet = client.receive(3s);
        if (packet && std::holds_alternative<protocol::Connack>(*packet)) {
            ++accepted;
        } else {
            EXPECT_TRUE(client.closed()) << i;
            ++refused;
        }
    }
    // Five a second with a burst of five, two of them taken by the pair.
    EXPECT_GE(accepted, 1);
    EXPECT_LE(accepted, 8);
    EXPECT_GE(refused, 12);
    EXPECT_TRUE(broker.wait_for_log(
        "more than max_connection_rate 5 new connections per second from 127.0.0.1"));
    EXPECT_LE(count_of(broker.log(), "refused: more than max_connection_rate"), 2u);
    pair.exchange(5);  // connections already open are not affected
    // The bucket refills: a connection a moment later is accepted.
    std::unique_ptr<RawClient> later;
    EXPECT_TRUE(
        eventually([&] { return (later = try_connect(broker.port(), "rate-later")) != nullptr; }));
    pair.exchange(5);
}

// Anonymous resident bytes of `pid` (resident minus file-backed), as the guard measures.
std::size_t anonymous_resident(pid_t pid) {
    std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
    std::size_t size = 0;
    std::size_t resident = 0;
    std::size_t shared = 0;
    statm >> size >> resident >> shared;
    return (resident - shared) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(MemoryGuardTest, AboveMemoryLimitNewConnectionsAreRefusedExistingOnesServed) {
    ignore_sigpipe();
    constexpr std::size_t kMiB = std::size_t{1} << 20;
    const std::string config = "threads 2\npersistence false\n";
    // What this broker weighs with a pair connected (an ASan build weighs more).
    std::size_t base = 0;
    {
        BrokerProcess probe(config + "memory_limit 0\n");
        WellBehavedPair pair(probe, "probe", kThreads);
        pair.exchange(2);
        base = anonymous_resident(probe.pid());
        EXPECT_TRUE(probe.wait_for_log("memory guard off (memory_limit 0)"));
    }
    ASSERT_GT(base, 0u);
    const std::size_t limit = base + 32 * kMiB;
    BrokerProcess broker(config + "memory_limit " + std::to_string(limit) + "\n");
    EXPECT_TRUE(
        broker.wait_for_log("memory guard: memory_limit " + std::to_string(limit / kMiB) + " MiB"));
    WellBehavedPair pair(broker, "memory", kThreads);
    pair.exchange(2);

    // 80 MiB of retained messages, held in memory.
    RawClient filler(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(filler.connect(client_id_on_worker("filler", 0, kThreads)));
    const std::string chunk(kMiB, 'm');
    for (int i = 0; i < 80; ++i) {
        ASSERT_TRUE(filler.publish("fill/" + std::to_string(i), chunk, 0, true));
    }
    ASSERT_TRUE(filler.publish("fill/done", "x", 1, true));  // all of them are in
    EXPECT_TRUE(broker.wait_for_log("memory guard: resident ", 5s));
    EXPECT_NE(broker.log().find(" MiB above memory_limit " + std::to_string(limit / kMiB) +
                                " MiB, refusing new connections"),
              std::string::npos)
        << broker.log();

    EXPECT_FALSE(try_connect(broker.port(), "memory-newcomer")) << "accepted above the limit";
    EXPECT_TRUE(broker.wait_for_log("refused: memory guard (resident memory above memory_limit"));
    // The clients already connected are served: messages, and retained ones on subscribe.
    pair.exchange(5);
    ASSERT_TRUE(pair.subscriber().subscribe("fill/done", 1));
    auto retained = pair.subscriber().receive_publish();
    ASSERT_TRUE(retained);
    EXPECT_EQ(payload_of(*retained), "x");
    // Whether the resident size falls again once the retained messages are cleared is up
    // to the allocator, so resuming is checked by the unit tests (MemoryGuard.*).
}

}  // namespace
}  // namespace petrel::test
