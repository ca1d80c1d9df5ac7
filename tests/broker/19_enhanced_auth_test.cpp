// Enhanced authentication (v5 section 4.12) with SCRAM-SHA-256 against the users of a
// `password_file`: the AUTH exchange at CONNECT, its refusals, re-authentication on a live
// connection, the connect timeout over a stalled exchange; and the plain user name and
// password check of CONNECT against the same file (3.1.1 and 5). The authenticated client
// lives on worker 0 and its peers on worker 1.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "petrel/auth/password_file.hpp"
#include "support/broker_process.hpp"
#include "support/mosquitto_client.hpp"
#include "support/raw_client.hpp"
#include "support/scram_client.hpp"
#include "support/temp_dir.hpp"
#include "support/versions.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Auth;
using protocol::Connack;
using protocol::Connect;
using protocol::Disconnect;
using protocol::PropertyId;

constexpr unsigned kThreads = 2;
constexpr const char* kScram = "SCRAM-SHA-256";
constexpr const char* kUser = "alice";
constexpr const char* kPassword = "wonderland";

std::string auth_method(const protocol::Properties& properties) {
    return std::string(properties.text(PropertyId::AuthenticationMethod).value_or(""));
}
std::string auth_data(const protocol::Properties& properties) {
    return std::string(properties.text(PropertyId::AuthenticationData).value_or(""));
}

Auth auth_packet(protocol::AuthReason reason, const std::string& method, const std::string& data) {
    Auth auth;
    auth.reason = reason;
    auth.properties.add_text(PropertyId::AuthenticationMethod, method);
    auth.properties.add_text(PropertyId::AuthenticationData, data);
    return auth;
}

// "r=...,s=...,i=..." as attribute -> value.
std::map<char, std::string> scram_attributes(const std::string& message) {
    std::map<char, std::string> attributes;
    for (std::size_t at = 0; at < message.size();) {
        const std::size_t end = std::min(message.find(',', at), message.size());
        if (end - at >= 2 && message[at + 1] == '=') {
            attributes[message[at]] = message.substr(at + 2, end - at - 2);
        }
        at = end + 1;
    }
    return attributes;
}

class EnhancedAuthTest : public ::testing::Test {
  protected:
    // One password file for the whole binary: hashing costs ~0.1 s per user.
    static void SetUpTestSuite() {
        if (users_dir_) {
            return;
        }
        users_dir_ = new TempDir("petrel-users-");
        const auth::UserRecord alice{kUser, auth::make_password_hash(kPassword),
                                     auth::make_scram_verifier(kPassword)};
        write_file(password_file(), "# test users\n" + auth::format_user_line(alice) + "\n");
    }
    static std::string password_file() { return (users_dir_->path() / "users.txt").string(); }

    static std::string own_id(const std::string& stem) {
        return client_id_on_worker(stem, 0, kThreads);
    }
    static std::string peer_id(const std::string& stem) {
        return client_id_on_worker(stem, 1, kThreads);
    }

    // CONNECT with SCRAM's client-first; returns the server-first of the AUTH 0x18 that must
    // answer it [MQTT-4.12.0-2], naming the method [MQTT-4.12.0-5].
    std::optional<std::string> start_scram(RawClient& client, const std::string& id,
                                           const ScramClient& scram) {
        EXPECT_TRUE(client.send(method_connect(id, kScram, scram.client_first())));
        auto challenge = client.expect<Auth>();
        if (!challenge) {
            return std::nullopt;
        }
        EXPECT_EQ(challenge->reason, ReasonCode::ContinueAuthentication);
        EXPECT_EQ(auth_method(challenge->properties), kScram);
        return auth_data(challenge->properties);
    }

    // Sends AUTH 0x18 with the client-final for `server_first` [MQTT-4.12.0-3].
    void continue_scram(RawClient& client, ScramClient& scram, const std::string& server_first) {
        const auto client_final = scram.client_final(server_first);
        ASSERT_TRUE(client_final) << "bad server-first: " << server_first;
        ASSERT_TRUE(
            client.send(auth_packet(ReasonCode::ContinueAuthentication, kScram, *client_final)));
    }

