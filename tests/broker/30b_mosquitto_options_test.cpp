// Mosquitto's options that Petrel implements (issue 11), through the real broker:
// message_size_limit (v5 QoS 1/2: PUBACK/PUBREC 0x83; 3.1.1: acknowledged and dropped; QoS
// 0 dropped; the client stays; a will over it refuses the CONNECT), allow_zero_length_clientid,
// auto_id_prefix, clientid_prefixes, use_username_as_clientid, max_inflight_bytes,
// upgrade_outgoing_qos, check_retain_source, user, and the start-up warnings of the options Petrel
// only accepts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "petrel/auth/password_file.hpp"
#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PropertyId;

constexpr std::size_t kLimit = 100;

protocol::Publish publish_of(RawClient& client, const std::string& topic, std::size_t size,
                             Qos qos) {
    return make_publish(topic, std::string(size, 'x'), qos, false,
                        qos > 0 ? client.next_packet_id() : 0);
}

class MessageSizeLimitTest : public ::testing::TestWithParam<ProtocolVersion> {};

TEST_P(MessageSizeLimitTest, LargerPublishesAreNotForwardedAndTheClientStays) {
    const ProtocolVersion version = GetParam();
    BrokerProcess broker("persistence false\nmessage_size_limit " + std::to_string(kLimit) + "\n");
    RawClient subscriber(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(subscriber.connect("size-sub"));
    ASSERT_TRUE(subscriber.subscribe("size/#", 2));
    RawClient publisher(broker.port(), version);
    const std::string id = unique_client_id("size-pub");
    ASSERT_TRUE(publisher.connect(id));

    // QoS 0: dropped without a word.
    ASSERT_TRUE(publisher.send(publish_of(publisher, "size/q0", kLimit + 1, 0)));
    // QoS 1 and 2: v5 learns why (0x83 and a reason string); 3.1.1 cannot be told, so it is
    // acknowledged.
    const auto q1 = publish_of(publisher, "size/q1", kLimit + 1, 1);
    ASSERT_TRUE(publisher.send(q1));
    auto puback = publisher.wait_for<protocol::Puback>();
    ASSERT_TRUE(puback);
    EXPECT_EQ(puback->packet_id, q1.packet_id);
    EXPECT_EQ(puback->reason,
              is_v5(version) ? ReasonCode::ImplementationSpecificError : ReasonCode::Success);
    if (is_v5(version)) {
        EXPECT_EQ(puback->properties.text(PropertyId::ReasonString),
                  std::optional<std::string>("payload larger than message_size_limit"));
    }
    const auto q2 = publish_of(publisher, "size/q2", kLimit + 1, 2);
    ASSERT_TRUE(publisher.send(q2));
    auto pubrec = publisher.wait_for<protocol::Pubrec>();
    ASSERT_TRUE(pubrec);
    EXPECT_EQ(pubrec->reason,
              is_v5(version) ? ReasonCode::ImplementationSpecificError : ReasonCode::Success);
    if (!is_v5(version)) {
        protocol::Pubrel pubrel;
        pubrel.packet_id = q2.packet_id;
        ASSERT_TRUE(publisher.send(pubrel));
        auto pubcomp = publisher.wait_for<protocol::Pubcomp>();
        ASSERT_TRUE(pubcomp);
        EXPECT_EQ(pubcomp->reason, ReasonCode::Success);
    }
    // Exactly at the limit: forwarded; the connection is still there.
    ASSERT_TRUE(publisher.publish(publish_of(publisher, "size/ok", kLimit, 1)));
    auto got = subscriber.receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "size/ok");  // none of the larger ones came first
    subscriber.expect_nothing(200ms);
    EXPECT_FALSE(publisher.closed());
    EXPECT_TRUE(broker.wait_for_log("client '" + id + "'"));
    EXPECT_NE(broker.log().find("of 101 bytes dropped (message_size_limit 100)"), std::string::npos)
        << broker.log();
}

TEST_P(MessageSizeLimitTest, AWillOverTheLimitRefusesTheConnect) {
    const ProtocolVersion version = GetParam();
    BrokerProcess broker("persistence false\nmessage_size_limit " + std::to_string(kLimit) + "\n");
    RawClient client(broker.port(), version);
    protocol::Connect connect = client.connect_packet(unique_client_id("big-will"));
    connect.will = protocol::Will{};
    connect.will->topic = "will/big";
    connect.will->payload = protocol::make_payload(std::string(kLimit + 1, 'w'));
    auto connack = client.connect(connect);
    ASSERT_TRUE(connack);
    // As Mosquitto: v5 0x95 Packet too large, 3.1.1 return code 5 Not authorized.
    EXPECT_EQ(connack->reason,
              is_v5(version) ? ReasonCode::PacketTooLarge : ReasonCode::NotAuthorized);
    EXPECT_TRUE(client.wait_closed());
}

