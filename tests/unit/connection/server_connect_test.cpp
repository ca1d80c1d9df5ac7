// Server role: the first packet, CONNECT and its refusal, the CONNACK and its properties
// (capabilities, Server Keep Alive, Assigned Client Identifier, Response Information,
// trimming to the client's Maximum Packet Size), the connect timeout and the Connecting
// phase in which nothing is read.
#include "server_test_support.hpp"

namespace petrel::connection::server_testing {
namespace {

// A v5 CONNECT with the reserved flag (bit 0 of the Connect Flags) set: malformed
// [MQTT-3.1.2-3]. The flags follow the fixed header (2 bytes for a short packet), the
// protocol name (6) and level (1).
std::string with_reserved_flag(ProtocolVersion version) {
    std::string bytes = encoded(connect_packet(version), version);
    bytes[9] = static_cast<char>(bytes[9] | 0x01);
    return bytes;
}

std::string with_protocol_level(ProtocolVersion version, std::uint8_t level) {
    std::string bytes = encoded(connect_packet(version), version);
    bytes[8] = static_cast<char>(level);
    return bytes;
}

TEST(ServerConnect, ConnectIsHandedToTheEmbedderAndNothingIsSent) {
    ServerDriver server;
    protocol::Connect connect = connect_packet(ProtocolVersion::V5, 30, "sensor-7");
    connect.username = "alice";
    const Drained received = server.send_connect(connect);
    EXPECT_TRUE(received.sent.empty());
    const ConnectReceived handed = received.one<ConnectReceived>();
    EXPECT_EQ(handed.connect.client_id, "sensor-7");
    EXPECT_EQ(handed.connect.username, std::optional<std::string>("alice"));
    EXPECT_EQ(handed.connect.keep_alive, 30);
    EXPECT_EQ(server.endpoint.phase(), ServerEndpoint::Phase::Connecting);
    EXPECT_EQ(server.endpoint.version(), ProtocolVersion::V5);
}

TEST(ServerConnect, FirstPacketNotConnectEndsWithNothingSent) {  // [MQTT-3.1.0-1]
    ServerDriver server;
    const Drained drained = server.feed(protocol::Pingreq{});
    EXPECT_TRUE(drained.sent.empty());
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::NotConnectFirst);
    EXPECT_FALSE(ended.publish_will);
    EXPECT_NE(ended.why.find("PINGREQ"), std::string::npos) << ended.why;
    EXPECT_TRUE(server.endpoint.ended());
}

TEST(ServerConnect, FirstByteAloneIsEnoughToRefuseSomethingElse) {
    // An HTTP request, say: its first byte is no CONNECT and nothing more is awaited.
    ServerDriver server;
    server.receive("G");
    EXPECT_EQ(server.drain().one<ConnectionEnded>().cause, Cause::NotConnectFirst);
}

TEST(ServerConnect, IncompleteConnectWaitsForTheRest) {
    ServerDriver server;
    const std::string bytes = encoded(connect_packet(), ProtocolVersion::V5);
    EXPECT_EQ(server.receive(bytes.substr(0, bytes.size() - 1)), 0u);
    EXPECT_TRUE(server.drain().events.empty());
    EXPECT_EQ(server.receive(bytes), bytes.size());
    server.drain().one<ConnectReceived>();
}

TEST(ServerConnect, MalformedV5ConnectIsRefusedWithConnackInV5) {  // [MQTT-3.1.4-1] 4.13.1
    ServerDriver server;
    server.receive(with_reserved_flag(ProtocolVersion::V5));
    const Drained drained = server.drain();
    const protocol::Connack connack = drained.sent_one<protocol::Connack>();
    EXPECT_EQ(connack.reason, ReasonCode::MalformedPacket);
    EXPECT_FALSE(connack.session_present);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ConnectRefused);
    EXPECT_FALSE(ended.publish_will);
    EXPECT_EQ(server.endpoint.version(), ProtocolVersion::V5);
}

