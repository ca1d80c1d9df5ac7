// Server role: PUBLISH from the client at QoS 0, 1 and 2, its answers (acknowledged or
// refused, v5 and 3.1.1), topic aliases, the form rules under the server's capabilities,
// Receive Maximum and the PUBLISH rate.
#include "server_test_support.hpp"

namespace petrel::connection::server_testing {
namespace {

protocol::Publish with_alias(protocol::Publish publish, std::uint32_t alias) {
    publish.properties.add_number(PropertyId::TopicAlias, alias);
    return publish;
}

// The connection ended on a protocol violation, a v5 client told `reason` by DISCONNECT.
void expect_violation(const Drained& drained, ReasonCode reason) {
    EXPECT_TRUE(drained.all<PublishReceived>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, reason);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ProtocolViolation);
    EXPECT_EQ(ended.reason, reason);
    EXPECT_TRUE(ended.publish_will);
}

TEST(ServerPublishIn, Qos0IsHandedOverWithNothingSent) {
    ServerDriver server;
    server.connect();
    protocol::Publish publish = publish_packet("a/b", 0, 0, "hello");
    publish.retain = true;
    const Drained drained = server.feed(publish);
    EXPECT_TRUE(drained.sent.empty());
    const protocol::Publish received = drained.one<PublishReceived>().publish;
    EXPECT_EQ(received.topic, "a/b");
    EXPECT_EQ(*received.payload, "hello");
    EXPECT_TRUE(received.retain);
}

TEST(ServerPublishIn, Qos1IsAnsweredWithPubackWhenTheEmbedderSaysSo) {  // [MQTT-4.3.2-2]
    ServerDriver server;
    server.connect();
    const Drained drained = server.feed(publish_packet("a/b", 1, 7));
    EXPECT_TRUE(drained.sent.empty()) << "nothing is acknowledged before the embedder has it";
    EXPECT_EQ(drained.one<PublishReceived>().publish.packet_id, 7);
    server.endpoint.acknowledge_publish(1, 7);
    const protocol::Puback puback = server.drain().sent_one<protocol::Puback>();
    EXPECT_EQ(puback.packet_id, 7);
    EXPECT_EQ(puback.reason, ReasonCode::Success);
}

TEST(ServerPublishIn, Qos2IsAnsweredWithPubrec) {  // [MQTT-4.3.3-9]
    ServerDriver server;
    server.connect();
    EXPECT_EQ(server.feed(publish_packet("a/b", 2, 9)).one<PublishReceived>().publish.qos, 2);
    server.endpoint.acknowledge_publish(2, 9);
    const protocol::Pubrec pubrec = server.drain().sent_one<protocol::Pubrec>();
    EXPECT_EQ(pubrec.packet_id, 9);
    EXPECT_EQ(pubrec.reason, ReasonCode::Success);
}

TEST(ServerPublishIn, Qos1AnsweredIn311) {
    ServerDriver server({}, ProtocolVersion::V311);
    server.connect();
    server.feed(publish_packet("a/b", 1, 3)).one<PublishReceived>();
    server.endpoint.acknowledge_publish(1, 3);
    const Drained drained = server.drain();
    ASSERT_EQ(drained.sent_types(), std::vector<PacketType>{PacketType::Puback});
    std::string raw;
    protocol::encode(drained.sent[0], ProtocolVersion::V311, raw);
    EXPECT_EQ(raw, std::string("\x40\x02\x00\x03", 4));
}

TEST(ServerPublishIn, V5RefusalIsAnAcknowledgementWithTheReason) {  // 3.4.2.1
    ServerDriver server;
    server.connect();
    server.feed(publish_packet("a/b", 1, 4));
    server.endpoint.refuse_publish(1, 4, ReasonCode::NotAuthorized, "not allowed to publish");
    Drained drained = server.drain();
    const protocol::Puback puback = drained.sent_one<protocol::Puback>();
    EXPECT_EQ(puback.packet_id, 4);
    EXPECT_EQ(puback.reason, ReasonCode::NotAuthorized);
    EXPECT_EQ(puback.properties.text(PropertyId::ReasonString),
              std::optional<std::string_view>("not allowed to publish"));
    EXPECT_TRUE(drained.events.empty());
    EXPECT_TRUE(server.endpoint.connected());

    server.feed(publish_packet("a/b", 2, 5));
    server.endpoint.refuse_publish(2, 5, ReasonCode::QuotaExceeded, "quota");
    drained = server.drain();
    EXPECT_EQ(drained.sent_one<protocol::Pubrec>().reason, ReasonCode::QuotaExceeded);
    EXPECT_TRUE(server.endpoint.connected());
}

TEST(ServerPublishIn, V5RefusalHasNoReasonStringWithoutProblemInformation) {  // [MQTT-3.1.2-29]
    ServerDriver server;
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::RequestProblemInformation, 0);
    server.connect(connect);
    server.feed(publish_packet("a/b", 1, 4));
    server.endpoint.refuse_publish(1, 4, ReasonCode::NotAuthorized, "not allowed");
    const protocol::Puback puback = server.drain().sent_one<protocol::Puback>();
    EXPECT_EQ(puback.reason, ReasonCode::NotAuthorized);
    EXPECT_FALSE(puback.properties.contains(PropertyId::ReasonString));
}