INSTANTIATE_TEST_SUITE_P(Versions, MessageSizeLimitTest, both_versions(), VersionParamName{});

TEST(ClientIdOptionsTest, ZeroLengthClientIdsRefusedWhenNotAllowed) {
    BrokerProcess broker("persistence false\nallow_zero_length_clientid false\n");
    RawClient v5(broker.port(), ProtocolVersion::V5);
    auto refused = v5.connect("");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->reason, ReasonCode::ClientIdentifierNotValid);  // 0x85
    RawClient v311(broker.port(), ProtocolVersion::V311);
    auto refused_v311 = v311.connect("");
    ASSERT_TRUE(refused_v311);
    EXPECT_EQ(refused_v311->reason, ReasonCode::ClientIdentifierNotValid);  // return code 2
    RawClient named(broker.port(), ProtocolVersion::V5);
    auto accepted = named.connect("has-an-id");
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->reason, ReasonCode::Success);
}

TEST(ClientIdOptionsTest, AssignedClientIdsStartWithAutoIdPrefix) {
    BrokerProcess broker("persistence false\nauto_id_prefix site7-\n");
    RawClient client(broker.port(), ProtocolVersion::V5);
    auto connack = client.connect("");
    ASSERT_TRUE(connack);
    ASSERT_EQ(connack->reason, ReasonCode::Success);
    const auto assigned = connack->properties.text(PropertyId::AssignedClientIdentifier);
    ASSERT_TRUE(assigned);
    EXPECT_TRUE(assigned->starts_with("site7-")) << *assigned;
    EXPECT_EQ(assigned->size(), std::string("site7-").size() + 16);
    ASSERT_TRUE(client.subscribe("auto/id", 0));
    ASSERT_TRUE(client.publish("auto/id", "mine"));
    EXPECT_TRUE(client.receive_publish());
}

TEST(ClientIdOptionsTest, ClientIdPrefixesAndUsernameAsClientId) {
    BrokerOptions options;
    options.extra_config =
        "persistence false\nallow_anonymous true\nclientid_prefixes dev-\n"
        "listener 0 127.0.0.1\nuse_username_as_clientid true\n";
    BrokerProcess broker(options);
    // First listener: the client id must start with dev-.
    RawClient outsider(broker.ports()[0], ProtocolVersion::V5);
    auto refused = outsider.connect("intruder");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->reason, ReasonCode::NotAuthorized);
    RawClient insider(broker.ports()[0], ProtocolVersion::V5);
    auto accepted = insider.connect("dev-1");
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->reason, ReasonCode::Success);
    // First listener has no use_username_as_clientid; on the second the user name is the
    // client id (which must then start with dev- too), and no user name is refused.
    RawClient anonymous(broker.ports()[1], ProtocolVersion::V5);
    auto no_name = anonymous.connect("dev-2");
    ASSERT_TRUE(no_name);
    EXPECT_EQ(no_name->reason, ReasonCode::NotAuthorized);
    RawClient named(broker.ports()[1], ProtocolVersion::V5);
    protocol::Connect connect = named.connect_packet("whatever");
    connect.username = "dev-sensor";
    auto as_user = named.connect(connect);
    ASSERT_TRUE(as_user);
    EXPECT_EQ(as_user->reason, ReasonCode::Success);
    EXPECT_TRUE(broker.wait_for_log("client 'dev-sensor'"));
}