TEST(ServerConnect, Malformed311ConnectClosesWithoutConnack) {
    // 3.1.1 has no return code for a malformed CONNECT: closed without an answer.
    ServerDriver server({}, ProtocolVersion::V311);
    server.receive(with_reserved_flag(ProtocolVersion::V311));
    const Drained drained = server.drain();
    EXPECT_TRUE(drained.sent.empty());
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ProtocolViolation);
}

TEST(ServerConnect, ViolationBeforeAnyConnectPublishesNoWill) {
    // No CONNECT was read, so there is no will; the other ends before CONNACK
    // (NotConnectFirst, ConnectTimeout, a refusal, a CONNACK over the client's limit) say
    // publish_will false, and the embedder should be able to rely on it.
    ServerDriver server({}, ProtocolVersion::V311);
    server.receive(with_reserved_flag(ProtocolVersion::V311));
    const ConnectionEnded ended = server.drain().one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ProtocolViolation);
    EXPECT_FALSE(ended.publish_will);
}

TEST(ServerConnect, UnsupportedLevelIsRefusedInTheClaimedVersion) {  // [MQTT-3.1.2-2]
    // Level 6 is not one this server speaks: a 3.1.1 CONNACK with return code 1
    // (Unacceptable protocol version), which every older client reads.
    ServerDriver server({}, ProtocolVersion::V311);
    server.receive(with_protocol_level(ProtocolVersion::V311, 6));
    const Drained drained = server.drain();
    EXPECT_EQ(server.endpoint.version(), ProtocolVersion::V311);
    EXPECT_EQ(drained.sent_one<protocol::Connack>().reason, ReasonCode::UnsupportedProtocolVersion);
    const std::string raw = [&] {
        std::string bytes;
        protocol::encode(drained.sent.at(0), ProtocolVersion::V311, bytes);
        return bytes;
    }();
    EXPECT_EQ(raw, std::string("\x20\x02\x00\x01", 4));
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ConnectRefused);
}

TEST(ServerConnect, AcceptSendsConnackAndConnects) {
    ServerDriver server;
    const Drained drained = server.connect();
    EXPECT_TRUE(server.accepted);
    EXPECT_TRUE(server.endpoint.connected());
    const protocol::Connack connack = drained.sent_one<protocol::Connack>();
    EXPECT_EQ(connack.reason, ReasonCode::Success);
    EXPECT_FALSE(connack.session_present);
    EXPECT_TRUE(drained.events.empty());
}

TEST(ServerConnect, Connack31HasNoSessionPresentFlag) {
    // MQTT 3.1's acknowledge flags byte is reserved: 0 even for a resumed session.
    ServerDriver server({}, ProtocolVersion::V31);
    ConnectAccepted terms;
    terms.session_present = true;
    const Drained drained = server.connect(connect_packet(ProtocolVersion::V31), terms);
    EXPECT_EQ(server.endpoint.version(), ProtocolVersion::V31);
    ASSERT_EQ(drained.sent.size(), 1u);
    std::string raw;
    protocol::encode(drained.sent[0], ProtocolVersion::V31, raw);
    EXPECT_EQ(raw, std::string("\x20\x02\x00\x00", 4));
}

TEST(ServerConnect, Connack311CarriesSessionPresent) {  // [MQTT-3.2.2-2]
    ServerDriver server({}, ProtocolVersion::V311);
    protocol::Connect connect = connect_packet(ProtocolVersion::V311);
    connect.clean_start = false;
    ConnectAccepted terms;
    terms.session_present = true;
    const Drained drained = server.connect(connect, terms);
    ASSERT_EQ(drained.sent.size(), 1u);
    std::string raw;
    protocol::encode(drained.sent[0], ProtocolVersion::V311, raw);
    EXPECT_EQ(raw, std::string("\x20\x02\x01\x00", 4));
}

TEST(ServerConnect, SessionPresentAsTheEmbedderSaysIt) {
    ServerDriver server;
    protocol::Connect connect = connect_packet();
    connect.clean_start = false;
    ConnectAccepted terms;
    terms.session_present = true;
    EXPECT_TRUE(server.connect(connect, terms).sent_one<protocol::Connack>().session_present);
}

