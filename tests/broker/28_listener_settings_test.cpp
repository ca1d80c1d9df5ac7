// Listener-scoped settings through the real broker: per_listener_settings (each listener
// its own allow_anonymous, password_file and acl_file), mount_point (each listener's
// clients in their own topic tree), and the ACL of an offline persistent session after a
// restart (the session remembers its user and listener).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "petrel/auth/password_file.hpp"
#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUser = "alice";
constexpr const char* kPassword = "correct horse";

BrokerOptions own_listeners(std::string config) {
    BrokerOptions options;
    options.extra_config = std::move(config);
    options.default_listener = false;
    return options;
}

// A v5 client on `port` as `username` (none: anonymous); the CONNACK's reason.
ReasonCode connect_as(RawClient& client, const std::string& id,
                      std::optional<std::string> username = std::nullopt,
                      std::optional<std::string> password = std::nullopt) {
    protocol::Connect connect = client.connect_packet(id);
    connect.username = std::move(username);
    connect.password = std::move(password);
    const auto connack = client.connect(connect);
    return connack ? connack->reason.code() : ReasonCode::UnspecifiedError;
}

class PerListenerSettingsTest : public ::testing::Test {
  protected:
    PerListenerSettingsTest() {
        write_file(dir_.path() / "open.acl", "topic readwrite open/#\n");
        const auth::UserRecord alice{kUser, auth::make_password_hash(kPassword),
                                     auth::make_scram_verifier(kPassword)};
        write_file(dir_.path() / "users", auth::format_user_line(alice) + "\n");
        broker_ = std::make_unique<BrokerProcess>(
            own_listeners("threads 2\nper_listener_settings true\n"
                          "listener 0 127.0.0.1\nallow_anonymous true\nacl_file " +
                          (dir_.path() / "open.acl").string() +
                          "\n"
                          "listener 0 127.0.0.1\nallow_anonymous false\npassword_file " +
                          (dir_.path() / "users").string() + "\n"));
    }

    std::uint16_t open_port() const { return broker_->ports().at(0); }
    std::uint16_t closed_port() const { return broker_->ports().at(1); }

    TempDir dir_;
    std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(PerListenerSettingsTest, EachListenerAuthenticatesByItsOwnSettings) {
    ASSERT_EQ(broker_->ports().size(), 2U);
    RawClient anonymous_open(open_port(), ProtocolVersion::V5);
    EXPECT_EQ(connect_as(anonymous_open, "anon-open"), ReasonCode::Success);
    RawClient anonymous_closed(closed_port(), ProtocolVersion::V5);
    EXPECT_EQ(connect_as(anonymous_closed, "anon-closed"), ReasonCode::NotAuthorized);
    RawClient wrong(closed_port(), ProtocolVersion::V5);
    EXPECT_EQ(connect_as(wrong, "wrong", kUser, "guess"), ReasonCode::BadUserNameOrPassword);
    RawClient alice(closed_port(), ProtocolVersion::V5);
    EXPECT_EQ(connect_as(alice, "alice", kUser, kPassword), ReasonCode::Success);
    // The open listener has no password file: any user name is taken as given.
    RawClient guest(open_port(), ProtocolVersion::V5);
    EXPECT_EQ(connect_as(guest, "guest", "anyone", "anything"), ReasonCode::Success);
}

TEST_F(PerListenerSettingsTest, EachListenerAuthorizesByItsOwnAcl) {
    RawClient watcher(open_port(), ProtocolVersion::V5);
    ASSERT_EQ(connect_as(watcher, "watcher"), ReasonCode::Success);
    auto suback = watcher.subscribe({{"open/#", {1}}, {"closed/#", {1}}});
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons.at(0), ReasonCode::GrantedQos1);
    EXPECT_EQ(suback->reasons.at(1), ReasonCode::NotAuthorized);  // not in open.acl

    RawClient alice(closed_port(), ProtocolVersion::V5);
    ASSERT_EQ(connect_as(alice, "alice", kUser, kPassword), ReasonCode::Success);
    ASSERT_TRUE(alice.subscribe("closed/#", 1));  // no ACL on this listener
    ASSERT_TRUE(alice.publish("open/news", "from closed", 1));
    auto got = watcher.receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "open/news");

    // The open listener's ACL applies to its clients' PUBLISHes.
    ASSERT_TRUE(watcher.send(make_publish("closed/x", "denied", 1, false, 9)));
    auto puback = watcher.expect<protocol::Puback>();
    ASSERT_TRUE(puback);
    EXPECT_EQ(puback->reason, ReasonCode::NotAuthorized);
    alice.expect_nothing(300ms);
}