    // A client on worker 0 that completed the SCRAM exchange as alice.
    std::unique_ptr<RawClient> scram_login(const std::string& id) {
        auto client = std::make_unique<RawClient>(broker_.port(), ProtocolVersion::V5);
        ScramClient scram(kUser, kPassword);
        const auto server_first = start_scram(*client, id, scram);
        EXPECT_TRUE(server_first);
        if (server_first) {
            continue_scram(*client, scram, *server_first);
        }
        auto connack = client->expect<Connack>();
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success);
        if (connack) {
            EXPECT_EQ(auth_method(connack->properties), kScram);
            // The server proves that it knows the verifier too.
            EXPECT_TRUE(scram.verify_server_final(auth_data(connack->properties)))
                << auth_data(connack->properties);
        }
        EXPECT_EQ(worker_in_log(broker_.log(), id), 0u);
        return client;
    }

    // A CONNECT that must end with a CONNACK carrying `reason`, then a closed connection.
    static void expect_refused(RawClient& client, ReasonCode reason) {
        auto connack = client.expect<Connack>();
        ASSERT_TRUE(connack);
        EXPECT_EQ(connack->reason, reason);
        EXPECT_TRUE(client.wait_closed());
    }

    static std::string config() {
        return "threads 2\npassword_file " + password_file() + "\nconnect_timeout 2\n";
    }

    static inline TempDir* users_dir_ = nullptr;  // lives until the process exits
    BrokerProcess broker_{config()};
};

// 4.12: CONNECT with the method, AUTH 0x18 both ways, CONNACK 0x00 with the method and the
// server-final; then the client publishes and subscribes normally, across workers.
TEST_F(EnhancedAuthTest, ScramExchangeSucceeds) {
    const std::string id = own_id("scram-ok");
    auto client = scram_login(id);
    const std::string other = peer_id("scram-peer");
    auto peer = connected(broker_.port(), ProtocolVersion::V5, other, true);
    EXPECT_EQ(worker_in_log(broker_.log(), other), 1u);

    ASSERT_TRUE(client->subscribe("auth/to-alice", 1));
    ASSERT_TRUE(peer->subscribe("auth/to-peer", 1));
    ASSERT_TRUE(peer->publish("auth/to-alice", "hello alice", 1));
    ASSERT_TRUE(client->publish("auth/to-peer", "hello peer", 1));
    auto to_client = client->receive_publish();
    ASSERT_TRUE(to_client);
    EXPECT_EQ(payload_of(*to_client), "hello alice");
    auto to_peer = peer->receive_publish();
    ASSERT_TRUE(to_peer);
    EXPECT_EQ(payload_of(*to_peer), "hello peer");
}

// [MQTT-4.12.0-4] a wrong proof is refused with 0x86 and the connection closed.
TEST_F(EnhancedAuthTest, WrongPasswordIsRefused) {
    RawClient client(broker_.port(), ProtocolVersion::V5);
    ScramClient scram(kUser, "looking-glass");
    const auto server_first = start_scram(client, own_id("scram-wrong"), scram);
    ASSERT_TRUE(server_first);
    continue_scram(client, scram, *server_first);
    expect_refused(client, ReasonCode::BadUserNameOrPassword);
}

// An unknown user gets a server-first of the same shape as a known one (nonce, a 16-byte
// salt, 4096 iterations), so the exchange does not tell which users exist; then 0x86.
TEST_F(EnhancedAuthTest, UnknownUserLooksLikeAKnownOne) {
    ScramClient known_scram(kUser, kPassword);
    RawClient known(broker_.port(), ProtocolVersion::V5);
    const auto known_first = start_scram(known, own_id("scram-known"), known_scram);
    ScramClient unknown_scram("mallory", kPassword);
    RawClient unknown(broker_.port(), ProtocolVersion::V5);
    const auto unknown_first = start_scram(unknown, own_id("scram-unknown"), unknown_scram);
    ASSERT_TRUE(known_first && unknown_first);

    const auto known_attributes = scram_attributes(*known_first);
    const auto unknown_attributes = scram_attributes(*unknown_first);
    for (const char key : {'r', 's', 'i'}) {
        ASSERT_TRUE(known_attributes.contains(key)) << *known_first;
        ASSERT_TRUE(unknown_attributes.contains(key)) << *unknown_first;
        EXPECT_EQ(known_attributes.at(key).size(), unknown_attributes.at(key).size()) << key;
    }
    EXPECT_EQ(unknown_attributes.at('i'), "4096");
    EXPECT_EQ(known_attributes.at('i'), "4096");
    EXPECT_EQ(unknown_attributes.at('s').size(), 24u);  // base64 of 16 bytes

    continue_scram(unknown, unknown_scram, *unknown_first);
    expect_refused(unknown, ReasonCode::BadUserNameOrPassword);
}

