// Server role: SUBSCRIBE and UNSUBSCRIBE, DISCONNECT from either side and its rules, keep
// alive, PINGREQ, packets over either side's Maximum Packet Size, the end of a connection,
// and the frames of deliveries (outbound topic aliases).
#include "server_test_support.hpp"

namespace petrel::connection::server_testing {
namespace {

protocol::Subscribe subscribe_packet(std::string filter, protocol::PacketId id = 1,
                                     bool no_local = false) {
    protocol::Subscribe subscribe;
    subscribe.packet_id = id;
    protocol::Subscription subscription;
    subscription.filter = std::move(filter);
    subscription.options.qos = 1;
    subscription.options.no_local = no_local;
    subscribe.subscriptions.push_back(std::move(subscription));
    return subscribe;
}

protocol::Connect with_property(protocol::Connect connect, PropertyId id, std::uint32_t value) {
    connect.properties.add_number(id, value);
    return connect;
}

// --- SUBSCRIBE, UNSUBSCRIBE ---

TEST(ServerSubscribe, SubscribeIsHandedOver) {
    ServerDriver server;
    server.connect();
    const Drained drained = server.feed(subscribe_packet("a/+", 5));
    EXPECT_TRUE(drained.sent.empty()) << "SUBACK waits for the embedder";
    const protocol::Subscribe subscribe = drained.one<SubscribeReceived>().subscribe;
    EXPECT_EQ(subscribe.packet_id, 5);
    ASSERT_EQ(subscribe.subscriptions.size(), 1u);
    EXPECT_EQ(subscribe.subscriptions[0].filter, "a/+");
}

TEST(ServerSubscribe, NoLocalOnASharedSubscriptionIsAProtocolError) {  // [MQTT-3.8.3-4]
    ServerDriver server;
    server.connect();
    const Drained drained = server.feed(subscribe_packet("$share/g/a/b", 5, true));
    EXPECT_TRUE(drained.all<SubscribeReceived>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::ProtocolError);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ProtocolViolation);
    EXPECT_TRUE(ended.publish_will);
}

TEST(ServerSubscribe, NoLocalOnAnOrdinarySubscriptionIsFine) {
    ServerDriver server;
    server.connect();
    EXPECT_EQ(server.feed(subscribe_packet("a/b", 5, true)).all<SubscribeReceived>().size(), 1u);
}

TEST(ServerSubscribe, V5SubackWithAFailureSaysSoInAReasonString) {
    ServerDriver server;
    server.connect();
    server.feed(subscribe_packet("a/b", 5));
    server.endpoint.answer_subscribe(
        protocol::Suback{5, {ReasonCode::GrantedQos1, ReasonCode::NotAuthorized}, {}});
    const protocol::Suback suback = server.drain().sent_one<protocol::Suback>();
    EXPECT_EQ(suback.packet_id, 5);
    ASSERT_EQ(suback.reasons.size(), 2u);
    EXPECT_EQ(suback.reasons[1], ReasonCode::NotAuthorized);
    EXPECT_TRUE(suback.properties.contains(PropertyId::ReasonString));
}

TEST(ServerSubscribe, V5SubackWithoutFailureHasNoReasonString) {
    ServerDriver server;
    server.connect();
    server.endpoint.answer_subscribe(protocol::Suback{5, {ReasonCode::GrantedQos1}, {}});
    EXPECT_TRUE(server.drain().sent_one<protocol::Suback>().properties.empty());
}

TEST(ServerSubscribe, SubackReasonStringLeftOutWithoutProblemInformation) {  // [MQTT-3.1.2-29]
    ServerDriver server;
    server.connect(with_property(connect_packet(), PropertyId::RequestProblemInformation, 0));
    server.endpoint.answer_subscribe(protocol::Suback{5, {ReasonCode::NotAuthorized}, {}});
    const protocol::Suback suback = server.drain().sent_one<protocol::Suback>();
    EXPECT_EQ(suback.reasons.at(0), ReasonCode::NotAuthorized);
    EXPECT_FALSE(suback.properties.contains(PropertyId::ReasonString));
}

TEST(ServerSubscribe, SubackReasonStringLeftOutToFitTheClientMaximum) {  // [MQTT-3.9.2-1]
    ServerDriver server;
    server.connect(with_property(connect_packet(), PropertyId::MaximumPacketSize, 16));
    server.endpoint.answer_subscribe(protocol::Suback{5, {ReasonCode::NotAuthorized}, {}});
    const Drained drained = server.drain();
    EXPECT_FALSE(
        drained.sent_one<protocol::Suback>().properties.contains(PropertyId::ReasonString));
    EXPECT_TRUE(server.endpoint.connected());
}

TEST(ServerSubscribe, Suback311FailureIsReturnCode0x80) {  // 3.9.3 (3.1.1)
    ServerDriver server({}, ProtocolVersion::V311);
    server.connect();
    server.feed(subscribe_packet("a/b", 5)).one<SubscribeReceived>();
    server.endpoint.answer_subscribe(
        protocol::Suback{5, {ReasonCode::GrantedQos1, ReasonCode::NotAuthorized}, {}});
    const Drained drained = server.drain();
    ASSERT_EQ(drained.sent.size(), 1u);
    std::string raw;
    protocol::encode(drained.sent[0], ProtocolVersion::V311, raw);
    EXPECT_EQ(raw, std::string("\x90\x04\x00\x05\x01\x80", 6));
}

TEST(ServerSubscribe, UnsubscribeIsHandedOverAndAnsweredWithSend) {
    ServerDriver server;
    server.connect();
    protocol::Unsubscribe unsubscribe;
    unsubscribe.packet_id = 6;
    unsubscribe.filters = {"a/+", "b/#"};
    const Drained drained = server.feed(unsubscribe);
    EXPECT_TRUE(drained.sent.empty());
    const protocol::Unsubscribe received = drained.one<UnsubscribeReceived>().unsubscribe;
    EXPECT_EQ(received.packet_id, 6);
    EXPECT_EQ(received.filters, (std::vector<std::string>{"a/+", "b/#"}));
    EXPECT_TRUE(server.endpoint.send(
        protocol::Unsuback{6, {ReasonCode::Success, ReasonCode::NoSubscriptionExisted}, {}}));
    const protocol::Unsuback unsuback = server.drain().sent_one<protocol::Unsuback>();
    EXPECT_EQ(unsuback.packet_id, 6);
    EXPECT_EQ(unsuback.reasons.at(1), ReasonCode::NoSubscriptionExisted);
}

// --- DISCONNECT from the client ---

TEST(ServerDisconnectIn, NormalDisconnectDiscardsTheWill) {  // [MQTT-3.14.4-3]
    ServerDriver server;
    server.connect();
    const Drained drained = server.feed(protocol::Disconnect{});
    EXPECT_TRUE(drained.sent.empty());
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ClientDisconnect);
    EXPECT_EQ(ended.reason, ReasonCode::Success);
    EXPECT_FALSE(ended.publish_will);
    EXPECT_TRUE(server.endpoint.ended());
}