TEST(ServerPublishIn, V5RefusalWithoutWhyHasNoEmptyReasonString) {
    // disconnect() leaves an empty `why` out; refuse_publish() and refuse() send it as an
    // empty Reason String (3 bytes that say nothing).
    ServerDriver server;
    server.connect();
    server.feed(publish_packet("a/b", 1, 4));
    server.endpoint.refuse_publish(1, 4, ReasonCode::NotAuthorized, "");
    EXPECT_FALSE(
        server.drain().sent_one<protocol::Puback>().properties.contains(PropertyId::ReasonString));

    ServerDriver refused;
    refused.send_connect(connect_packet());
    refused.endpoint.refuse(ReasonCode::NotAuthorized, "");
    EXPECT_FALSE(refused.drain().sent_one<protocol::Connack>().properties.contains(
        PropertyId::ReasonString));
}

TEST(ServerPublishIn, Refusal311EndsTheConnectionUnacknowledged) {
    // 3.1.1 cannot say no: closed without PUBACK, so the client sends it again.
    ServerDriver server({}, ProtocolVersion::V311);
    server.connect();
    server.feed(publish_packet("a/b", 1, 4));
    server.endpoint.refuse_publish(1, 4, ReasonCode::NotAuthorized, "not allowed");
    const Drained drained = server.drain();
    EXPECT_TRUE(drained.sent.empty());
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ServerDisconnect);
    EXPECT_EQ(ended.reason, ReasonCode::NotAuthorized);
    EXPECT_TRUE(server.endpoint.ended());
}

TEST(ServerPublishIn, ReceiveStopsAfterEachPublishForTheEmbedder) {
    ServerDriver server;
    server.connect();
    const std::string first = encoded(publish_packet("a/1"), ProtocolVersion::V5);
    const std::string second = encoded(publish_packet("a/2"), ProtocolVersion::V5);
    const std::string both = first + second;
    EXPECT_EQ(server.receive(both), first.size());
    EXPECT_EQ(server.drain().one<PublishReceived>().publish.topic, "a/1");
    EXPECT_EQ(server.receive(both.substr(first.size())), second.size());
    EXPECT_EQ(server.drain().one<PublishReceived>().publish.topic, "a/2");
}