// [MQTT-4.12.0-1] an Authentication Method the server does not support: 0x8C and close.
TEST_F(EnhancedAuthTest, UnsupportedMethodIsRefused) {
    RawClient client(broker_.port(), ProtocolVersion::V5);
    ASSERT_TRUE(client.send(method_connect(own_id("plain-xyz"), "PLAIN-XYZ", "alice")));
    expect_refused(client, ReasonCode::BadAuthenticationMethod);
}

// [MQTT-3.1.2-30] only AUTH (or DISCONNECT) before the CONNACK: a PUBLISH or a SUBSCRIBE
// in the middle of the exchange refuses the connection with 0x82.
TEST_F(EnhancedAuthTest, PacketsOtherThanAuthBeforeConnackAreRefused) {
    {
        RawClient client(broker_.port(), ProtocolVersion::V5);
        ScramClient scram(kUser, kPassword);
        ASSERT_TRUE(start_scram(client, own_id("early-publish"), scram));
        ASSERT_TRUE(client.send(make_publish("auth/early", "too soon", 0)));
        expect_refused(client, ReasonCode::ProtocolError);
    }
    {
        RawClient client(broker_.port(), ProtocolVersion::V5);
        ScramClient scram(kUser, kPassword);
        ASSERT_TRUE(start_scram(client, own_id("early-subscribe"), scram));
        protocol::Subscribe subscribe;
        subscribe.packet_id = 1;
        subscribe.subscriptions.push_back({"auth/#", {}});
        ASSERT_TRUE(client.send(subscribe));
        expect_refused(client, ReasonCode::ProtocolError);
    }
}

// [MQTT-4.12.0-5] every AUTH carries the CONNECT's method: another name is a protocol error.
TEST_F(EnhancedAuthTest, AuthWithAnotherMethodIsRefused) {
    RawClient client(broker_.port(), ProtocolVersion::V5);
    ScramClient scram(kUser, kPassword);
    const auto server_first = start_scram(client, own_id("other-method"), scram);
    ASSERT_TRUE(server_first);
    const auto client_final = scram.client_final(*server_first);
    ASSERT_TRUE(client_final);
    ASSERT_TRUE(client.send(
        auth_packet(ReasonCode::ContinueAuthentication, "SCRAM-SHA-512", *client_final)));
    expect_refused(client, ReasonCode::ProtocolError);
}

