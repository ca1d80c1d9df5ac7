// Client role: CONNECT out, CONNACK in, refusal and the CONNACK's terms.
#include "client_test_support.hpp"

namespace petrel::connection::testing {
namespace {

using protocol::PropertyId;

TEST(ClientConnect, Mqtt5ConnectCarriesOptionsAndOurLimits) {
    ClientDriver client;
    ClientOptions with = options();
    with.clean_start = false;
    with.session_expiry = 3600;
    with.username = "user";
    with.password = "secret";
    with.receive_maximum = 10;
    with.maximum_packet_size = 4096;
    with.topic_alias_maximum = 5;
    with.will = protocol::Will{"bridge/state", protocol::make_payload("0"), 1, true, {}};
    const Drained started = client.start(with);
    ASSERT_EQ(started.sent.size(), 1u);
    const auto& connect = std::get<protocol::Connect>(started.sent[0]);
    EXPECT_EQ(connect.version, ProtocolVersion::V5);
    EXPECT_EQ(connect.client_id, "bridge-1");
    EXPECT_FALSE(connect.clean_start);
    EXPECT_EQ(connect.keep_alive, 30);
    EXPECT_EQ(connect.username, "user");
    EXPECT_EQ(connect.password, "secret");
    ASSERT_TRUE(connect.will);
    EXPECT_EQ(connect.will->topic, "bridge/state");
    EXPECT_TRUE(connect.will->retain);
    EXPECT_EQ(connect.properties.number(PropertyId::SessionExpiryInterval), 3600u);
    EXPECT_EQ(connect.properties.number(PropertyId::ReceiveMaximum), 10u);
    EXPECT_EQ(connect.properties.number(PropertyId::MaximumPacketSize), 4096u);
    EXPECT_EQ(connect.properties.number(PropertyId::TopicAliasMaximum), 5u);
    EXPECT_TRUE(started.events.empty());
    EXPECT_FALSE(client.endpoint.connected());
}

TEST(ClientConnect, Mqtt311ConnectHasNoProperties) {
    ClientDriver client(ProtocolVersion::V311);
    ClientOptions with = options(ProtocolVersion::V311);
    with.session_expiry = 60;
    with.receive_maximum = 10;
    const Drained started = client.start(with);
    ASSERT_EQ(started.sent.size(), 1u);
    const auto& connect = std::get<protocol::Connect>(started.sent[0]);
    EXPECT_EQ(connect.version, ProtocolVersion::V311);
    EXPECT_TRUE(connect.properties.empty());

    const Drained connected = client.feed(protocol::Connack{});
    const Connected event = connected.one<Connected>();
    EXPECT_FALSE(event.session_present);
    EXPECT_EQ(event.server.receive_maximum, 0xFFFF);  // the defaults a 3.1.1 server implies
    EXPECT_EQ(event.server.maximum_qos, 2);
    EXPECT_TRUE(event.server.retain_available);
    EXPECT_EQ(event.keep_alive, 30);
    EXPECT_TRUE(client.endpoint.connected());
}

TEST(ClientConnect, Mqtt5ConnackTermsAreReported) {
    ClientDriver client;
    protocol::Properties properties;
    properties.add_number(PropertyId::ReceiveMaximum, 7);
    properties.add_number(PropertyId::MaximumPacketSize, 2000);
    properties.add_number(PropertyId::TopicAliasMaximum, 3);
    properties.add_number(PropertyId::MaximumQos, 1);
    properties.add_number(PropertyId::RetainAvailable, 0);
    properties.add_text(PropertyId::AssignedClientIdentifier, "auto-42");
    properties.add_number(PropertyId::ServerKeepAlive, 15);
    const Drained connected = client.connect(connack_with(properties));
    const Connected event = connected.one<Connected>();
    EXPECT_EQ(event.server.receive_maximum, 7);
    EXPECT_EQ(event.server.maximum_packet_size, 2000u);
    EXPECT_EQ(event.server.topic_alias_maximum, 3);
    EXPECT_EQ(event.server.maximum_qos, 1);
    EXPECT_FALSE(event.server.retain_available);
    EXPECT_EQ(event.assigned_client_id, "auto-42");
    EXPECT_EQ(event.keep_alive, 15);
    EXPECT_EQ(event.properties, properties);
    EXPECT_EQ(client.endpoint.outbound().window(), 7u);
}

TEST(ClientConnect, Mqtt5RefusalIsReportedWithItsReasonString) {
    ClientDriver client;
    client.start(options());
    protocol::Connack refusal{false, ReasonCode::NotAuthorized, {}};
    refusal.properties.add_text(PropertyId::ReasonString, "go away");
    const Drained refused = client.feed(refusal);
    const ConnectRefused event = refused.one<ConnectRefused>();
    EXPECT_EQ(event.reason, ReasonCode::NotAuthorized);
    EXPECT_EQ(event.why, "go away");
    EXPECT_TRUE(refused.sent.empty());  // the server closes; we send nothing more
    EXPECT_FALSE(client.endpoint.connected());
}

TEST(ClientConnect, Mqtt311RefusalMapsTheReturnCode) {
    ClientDriver client(ProtocolVersion::V311);
    client.start(options(ProtocolVersion::V311));
    // Return code 4: bad user name or password.
    const Drained refused =
        client.feed(protocol::Connack{false, ReasonCode::BadUserNameOrPassword, {}});
    EXPECT_EQ(refused.one<ConnectRefused>().reason, ReasonCode::BadUserNameOrPassword);
}

TEST(ClientConnect, SessionPresentAfterCleanStartIsAProtocolError) {
    ClientDriver client;
    const Drained connected = client.connect(protocol::Connack{true, ReasonCode::Success, {}});
    EXPECT_TRUE(connected.all<Connected>().empty());
    ASSERT_EQ(connected.sent_of<protocol::Disconnect>().size(), 1u);
    EXPECT_EQ(connected.sent_of<protocol::Disconnect>()[0].reason, ReasonCode::ProtocolError);
    EXPECT_EQ(connected.one<Closed>().cause, Closed::Cause::ProtocolViolation);
}

TEST(ClientConnect, NoConnackWithinTheTimeoutCloses) {
    ClientDriver client;
    ClientOptions with = options();
    with.connect_timeout = 5s;
    client.start(with);
    client.now += 4s;
    EXPECT_TRUE(client.tick().events.empty());
    client.now += 1s;
    const Drained timed_out = client.tick();
    EXPECT_EQ(timed_out.one<Closed>().cause, Closed::Cause::ConnectTimeout);
    EXPECT_TRUE(timed_out.sent.empty());
}

TEST(ClientConnect, ConnackInPiecesIsReadWhenWhole) {
    ClientDriver client;
    client.start(options());
    std::string bytes;
    protocol::encode(protocol::Connack{}, ProtocolVersion::V5, bytes);
    client.feed_bytes(bytes.substr(0, 2));
    EXPECT_TRUE(client.drain().events.empty());
    client.feed_bytes(bytes.substr(2));
    client.drain().one<Connected>();
}

TEST(ClientConnect, DisconnectSendsItsReason) {
    ClientDriver client;
    client.connect();
    client.endpoint.disconnect(ReasonCode::DisconnectWithWillMessage, client.now);
    const Drained closed = client.drain();
    ASSERT_EQ(closed.sent_of<protocol::Disconnect>().size(), 1u);
    EXPECT_EQ(closed.sent_of<protocol::Disconnect>()[0].reason,
              ReasonCode::DisconnectWithWillMessage);
    EXPECT_EQ(closed.one<Closed>().cause, Closed::Cause::Requested);
    EXPECT_FALSE(client.endpoint.connected());
}

TEST(ClientConnect, ServerDisconnectClosesWithItsReason) {
    ClientDriver client;
    client.connect();
    protocol::Disconnect disconnect{ReasonCode::ServerShuttingDown, {}};
    disconnect.properties.add_text(PropertyId::ReasonString, "maintenance");
    const Drained closed = client.feed(disconnect);
    const Closed event = closed.one<Closed>();
    EXPECT_EQ(event.cause, Closed::Cause::ServerDisconnect);
    EXPECT_EQ(event.reason, ReasonCode::ServerShuttingDown);
    EXPECT_EQ(event.why, "maintenance");
    EXPECT_TRUE(closed.sent.empty());
}

}  // namespace
}  // namespace petrel::connection::testing