TEST(ServerPublishIn, ReceiveGoesOnPastPacketsThatOnlySendBytes) {
    // PINGREQ is answered by the endpoint alone: reading goes on to the PUBLISH after it.
    ServerDriver server;
    server.connect();
    const std::string bytes = encoded(protocol::Pingreq{}, ProtocolVersion::V5) +
                              encoded(publish_packet("a/1"), ProtocolVersion::V5);
    EXPECT_EQ(server.receive(bytes), bytes.size());
    const Drained drained = server.drain();
    EXPECT_EQ(drained.sent_types(), std::vector<PacketType>{PacketType::Pingresp});
    EXPECT_EQ(drained.one<PublishReceived>().publish.topic, "a/1");
}

TEST(ServerPublishIn, TopicAliasIsDefinedThenUsed) {  // 3.3.2.3.4
    ServerSettings settings;
    settings.capabilities.topic_alias_maximum = 3;
    ServerDriver server(settings);
    server.connect();
    const protocol::Publish defined =
        server.feed(with_alias(publish_packet("sensors/temp"), 2)).one<PublishReceived>().publish;
    EXPECT_EQ(defined.topic, "sensors/temp");
    EXPECT_FALSE(defined.properties.contains(PropertyId::TopicAlias));
    const protocol::Publish used =
        server.feed(with_alias(publish_packet(""), 2)).one<PublishReceived>().publish;
    EXPECT_EQ(used.topic, "sensors/temp");
    EXPECT_FALSE(used.properties.contains(PropertyId::TopicAlias));
    // Redefined.
    server.feed(with_alias(publish_packet("sensors/hum"), 2));
    EXPECT_EQ(server.feed(with_alias(publish_packet(""), 2)).one<PublishReceived>().publish.topic,
              "sensors/hum");
}

TEST(ServerPublishIn, TopicAliasZeroIsInvalid) {  // [MQTT-3.3.2-8]
    ServerSettings settings;
    settings.capabilities.topic_alias_maximum = 3;
    ServerDriver server(settings);
    server.connect();
    expect_violation(server.feed(with_alias(publish_packet("a/b"), 0)),
                     ReasonCode::TopicAliasInvalid);
}

TEST(ServerPublishIn, TopicAliasAboveTheMaximumIsInvalid) {  // [MQTT-3.3.2-9]
    ServerSettings settings;
    settings.capabilities.topic_alias_maximum = 3;
    ServerDriver server(settings);
    server.connect();
    expect_violation(server.feed(with_alias(publish_packet("a/b"), 4)),
                     ReasonCode::TopicAliasInvalid);
}

TEST(ServerPublishIn, TopicAliasWhenNoneWasAnnouncedIsInvalid) {  // [MQTT-3.3.2-9]
    ServerDriver server;
    server.connect();
    expect_violation(server.feed(with_alias(publish_packet("a/b"), 1)),
                     ReasonCode::TopicAliasInvalid);
}

TEST(ServerPublishIn, UndefinedAliasWithoutTopicIsAProtocolError) {
    ServerSettings settings;
    settings.capabilities.topic_alias_maximum = 3;
    ServerDriver server(settings);
    server.connect();
    expect_violation(server.feed(with_alias(publish_packet(""), 1)), ReasonCode::ProtocolError);
}

TEST(ServerPublishIn, SubscriptionIdentifierFromTheClientIsAProtocolError) {  // [MQTT-3.3.4-6]
    ServerDriver server;
    server.connect();
    protocol::Publish publish = publish_packet("a/b");
    publish.properties.add_number(PropertyId::SubscriptionIdentifier, 5);
    expect_violation(server.feed(publish), ReasonCode::ProtocolError);
}

TEST(ServerPublishIn, QosAboveTheMaximumQosEndsTheConnection) {  // [MQTT-3.2.2-12]
    ServerSettings settings;
    settings.capabilities.maximum_qos = 1;
    ServerDriver server(settings);
    server.connect();
    EXPECT_EQ(server.feed(publish_packet("a/b", 1, 1)).one<PublishReceived>().publish.qos, 1);
    expect_violation(server.feed(publish_packet("a/b", 2, 2)), ReasonCode::QosNotSupported);
}

