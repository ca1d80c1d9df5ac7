// Client role: the session across network connections. With the session present, what was
// in flight goes again, PUBLISH with DUP=1 and PUBREL, in order [MQTT-4.4.0-1]; without it,
// the flights start again as new messages.
#include "client_test_support.hpp"

namespace petrel::connection::testing {
namespace {

using protocol::PacketType;

ClientOptions persistent(ProtocolVersion version = ProtocolVersion::V5) {
    ClientOptions with = options(version);
    with.clean_start = false;
    with.session_expiry = 3600;
    return with;
}

const protocol::Connack kSessionPresent{true, ReasonCode::Success, {}};

// Three flights: QoS 1 (id a), QoS 2 before PUBREC (id b), QoS 2 after PUBREC (id c).
struct ThreeFlights {
    protocol::PacketId a = 0, b = 0, c = 0;
};
ThreeFlights three_flights(ClientDriver& client) {
    ThreeFlights ids;
    ids.a = client.publish(delivery("t", "a", 1, 1)).sent_of<protocol::Publish>().at(0).packet_id;
    ids.b = client.publish(delivery("t", "b", 2, 2)).sent_of<protocol::Publish>().at(0).packet_id;
    ids.c = client.publish(delivery("t", "c", 2, 3)).sent_of<protocol::Publish>().at(0).packet_id;
    client.feed(protocol::Pubrec{ids.c, ReasonCode::Success, {}});
    return ids;
}

TEST(ClientResume, SessionPresentResendsInOrderWithDupAndPubrel) {
    for (const auto version : {ProtocolVersion::V311, ProtocolVersion::V5}) {
        ClientDriver client(version);
        client.connect(persistent(version));
        const ThreeFlights ids = three_flights(client);
        client.publish(delivery("t", "later", 1, 4));  // in flight too (window 65535)
        client.endpoint.connection_lost();
        client.now += 5s;

        client.start(persistent(version));
        const Drained resumed = client.feed(kSessionPresent);
        EXPECT_TRUE(resumed.one<Connected>().session_present);
        ASSERT_EQ(resumed.sent_types(),
                  (std::vector<PacketType>{PacketType::Publish, PacketType::Publish,
                                           PacketType::Pubrel, PacketType::Publish}));
        const auto& first = std::get<protocol::Publish>(resumed.sent[0]);
        EXPECT_EQ(first.packet_id, ids.a);
        EXPECT_TRUE(first.dup);
        EXPECT_EQ(*first.payload, "a");
        const auto& second = std::get<protocol::Publish>(resumed.sent[1]);
        EXPECT_EQ(second.packet_id, ids.b);
        EXPECT_TRUE(second.dup);
        EXPECT_EQ(second.qos, 2);
        EXPECT_EQ(std::get<protocol::Pubrel>(resumed.sent[2]).packet_id, ids.c);
        EXPECT_TRUE(std::get<protocol::Publish>(resumed.sent[3]).dup);

        // And the flows finish as usual.
        EXPECT_EQ(client.feed(protocol::Pubcomp{ids.c, ReasonCode::Success, {}})
                      .one<PublishCompleted>()
                      .seq,
                  3u);
        EXPECT_EQ(client.feed(protocol::Puback{ids.a, ReasonCode::Success, {}})
                      .one<PublishCompleted>()
                      .seq,
                  1u);
    }
}

TEST(ClientResume, ResendsWithinTheNewReceiveMaximum) {
    ClientDriver client;
    client.connect(persistent());
    std::vector<protocol::PacketId> ids;
    for (int i = 1; i <= 3; ++i) {
        ids.push_back(client.publish(delivery("t", std::to_string(i), 1, i))
                          .sent_of<protocol::Publish>()
                          .at(0)
                          .packet_id);
    }
    client.endpoint.connection_lost();
    client.start(persistent());
    protocol::Connack connack = kSessionPresent;
    connack.properties.add_number(protocol::PropertyId::ReceiveMaximum, 2);
    const Drained resumed = client.feed(connack);
    ASSERT_EQ(resumed.sent_of<protocol::Publish>().size(), 2u);  // [MQTT-3.3.4-9]
    const Drained next = client.feed(protocol::Puback{ids[0], ReasonCode::Success, {}});
    ASSERT_EQ(next.sent_of<protocol::Publish>().size(), 1u);
    EXPECT_EQ(next.sent_of<protocol::Publish>()[0].packet_id, ids[2]);
    EXPECT_TRUE(next.sent_of<protocol::Publish>()[0].dup);
}

// Found by fuzz_client_endpoint: a server that keeps the session but now allows less QoS
// [MQTT-3.2.2-11] got the old flights again at their old QoS.
TEST(ClientResume, FlightsAboveTheNewMaximumQosGoAgainAsNewMessagesAtThatQos) {
    ClientDriver client;
    client.connect(persistent());
    const ThreeFlights ids = three_flights(client);
    client.endpoint.connection_lost();

    client.start(persistent());
    protocol::Connack connack = kSessionPresent;
    connack.properties.add_number(protocol::PropertyId::MaximumQos, 1);
    const Drained resumed = client.feed(connack);
    // The PUBREC'd one only needs its PUBREL; the QoS 1 one goes again as it was; the QoS 2
    // one before PUBREC goes as a new QoS 1 message, after them.
    ASSERT_EQ(
        resumed.sent_types(),
        (std::vector<PacketType>{PacketType::Publish, PacketType::Pubrel, PacketType::Publish}));
    const auto& first = std::get<protocol::Publish>(resumed.sent[0]);
    EXPECT_EQ(first.packet_id, ids.a);
    EXPECT_TRUE(first.dup);
    EXPECT_EQ(std::get<protocol::Pubrel>(resumed.sent[1]).packet_id, ids.c);
    const auto& again = std::get<protocol::Publish>(resumed.sent[2]);
    EXPECT_EQ(*again.payload, "b");
    EXPECT_EQ(again.qos, 1);
    EXPECT_FALSE(again.dup);
    EXPECT_EQ(client.feed(protocol::Puback{again.packet_id, ReasonCode::Success, {}})
                  .one<PublishCompleted>()
                  .seq,
              2u);
}

TEST(ClientResume, SessionLostRestartsTheFlightsAsNewMessages) {
    ClientDriver client;
    client.connect(persistent());
    const ThreeFlights ids = three_flights(client);
    client.endpoint.connection_lost();
    client.publish(delivery("t", "queued", 1, 4));  // waits for the connection

    client.start(persistent());
    const Drained restarted = client.feed(protocol::Connack{});  // the server lost it
    // The PUBREC'd one is the server's now: complete, not sent again.
    const PublishCompleted done = restarted.one<PublishCompleted>();
    EXPECT_EQ(done.packet_id, ids.c);
    EXPECT_EQ(done.seq, 3u);
    const auto publishes = restarted.sent_of<protocol::Publish>();
    ASSERT_EQ(publishes.size(), 3u);
    EXPECT_EQ(restarted.sent_of<protocol::Pubrel>().size(), 0u);
    EXPECT_EQ(*publishes[0].payload, "a");
    EXPECT_EQ(*publishes[1].payload, "b");
    EXPECT_EQ(*publishes[2].payload, "queued");
    for (const auto& publish : publishes) {
        EXPECT_FALSE(publish.dup);  // new messages to this server
    }
    EXPECT_EQ(publishes[1].qos, 2);
    // They complete under their new ids.
    EXPECT_EQ(client.feed(protocol::Puback{publishes[0].packet_id, ReasonCode::Success, {}})
                  .one<PublishCompleted>()
                  .seq,
              1u);
}

TEST(ClientResume, ASessionKeptFromBeforeIsResumedOnTheFirstConnection) {
    // The embedder asked to keep a session (Clean Start 0) the server still holds, from
    // before a restart of its own: nothing to resend, and nothing to subscribe again.
    ClientDriver client;
    client.endpoint.subscribe({protocol::Subscription{"a", {}}}, client.now);
    client.start(persistent());
    const Drained resumed = client.feed(kSessionPresent);
    EXPECT_TRUE(resumed.one<Connected>().session_present);
    // The SUBSCRIBE asked for before the CONNACK still goes, once.
    EXPECT_EQ(resumed.sent_types(), std::vector<PacketType>{PacketType::Subscribe});
}

TEST(ClientResume, CleanStartRestartsToo) {
    ClientDriver client;
    client.connect();
    client.publish(delivery("t", "a", 1, 1));
    client.endpoint.connection_lost();
    const Drained again = client.connect();
    ASSERT_EQ(again.sent_of<protocol::Publish>().size(), 1u);
    EXPECT_FALSE(again.sent_of<protocol::Publish>()[0].dup);
}

TEST(ClientResume, InboundQos2IsNotDeliveredTwiceAcrossAReconnect) {
    ClientDriver client;
    client.connect(persistent());
    protocol::Publish publish;
    publish.qos = 2;
    publish.packet_id = 7;
    publish.topic = "in";
    const std::uint64_t receipt = client.feed(publish).one<MessageReceived>().receipt;
    client.endpoint.connection_lost();
    // The embedder stores it while the connection is down.
    client.endpoint.acknowledge(receipt, client.now);
    EXPECT_TRUE(client.drain().sent.empty());

    client.start(persistent());
    client.feed(kSessionPresent);
    publish.dup = true;
    const Drained again = client.feed(publish);
    EXPECT_TRUE(again.all<MessageReceived>().empty());
    EXPECT_EQ(again.sent_types(), std::vector<PacketType>{PacketType::Pubrec});
    EXPECT_EQ(client.feed(protocol::Pubrel{7, ReasonCode::Success, {}})
                  .sent_of<protocol::Pubcomp>()
                  .at(0)
                  .reason,
              ReasonCode::Success);
}

TEST(ClientResume, InboundQos2AcknowledgedAfterTheReconnectGetsItsPubrecThen) {
    ClientDriver client;
    client.connect(persistent());
    protocol::Publish publish;
    publish.qos = 2;
    publish.packet_id = 8;
    publish.topic = "in";
    const std::uint64_t receipt = client.feed(publish).one<MessageReceived>().receipt;
    client.endpoint.connection_lost();
    client.start(persistent());
    client.feed(kSessionPresent);
    publish.dup = true;
    const Drained again = client.feed(publish);
    EXPECT_TRUE(again.all<MessageReceived>().empty());
    EXPECT_TRUE(again.sent.empty());  // not stored yet: no PUBREC
    client.endpoint.acknowledge(receipt, client.now);
    EXPECT_EQ(client.drain().sent_types(), std::vector<PacketType>{PacketType::Pubrec});
}

TEST(ClientResume, InboundQos1UnacknowledgedComesAgainAndIsDeliveredAgain) {
    ClientDriver client;
    client.connect(persistent());
    protocol::Publish publish;
    publish.qos = 1;
    publish.packet_id = 9;
    publish.topic = "in";
    const std::uint64_t old = client.feed(publish).one<MessageReceived>().receipt;
    client.endpoint.connection_lost();
    client.start(persistent());
    client.feed(kSessionPresent);
    publish.dup = true;
    const std::uint64_t fresh = client.feed(publish).one<MessageReceived>().receipt;
    // The old receipt belongs to a connection that is gone: it acknowledges nothing here.
    client.endpoint.acknowledge(old, client.now);
    EXPECT_TRUE(client.drain().sent.empty());
    client.endpoint.acknowledge(fresh, client.now);
    EXPECT_EQ(client.drain().sent_types(), std::vector<PacketType>{PacketType::Puback});
}

TEST(ClientResume, SessionLostForgetsInboundQos2Ids) {
    ClientDriver client;
    client.connect(persistent());
    protocol::Publish publish;
    publish.qos = 2;
    publish.packet_id = 5;
    publish.topic = "in";
    client.endpoint.acknowledge(client.feed(publish).one<MessageReceived>().receipt, client.now);
    client.endpoint.connection_lost();
    client.start(persistent());
    client.feed(protocol::Connack{});
    EXPECT_EQ(client.endpoint.inbound_qos2().size(), 0u);
    client.feed(publish).one<MessageReceived>();  // a new message with a reused id
}

}  // namespace
}  // namespace petrel::connection::testing