TEST(MaxInflightBytesTest, NewFlightsWaitForAcknowledgementsOnceTheBytesAreInFlight) {
    // "ib/t" + 60 bytes = 64 counted: after two in flight (128 >= 100) the third waits.
    BrokerProcess broker("persistence false\nmax_inflight_bytes 100\n");
    RawClient subscriber(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(subscriber.connect("ib-sub"));
    ASSERT_TRUE(subscriber.subscribe("ib/t", 1));
    RawClient publisher(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(publisher.connect("ib-pub"));
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(publisher.publish("ib/t", std::to_string(i) + std::string(59, '.'), 1));
    }
    auto first = subscriber.receive_publish(kDefaultTimeout, false);
    auto second = subscriber.receive_publish(kDefaultTimeout, false);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(payload_of(*first)[0], '0');
    EXPECT_EQ(payload_of(*second)[0], '1');
    subscriber.expect_nothing(300ms);
    ASSERT_TRUE(subscriber.acknowledge(*first));
    auto third = subscriber.receive_publish(kDefaultTimeout, false);
    ASSERT_TRUE(third);
    EXPECT_EQ(payload_of(*third)[0], '2');
    subscriber.expect_nothing(300ms);
    ASSERT_TRUE(subscriber.acknowledge(*second));
    ASSERT_TRUE(subscriber.acknowledge(*third));
    auto fourth = subscriber.receive_publish();
    ASSERT_TRUE(fourth);
    EXPECT_EQ(payload_of(*fourth)[0], '3');
}

TEST(UpgradeOutgoingQosTest, DeliveriesTakeTheSubscriptionsQos) {
    BrokerProcess broker("upgrade_outgoing_qos true\n");
    RawClient live(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(live.connect("up-live"));
    ASSERT_TRUE(live.subscribe("up/#", 2));
    // A persistent 3.1.1 session, offline: the upgraded QoS 0 message is queued (and
    // stored) for it.
    {
        RawClient offline(broker.port(), ProtocolVersion::V311);
        ASSERT_TRUE(offline.connect("up-offline", false));
        ASSERT_TRUE(offline.subscribe("up/#", 1));
        offline.disconnect();
    }
    RawClient publisher(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(publisher.connect("up-pub"));
    ASSERT_TRUE(publisher.publish("up/q0", "low", 0));
    ASSERT_TRUE(publisher.publish("up/retained", "kept", 0, true));
    auto got = live.receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "up/q0");
    EXPECT_EQ(got->qos, 2);
    ASSERT_TRUE(live.receive_publish());

    RawClient back(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(back.connect("up-offline", false));
    auto queued = back.receive_publish();
    ASSERT_TRUE(queued);
    EXPECT_EQ(queued->topic, "up/q0");
    EXPECT_EQ(queued->qos, 1);

    // Retained messages on subscribe too.
    RawClient late(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(late.connect("up-late"));
    ASSERT_TRUE(late.subscribe("up/retained", 1));
    auto retained = late.receive_publish();
    ASSERT_TRUE(retained);
    EXPECT_EQ(retained->qos, 1);
    EXPECT_TRUE(retained->retain);
}

// check_retain_source: alice publishes a retained message while the ACL lets her; then
// the ACL takes her write access away (a new ACL file, read at the restart). With the
// option on (Mosquitto's default) her retained message is no longer delivered on
// subscribe; with it off it still is. The store keeps who published it across the restart.
void check_retain_source_after_acl_change(bool check, bool expect_delivered) {
    TempDir dir("petrel-retain-source-");
    const auto record = [](const char* user) {
        return auth::format_user_line(auth::UserRecord{user, auth::make_password_hash("pw", 1000),
                                                       auth::make_scram_verifier("pw")});
    };
    write_file(dir.path() / "users", record("alice") + "\n" + record("bob") + "\n");
    const auto acl = dir.path() / "acl";
    write_file(acl, "user alice\ntopic readwrite status/#\nuser bob\ntopic read status/#\n");
    BrokerProcess broker("log_level debug\nallow_anonymous false\npassword_file " +
                         (dir.path() / "users").string() + "\nacl_file " + acl.string() +
                         "\ncheck_retain_source " + (check ? "true" : "false") + "\n");
    const auto login = [&](const std::string& user, const std::string& id) {
        auto client = std::make_unique<RawClient>(broker.port(), ProtocolVersion::V5);
        protocol::Connect connect = client->connect_packet(id);
        connect.username = user;
        connect.password = "pw";
        const auto connack = client->connect(connect);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << user;
        return client;
    };
    {
        auto alice = login("alice", "alice-1");
        ASSERT_TRUE(alice->publish("status/door", "open", 1, true));
        auto bob = login("bob", "bob-1");
        ASSERT_TRUE(bob->subscribe("status/#", 1));
        EXPECT_TRUE(bob->receive_publish()) << "while alice may publish";
    }
    write_file(acl, "user alice\ntopic read status/#\nuser bob\ntopic read status/#\n");
    broker.restart();
    auto bob = login("bob", "bob-2");
    ASSERT_TRUE(bob->subscribe("status/#", 1));
    if (expect_delivered) {
        const auto got = bob->receive_publish();
        ASSERT_TRUE(got);
        EXPECT_EQ(payload_of(*got), "open");
    } else {
        bob->expect_nothing(500ms);
        EXPECT_TRUE(broker.wait_for_log("withheld: its publisher 'alice-1' may no longer"));
    }
}

TEST(CheckRetainSourceTest, OnAPublisherThatLostWriteAccessNoLongerSpeaksThroughIt) {
    check_retain_source_after_acl_change(true, false);
}

TEST(CheckRetainSourceTest, OffTheRetainedMessageIsDeliveredAsStored) {
    check_retain_source_after_acl_change(false, true);
}

TEST(MosquittoWarningsTest, AcceptedOptionsAreLoggedAsWarningsWithFileAndLine) {
    BrokerProcess broker(
        "persistence false\nautosave_interval 1800\nlog_dest syslog\nsocket_domain ipv4\n");
    const std::string config = broker.config_path().string();
    // The default listener is line 2 of the generated file: these are lines 4 to 6.
    EXPECT_TRUE(broker.wait_for_log("warning " + config + ":4: 'autosave_interval' has no effect"))
        << broker.log();
    EXPECT_NE(broker.log().find("warning " + config + ":5: 'log_dest' has no effect"),
              std::string::npos);
    EXPECT_NE(broker.log().find("warning " + config + ":6: 'socket_domain' has no effect"),
              std::string::npos);
    RawClient client(broker.port(), ProtocolVersion::V5);
    EXPECT_TRUE(client.connect("still-works"));
}

TEST(MosquittoWarningsTest, RefusedOptionsStopStartUpNamingTheLine) {
    TempDir dir;
    write_file(dir.path() / "bridge.conf",
               "listener 0 127.0.0.1\n# cloud bridge\nconnection cloud\naddress 10.0.0.1\n");
    const CommandResult result = run_petrel({"-c", (dir.path() / "bridge.conf").string()});
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("bridge.conf:3: 'connection' is not supported: it is a bridge "
                              "option, and bridges are not supported yet"),
              std::string::npos)
        << result.err;
}

// uid of `name`'s entry in /etc/passwd; -1 when there is none.
long uid_of(const std::string& name) {
    std::ifstream passwd("/etc/passwd");
    for (std::string line; std::getline(passwd, line);) {
        if (line.starts_with(name + ":")) {
            const auto first = line.find(':', name.size() + 1);
            return std::stol(line.substr(first + 1, line.find(':', first + 1) - first - 1));
        }
    }
    return -1;
}

// The "Uid:" line of /proc/PID/status: real, effective, saved and filesystem uid.
std::string uid_line(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.starts_with("Uid:")) {
            return line;
        }
    }
    return {};
}

TEST(UserOptionTest, StartedAsRootTheBrokerRunsAsTheNamedUserAndKeepsItsStore) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "only as root does 'user' change what the broker does";
    }
