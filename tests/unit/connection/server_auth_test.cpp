// Server role: enhanced authentication (4.12), the AUTH exchange at CONNECT and
// re-authentication on a live connection.
#include "server_test_support.hpp"

namespace petrel::connection::server_testing {
namespace {

constexpr const char* kMethod = "SCRAM-SHA-256";

protocol::Connect connect_with_method(std::string data = "client-first") {
    protocol::Connect connect = connect_packet();
    connect.properties.add_text(PropertyId::AuthenticationMethod, kMethod);
    connect.properties.add_text(PropertyId::AuthenticationData, std::move(data));
    return connect;
}

// A CONNECT with a method, its exchange begun and a first challenge sent.
struct Authenticating {
    ServerDriver server;
    protocol::Connect connect = connect_with_method();

    Authenticating() {
        server.send_connect(connect);
        server.endpoint.begin_authentication(kMethod);
        server.endpoint.continue_authentication("server-first");
        server.drain();
    }
};

// Connected after an exchange at CONNECT.
struct Authenticated : Authenticating {
    Authenticated() {
        server.endpoint.authenticated();
        ConnectAccepted terms;
        terms.authentication_method = kMethod;
        server.accept(connect, terms);
    }
};

TEST(ServerAuth, ChallengeIsAnAuthContinueWithTheMethod) {  // [MQTT-4.12.0-2]
    ServerDriver server;
    server.send_connect(connect_with_method());
    server.endpoint.begin_authentication(kMethod);
    EXPECT_EQ(server.endpoint.phase(), ServerEndpoint::Phase::Authenticating);
    server.endpoint.continue_authentication("server-first");
    const protocol::Auth auth = server.drain().sent_one<protocol::Auth>();
    EXPECT_EQ(auth.reason, ReasonCode::ContinueAuthentication);
    EXPECT_EQ(auth.properties.text(PropertyId::AuthenticationMethod),
              std::optional<std::string_view>(kMethod));
    EXPECT_EQ(auth.properties.text(PropertyId::AuthenticationData),
              std::optional<std::string_view>("server-first"));
}

TEST(ServerAuth, ClientAuthDuringConnectIsHandedOver) {  // [MQTT-4.12.0-3]
    Authenticating a;
    const Drained drained =
        a.server.feed(auth_packet(ReasonCode::ContinueAuthentication, kMethod, "client-final"));
    EXPECT_TRUE(drained.sent.empty());
    const AuthReceived received = drained.one<AuthReceived>();
    EXPECT_EQ(received.data, "client-final");
    EXPECT_TRUE(received.connecting);
    EXPECT_FALSE(received.reauthenticate);
}

TEST(ServerAuth, SuccessfulExchangeEndsInConnackWithMethodAndData) {  // [MQTT-4.12.0-5]
    Authenticating a;
    a.server.feed(auth_packet(ReasonCode::ContinueAuthentication, kMethod, "client-final"));
    a.server.endpoint.authenticated();
    EXPECT_EQ(a.server.endpoint.phase(), ServerEndpoint::Phase::Connecting);
    ConnectAccepted terms;
    terms.authentication_method = kMethod;
    terms.authentication_data = "server-final";
    const protocol::Connack connack =
        a.server.accept(a.connect, terms).sent_one<protocol::Connack>();
    EXPECT_EQ(connack.reason, ReasonCode::Success);
    EXPECT_EQ(connack.properties.text(PropertyId::AuthenticationMethod),
              std::optional<std::string_view>(kMethod));
    EXPECT_EQ(connack.properties.text(PropertyId::AuthenticationData),
              std::optional<std::string_view>("server-final"));
    EXPECT_TRUE(a.server.endpoint.connected());
}

TEST(ServerAuth, OnlyAuthIsReadWhileAuthenticating) {  // [MQTT-3.1.2-30] 4.12
    Authenticating a;
    const Drained drained = a.server.feed(publish_packet("a/b"));
    EXPECT_TRUE(drained.all<PublishReceived>().empty());
    // No CONNACK yet: the refusal carries the reason.
    EXPECT_EQ(drained.sent_one<protocol::Connack>().reason, ReasonCode::ProtocolError);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ConnectRefused);
    EXPECT_FALSE(ended.publish_will);
}

TEST(ServerAuth, DisconnectWhileAuthenticatingEndsTheConnection) {
    // [MQTT-3.1.2-30]: until CONNACK a client that chose a method may send AUTH *or
    // DISCONNECT*; a DISCONNECT is no violation and needs no CONNACK.
    Authenticating a;
    const Drained drained = a.server.feed(protocol::Disconnect{});
    EXPECT_TRUE(drained.sent.empty());
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ClientDisconnect);
    EXPECT_FALSE(ended.publish_will);
}