TEST(ServerConnect, SessionTakesTheTermsOfAV5Connect) {
    ServerDriver server({}, ProtocolVersion::V5, session::OutboundLimits{.max_inflight = 20});
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::SessionExpiryInterval, 300);
    connect.properties.add_number(PropertyId::ReceiveMaximum, 5);
    connect.will = protocol::Will{"last/words", protocol::make_payload("gone"), 1, false, {}};
    server.connect(connect);
    EXPECT_EQ(server.session.version, ProtocolVersion::V5);
    EXPECT_EQ(server.session.expiry_interval, 300u);
    ASSERT_TRUE(server.session.will);
    EXPECT_EQ(server.session.will->topic, "last/words");
    // The client's Receive Maximum bounds the outbound window [MQTT-3.3.4-9].
    EXPECT_EQ(server.session.outbound().window(), 5u);
}

TEST(ServerConnect, Session311ExpiryFollowsCleanSession) {
    ServerDriver clean({}, ProtocolVersion::V311);
    clean.connect();
    EXPECT_EQ(clean.session.expiry_interval, 0u);
    EXPECT_EQ(clean.session.version, ProtocolVersion::V311);

    ServerDriver persistent({}, ProtocolVersion::V311);
    protocol::Connect connect = connect_packet(ProtocolVersion::V311);
    connect.clean_start = false;
    persistent.connect(connect);
    EXPECT_EQ(persistent.session.expiry_interval, session::kSessionNeverExpires);
}

TEST(ServerConnect, ConnackAnnouncesTheServerCapabilities) {  // 3.2.2.3
    ServerSettings settings;
    settings.capabilities.receive_maximum = 10;
    settings.capabilities.maximum_packet_size = 2048;
    settings.capabilities.topic_alias_maximum = 4;
    settings.capabilities.maximum_qos = 1;
    settings.capabilities.retain_available = false;
    settings.capabilities.wildcard_subscription_available = false;
    settings.capabilities.subscription_identifier_available = false;
    settings.capabilities.shared_subscription_available = false;
    ServerDriver server(settings);
    const protocol::Connack connack = server.connect().sent_one<protocol::Connack>();
    EXPECT_EQ(ServerCapabilities::read(connack.properties), settings.capabilities);
}

TEST(ServerConnect, DefaultCapabilitiesAnnounceNothing) {
    ServerDriver server;
    const protocol::Connack connack = server.connect().sent_one<protocol::Connack>();
    EXPECT_TRUE(connack.properties.empty());
}

TEST(ServerConnect, ServerKeepAliveWhenClampedByMaxKeepalive) {  // [MQTT-3.2.2-21]
    ServerSettings settings;
    settings.max_keepalive = 30;
    ServerDriver server(settings);
    const protocol::Connack connack =
        server.connect(connect_packet(ProtocolVersion::V5, 120)).sent_one<protocol::Connack>();
    EXPECT_EQ(connack.properties.number(PropertyId::ServerKeepAlive), 30u);
    EXPECT_EQ(server.endpoint.keep_alive().seconds(), 30);
}

TEST(ServerConnect, ServerKeepAliveWhenTheClientAskedForNone) {
    ServerSettings settings;
    settings.max_keepalive = 30;
    ServerDriver server(settings);
    const protocol::Connack connack =
        server.connect(connect_packet(ProtocolVersion::V5, 0)).sent_one<protocol::Connack>();
    EXPECT_EQ(connack.properties.number(PropertyId::ServerKeepAlive), 30u);
    EXPECT_EQ(server.endpoint.keep_alive().seconds(), 30);
}

TEST(ServerConnect, NoServerKeepAliveWithinMaxKeepalive) {
    ServerSettings settings;
    settings.max_keepalive = 30;
    ServerDriver server(settings);
    const protocol::Connack connack =
        server.connect(connect_packet(ProtocolVersion::V5, 20)).sent_one<protocol::Connack>();
    EXPECT_FALSE(connack.properties.contains(PropertyId::ServerKeepAlive));
    EXPECT_EQ(server.endpoint.keep_alive().seconds(), 20);
}