// [MQTT-4.12.1-1] re-authentication: AUTH 0x19 + client-first, AUTH 0x18 server-first,
// AUTH 0x18 client-final, AUTH 0x00 server-final; messages flow both ways meanwhile.
TEST_F(EnhancedAuthTest, ReauthenticationSucceeds) {
    auto client = scram_login(own_id("reauth"));
    const std::string other = peer_id("reauth-peer");
    auto peer = connected(broker_.port(), ProtocolVersion::V5, other, true);
    EXPECT_EQ(worker_in_log(broker_.log(), other), 1u);
    ASSERT_TRUE(client->subscribe("auth/to-alice", 1));
    ASSERT_TRUE(peer->subscribe("auth/to-peer", 1));

    ScramClient scram(kUser, kPassword);
    ASSERT_TRUE(
        client->send(auth_packet(ReasonCode::ReAuthenticate, kScram, scram.client_first())));
    auto challenge = client->wait_for<Auth>();
    ASSERT_TRUE(challenge);
    EXPECT_EQ(challenge->reason, ReasonCode::ContinueAuthentication);
    EXPECT_EQ(auth_method(challenge->properties), kScram);

    // The connection keeps serving in the middle of the exchange (4.12.1).
    ASSERT_TRUE(peer->publish("auth/to-alice", "during re-auth", 1));
    auto to_client = client->receive_publish();
    ASSERT_TRUE(to_client);
    EXPECT_EQ(payload_of(*to_client), "during re-auth");
    ASSERT_TRUE(client->publish("auth/to-peer", "me too", 1));
    auto to_peer = peer->receive_publish();
    ASSERT_TRUE(to_peer);
    EXPECT_EQ(payload_of(*to_peer), "me too");

    continue_scram(*client, scram, auth_data(challenge->properties));
    auto done = client->wait_for<Auth>();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->reason, ReasonCode::Success);
    EXPECT_EQ(auth_method(done->properties), kScram);
    EXPECT_TRUE(scram.verify_server_final(auth_data(done->properties)));

    ASSERT_TRUE(peer->publish("auth/to-alice", "after re-auth", 1));
    auto after = client->receive_publish();
    ASSERT_TRUE(after);
    EXPECT_EQ(payload_of(*after), "after re-auth");
}

// [MQTT-4.12.1-2] a failed re-authentication: DISCONNECT 0x87, then the connection closes.
TEST_F(EnhancedAuthTest, ReauthenticationWithABadProofDisconnects) {
    auto client = scram_login(own_id("reauth-bad"));
    ScramClient scram(kUser, "not-the-password");
    ASSERT_TRUE(
        client->send(auth_packet(ReasonCode::ReAuthenticate, kScram, scram.client_first())));
    auto challenge = client->expect<Auth>();
    ASSERT_TRUE(challenge);
    continue_scram(*client, scram, auth_data(challenge->properties));
    auto disconnect = client->expect<Disconnect>();
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->reason, ReasonCode::NotAuthorized);
    EXPECT_TRUE(client->wait_closed());
}

// [MQTT-4.12.0-6] no method in CONNECT: no Authentication Method in CONNACK;
// [MQTT-4.12.0-7] the client then sends no AUTH: one is a protocol error (DISCONNECT 0x82).
TEST_F(EnhancedAuthTest, AuthWithoutEnhancedAuthenticationIsAProtocolError) {
    RawClient client(broker_.port(), ProtocolVersion::V5);
    auto connack = client.connect(own_id("no-method"));
    ASSERT_TRUE(connack && connack->reason == ReasonCode::Success);
    EXPECT_FALSE(connack->properties.contains(PropertyId::AuthenticationMethod));
    ScramClient scram(kUser, kPassword);
    ASSERT_TRUE(client.send(auth_packet(ReasonCode::ReAuthenticate, kScram, scram.client_first())));
    auto disconnect = client.expect<Disconnect>();
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->reason, ReasonCode::ProtocolError);
    EXPECT_TRUE(client.wait_closed());
}

// A client that stops answering in the middle of the exchange is closed after
// connect_timeout (2 s here), counted from the connection's start.
TEST_F(EnhancedAuthTest, StalledExchangeIsClosedAfterTheConnectTimeout) {
    const auto opened = std::chrono::steady_clock::now();
    RawClient client(broker_.port(), ProtocolVersion::V5);
    ScramClient scram(kUser, kPassword);
    ASSERT_TRUE(start_scram(client, own_id("stalled"), scram));
    EXPECT_TRUE(client.wait_closed(5s));
    const auto took = std::chrono::steady_clock::now() - opened;
    EXPECT_GE(took, 1500ms);
    EXPECT_LE(took, 4500ms);
}

// Without a password_file the broker has no method at all: 0x8C [MQTT-4.12.0-1].
TEST(EnhancedAuthWithoutUsersTest, EveryMethodIsRefused) {
    BrokerProcess broker("threads 2\n");
    RawClient client(broker.port(), ProtocolVersion::V5);
    ScramClient scram(kUser, kPassword);
    ASSERT_TRUE(client.send(method_connect("no-users", kScram, scram.client_first())));
    auto connack = client.expect<Connack>();
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::BadAuthenticationMethod);
    EXPECT_TRUE(client.wait_closed());
}