TEST(ServerAuth, WrongMethodWhileAuthenticatingIsRefused) {  // 4.12
    Authenticating a;
    const Drained drained =
        a.server.feed(auth_packet(ReasonCode::ContinueAuthentication, "PLAIN", "x"));
    EXPECT_TRUE(drained.all<AuthReceived>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Connack>().reason, ReasonCode::ProtocolError);
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ConnectRefused);
}

TEST(ServerAuth, AuthWithoutMethodWhileAuthenticatingIsRefused) {
    Authenticating a;
    protocol::Auth auth;
    auth.reason = ReasonCode::ContinueAuthentication;
    const Drained drained = a.server.feed(auth);
    EXPECT_EQ(drained.sent_one<protocol::Connack>().reason, ReasonCode::ProtocolError);
    EXPECT_TRUE(a.server.endpoint.ended());
}

TEST(ServerAuth, ReauthenticateDuringConnectIsRefused) {
    // At CONNECT the client only continues the exchange: 0x18, never 0x19 [MQTT-4.12.0-3].
    Authenticating a;
    const Drained drained = a.server.feed(auth_packet(ReasonCode::ReAuthenticate, kMethod));
    EXPECT_TRUE(drained.all<AuthReceived>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Connack>().reason, ReasonCode::ProtocolError);
}

TEST(ServerAuth, EmbedderRefusesTheExchange) {
    Authenticating a;
    a.server.feed(auth_packet(ReasonCode::ContinueAuthentication, kMethod, "wrong-proof"));
    a.server.endpoint.refuse(ReasonCode::NotAuthorized, "proof did not verify");
    const Drained drained = a.server.drain();
    EXPECT_EQ(drained.sent_one<protocol::Connack>().reason, ReasonCode::NotAuthorized);
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ConnectRefused);
}

TEST(ServerAuth, ConnectTimeoutCoversTheExchange) {
    ServerSettings settings;
    settings.connect_timeout = 5s;
    ServerDriver server(settings);
    server.send_connect(connect_with_method());
    server.endpoint.begin_authentication(kMethod);
    server.now += 4s;
    server.feed(auth_packet(ReasonCode::ContinueAuthentication, kMethod, "slow"));
    server.now += 2s;
    EXPECT_EQ(server.tick().one<ConnectionEnded>().cause, Cause::ConnectTimeout);
}

TEST(ServerAuth, BeginAuthenticationAfterTheEndDoesNotReviveTheConnection) {
    // The embedder's answer to a CONNECT may come after the connect timeout ended it.
    ServerSettings settings;
    settings.connect_timeout = 5s;
    ServerDriver server(settings);
    server.send_connect(connect_with_method());
    server.now += 6s;
    EXPECT_EQ(server.tick().one<ConnectionEnded>().cause, Cause::ConnectTimeout);
    server.endpoint.begin_authentication(kMethod);
    EXPECT_TRUE(server.endpoint.ended());
    EXPECT_EQ(server.receive(encoded(auth_packet(ReasonCode::ContinueAuthentication, kMethod, "x"),
                                     ProtocolVersion::V5)),
              0u);
    EXPECT_TRUE(server.drain().events.empty());
}

TEST(ServerAuth, AuthWhenNoMethodWasChosenIsAProtocolError) {  // 4.12
    ServerDriver server;
    server.connect();
    const Drained drained = server.feed(auth_packet(ReasonCode::ReAuthenticate, kMethod));
    EXPECT_TRUE(drained.all<AuthReceived>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::ProtocolError);
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ProtocolViolation);
}