TEST(ServerConnect, AssignedClientIdentifierInV5Connack) {  // [MQTT-3.2.2-16]
    ServerDriver server;
    ConnectAccepted terms;
    terms.assigned_client_id = "auto-1234";
    const protocol::Connack connack =
        server.connect(connect_packet(ProtocolVersion::V5, 60, ""), terms)
            .sent_one<protocol::Connack>();
    EXPECT_EQ(connack.properties.text(PropertyId::AssignedClientIdentifier),
              std::optional<std::string_view>("auto-1234"));
}

TEST(ServerConnect, ResponseInformationOnlyWhenRequested) {  // [MQTT-3.1.2-28]
    ConnectAccepted terms;
    terms.response_information = "reply/client-1";

    ServerDriver unasked;
    EXPECT_FALSE(unasked.connect(connect_packet(), terms)
                     .sent_one<protocol::Connack>()
                     .properties.contains(PropertyId::ResponseInformation));

    ServerDriver asked;
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::RequestResponseInformation, 1);
    EXPECT_EQ(asked.connect(connect, terms)
                  .sent_one<protocol::Connack>()
                  .properties.text(PropertyId::ResponseInformation),
              std::optional<std::string_view>("reply/client-1"));
}

TEST(ServerConnect, ConnackLeavesOutResponseInformationToFitTheClientMaximum) {
    // [MQTT-3.1.2-24] [MQTT-3.2.2-15]: the CONNACK itself must fit. 5 bytes bare, 8 with a
    // Topic Alias Maximum; the Response Information would take it well over 10.
    ServerSettings settings;
    settings.capabilities.topic_alias_maximum = 4;
    ServerDriver server(settings);
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::RequestResponseInformation, 1);
    connect.properties.add_number(PropertyId::MaximumPacketSize, 10);
    ConnectAccepted terms;
    terms.response_information = "a/rather/long/response/topic";
    const Drained drained = server.connect(connect, terms);
    const protocol::Connack connack = drained.sent_one<protocol::Connack>();
    EXPECT_FALSE(connack.properties.contains(PropertyId::ResponseInformation));
    EXPECT_EQ(connack.properties.number(PropertyId::TopicAliasMaximum), 4u);
    EXPECT_TRUE(server.endpoint.connected());
    // The alias it kept announcing works.
    protocol::Publish publish = publish_packet("a/b");
    publish.properties.add_number(PropertyId::TopicAlias, 1);
    EXPECT_EQ(server.feed(publish).one<PublishReceived>().publish.topic, "a/b");
}

TEST(ServerConnect, ConnackWithoutTopicAliasMaximumTurnsInboundAliasesOff) {
    // Trimmed down to the bare 5 bytes: no Topic Alias Maximum was announced, so the
    // client may use none (3.2.2.3.8) and one it uses is invalid [MQTT-3.3.2-9].
    ServerSettings settings;
    settings.capabilities.topic_alias_maximum = 4;
    ServerDriver server(settings);
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::MaximumPacketSize, 5);
    const protocol::Connack connack = server.connect(connect).sent_one<protocol::Connack>();
    EXPECT_FALSE(connack.properties.contains(PropertyId::TopicAliasMaximum));
    protocol::Publish publish = publish_packet("a/b");
    publish.properties.add_number(PropertyId::TopicAlias, 1);
    const Drained drained = server.feed(publish);
    EXPECT_TRUE(drained.all<PublishReceived>().empty());
    EXPECT_EQ(drained.one<ConnectionEnded>().reason, ReasonCode::TopicAliasInvalid);
}

TEST(ServerConnect, AcceptFailsWhenNotEvenTheBareConnackFits) {  // [MQTT-3.1.2-24]
    ServerDriver server;
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::MaximumPacketSize, 4);
    const Drained drained = server.connect(connect);
    EXPECT_FALSE(server.accepted);
    EXPECT_TRUE(drained.sent.empty());
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::OverClientLimit);
    // It never learnt it was connected: no will.
    EXPECT_FALSE(ended.publish_will);
    EXPECT_TRUE(server.endpoint.ended());
}

