// Client role: PINGREQ when nothing was sent for the keep alive, and a PINGRESP expected.
#include "client_test_support.hpp"

namespace petrel::connection::testing {
namespace {

using protocol::PacketType;

TEST(ClientKeepAlive, PingreqAfterKeepAliveOfSilence) {
    ClientDriver client;
    client.connect();  // keep alive 30 s
    client.now += 29s;
    EXPECT_TRUE(client.tick().sent.empty());
    client.now += 1s;
    EXPECT_EQ(client.tick().sent_types(), std::vector<PacketType>{PacketType::Pingreq});
    // One at a time.
    client.now += 5s;
    EXPECT_TRUE(client.tick().sent.empty());
}

TEST(ClientKeepAlive, SendingPutsThePingOff) {
    ClientDriver client;
    client.connect();
    client.now += 20s;
    client.publish(delivery("t", "x", 0));
    client.now += 20s;
    EXPECT_TRUE(client.tick().sent.empty());
    client.now += 10s;
    EXPECT_EQ(client.tick().sent_types(), std::vector<PacketType>{PacketType::Pingreq});
}

TEST(ClientKeepAlive, PingrespKeepsTheConnection) {
    ClientDriver client;
    client.connect();
    client.now += 30s;
    client.tick();
    client.now += 2s;
    client.feed(protocol::Pingresp{});
    client.now += 28s;
    const Drained later = client.tick();
    EXPECT_TRUE(later.all<Closed>().empty());
    EXPECT_EQ(later.sent_types(), std::vector<PacketType>{PacketType::Pingreq});
}

TEST(ClientKeepAlive, NoPingrespWithinTheKeepAliveCloses) {
    for (const auto version : {ProtocolVersion::V311, ProtocolVersion::V5}) {
        ClientDriver client(version);
        client.connect();
        client.now += 30s;
        client.tick();
        client.now += 29s;
        EXPECT_TRUE(client.tick().events.empty());
        client.now += 1s;
        const Drained closed = client.tick();
        const Closed event = closed.one<Closed>();
        EXPECT_EQ(event.cause, Closed::Cause::KeepAliveTimeout);
        // A client has no DISCONNECT reason for this: it just closes (3.1.2.10).
        EXPECT_TRUE(closed.sent.empty());
        EXPECT_FALSE(client.endpoint.connected());
    }
}

TEST(ClientKeepAlive, ServerKeepAliveReplacesOurs) {
    ClientDriver client;
    client.connect(connack_with(property(protocol::PropertyId::ServerKeepAlive, 10)));
    client.now += 10s;
    EXPECT_EQ(client.tick().sent_types(), std::vector<PacketType>{PacketType::Pingreq});
}

TEST(ClientKeepAlive, ZeroMeansNoPings) {
    ClientDriver client;
    ClientOptions with = options();
    with.keep_alive = 0;
    client.connect(with);
    client.now += 3600s;
    EXPECT_TRUE(client.tick().sent.empty());
}

}  // namespace
}  // namespace petrel::connection::testing