TEST(ServerAuth, ReauthenticationExchange) {  // 4.12.1
    Authenticated a;
    ServerDriver& server = a.server;
    const AuthReceived first =
        server.feed(auth_packet(ReasonCode::ReAuthenticate, kMethod, "again-first"))
            .one<AuthReceived>();
    EXPECT_TRUE(first.reauthenticate);
    EXPECT_FALSE(first.connecting);
    EXPECT_EQ(first.data, "again-first");

    server.endpoint.continue_authentication("challenge");
    EXPECT_EQ(server.drain().sent_one<protocol::Auth>().reason, ReasonCode::ContinueAuthentication);

    const AuthReceived second =
        server.feed(auth_packet(ReasonCode::ContinueAuthentication, kMethod, "again-final"))
            .one<AuthReceived>();
    EXPECT_FALSE(second.reauthenticate);
    EXPECT_FALSE(second.connecting);
    EXPECT_EQ(second.data, "again-final");

    server.endpoint.reauthenticated("done");
    const protocol::Auth success = server.drain().sent_one<protocol::Auth>();
    EXPECT_EQ(success.reason, ReasonCode::Success);
    EXPECT_EQ(success.properties.text(PropertyId::AuthenticationMethod),
              std::optional<std::string_view>(kMethod));
    EXPECT_EQ(success.properties.text(PropertyId::AuthenticationData),
              std::optional<std::string_view>("done"));
    EXPECT_TRUE(server.endpoint.connected());
}

TEST(ServerAuth, ConnectionServesDuringReauthentication) {  // 4.12.1
    Authenticated a;
    a.server.feed(auth_packet(ReasonCode::ReAuthenticate, kMethod, "x"));
    EXPECT_EQ(a.server.feed(publish_packet("a/b")).one<PublishReceived>().publish.topic, "a/b");
    EXPECT_EQ(a.server.feed(protocol::Pingreq{}).sent_types(),
              std::vector<PacketType>{PacketType::Pingresp});
}

TEST(ServerAuth, ContinueOutsideAnExchangeIsAProtocolError) {
    Authenticated a;
    const Drained drained =
        a.server.feed(auth_packet(ReasonCode::ContinueAuthentication, kMethod, "x"));
    EXPECT_TRUE(drained.all<AuthReceived>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::ProtocolError);
    const ConnectionEnded ended = drained.one<ConnectionEnded>();
    EXPECT_EQ(ended.cause, Cause::ProtocolViolation);
    EXPECT_TRUE(ended.publish_will);
}

TEST(ServerAuth, ContinueAfterReauthenticationSucceededIsAProtocolError) {
    Authenticated a;
    a.server.feed(auth_packet(ReasonCode::ReAuthenticate, kMethod, "x"));
    a.server.endpoint.reauthenticated({});
    a.server.drain();
    const Drained drained =
        a.server.feed(auth_packet(ReasonCode::ContinueAuthentication, kMethod, "late"));
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::ProtocolError);
}

TEST(ServerAuth, ReauthenticationWithAnotherMethodIsAProtocolError) {  // [MQTT-4.12.1-1]
    Authenticated a;
    const Drained drained = a.server.feed(auth_packet(ReasonCode::ReAuthenticate, "PLAIN", "x"));
    EXPECT_TRUE(drained.all<AuthReceived>().empty());
    EXPECT_EQ(drained.sent_one<protocol::Disconnect>().reason, ReasonCode::ProtocolError);
}

TEST(ServerAuth, FailedReauthenticationIsAServerDisconnect) {  // [MQTT-4.12.1-2]
    Authenticated a;
    a.server.feed(auth_packet(ReasonCode::ReAuthenticate, kMethod, "bad"));
    a.server.endpoint.disconnect(ReasonCode::NotAuthorized, true, "re-authentication failed");
    const Drained drained = a.server.drain();
    const protocol::Disconnect disconnect = drained.sent_one<protocol::Disconnect>();
    EXPECT_EQ(disconnect.reason, ReasonCode::NotAuthorized);
    EXPECT_EQ(disconnect.properties.text(PropertyId::ReasonString),
              std::optional<std::string_view>("re-authentication failed"));
    EXPECT_EQ(drained.one<ConnectionEnded>().cause, Cause::ServerDisconnect);
}

}  // namespace
}  // namespace petrel::connection::server_testing