TEST(ServerConnect, RefusalCarriesReasonStringAndServerReference) {  // 4.11, 3.2.2.3.18
    ServerDriver server;
    server.send_connect(connect_packet());
    server.endpoint.refuse(ReasonCode::UseAnotherServer, "moved for maintenance",
                           "other.example:1883");
    const Drained drained = server.drain();
    const protocol::Connack connack = drained.sent_one<protocol::Connack>();
    EXPECT_EQ(connack.reason, ReasonCode::UseAnotherServer);
    EXPECT_EQ(connack.properties.text(PropertyId::ServerReference),
              std::optional<std::string_view>("other.example:1883"));
    EXPECT_EQ(connack.properties.text(PropertyId::ReasonString),
              std::optional<std::string_view>("moved for maintenance"));
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ConnectRefused);
    EXPECT_EQ(ended.reason, ReasonCode::UseAnotherServer);
    EXPECT_FALSE(ended.publish_will);
    EXPECT_EQ(ended.why, "moved for maintenance");
}

TEST(ServerConnect, RefusalCarriesAReasonStringEvenWithoutProblemInformation) {
    // [MQTT-3.1.2-29] Request Problem Information 0 still allows one on CONNACK.
    ServerDriver server;
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::RequestProblemInformation, 0);
    server.send_connect(connect);
    server.endpoint.refuse(ReasonCode::NotAuthorized, "not on the list");
    EXPECT_EQ(
        server.drain().sent_one<protocol::Connack>().properties.text(PropertyId::ReasonString),
        std::optional<std::string_view>("not on the list"));
}

TEST(ServerConnect, Refusal311IsAReturnCodeWithoutProperties) {  // 3.2.2.3
    ServerDriver server({}, ProtocolVersion::V311);
    server.send_connect(connect_packet(ProtocolVersion::V311));
    server.endpoint.refuse(ReasonCode::BadUserNameOrPassword, "bad password", "elsewhere:1883");
    const Drained drained = server.drain();
    ASSERT_EQ(drained.sent.size(), 1u);
    std::string raw;
    protocol::encode(drained.sent[0], ProtocolVersion::V311, raw);
    EXPECT_EQ(raw, std::string("\x20\x02\x00\x04", 4));  // return code 4
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ConnectRefused);
}

TEST(ServerConnect, ConnectTimeoutBeforeAnyConnect) {
    ServerSettings settings;
    settings.connect_timeout = 5s;
    ServerDriver server(settings);
    server.now += 5s;
    EXPECT_TRUE(server.tick().events.empty());
    server.now += 1ms;
    const Drained drained = server.tick();
    EXPECT_TRUE(drained.sent.empty());
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ConnectTimeout);
    EXPECT_FALSE(ended.publish_will);
    EXPECT_TRUE(server.endpoint.ended());
}

TEST(ServerConnect, ConnectTimeoutWhileTheEmbedderHasNotAnswered) {
    ServerSettings settings;
    settings.connect_timeout = 5s;
    ServerDriver server(settings);
    server.send_connect(connect_packet());
    server.now += 6s;
    EXPECT_EQ(server.tick().one<ConnectionEnded>().cause, Cause::ConnectTimeout);
}

TEST(ServerConnect, AcceptAfterTheConnectTimeoutSendsNothing) {
    // The embedder answered too late: the connection is over and stays so.
    ServerSettings settings;
    settings.connect_timeout = 5s;
    ServerDriver server(settings);
    server.send_connect(connect_packet());
    server.now += 6s;
    server.tick();
    EXPECT_TRUE(server.accept(connect_packet()).sent.empty());
    EXPECT_FALSE(server.accepted);
    EXPECT_TRUE(server.endpoint.ended());
}

TEST(ServerConnect, NoConnectTimeoutOnceConnected) {
    ServerSettings settings;
    settings.connect_timeout = 5s;
    ServerDriver server(settings);
    server.connect(connect_packet(ProtocolVersion::V5, 0));
    server.now += 60s;
    EXPECT_TRUE(server.tick().events.empty());
    EXPECT_TRUE(server.endpoint.connected());
}

