// Server role: the client's acknowledgements of the session's deliveries (PUBACK, PUBREC,
// PUBCOMP against its OutboundFlow), and PUBREL against its incoming QoS 2 state.
#include "server_test_support.hpp"

namespace petrel::connection::server_testing {
namespace {

// A connected v5 client (or `version`), its session's window `max_inflight` wide.
struct Delivering {
    ServerDriver server;

    explicit Delivering(std::size_t max_inflight = 20,
                        ProtocolVersion version = ProtocolVersion::V5)
        : server({}, version, session::OutboundLimits{.max_inflight = max_inflight}) {
        server.connect(connect_packet(version));
    }
    // Offers a delivery to the online session: the packet id it flies with (0: queued).
    protocol::PacketId deliver(protocol::Qos qos, std::string payload = "m") {
        const std::vector<session::OutboundPacket> packets =
            server.session.outbound().offer(delivery("t/1", std::move(payload), qos), true);
        return packets.empty() ? 0 : packets.front().packet_id;
    }
};

void expect_wrong_kind(const Drained& drained) {  // [MQTT-4.13.1-1]
    EXPECT_TRUE(drained.all<DeliveryAcknowledged>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::ProtocolError);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ProtocolViolation);
    EXPECT_EQ(ended.reason, ReasonCode::ProtocolError);
}

TEST(ServerAcks, PubackCompletesAQos1Delivery) {  // [MQTT-4.3.2-1]
    Delivering d;
    const protocol::PacketId id = d.deliver(1);
    ASSERT_NE(id, 0);
    const Drained drained = d.server.feed(protocol::Puback{id, ReasonCode::Success, {}});
    EXPECT_TRUE(drained.sent.empty());
    const DeliveryAcknowledged acked = drained.one<DeliveryAcknowledged>();
    EXPECT_EQ(acked.packet_id, id);
    EXPECT_TRUE(acked.completed);
    EXPECT_TRUE(acked.next.empty());
    EXPECT_EQ(d.server.session.outbound().inflight_count(), 0u);
}

TEST(ServerAcks, PubackWithAFailureReasonCompletesItToo) {  // 3.4.2.1
    Delivering d;
    const protocol::PacketId id = d.deliver(1);
    const DeliveryAcknowledged acked =
        d.server.feed(protocol::Puback{id, ReasonCode::NotAuthorized, {}})
            .one<DeliveryAcknowledged>();
    EXPECT_TRUE(acked.completed);
    EXPECT_EQ(d.server.session.outbound().inflight_count(), 0u);
}

TEST(ServerAcks, AcknowledgementHandsOverWhatTheWindowNowSends) {
    Delivering d(1);
    const protocol::PacketId first = d.deliver(1, "one");
    ASSERT_EQ(d.deliver(1, "two"), 0) << "the window of 1 is full: queued";
    const DeliveryAcknowledged acked =
        d.server.feed(protocol::Puback{first, ReasonCode::Success, {}}).one<DeliveryAcknowledged>();
    ASSERT_EQ(acked.next.size(), 1u);
    EXPECT_EQ(acked.next[0].kind, session::OutboundPacket::Kind::Publish);
    EXPECT_EQ(*acked.next[0].delivery.message->payload, "two");
    EXPECT_NE(acked.next[0].packet_id, 0);
}

TEST(ServerAcks, Qos2GoesPubrecThenPubcomp) {  // [MQTT-4.3.3-4]
    Delivering d;
    const protocol::PacketId id = d.deliver(2);
    const Drained received = d.server.feed(protocol::Pubrec{id, ReasonCode::Success, {}});
    const DeliveryAcknowledged moved = received.one<DeliveryAcknowledged>();
    EXPECT_EQ(moved.packet_id, id);
    EXPECT_FALSE(moved.completed);
    ASSERT_FALSE(moved.next.empty());
    EXPECT_EQ(moved.next[0].kind, session::OutboundPacket::Kind::Pubrel);
    EXPECT_EQ(moved.next[0].packet_id, id);
    // The embedder writes the PUBREL; the endpoint sends none of its own.
    EXPECT_TRUE(received.sent.empty());

    const DeliveryAcknowledged done =
        d.server.feed(protocol::Pubcomp{id, ReasonCode::Success, {}}).one<DeliveryAcknowledged>();
    EXPECT_TRUE(done.completed);
    EXPECT_EQ(d.server.session.outbound().inflight_count(), 0u);
}

TEST(ServerAcks, RepeatedPubrecGetsThePubrelAgain) {
    Delivering d;
    const protocol::PacketId id = d.deliver(2);
    d.server.feed(protocol::Pubrec{id, ReasonCode::Success, {}});
    const DeliveryAcknowledged again =
        d.server.feed(protocol::Pubrec{id, ReasonCode::Success, {}}).one<DeliveryAcknowledged>();
    ASSERT_FALSE(again.next.empty());
    EXPECT_EQ(again.next[0].kind, session::OutboundPacket::Kind::Pubrel);
}

TEST(ServerAcks, FailedPubrecEndsTheQos2Delivery) {  // 4.3.3: no PUBREL follows
    Delivering d;
    const protocol::PacketId id = d.deliver(2);
    const Drained drained = d.server.feed(protocol::Pubrec{id, ReasonCode::QuotaExceeded, {}});
    EXPECT_TRUE(drained.sent.empty());
    const DeliveryAcknowledged acked = drained.one<DeliveryAcknowledged>();
    EXPECT_TRUE(acked.completed);
    for (const session::OutboundPacket& packet : acked.next) {
        EXPECT_NE(packet.kind, session::OutboundPacket::Kind::Pubrel);
    }
    EXPECT_EQ(d.server.session.outbound().inflight_count(), 0u);
}

TEST(ServerAcks, PubackForAQos2DeliveryIsAProtocolError) {  // 4.3.3
    Delivering d;
    const protocol::PacketId id = d.deliver(2);
    expect_wrong_kind(d.server.feed(protocol::Puback{id, ReasonCode::Success, {}}));
    // The delivery stays in the session, to be sent again [MQTT-4.4.0-1].
    EXPECT_EQ(d.server.session.outbound().inflight_count(), 1u);
}

TEST(ServerAcks, PubrecForAQos1DeliveryIsAProtocolError) {
    Delivering d;
    const protocol::PacketId id = d.deliver(1);
    expect_wrong_kind(d.server.feed(protocol::Pubrec{id, ReasonCode::Success, {}}));
    EXPECT_EQ(d.server.session.outbound().inflight_count(), 1u);
}

TEST(ServerAcks, FailedPubrecForAQos1DeliveryIsAProtocolError) {
    Delivering d;
    const protocol::PacketId id = d.deliver(1);
    expect_wrong_kind(d.server.feed(protocol::Pubrec{id, ReasonCode::UnspecifiedError, {}}));
}

TEST(ServerAcks, PubcompBeforePubrecIsAProtocolError) {
    Delivering d;
    const protocol::PacketId id = d.deliver(2);
    expect_wrong_kind(d.server.feed(protocol::Pubcomp{id, ReasonCode::Success, {}}));
}

TEST(ServerAcks, PubcompForAQos1DeliveryIsAProtocolError) {
    Delivering d;
    const protocol::PacketId id = d.deliver(1);
    expect_wrong_kind(d.server.feed(protocol::Pubcomp{id, ReasonCode::Success, {}}));
}

TEST(ServerAcks, WrongKindIn311IsAPlainClose) {
    Delivering d(20, ProtocolVersion::V311);
    const protocol::PacketId id = d.deliver(2);
    const Drained drained = d.server.feed(protocol::Puback{id, ReasonCode::Success, {}});
    EXPECT_TRUE(drained.sent.empty());
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ProtocolViolation);
}