TEST(ServerPublishIn, RetainWhenUnavailableEndsTheConnection) {  // [MQTT-3.2.2-14]
    ServerSettings settings;
    settings.capabilities.retain_available = false;
    ServerDriver server(settings);
    server.connect();
    protocol::Publish publish = publish_packet("a/b");
    publish.retain = true;
    expect_violation(server.feed(publish), ReasonCode::RetainNotSupported);
}

TEST(ServerPublishIn, WildcardInTheTopicNameEndsTheConnection) {  // [MQTT-3.3.2-2]
    ServerDriver server;
    server.connect();
    const Drained drained = server.feed(publish_packet("a/+"));
    EXPECT_TRUE(drained.all<PublishReceived>().empty());
    ASSERT_EQ(drained.sent_of<protocol::Disconnect>().size(), 1u);
    EXPECT_TRUE(protocol::is_failure(drained.sent_of<protocol::Disconnect>()[0].reason));
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ProtocolViolation);
}

TEST(ServerPublishIn, WildcardInTheResponseTopicEndsTheConnection) {  // [MQTT-3.3.2-14]
    ServerDriver server;
    server.connect();
    protocol::Publish publish = publish_packet("a/b");
    publish.properties.add_text(PropertyId::ResponseTopic, "reply/#");
    const Drained drained = server.feed(publish);
    EXPECT_TRUE(drained.all<PublishReceived>().empty());
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ProtocolViolation);
}

TEST(ServerPublishIn, ViolationIn311IsAPlainClose) {  // [MQTT-4.8.0-1] 3.1.1 has no DISCONNECT
    ServerSettings settings;
    settings.capabilities.maximum_qos = 0;
    ServerDriver server(settings, ProtocolVersion::V311);
    server.connect();
    const Drained drained = server.feed(publish_packet("a/b", 1, 1));
    EXPECT_TRUE(drained.sent.empty());
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ProtocolViolation);
}

TEST(ServerPublishIn, ReceiveMaximumExceededByQos1) {  // [MQTT-3.3.4-7] 0x93
    ServerSettings settings;
    settings.capabilities.receive_maximum = 2;
    ServerDriver server(settings);
    server.connect();
    server.feed(publish_packet("a/b", 1, 1)).one<PublishReceived>();
    server.feed(publish_packet("a/b", 1, 2)).one<PublishReceived>();
    // QoS 0 takes no place in the window.
    server.feed(publish_packet("a/b", 0, 0)).one<PublishReceived>();
    expect_violation(server.feed(publish_packet("a/b", 1, 3)), ReasonCode::ReceiveMaximumExceeded);
}

TEST(ServerPublishIn, AnsweredQos1FreesItsPlace) {
    ServerSettings settings;
    settings.capabilities.receive_maximum = 1;
    ServerDriver server(settings);
    server.connect();
    server.feed(publish_packet("a/b", 1, 1)).one<PublishReceived>();
    server.endpoint.acknowledge_publish(1, 1);
    server.drain();
    server.feed(publish_packet("a/b", 1, 2)).one<PublishReceived>();
    // A refusal answers it too.
    server.endpoint.refuse_publish(1, 2, ReasonCode::NotAuthorized, "no");
    server.drain();
    EXPECT_EQ(server.feed(publish_packet("a/b", 1, 3)).one<PublishReceived>().publish.packet_id, 3);
}

TEST(ServerPublishIn, ReceiveMaximumCountsQos2UntilReleased) {
    ServerSettings settings;
    settings.capabilities.receive_maximum = 1;
    ServerDriver server(settings);
    server.connect();
    server.feed(publish_packet("a/b", 2, 1)).one<PublishReceived>();
    server.session.inbound_qos2().on_publish(1);  // the embedder took it
    server.endpoint.acknowledge_publish(2, 1);
    server.drain();
    // PUBREC does not free the place: PUBREL does.
    expect_violation(server.feed(publish_packet("a/b", 2, 2)), ReasonCode::ReceiveMaximumExceeded);
}