#ifdef PETREL_SANITIZED_BROKER
    // LeakSanitizer cannot trace a process that gave root up (it is no longer dumpable):
    // the broker started here runs the rest of the sanitizers without the leak check.
    const char* inherited = std::getenv("ASAN_OPTIONS");
    const std::string asan_options = inherited != nullptr ? inherited : "";
    ::setenv("ASAN_OPTIONS", (asan_options + ":detect_leaks=0").c_str(), 1);
#endif
    const long nobody = uid_of("nobody");
    ASSERT_GE(nobody, 0) << "no user 'nobody' on this machine";
    BrokerProcess broker("user nobody\n");
    ASSERT_TRUE(broker.wait_for_log("running as user nobody"));
    const std::string uid = std::to_string(nobody);
    EXPECT_EQ(uid_line(broker.pid()), "Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid);
    // The store was opened as root and is still written: a persistent session's queued
    // QoS 1 message survives a restart.
    {
        RawClient subscriber(broker.port(), ProtocolVersion::V311);
        ASSERT_TRUE(subscriber.connect("user-sub", false));
        ASSERT_TRUE(subscriber.subscribe("user/#", 1));
        subscriber.disconnect();
        RawClient publisher(broker.port(), ProtocolVersion::V311);
        ASSERT_TRUE(publisher.connect("user-pub"));
        ASSERT_TRUE(publisher.publish("user/a", "kept", 1));
    }
    broker.restart();
    RawClient back(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(back.connect("user-sub", false));
    const auto queued = back.receive_publish();
    ASSERT_TRUE(queued);
    EXPECT_EQ(payload_of(*queued), "kept");
}

TEST(UserOptionTest, AnUnknownUserStopsStartUp) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "only as root does 'user' change what the broker does";
    }
    TempDir dir;
    write_file(dir.path() / "user.conf",
               "listener 0 127.0.0.1\npersistence false\nuser no-such-petrel-user\n");
    const CommandResult result = run_petrel({"-c", (dir.path() / "user.conf").string()});
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("user 'no-such-petrel-user'"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace petrel::test