TEST(ServerAcks, PubackForAnUnknownIdIsIgnored) {
    Delivering d;
    const Drained drained = d.server.feed(protocol::Puback{42, ReasonCode::Success, {}});
    EXPECT_TRUE(drained.sent.empty());
    const AcknowledgementIgnored ignored = drained.one<AcknowledgementIgnored>();
    EXPECT_EQ(ignored.type, PacketType::Puback);
    EXPECT_EQ(ignored.packet_id, 42);
    EXPECT_TRUE(d.server.endpoint.connected());
}

TEST(ServerAcks, PubcompForAnUnknownIdIsIgnored) {
    Delivering d;
    const Drained drained = d.server.feed(protocol::Pubcomp{42, ReasonCode::Success, {}});
    EXPECT_TRUE(drained.sent.empty());
    EXPECT_EQ(drained.one<AcknowledgementIgnored>().type, PacketType::Pubcomp);
    EXPECT_TRUE(d.server.endpoint.connected());
}

TEST(ServerAcks, SecondPubackIsIgnored) {
    Delivering d;
    const protocol::PacketId id = d.deliver(1);
    d.server.feed(protocol::Puback{id, ReasonCode::Success, {}});
    EXPECT_EQ(d.server.feed(protocol::Puback{id, ReasonCode::Success, {}})
                  .one<AcknowledgementIgnored>()
                  .packet_id,
              id);
}