// Without per_listener_settings: the user an offline persistent session connected as
// still decides what it may receive after a restart. (Before the session record kept the
// user name, the recovered session counted as anonymous and lost these messages.)
TEST(OfflineSessionAclTest, UserRulesStillApplyAfterARestart) {
    TempDir dir;
    write_file(dir.path() / "acl", "topic write inbox/#\nuser alice\ntopic read inbox/#\n");
    BrokerProcess broker("threads 2\nacl_file " + (dir.path() / "acl").string() + "\n");
    for (const ProtocolVersion version : {ProtocolVersion::V311, ProtocolVersion::V5}) {
        SCOPED_TRACE(version_name(version));
        const std::string id = std::string("alice-") + std::string(version_name(version));
        {
            RawClient alice(broker.port(), version);
            protocol::Connect connect = alice.connect_packet(id, false);
            connect.username = kUser;
            auto connack = alice.connect(connect);
            ASSERT_TRUE(connack && connack->reason == ReasonCode::Success);
            auto suback = alice.subscribe("inbox/#", 1);
            ASSERT_TRUE(suback);
            ASSERT_EQ(suback->reasons.at(0), ReasonCode::GrantedQos1);
            alice.disconnect();
        }
        broker.restart();
        {
            RawClient publisher(broker.port(), version);
            ASSERT_TRUE(publisher.connect("publisher"));
            ASSERT_TRUE(publisher.publish("inbox/1", "while away", 1));
            publisher.disconnect();
        }
        RawClient alice(broker.port(), version);
        protocol::Connect connect = alice.connect_packet(id, false);
        connect.username = kUser;
        auto connack = alice.connect(connect);
        ASSERT_TRUE(connack && connack->session_present);
        auto got = alice.receive_publish();
        ASSERT_TRUE(got);
        EXPECT_EQ(got->topic, "inbox/1");
        EXPECT_EQ(payload_of(*got), "while away");
    }
}

class MountPointTest : public ::testing::Test {
  protected:
    MountPointTest()
        : broker_(own_listeners("threads 2\nlistener 0 127.0.0.1\nmount_point site-a/\n"
                                "listener 0 127.0.0.1\n")) {}

    std::unique_ptr<RawClient> on(std::uint16_t port, const std::string& id,
                                  std::optional<protocol::Will> will = std::nullopt) {
        auto client = std::make_unique<RawClient>(port, ProtocolVersion::V5);
        protocol::Connect connect = client->connect_packet(id);
        connect.will = std::move(will);
        auto connack = client->connect(connect);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << id;
        return client;
    }
    std::uint16_t mounted() const { return broker_.ports().at(0); }
    std::uint16_t plain() const { return broker_.ports().at(1); }

    BrokerProcess broker_;
};

TEST_F(MountPointTest, ClientsSeeOnlyTheirTreeWithoutThePrefix) {
    auto inside = on(mounted(), "inside");
    ASSERT_TRUE(inside->subscribe("x/#", 1));
    auto outside = on(plain(), "outside");
    ASSERT_TRUE(outside->subscribe("#", 1));

    // From the plain listener into the mounted tree: the mounted client sees it unprefixed.
    ASSERT_TRUE(outside->publish("site-a/x/1", "in", 1));
    auto got = inside->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "x/1");
    got = outside->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "site-a/x/1");

    // From the mounted listener: prefixed for everyone else.
    ASSERT_TRUE(inside->publish("x/2", "retained", 1, true));
    got = inside->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "x/2");
    got = outside->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "site-a/x/2");

    // The same topic outside the mount point is another topic.
    ASSERT_TRUE(outside->publish("x/3", "elsewhere", 1));
    ASSERT_TRUE(outside->receive_publish());
    inside->expect_nothing(300ms);

    // Retained messages on subscribe come without the prefix too.
    auto late = on(mounted(), "late");
    ASSERT_TRUE(late->subscribe("#", 1));
    got = late->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "x/2");
    EXPECT_TRUE(got->retain);
    late->expect_nothing(300ms);  // not site-a-less x/3, nor anything else

    // Unsubscribing names the filter as the client wrote it.
    auto unsuback = inside->unsubscribe({"x/#"});
    ASSERT_TRUE(unsuback);
    EXPECT_EQ(unsuback->reasons.at(0), ReasonCode::Success);
}

TEST_F(MountPointTest, WillsAndSharedSubscriptionsLiveUnderTheMountPoint) {
    auto member = on(mounted(), "member");
    ASSERT_TRUE(member->subscribe("$share/g/status/#", 1));
    auto outside = on(plain(), "outside");
    ASSERT_TRUE(outside->subscribe("site-a/status/#", 1));

    protocol::Will will;
    will.topic = "status/device";
    will.payload = protocol::make_payload("gone");
    will.qos = 1;
    auto device = on(mounted(), "device", will);
    device->close();  // no DISCONNECT: the will is published

    auto got = outside->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "site-a/status/device");
    got = member->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "status/device");
    EXPECT_EQ(payload_of(*got), "gone");
}

}  // namespace
}  // namespace petrel::test