TEST(ServerConnect, SecondConnectIsAProtocolError) {  // [MQTT-3.1.0-2]
    ServerDriver server;
    server.connect();
    const Drained drained = server.feed(connect_packet());
    EXPECT_TRUE(drained.all<ConnectReceived>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::ProtocolError);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ProtocolViolation);
    EXPECT_TRUE(ended.publish_will);
}

TEST(ServerConnect, NothingIsReadWhileConnecting) {
    // The embedder has the CONNECT: what follows waits in its buffer until accept().
    ServerDriver server;
    const std::string connect = encoded(connect_packet(), ProtocolVersion::V5);
    const std::string ping = encoded(protocol::Pingreq{}, ProtocolVersion::V5);
    EXPECT_EQ(server.receive(connect + ping), connect.size());
    server.drain().one<ConnectReceived>();
    EXPECT_EQ(server.receive(ping), 0u);
    EXPECT_TRUE(server.drain().sent.empty());
    server.accept(connect_packet());
    EXPECT_EQ(server.receive(ping), ping.size());
    EXPECT_EQ(server.drain().sent_types(), std::vector<PacketType>{PacketType::Pingresp});
}

TEST(ServerConnect, OverTheServersMaximumPacketSizeBeforeConnect) {
    // Known from the fixed header alone [MQTT-3.2.2-15 for the client's side].
    ServerSettings settings;
    settings.capabilities.maximum_packet_size = 20;
    ServerDriver server(settings);
    protocol::Connect connect = connect_packet(ProtocolVersion::V5, 60, std::string(40, 'c'));
    server.receive(encoded(connect, ProtocolVersion::V5).substr(0, 2));
    const Drained drained = server.drain();
    EXPECT_TRUE(drained.sent.empty());
    EXPECT_EQ(drained.one<ConnectionEnded>().reason, ReasonCode::PacketTooLarge);
}

TEST(ServerConnect, AdoptConnectLeavesTheEndpointReadyToAccept) {
    // The worker that takes the connection over never read the CONNECT itself.
    ServerDriver server;
    protocol::Connect connect = connect_packet();
    connect.properties.add_number(PropertyId::MaximumPacketSize, 4);
    server.endpoint.adopt_connect(connect, server.now);
    EXPECT_EQ(server.endpoint.phase(), ServerEndpoint::Phase::Connecting);
    EXPECT_EQ(server.endpoint.version(), ProtocolVersion::V5);
    EXPECT_EQ(server.endpoint.peer().maximum_packet_size, 4u);
    EXPECT_TRUE(server.drain().events.empty());
}

TEST(ServerConnect, TakenOverConnectionIsAcceptedAndReads) {
    // adopt_connect() then accept(): the CONNACK goes out and packets are read as usual.
    ServerDriver server;
    protocol::Connect connect = connect_packet();
    server.endpoint.adopt_connect(connect, server.now);
    EXPECT_EQ(server.accept(connect).sent_one<protocol::Connack>().reason, ReasonCode::Success);
    EXPECT_TRUE(server.endpoint.connected());
    EXPECT_EQ(server.feed(protocol::Pingreq{}).sent_types(),
              std::vector<PacketType>{PacketType::Pingresp});
}

TEST(ServerConnect, Connack311CarriesNoAssignedClientIdentifier) {
    // 3.1.1 has no properties: an id the server chose is its own affair.
    ServerDriver server({}, ProtocolVersion::V311);
    ConnectAccepted terms;
    terms.assigned_client_id = "auto-1";
    const Drained drained = server.connect(connect_packet(ProtocolVersion::V311, 60, ""), terms);
    ASSERT_EQ(drained.sent.size(), 1u);
    std::string raw;
    protocol::encode(drained.sent[0], ProtocolVersion::V311, raw);
    EXPECT_EQ(raw, std::string("\x20\x02\x00\x00", 4));
}

}  // namespace
}  // namespace petrel::connection::server_testing