TEST(ServerDisconnectIn, DisconnectWithWillMessageAsksForIt) {  // 3.14.2.1 0x04
    ServerDriver server;
    server.connect();
    const ConnectionEnded ended =
        server.feed(protocol::Disconnect{ReasonCode::DisconnectWithWillMessage, {}})
            .one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ClientDisconnect);
    EXPECT_EQ(ended.reason, ReasonCode::DisconnectWithWillMessage);
    EXPECT_TRUE(ended.publish_will);
}

TEST(ServerDisconnectIn, DisconnectWithAnErrorReasonKeepsTheWill) {
    // [MQTT-3.1.2-8] the will is published unless deleted on a DISCONNECT with 0x00; only
    // 0x00 deletes it [MQTT-3.14.4-3].
    ServerDriver server;
    server.connect();
    const ConnectionEnded ended =
        server.feed(protocol::Disconnect{ReasonCode::UnspecifiedError, {}}).one<ConnectionEnded>();
    EXPECT_TRUE(ended.publish_will);
}

TEST(ServerDisconnectIn, Disconnect311DiscardsTheWill) {  // [MQTT-3.14.4-3] (3.1.1)
    ServerDriver server({}, ProtocolVersion::V311);
    server.connect();
    const ConnectionEnded ended = server.feed(protocol::Disconnect{}).one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ClientDisconnect);
    EXPECT_FALSE(ended.publish_will);
}