TEST(ServerPublishIn, ReleasedQos2FreesItsPlace) {
    ServerSettings settings;
    settings.capabilities.receive_maximum = 1;
    ServerDriver server(settings);
    server.connect();
    server.feed(publish_packet("a/b", 2, 1));
    server.session.inbound_qos2().on_publish(1);
    server.endpoint.acknowledge_publish(2, 1);
    server.drain();
    EXPECT_TRUE(
        server.feed(protocol::Pubrel{1, ReasonCode::Success, {}}).one<ReleaseReceived>().known);
    EXPECT_EQ(server.feed(publish_packet("a/b", 2, 2)).one<PublishReceived>().publish.packet_id, 2);
}

TEST(ServerPublishIn, ResentQos2TakesNoNewPlace) {  // [MQTT-4.3.3-10]
    ServerSettings settings;
    settings.capabilities.receive_maximum = 1;
    ServerDriver server(settings);
    server.connect();
    server.feed(publish_packet("a/b", 2, 1));
    server.session.inbound_qos2().on_publish(1);
    server.endpoint.acknowledge_publish(2, 1);
    server.drain();
    protocol::Publish resent = publish_packet("a/b", 2, 1);
    resent.dup = true;
    const Drained drained = server.feed(resent);
    EXPECT_TRUE(drained.one<PublishReceived>().publish.dup);
    EXPECT_TRUE(server.endpoint.connected());
}

TEST(ServerPublishIn, NoReceiveMaximumIn311) {
    ServerSettings settings;
    settings.capabilities.receive_maximum = 1;
    ServerDriver server(settings, ProtocolVersion::V311);
    server.connect();
    server.feed(publish_packet("a/b", 1, 1)).one<PublishReceived>();
    server.feed(publish_packet("a/b", 1, 2)).one<PublishReceived>();
    EXPECT_TRUE(server.endpoint.connected());
}

TEST(ServerPublishIn, RateBeyondMaxInboundMessageRateEndsWith0x96AndWill) {
    ServerSettings settings;
    settings.max_inbound_message_rate = 2;
    ServerDriver server(settings);
    server.connect();
    server.feed(publish_packet("a/b")).one<PublishReceived>();
    server.feed(publish_packet("a/b")).one<PublishReceived>();
    const Drained drained = server.feed(publish_packet("a/b"));
    EXPECT_TRUE(drained.all<PublishReceived>().empty());
    const protocol::Disconnect disconnect = drained.sent_one<protocol::Disconnect>();
    EXPECT_EQ(disconnect.reason, ReasonCode::MessageRateTooHigh);
    EXPECT_TRUE(disconnect.properties.contains(PropertyId::ReasonString));
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::RateExceeded);
    EXPECT_EQ(ended.reason, ReasonCode::MessageRateTooHigh);
    EXPECT_TRUE(ended.publish_will);  // [MQTT-3.1.2-8] not the client's normal DISCONNECT
}

TEST(ServerPublishIn, RateRefillsOverTime) {
    ServerSettings settings;
    settings.max_inbound_message_rate = 2;
    ServerDriver server(settings);
    server.connect();
    server.feed(publish_packet("a/b"));
    server.feed(publish_packet("a/b"));
    server.now += 1s;
    server.feed(publish_packet("a/b")).one<PublishReceived>();
    server.feed(publish_packet("a/b")).one<PublishReceived>();
    EXPECT_TRUE(server.endpoint.connected());
}

TEST(ServerPublishIn, Rate311EndsWithNothingSent) {
    ServerSettings settings;
    settings.max_inbound_message_rate = 1;
    ServerDriver server(settings, ProtocolVersion::V311);
    server.connect();
    server.feed(publish_packet("a/b"));
    const Drained drained = server.feed(publish_packet("a/b"));
    EXPECT_TRUE(drained.sent.empty());
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::RateExceeded);
}