// --- a plain CONNECT with user name and password, checked against the same file, from
// libmosquitto (3.1.1 and 5) [MQTT-3.1.4-2] ---

class PasswordLoginTest : public EnhancedAuthTest,
                          public ::testing::WithParamInterface<ProtocolVersion> {
  protected:
    bool v5() const { return is_v5(GetParam()); }
    // 0x86 in MQTT 5, return code 4 in 3.1.1.
    int bad_credentials() const { return v5() ? 0x86 : 4; }

    MosquittoOptions login(const std::string& id, std::optional<std::string> username,
                           std::optional<std::string> password) const {
        MosquittoOptions options;
        options.client_id = id;
        options.v5 = v5();
        options.username = std::move(username);
        options.password = std::move(password);
        return options;
    }
};

TEST_P(PasswordLoginTest, RightPasswordIsAccepted) {
    const std::string id = own_id("login-ok");
    MosquittoClient client(login(id, kUser, kPassword));
    ASSERT_EQ(client.connect(broker_.port()), 0);
    EXPECT_EQ(worker_in_log(broker_.log(), id), 0u);

    const std::string other = peer_id("login-peer");
    auto peer = connected(broker_.port(), GetParam(), other, true);
    EXPECT_EQ(worker_in_log(broker_.log(), other), 1u);
    ASSERT_TRUE(peer->subscribe("login/#", 1));
    const int mid = client.publish("login/hello", "from alice", 1);
    ASSERT_TRUE(client.wait_published(mid));
    auto message = peer->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "from alice");
}

TEST_P(PasswordLoginTest, WrongOrMissingPasswordIsRefused) {
    MosquittoClient wrong(login(own_id("login-wrong"), kUser, "looking-glass"));
    EXPECT_EQ(wrong.connect(broker_.port()), bad_credentials());
    MosquittoClient missing(login(own_id("login-missing"), kUser, std::nullopt));
    EXPECT_EQ(missing.connect(broker_.port()), bad_credentials());
}

// An unknown user is refused exactly like a wrong password.
TEST_P(PasswordLoginTest, UnknownUserIsRefusedLikeAWrongPassword) {
    MosquittoClient unknown(login(own_id("login-unknown"), "mallory", kPassword));
    EXPECT_EQ(unknown.connect(broker_.port()), bad_credentials());
}

// allow_anonymous is true by default: no user name, no check.
TEST_P(PasswordLoginTest, NoUsernameIsAcceptedWhenAnonymousAllowed) {
    MosquittoClient anonymous(login(own_id("login-anonymous"), std::nullopt, std::nullopt));
    EXPECT_EQ(anonymous.connect(broker_.port()), 0);
}

// The password is checked off the event loop; what the client sent right after its CONNECT
// waits for the answer and is then processed in order, as if it had come afterwards.
TEST_P(PasswordLoginTest, PacketsPipelinedAfterConnectWaitForThePasswordCheck) {
    RawClient client(broker_.port(), GetParam());
    protocol::Connect connect = client.connect_packet(own_id("login-pipelined"));
    connect.username = kUser;
    connect.password = kPassword;
    protocol::Subscribe subscribe;
    subscribe.packet_id = 1;
    subscribe.subscriptions.push_back({"pipelined/t", {1}});
    std::string bytes;
    protocol::encode(connect, GetParam(), bytes);
    protocol::encode(subscribe, GetParam(), bytes);
    protocol::encode(make_publish("pipelined/t", "to myself", 1, false, 2), GetParam(), bytes);
    client.set_version(GetParam());
    ASSERT_TRUE(client.send_raw(bytes));
    auto connack = client.expect<protocol::Connack>();
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::Success);
    ASSERT_TRUE(client.wait_for<protocol::Suback>());
    ASSERT_TRUE(client.wait_for<protocol::Puback>());
    auto own = client.receive_publish();
    ASSERT_TRUE(own);
    EXPECT_EQ(payload_of(*own), "to myself");
}

INSTANTIATE_TEST_SUITE_P(Versions, PasswordLoginTest, both_versions(), VersionParamName{});

}  // namespace
}  // namespace petrel::test