TEST(ServerDisconnectIn, SessionExpiryUpdatedOnDisconnect) {  // 3.14.2.2.2
    ServerDriver server;
    server.connect(with_property(connect_packet(), PropertyId::SessionExpiryInterval, 10));
    protocol::Disconnect disconnect;
    disconnect.properties.add_number(PropertyId::SessionExpiryInterval, 3600);
    EXPECT_EQ(server.feed(disconnect).one<ConnectionEnded>().cause, Cause::ClientDisconnect);
    EXPECT_EQ(server.session.expiry_interval, 3600u);
}

TEST(ServerDisconnectIn, SessionExpiryMayDropToZero) {
    ServerDriver server;
    server.connect(with_property(connect_packet(), PropertyId::SessionExpiryInterval, 10));
    protocol::Disconnect disconnect;
    disconnect.properties.add_number(PropertyId::SessionExpiryInterval, 0);
    EXPECT_EQ(server.feed(disconnect).one<ConnectionEnded>().cause, Cause::ClientDisconnect);
    EXPECT_EQ(server.session.expiry_interval, 0u);
}

TEST(ServerDisconnectIn, SessionExpiryFromZeroIsAProtocolError) {  // [MQTT-3.14.2-2]
    ServerDriver server;
    server.connect();
    protocol::Disconnect disconnect;
    disconnect.properties.add_number(PropertyId::SessionExpiryInterval, 60);
    const Drained drained = server.feed(disconnect);
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::ProtocolError);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ProtocolViolation);
    EXPECT_TRUE(ended.publish_will);
    EXPECT_EQ(server.session.expiry_interval, 0u);
}

// --- DISCONNECT from the server ---

TEST(ServerDisconnectOut, V5ClientIsToldTheReason) {  // 3.14.2.1
    ServerDriver server;
    server.connect();
    server.endpoint.disconnect(ReasonCode::SessionTakenOver, false, "taken over");
    const Drained drained = server.drain();
    const protocol::Disconnect disconnect = drained.sent_one<protocol::Disconnect>();
    EXPECT_EQ(disconnect.reason, ReasonCode::SessionTakenOver);
    EXPECT_EQ(disconnect.properties.text(PropertyId::ReasonString),
              std::optional<std::string_view>("taken over"));
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ServerDisconnect);
    EXPECT_EQ(ended.reason, ReasonCode::SessionTakenOver);
    EXPECT_FALSE(ended.publish_will);
}

TEST(ServerDisconnectOut, NoReasonStringWhenNoneIsGiven) {
    ServerDriver server;
    server.connect();
    server.endpoint.disconnect(ReasonCode::ServerShuttingDown);
    const Drained drained = server.drain();
    EXPECT_TRUE(drained.sent_one<protocol::Disconnect>().properties.empty());
    EXPECT_TRUE(drained.one<ConnectionEnded>().publish_will);
}

TEST(ServerDisconnectOut, Client311GetsNothing) {
    ServerDriver server({}, ProtocolVersion::V311);
    server.connect();
    server.endpoint.disconnect(ReasonCode::ServerShuttingDown);
    const Drained drained = server.drain();
    EXPECT_TRUE(drained.sent.empty());
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ServerDisconnect);
}

TEST(ServerDisconnectOut, NothingHappensAfterTheEnd) {
    ServerDriver server;
    server.connect();
    server.endpoint.disconnect(ReasonCode::ServerShuttingDown);
    server.drain();
    server.endpoint.disconnect(ReasonCode::AdministrativeAction);
    EXPECT_FALSE(server.endpoint.send(protocol::Pingresp{}));
    EXPECT_EQ(server.receive(encoded(protocol::Pingreq{}, ProtocolVersion::V5)), 0u);
    server.now += 1h;
    server.endpoint.tick(server.now);
    EXPECT_TRUE(server.drain().events.empty());
}

