// The access control list (acl_file, Mosquitto's format) through the real broker: PUBLISH
// (v5: PUBACK/PUBREC 0x87; 3.1.1: acknowledged and dropped), SUBSCRIBE (SUBACK 0x87 /
// 0x80), deliveries and retained messages a subscriber may not read, wills, %c patterns,
// and a bad file stopping start-up with its file and line.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;

constexpr unsigned kThreads = 2;

constexpr const char* kAcl = R"(# anonymous clients
topic read public/#
# every client: its own subtree
pattern readwrite clients/%c/#

user alice
topic readwrite alice/#
topic read sensors/#
topic deny sensors/secret

user writer
topic write sensors/#
topic write public/#

user bob
topic read bob/#
)";

std::string acl_config(const TempDir& dir) {
    const auto path = dir.path() / "acl.conf";
    std::ofstream(path) << kAcl;
    return "threads 2\nacl_file " + path.string() + "\n";
}

class AclTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    // A client connected as `stem` on `worker`, with `username` (none: anonymous).
    std::unique_ptr<RawClient> client(const std::string& stem, unsigned worker,
                                      std::optional<std::string> username,
                                      std::optional<protocol::Will> will = std::nullopt) {
        const std::string id = client_id_on_worker(stem, worker, kThreads);
        auto raw = std::make_unique<RawClient>(broker_.port(), version());
        protocol::Connect connect = raw->connect_packet(id);
        connect.username = std::move(username);
        connect.will = std::move(will);
        auto connack = raw->connect(connect);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << id;
        expect_on_worker(broker_, id, worker);
        return raw;
    }

    TempDir acl_dir_;
    BrokerProcess broker_{acl_config(acl_dir_)};
};

TEST_P(AclTest, PublishOutsideTheUsersTopicsIsRefusedAndNotDelivered) {
    auto watcher = client("watcher", 1, "bob");
    auto suback = watcher->subscribe("bob/#", 1);  // bob may read what alice may not write
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons.at(0), ReasonCode::GrantedQos1);
    auto reader = client("reader", 1, "alice");
    ASSERT_TRUE(reader->subscribe("alice/#", 1));
    auto alice = client("alice", 0, "alice");

    ASSERT_TRUE(alice->publish("alice/ok", "allowed", 1));
    auto got = reader->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(payload_of(*got), "allowed");

    // Not alice's: v5 says 0x87, 3.1.1 cannot say no and gets a normal PUBACK.
    ASSERT_TRUE(alice->send(make_publish("bob/x", "denied", 1, false, 7)));
    auto puback = alice->expect<protocol::Puback>();
    ASSERT_TRUE(puback);
    EXPECT_EQ(puback->reason, is_v5(version()) ? ReasonCode::NotAuthorized : ReasonCode::Success);
    ASSERT_TRUE(alice->send(make_publish("bob/x", "denied qos2", 2, false, 8)));
    auto pubrec = alice->expect<protocol::Pubrec>();
    ASSERT_TRUE(pubrec);
    EXPECT_EQ(pubrec->reason, is_v5(version()) ? ReasonCode::NotAuthorized : ReasonCode::Success);
    if (!is_v5(version())) {
        ASSERT_TRUE(alice->send(protocol::Pubrel{8, ReasonCode::Success, {}}));
        ASSERT_TRUE(alice->expect<protocol::Pubcomp>());
    }
    ASSERT_TRUE(alice->publish("bob/x", "denied qos0", 0));
    watcher->expect_nothing(300ms);
    reader->expect_nothing(300ms);
    // Each refusal is counted, QoS 0 too.
    EXPECT_TRUE(broker_.wait_for_log("not authorized by the ACL, dropped (3 so far)"));
}