TEST(ServerPublishIn, EmbedderLoopReadsEveryPacketOfABufferInOrder) {
    // The embedder's loop: receive(), act on the events, drop what was consumed, again.
    ServerDriver server;
    server.connect();
    std::string buffer;
    for (const char* topic : {"a/1", "a/2", "a/3"}) {
        buffer += encoded(publish_packet(topic, 1, static_cast<protocol::PacketId>(topic[2] - '0')),
                          ProtocolVersion::V5);
    }
    buffer += encoded(protocol::Pingreq{}, ProtocolVersion::V5);
    std::vector<std::string> topics;
    std::vector<PacketType> sent;
    while (!buffer.empty()) {
        const std::size_t consumed = server.receive(buffer);
        ASSERT_GT(consumed, 0u);
        buffer.erase(0, consumed);
        const Drained drained = server.drain();
        for (const PublishReceived& received : drained.all<PublishReceived>()) {
            topics.push_back(received.publish.topic);
            server.endpoint.acknowledge_publish(1, received.publish.packet_id);
        }
        const Drained answers = server.drain();
        for (const PacketType type : drained.sent_types()) {
            sent.push_back(type);
        }
        for (const PacketType type : answers.sent_types()) {
            sent.push_back(type);
        }
    }
    EXPECT_EQ(topics, (std::vector<std::string>{"a/1", "a/2", "a/3"}));
    EXPECT_EQ(sent, (std::vector<PacketType>{PacketType::Puback, PacketType::Puback,
                                             PacketType::Puback, PacketType::Pingresp}));
}

TEST(ServerPublishIn, PacketSplitAcrossReadsWaitsForItsEnd) {
    ServerDriver server;
    server.connect();
    const std::string bytes = encoded(publish_packet("a/b", 0, 0, "payload"), ProtocolVersion::V5);
    EXPECT_EQ(server.receive(bytes.substr(0, 5)), 0u);
    EXPECT_TRUE(server.drain().events.empty());
    EXPECT_EQ(server.receive(bytes), bytes.size());
    EXPECT_EQ(*server.drain().one<PublishReceived>().publish.payload, "payload");
}

TEST(ServerPublishIn, RefusalReasonStringLeftOutToFitTheClientMaximum) {  // [MQTT-3.4.2-2]
    ServerDriver server;
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::MaximumPacketSize, 20);
    server.connect(connect);
    server.feed(publish_packet("a/b", 1, 4));
    server.endpoint.refuse_publish(1, 4, ReasonCode::NotAuthorized,
                                   "a reason string far longer than twenty bytes");
    const protocol::Puback puback = server.drain().sent_one<protocol::Puback>();
    EXPECT_EQ(puback.reason, ReasonCode::NotAuthorized);
    EXPECT_FALSE(puback.properties.contains(PropertyId::ReasonString));
    EXPECT_TRUE(server.endpoint.connected());
}

TEST(ServerPublishIn, ViolationDisconnectKeepsItsReasonStringWithoutProblemInformation) {
    // [MQTT-3.1.2-29] DISCONNECT may carry a Reason String whatever the client asked.
    ServerDriver server;
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::RequestProblemInformation, 0);
    server.connect(connect);
    protocol::Publish publish = publish_packet("a/b");
    publish.properties.add_number(PropertyId::SubscriptionIdentifier, 5);
    const protocol::Disconnect disconnect = server.feed(publish).sent_one<protocol::Disconnect>();
    EXPECT_EQ(disconnect.reason, ReasonCode::ProtocolError);
    EXPECT_TRUE(disconnect.properties.contains(PropertyId::ReasonString));
}

}  // namespace
}  // namespace petrel::connection::server_testing