TEST(ServerDisconnectOut, TransportClosedEndsSilently) {
    ServerDriver server;
    server.connect();
    server.endpoint.transport_closed();
    EXPECT_TRUE(server.endpoint.ended());
    EXPECT_TRUE(server.drain().events.empty());
    EXPECT_EQ(server.receive(encoded(protocol::Pingreq{}, ProtocolVersion::V5)), 0u);
}

// --- keep alive, PINGREQ ---

TEST(ServerKeepAlive, PingreqIsAnswered) {  // [MQTT-3.12.4-1]
    ServerDriver server;
    server.connect();
    const Drained drained = server.feed(protocol::Pingreq{});
    EXPECT_EQ(drained.sent_types(), std::vector<PacketType>{PacketType::Pingresp});
    EXPECT_TRUE(drained.events.empty());
}

TEST(ServerKeepAlive, ExpiresAfterOneAndAHalfTimesTheKeepAlive) {  // [MQTT-3.1.2-24]
    ServerDriver server;
    server.connect(connect_packet(ProtocolVersion::V5, 10));
    server.now += 15s;
    EXPECT_TRUE(server.tick().events.empty());
    EXPECT_TRUE(server.endpoint.connected());
    server.now += 1ms;
    const Drained drained = server.tick();
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::KeepAliveTimeout);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::KeepAliveTimeout);
    EXPECT_EQ(ended.reason, ReasonCode::KeepAliveTimeout);
    EXPECT_TRUE(ended.publish_will);
    EXPECT_TRUE(server.endpoint.ended());
}

TEST(ServerKeepAlive, AnyPacketFromTheClientResetsIt) {
    ServerDriver server;
    server.connect(connect_packet(ProtocolVersion::V5, 10));
    server.now += 14s;
    server.feed(protocol::Pingreq{});
    server.now += 14s;
    EXPECT_TRUE(server.tick().events.empty());
    server.feed(publish_packet("a/b"));
    server.now += 14s;
    EXPECT_TRUE(server.tick().events.empty());
    EXPECT_TRUE(server.endpoint.connected());
}

TEST(ServerKeepAlive, ServerKeepAliveIsTheOneHeldToTheClient) {
    ServerSettings settings;
    settings.max_keepalive = 10;
    ServerDriver server(settings);
    server.connect(connect_packet(ProtocolVersion::V5, 100));
    server.now += 16s;
    EXPECT_EQ(server.tick().one<ConnectionEnded>().cause, Cause::KeepAliveTimeout);
}

TEST(ServerKeepAlive, Expiry311SendsNothing) {
    ServerDriver server({}, ProtocolVersion::V311);
    server.connect(connect_packet(ProtocolVersion::V311, 10));
    server.now += 16s;
    const Drained drained = server.tick();
    EXPECT_TRUE(drained.sent.empty());
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::KeepAliveTimeout);
    EXPECT_TRUE(ended.publish_will);
}

TEST(ServerKeepAlive, ZeroMeansNoKeepAlive) {  // 3.1.2.10
    ServerDriver server;
    server.connect(connect_packet(ProtocolVersion::V5, 0));
    server.now += 24h;
    EXPECT_TRUE(server.tick().events.empty());
    EXPECT_TRUE(server.endpoint.connected());
}

// --- Maximum Packet Size, both ways ---

TEST(ServerPacketSize, PacketOverTheClientsMaximumEndsTheConnection) {  // [MQTT-3.1.2-24]
    ServerDriver server;
    server.connect(with_property(connect_packet(), PropertyId::MaximumPacketSize, 30));
    protocol::Publish big = publish_packet("a/b", 0, 0, std::string(100, 'x'));
    EXPECT_FALSE(server.endpoint.send(big));
    const Drained drained = server.drain();
    EXPECT_TRUE(drained.sent_of<protocol::Publish>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::PacketTooLarge);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::OverClientLimit);
    EXPECT_EQ(ended.reason, ReasonCode::PacketTooLarge);
    EXPECT_TRUE(ended.publish_will);
}