TEST_P(AclTest, SubscribeIsCheckedPerFilter) {
    auto alice = client("alice-sub", 1, "alice");
    auto suback = alice->subscribe({{"sensors/#", {1}}, {"bob/#", {1}}, {"alice/+", {2}}});
    ASSERT_TRUE(suback);
    ASSERT_EQ(suback->reasons.size(), 3u);
    EXPECT_EQ(suback->reasons[0], ReasonCode::GrantedQos1);
    // The codec writes 0x80 for a 3.1.1 client.
    EXPECT_EQ(suback->reasons[1],
              is_v5(version()) ? ReasonCode::NotAuthorized : ReasonCode::UnspecifiedError);
    EXPECT_EQ(suback->reasons[2], ReasonCode::GrantedQos2);

    auto anonymous = client("anon-sub", 0, std::nullopt);
    suback = anonymous->subscribe({{"public/#", {0}}, {"alice/#", {0}}});
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons[0], ReasonCode::Success);
    EXPECT_TRUE(protocol::is_failure(suback->reasons[1]));
}

TEST_P(AclTest, DeliveriesAndRetainedMessagesTheSubscriberMayNotReadAreWithheld) {
    auto writer = client("writer", 0, "writer");
    ASSERT_TRUE(writer->publish("sensors/secret", "retained secret", 1, true));
    ASSERT_TRUE(writer->publish("sensors/temp", "retained temp", 1, true));
    auto alice = client("alice-read", 1, "alice");
    ASSERT_TRUE(alice->subscribe("sensors/#", 1));
    auto retained = alice->receive_publish();
    ASSERT_TRUE(retained);
    EXPECT_EQ(payload_of(*retained), "retained temp");
    alice->expect_nothing(300ms);

    ASSERT_TRUE(writer->publish("sensors/secret", "live secret", 1));
    ASSERT_TRUE(writer->publish("sensors/temp", "live temp", 1));
    auto live = alice->receive_publish();
    ASSERT_TRUE(live);
    EXPECT_EQ(payload_of(*live), "live temp");
    alice->expect_nothing(300ms);
}

TEST_P(AclTest, PatternsGiveEachClientItsOwnSubtree) {
    const std::string own = client_id_on_worker("pattern", 0, kThreads);
    auto subscriber = client("pattern-watch", 1, "writer");
    auto self = client("pattern", 0, std::nullopt);
    auto suback = self->subscribe({{"clients/" + own + "/#", {1}}, {"clients/other/#", {1}}});
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons[0], ReasonCode::GrantedQos1);
    EXPECT_TRUE(protocol::is_failure(suback->reasons[1]));
    ASSERT_TRUE(self->publish("clients/" + own + "/state", "mine", 1));
    auto echo = self->receive_publish();
    ASSERT_TRUE(echo);
    EXPECT_EQ(payload_of(*echo), "mine");
}

TEST_P(AclTest, WillToAForbiddenTopicIsNotPublished) {
    auto watcher = client("will-watch", 1, "alice");
    ASSERT_TRUE(watcher->subscribe("alice/#", 1));
    protocol::Will allowed;
    allowed.topic = "alice/will";
    allowed.payload = protocol::make_payload("gone");
    allowed.qos = 1;
    protocol::Will forbidden = allowed;
    forbidden.topic = "bob/will";
    auto good = client("will-good", 0, "alice", allowed);
    auto bad = client("will-bad", 0, "alice", forbidden);
    bad->close();
    good->close();
    auto will = watcher->receive_publish();
    ASSERT_TRUE(will);
    EXPECT_EQ(will->topic, "alice/will");
    EXPECT_TRUE(broker_.wait_for_log("not authorized by the ACL"));
}

INSTANTIATE_TEST_SUITE_P(Versions, AclTest, both_versions(), VersionParamName{});

TEST(AclFileTest, BadFileStopsStartupNamingFileAndLine) {
    TempDir dir;
    const auto path = dir.path() / "acl.conf";
    std::ofstream(path) << "user alice\ntopic red alice/#\n";
    const std::string conf = (dir.path() / "petrel.conf").string();
    std::ofstream(conf) << "listener 0 127.0.0.1\nacl_file " << path.string() << "\n";
    const CommandResult result = run_petrel({"-c", conf});
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("acl.conf:2:"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace petrel::test
