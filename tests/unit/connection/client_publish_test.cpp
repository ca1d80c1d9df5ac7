// Client role: PUBLISH at QoS 0, 1 and 2 in both directions with every acknowledgement,
// and the server's Receive Maximum, Maximum QoS, Retain Available and Maximum Packet Size.
#include "client_test_support.hpp"

namespace petrel::connection::testing {
namespace {

using protocol::PacketType;
using protocol::PropertyId;

TEST(ClientPublishOut, Qos0IsWrittenAtOnceAndNeedsNoAcknowledgement) {
    ClientDriver client;
    client.connect();
    const Drained sent = client.publish(delivery("a/b", "hello", 0));
    ASSERT_EQ(sent.sent_of<protocol::Publish>().size(), 1u);
    const protocol::Publish publish = sent.sent_of<protocol::Publish>()[0];
    EXPECT_EQ(publish.topic, "a/b");
    EXPECT_EQ(*publish.payload, "hello");
    EXPECT_EQ(publish.qos, 0);
    EXPECT_EQ(publish.packet_id, 0);
    EXPECT_TRUE(sent.events.empty());
}

TEST(ClientPublishOut, Qos1CompletesOnPuback) {
    ClientDriver client;
    client.connect();
    const Drained sent = client.publish(delivery("a/b", "x", 1, 77));
    const protocol::Publish publish = sent.sent_of<protocol::Publish>().at(0);
    EXPECT_EQ(publish.qos, 1);
    EXPECT_FALSE(publish.dup);
    EXPECT_NE(publish.packet_id, 0);
    EXPECT_TRUE(sent.events.empty());
    const Drained acked = client.feed(protocol::Puback{publish.packet_id, ReasonCode::Success, {}});
    const PublishCompleted done = acked.one<PublishCompleted>();
    EXPECT_EQ(done.packet_id, publish.packet_id);
    EXPECT_EQ(done.seq, 77u);
    EXPECT_EQ(done.reason, ReasonCode::Success);
    EXPECT_EQ(client.endpoint.outbound().inflight_count(), 0u);
}

TEST(ClientPublishOut, Qos1PubackFailureIsReported) {
    ClientDriver client;
    client.connect();
    const auto id =
        client.publish(delivery("a/b", "x", 1, 5)).sent_of<protocol::Publish>().at(0).packet_id;
    const Drained acked = client.feed(protocol::Puback{id, ReasonCode::NotAuthorized, {}});
    EXPECT_EQ(acked.one<PublishCompleted>().reason, ReasonCode::NotAuthorized);
}

TEST(ClientPublishOut, Qos2GoesPubrecPubrelPubcomp) {
    ClientDriver client;
    client.connect();
    const auto id =
        client.publish(delivery("a/b", "x", 2, 9)).sent_of<protocol::Publish>().at(0).packet_id;
    const Drained received = client.feed(protocol::Pubrec{id, ReasonCode::Success, {}});
    EXPECT_TRUE(received.events.empty());
    ASSERT_EQ(received.sent_of<protocol::Pubrel>().size(), 1u);
    EXPECT_EQ(received.sent_of<protocol::Pubrel>()[0].packet_id, id);
    // A repeated PUBREC gets the PUBREL again.
    EXPECT_EQ(client.feed(protocol::Pubrec{id, ReasonCode::Success, {}}).sent_types(),
              std::vector<PacketType>{PacketType::Pubrel});
    const Drained completed = client.feed(protocol::Pubcomp{id, ReasonCode::Success, {}});
    const PublishCompleted done = completed.one<PublishCompleted>();
    EXPECT_EQ(done.packet_id, id);
    EXPECT_EQ(done.seq, 9u);
    EXPECT_EQ(done.reason, ReasonCode::Success);
}

TEST(ClientPublishOut, Qos2FailedPubrecEndsTheFlowWithoutPubrel) {
    ClientDriver client;
    client.connect();
    const auto id =
        client.publish(delivery("a/b", "x", 2, 3)).sent_of<protocol::Publish>().at(0).packet_id;
    const Drained refused = client.feed(protocol::Pubrec{id, ReasonCode::QuotaExceeded, {}});
    EXPECT_TRUE(refused.sent.empty());
    EXPECT_EQ(refused.one<PublishCompleted>().reason, ReasonCode::QuotaExceeded);
    EXPECT_EQ(client.endpoint.outbound().inflight_count(), 0u);
}

TEST(ClientPublishOut, PubrecForUnknownIdGetsPubrelNotFound) {
    ClientDriver client;
    client.connect();
    const Drained answered = client.feed(protocol::Pubrec{99, ReasonCode::Success, {}});
    ASSERT_EQ(answered.sent_of<protocol::Pubrel>().size(), 1u);
    EXPECT_EQ(answered.sent_of<protocol::Pubrel>()[0].reason, ReasonCode::PacketIdentifierNotFound);
    // An unknown PUBACK is ignored.
    EXPECT_TRUE(client.feed(protocol::Puback{98, ReasonCode::Success, {}}).sent.empty());
}

TEST(ClientPublishOut, PublishesWaitForTheConnack) {
    ClientDriver client;
    client.start(options());
    EXPECT_TRUE(client.publish(delivery("a", "1", 1)).sent.empty());
    EXPECT_TRUE(client.publish(delivery("a", "2", 0)).sent.empty());
    EXPECT_EQ(client.endpoint.queued_count(), 2u);
    const Drained connected = client.feed(protocol::Connack{});
    const auto publishes = connected.sent_of<protocol::Publish>();
    ASSERT_EQ(publishes.size(), 2u);
    EXPECT_EQ(*publishes[0].payload, "1");
    EXPECT_EQ(*publishes[1].payload, "2");
}

TEST(ClientPublishOut, ServerReceiveMaximumBoundsTheWindow) {
    ClientDriver client;
    client.connect(connack_with(property(PropertyId::ReceiveMaximum, 2)));
    std::vector<protocol::PacketId> ids;
    for (int i = 0; i < 5; ++i) {
        for (const auto& publish : client.publish(delivery("t", std::to_string(i), 1, i + 1))
                                       .sent_of<protocol::Publish>()) {
            ids.push_back(publish.packet_id);
        }
    }
    ASSERT_EQ(ids.size(), 2u);  // no more than the server's Receive Maximum in flight
    EXPECT_EQ(client.endpoint.queued_count(), 3u);
    // Each PUBACK lets exactly one more go, in order.
    const Drained next = client.feed(protocol::Puback{ids[0], ReasonCode::Success, {}});
    ASSERT_EQ(next.sent_of<protocol::Publish>().size(), 1u);
    EXPECT_EQ(*next.sent_of<protocol::Publish>()[0].payload, "2");
    EXPECT_EQ(next.one<PublishCompleted>().seq, 1u);
    EXPECT_EQ(client.endpoint.outbound().inflight_count(), 2u);
}

TEST(ClientPublishOut, OurOwnInflightLimitAlsoBounds) {
    ClientDriver client(ProtocolVersion::V5, 1);
    client.connect();
    EXPECT_EQ(client.publish(delivery("t", "1", 1)).sent.size(), 1u);
    EXPECT_EQ(client.publish(delivery("t", "2", 2)).sent.size(), 0u);
}

TEST(ClientPublishOut, QoSAboveTheServersMaximumIsDowngraded) {
    ClientDriver client;
    client.connect(connack_with(property(PropertyId::MaximumQos, 1)));
    const Drained two = client.publish(delivery("t", "x", 2, 4));
    EXPECT_EQ(two.sent_of<protocol::Publish>().at(0).qos, 1);
    const auto id = two.sent_of<protocol::Publish>()[0].packet_id;
    EXPECT_EQ(
        client.feed(protocol::Puback{id, ReasonCode::Success, {}}).one<PublishCompleted>().seq, 4u);

    ClientDriver qos0;
    qos0.connect(connack_with(property(PropertyId::MaximumQos, 0)));
    const Drained one = qos0.publish(delivery("t", "x", 1, 6));
    EXPECT_EQ(one.sent_of<protocol::Publish>().at(0).qos, 0);
    // Nothing will acknowledge it: it is complete once written.
    const PublishCompleted done = one.one<PublishCompleted>();
    EXPECT_EQ(done.seq, 6u);
    EXPECT_EQ(done.packet_id, 0);
}

TEST(ClientPublishOut, RetainIsDroppedWhereTheServerHasNoRetainedMessages) {
    ClientDriver client;
    client.connect(connack_with(property(PropertyId::RetainAvailable, 0)));
    EXPECT_FALSE(
        client.publish(delivery("t", "x", 0, 0, true)).sent_of<protocol::Publish>().at(0).retain);
    ClientDriver retaining;
    retaining.connect();
    EXPECT_TRUE(retaining.publish(delivery("t", "x", 0, 0, true))
                    .sent_of<protocol::Publish>()
                    .at(0)
                    .retain);
}

TEST(ClientPublishOut, OverTheServersMaximumPacketSizeIsNeverSent) {
    ClientDriver client;
    client.connect(connack_with(property(PropertyId::MaximumPacketSize, 100)));
    const Drained large = client.publish(delivery("t", std::string(200, 'x'), 1, 12));
    EXPECT_TRUE(large.sent.empty());
    const PublishCompleted refused = large.one<PublishCompleted>();
    EXPECT_EQ(refused.reason, ReasonCode::PacketTooLarge);
    EXPECT_EQ(refused.seq, 12u);
    EXPECT_EQ(refused.packet_id, 0);
    EXPECT_EQ(client.endpoint.outbound().inflight_count(), 0u);
    // One that fits goes.
    EXPECT_EQ(client.publish(delivery("t", std::string(50, 'x'), 1)).sent.size(), 1u);
}

TEST(ClientPublishOut, OnlyForwardableProperties) {
    ClientDriver client;
    client.connect();
    session::Delivery d = delivery("t", "x", 0);
    auto message = std::make_shared<session::Message>(*d.message);
    message->properties.add_user_property("k", "v");
    message->properties.add_number(PropertyId::SubscriptionIdentifier, 4);
    message->properties.add_text(PropertyId::ContentType, "text/plain");
    d.message = message;
    const protocol::Publish publish = client.publish(d).sent_of<protocol::Publish>().at(0);
    EXPECT_FALSE(publish.properties.contains(PropertyId::SubscriptionIdentifier));
    EXPECT_EQ(publish.properties.text(PropertyId::ContentType), "text/plain");
    EXPECT_TRUE(publish.properties.contains(PropertyId::UserProperty));
}

TEST(ClientPublishIn, Qos0IsDeliveredAndNotAcknowledged) {
    ClientDriver client;
    client.connect();
    protocol::Publish publish;
    publish.topic = "in/a";
    publish.payload = protocol::make_payload("p");
    const Drained in = client.feed(publish);
    const MessageReceived received = in.one<MessageReceived>();
    EXPECT_EQ(received.publish.topic, "in/a");
    EXPECT_EQ(received.receipt, 0u);
    EXPECT_TRUE(in.sent.empty());
}

protocol::Publish incoming(protocol::Qos qos, protocol::PacketId id, std::string topic = "in/a") {
    protocol::Publish publish;
    publish.qos = qos;
    publish.packet_id = id;
    publish.topic = std::move(topic);
    publish.payload = protocol::make_payload("p");
    return publish;
}

TEST(ClientPublishIn, Qos1IsAcknowledgedOnlyOnceTheEmbedderSaysSo) {
    for (const auto version : {ProtocolVersion::V311, ProtocolVersion::V5}) {
        ClientDriver client(version);
        client.connect();
        const Drained in = client.feed(incoming(1, 10));
        EXPECT_TRUE(in.sent.empty());  // durability first
        const MessageReceived received = in.one<MessageReceived>();
        EXPECT_EQ(received.publish.packet_id, 10);
        EXPECT_NE(received.receipt, 0u);
        client.endpoint.acknowledge(received.receipt, client.now);
        const Drained acked = client.drain();
        ASSERT_EQ(acked.sent_of<protocol::Puback>().size(), 1u);
        EXPECT_EQ(acked.sent_of<protocol::Puback>()[0].packet_id, 10);
        // Twice is once.
        client.endpoint.acknowledge(received.receipt, client.now);
        EXPECT_TRUE(client.drain().sent.empty());
    }
}

TEST(ClientPublishIn, Qos2ExactlyOnce) {
    ClientDriver client;
    client.connect();
    const Drained in = client.feed(incoming(2, 20));
    const std::uint64_t receipt = in.one<MessageReceived>().receipt;
    EXPECT_TRUE(in.sent.empty());
    // Sent again before we acknowledged: not delivered twice, no PUBREC yet.
    protocol::Publish again = incoming(2, 20);
    again.dup = true;
    const Drained repeated = client.feed(again);
    EXPECT_TRUE(repeated.events.empty());
    EXPECT_TRUE(repeated.sent.empty());
    client.endpoint.acknowledge(receipt, client.now);
    EXPECT_EQ(client.drain().sent_types(), std::vector<PacketType>{PacketType::Pubrec});
    // Sent again after our PUBREC (it was lost): PUBREC again, still not delivered.
    const Drained after = client.feed(again);
    EXPECT_TRUE(after.events.empty());
    EXPECT_EQ(after.sent_types(), std::vector<PacketType>{PacketType::Pubrec});
    const Drained released = client.feed(protocol::Pubrel{20, ReasonCode::Success, {}});
    ASSERT_EQ(released.sent_of<protocol::Pubcomp>().size(), 1u);
    EXPECT_EQ(released.sent_of<protocol::Pubcomp>()[0].reason, ReasonCode::Success);
    EXPECT_EQ(client.endpoint.inbound_qos2().size(), 0u);
    // The id is free again: a new message with it is delivered.
    client.feed(incoming(2, 20)).one<MessageReceived>();
}

TEST(ClientPublishIn, PubrelForAnUnknownIdGetsPubcompNotFound) {
    ClientDriver client;
    client.connect();
    const Drained answered = client.feed(protocol::Pubrel{5, ReasonCode::Success, {}});
    EXPECT_EQ(answered.sent_of<protocol::Pubcomp>().at(0).reason,
              ReasonCode::PacketIdentifierNotFound);
}

TEST(ClientPublishIn, PubrelBeforeOurPubrecIsAProtocolError) {
    ClientDriver client;
    client.connect();
    client.feed(incoming(2, 21));
    const Drained early = client.feed(protocol::Pubrel{21, ReasonCode::Success, {}});
    EXPECT_EQ(early.sent_of<protocol::Disconnect>().at(0).reason, ReasonCode::ProtocolError);
    EXPECT_EQ(early.one<Closed>().cause, Closed::Cause::ProtocolViolation);
}

TEST(ClientPublishIn, RefusalIsToldOnMqtt5) {
    ClientDriver client;
    client.connect();
    const std::uint64_t one = client.feed(incoming(1, 1)).one<MessageReceived>().receipt;
    const std::uint64_t two = client.feed(incoming(2, 2)).one<MessageReceived>().receipt;
    client.endpoint.acknowledge(one, client.now, ReasonCode::QuotaExceeded);
    client.endpoint.acknowledge(two, client.now, ReasonCode::ImplementationSpecificError);
    const Drained refused = client.drain();
    EXPECT_EQ(refused.sent_of<protocol::Puback>().at(0).reason, ReasonCode::QuotaExceeded);
    EXPECT_EQ(refused.sent_of<protocol::Pubrec>().at(0).reason,
              ReasonCode::ImplementationSpecificError);
    // A refused QoS 2 id is not held: sent again, it is a new message.
    client.feed(incoming(2, 2)).one<MessageReceived>();
}

TEST(ClientPublishIn, RefusalClosesOnMqtt311) {
    ClientDriver client(ProtocolVersion::V311);
    client.connect();
    const std::uint64_t receipt = client.feed(incoming(1, 1)).one<MessageReceived>().receipt;
    client.endpoint.acknowledge(receipt, client.now, ReasonCode::QuotaExceeded);
    const Drained closed = client.drain();
    EXPECT_TRUE(closed.sent.empty());
    EXPECT_EQ(closed.one<Closed>().cause, Closed::Cause::Refused);
}

TEST(ClientPublishIn, MoreUnacknowledgedThanOurReceiveMaximumIsAnError) {
    ClientDriver client;
    ClientOptions with = options();
    with.receive_maximum = 2;
    client.connect(with);
    client.feed(incoming(1, 1)).one<MessageReceived>();
    client.feed(incoming(2, 2)).one<MessageReceived>();
    const Drained third = client.feed(incoming(1, 3));
    EXPECT_TRUE(third.all<MessageReceived>().empty());
    EXPECT_EQ(third.sent_of<protocol::Disconnect>().at(0).reason,
              ReasonCode::ReceiveMaximumExceeded);
}

TEST(ClientPublishIn, AcknowledgedOnesFreeOurReceiveMaximum) {
    ClientDriver client;
    ClientOptions with = options();
    with.receive_maximum = 1;
    client.connect(with);
    client.endpoint.acknowledge(client.feed(incoming(1, 1)).one<MessageReceived>().receipt,
                                client.now);
    client.drain();
    client.feed(incoming(1, 2)).one<MessageReceived>();
}

}  // namespace
}  // namespace petrel::connection::testing