TEST(ServerPacketSize, PacketWithinTheClientsMaximumIsSent) {
    ServerDriver server;
    server.connect(with_property(connect_packet(), PropertyId::MaximumPacketSize, 30));
    EXPECT_TRUE(server.endpoint.send(publish_packet("a/b", 0, 0, "small")));
    EXPECT_EQ(*server.drain().sent_one<protocol::Publish>().payload, "small");
}

TEST(ServerPacketSize, PacketOverTheServersMaximumEndsTheConnection) {  // [MQTT-3.2.2-15]
    ServerSettings settings;
    settings.capabilities.maximum_packet_size = 64;
    ServerDriver server(settings);
    server.connect();
    const std::string bytes =
        encoded(publish_packet("a/b", 0, 0, std::string(100, 'x')), ProtocolVersion::V5);
    // Refused from the fixed header alone, before the rest has arrived.
    server.receive(bytes.substr(0, 4));
    const Drained drained = server.drain();
    EXPECT_TRUE(drained.all<PublishReceived>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::PacketTooLarge);
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ProtocolViolation);
}

TEST(ServerPacketSize, MalformedPacketIsAViolation) {  // 4.13.1
    ServerDriver server;
    server.connect();
    // PINGREQ with a non-zero remaining length.
    server.receive(std::string("\xC0\x01\x00", 3));
    const Drained drained = server.drain();
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::MalformedPacket);
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ProtocolViolation);
}

TEST(ServerPacketSize, PacketOnlyAServerSendsIsAProtocolError) {
    ServerDriver server;
    server.connect();
    const Drained drained = server.feed(protocol::Pingresp{});
    EXPECT_TRUE(protocol::is_failure(drained.sent_one<protocol::Disconnect>().reason));
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ProtocolViolation);
}

// --- frames of deliveries ---

TEST(ServerFrame, OutboundAliasesUpToTheClientsMaximum) {  // [MQTT-3.3.2-11]
    ServerSettings settings;
    settings.outgoing_topic_alias_maximum = 5;
    ServerDriver server(settings);
    server.connect(with_property(connect_packet(), PropertyId::TopicAliasMaximum, 1));
    EXPECT_TRUE(server.endpoint.outbound_aliases_enabled());
    const session::OutboundPacket packet{session::OutboundPacket::Kind::Publish, 0, false,
                                         delivery("t/1", "m", 0)};
    const PublishFrame first = server.endpoint.frame(packet, "t/1", 0);
    EXPECT_EQ(first.topic_alias, 1);
    EXPECT_EQ(first.topic, "t/1");
    const PublishFrame second = server.endpoint.frame(packet, "t/1", 0);
    EXPECT_EQ(second.topic_alias, 1);
    EXPECT_TRUE(second.topic.empty());
}

TEST(ServerFrame, NoOutboundAliasesWhenTheClientTakesNone) {  // 3.1.2.11.5
    ServerSettings settings;
    settings.outgoing_topic_alias_maximum = 5;
    ServerDriver server(settings);
    server.connect();
    EXPECT_FALSE(server.endpoint.outbound_aliases_enabled());
    const session::OutboundPacket packet{session::OutboundPacket::Kind::Publish, 0, false,
                                         delivery("t/1", "m", 0)};
    const PublishFrame frame = server.endpoint.frame(packet, "t/1", 0);
    EXPECT_EQ(frame.topic_alias, 0);
    EXPECT_EQ(frame.topic, "t/1");
}

TEST(ServerKeepAlive, ConsecutiveWritesShareOneSendBytes) {
    // Two PINGRESPs from one read: one write for the embedder, both packets in order.
    ServerDriver server;
    server.connect();
    const std::string ping = encoded(protocol::Pingreq{}, ProtocolVersion::V5);
    EXPECT_EQ(server.receive(ping + ping), 2 * ping.size());
    std::vector<ServerEvent> events;
    server.endpoint.take_events(events);
    ASSERT_EQ(events.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<SendBytes>(events[0]));
    EXPECT_EQ(std::get<SendBytes>(events[0]).bytes, std::string("\xD0\x00\xD0\x00", 4));
}

}  // namespace
}  // namespace petrel::connection::server_testing