TEST(ServerAcks, UnknownPubrecIsAnsweredWithPubrel0x92) {  // 4.3.3, 3.6.2.1
    Delivering d;
    const Drained drained = d.server.feed(protocol::Pubrec{42, ReasonCode::Success, {}});
    const protocol::Pubrel pubrel = drained.sent_one<protocol::Pubrel>();
    EXPECT_EQ(pubrel.packet_id, 42);
    EXPECT_EQ(pubrel.reason, ReasonCode::PacketIdentifierNotFound);
    EXPECT_EQ(drained.one<AcknowledgementIgnored>().type, PacketType::Pubrec);
    EXPECT_TRUE(d.server.endpoint.connected());
}

TEST(ServerAcks, UnknownFailedPubrecGetsNoPubrel) {
    Delivering d;
    const Drained drained = d.server.feed(protocol::Pubrec{42, ReasonCode::QuotaExceeded, {}});
    EXPECT_TRUE(drained.sent.empty());
    EXPECT_EQ(drained.one<AcknowledgementIgnored>().packet_id, 42);
}

TEST(ServerAcks, PubrelOfAKnownIdIsReleased) {  // [MQTT-4.3.3-11]
    Delivering d;
    d.server.session.inbound_qos2().on_publish(8);
    const Drained drained = d.server.feed(protocol::Pubrel{8, ReasonCode::Success, {}});
    EXPECT_TRUE(drained.sent.empty()) << "PUBCOMP waits for the embedder";
    const ReleaseReceived released = drained.one<ReleaseReceived>();
    EXPECT_EQ(released.packet_id, 8);
    EXPECT_TRUE(released.known);
    EXPECT_EQ(d.server.session.inbound_qos2().size(), 0u);
    d.server.endpoint.complete_release(8, released.known);
    const protocol::Pubcomp pubcomp = d.server.drain().sent_one<protocol::Pubcomp>();
    EXPECT_EQ(pubcomp.packet_id, 8);
    EXPECT_EQ(pubcomp.reason, ReasonCode::Success);
}

TEST(ServerAcks, PubrelOfAnUnknownIdGetsPubcomp0x92) {  // 3.7.2.1
    Delivering d;
    const ReleaseReceived released =
        d.server.feed(protocol::Pubrel{8, ReasonCode::Success, {}}).one<ReleaseReceived>();
    EXPECT_FALSE(released.known);
    d.server.endpoint.complete_release(8, released.known);
    EXPECT_EQ(d.server.drain().sent_one<protocol::Pubcomp>().reason,
              ReasonCode::PacketIdentifierNotFound);
}

TEST(ServerAcks, PubcompIn311IsPlain) {
    Delivering d(20, ProtocolVersion::V311);
    d.server.endpoint.complete_release(8, false);
    const Drained drained = d.server.drain();
    ASSERT_EQ(drained.sent.size(), 1u);
    std::string raw;
    protocol::encode(drained.sent[0], ProtocolVersion::V311, raw);
    EXPECT_EQ(raw, std::string("\x70\x02\x00\x08", 4));  // 3.1.1 has no reason code
}

TEST(ServerAcks, AcknowledgementsInOneBufferAreReadOneAtATime) {
    // Each is an event for the embedder: receive() stops after it.
    Delivering d;
    const protocol::PacketId a = d.deliver(1);
    const protocol::PacketId b = d.deliver(1);
    const std::string first =
        encoded(protocol::Puback{a, ReasonCode::Success, {}}, ProtocolVersion::V5);
    const std::string second =
        encoded(protocol::Puback{b, ReasonCode::Success, {}}, ProtocolVersion::V5);
    EXPECT_EQ(d.server.receive(first + second), first.size());
    EXPECT_EQ(d.server.drain().one<DeliveryAcknowledged>().packet_id, a);
    EXPECT_EQ(d.server.receive(second), second.size());
    EXPECT_EQ(d.server.drain().one<DeliveryAcknowledged>().packet_id, b);
}

}  // namespace
}  // namespace petrel::connection::server_testing
