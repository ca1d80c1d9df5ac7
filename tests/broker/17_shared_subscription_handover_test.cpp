// Shared subscriptions (spec 4.8.2) when members come and go, through the real binary with
// three workers: the publisher, the leaving member and the member that takes over sit on
// three different workers. A member whose connection ends hands its unsent messages and
// its unacknowledged QoS 1 messages to an online member; QoS 2 deliveries already started
// stay with it until it reconnects; an offline persistent member gets messages only when
// no member is online.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"
#include "support/wait.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PropertyId;
using protocol::Publish;

constexpr unsigned kThreads = 3;
constexpr unsigned kPublisherWorker = 0;
constexpr unsigned kLeavingWorker = 1;
constexpr unsigned kStayingWorker = 2;

std::string id_on(const std::string& prefix, unsigned worker) {
    return client_id_on_worker(prefix, worker, kThreads);
}

std::vector<std::string> sorted(std::vector<std::string> values) {
    std::sort(values.begin(), values.end());
    return values;
}

// Reads PUBLISHes from `members` until `total` arrived in all; each is acknowledged when
// `ack(member index, publish)` says so (by default always). Payloads per member, in order.
std::vector<std::vector<std::string>> drain(
    const std::vector<RawClient*>& members, std::size_t total,
    const std::function<bool(std::size_t, const Publish&)>& ack = {}) {
    std::vector<std::vector<std::string>> got(members.size());
    std::size_t count = 0;
    const auto deadline = std::chrono::steady_clock::now() + kDefaultTimeout;
    while (count < total && std::chrono::steady_clock::now() < deadline) {
        for (std::size_t i = 0; i < members.size(); ++i) {
            while (auto publish = members[i]->try_receive_publish(5ms, /*ack=*/false)) {
                if (!ack || ack(i, *publish)) {
                    members[i]->acknowledge(*publish);
                }
                got[i].push_back(payload_of(*publish));
                ++count;
            }
        }
    }
    EXPECT_EQ(count, total) << "messages received by the members together";
    return got;
}

// The broker has read everything `client` sent before: it answers a PINGREQ in order.
void sync_with_broker(RawClient& client) {
    ASSERT_TRUE(client.send(protocol::Pingreq{}));
    ASSERT_TRUE(client.wait_for<protocol::Pingresp>());
}

class SharedHandoverTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    // A member homed on `worker`, speaking the test's version unless `as` says otherwise.
    std::unique_ptr<RawClient> member(const std::string& prefix, unsigned worker, Qos qos = 1,
                                      bool clean_start = true,
                                      std::optional<ProtocolVersion> as = std::nullopt) {
        const std::string id = id_on(prefix, worker);
        auto client = connected(broker_.port(), as.value_or(version()), id, clean_start);
        auto suback = client->subscribe(kFilter, qos);
        EXPECT_TRUE(suback && suback->reasons == std::vector{protocol::granted_qos(qos)});
        expect_on_worker(broker_, id, worker);
        return client;
    }

    std::vector<std::string> publish(int count, Qos qos = 1, const std::string& prefix = "m") {
        if (!publisher_) {
            const std::string id = id_on("pub", kPublisherWorker);
            publisher_ = connected(broker_.port(), ProtocolVersion::V5, id, true);
            expect_on_worker(broker_, id, kPublisherWorker);
        }
        std::vector<std::string> sent;
        for (int i = 0; i < count; ++i) {
            sent.push_back(prefix + std::to_string(i));
            EXPECT_TRUE(publisher_->publish(kTopic, sent.back(), qos)) << sent.back();
        }
        return sent;
    }

    static constexpr const char* kFilter = "$share/group/handover/t";
    static constexpr const char* kTopic = "handover/t";
    BrokerProcess broker_{"threads " + std::to_string(kThreads) + "\n"};
    std::unique_ptr<RawClient> publisher_;
};

// A member that drops its connection without acknowledging: the online member gets every
// message it had not acknowledged, and none it had (4.8.2: the Server MAY send a QoS 1
// message to another member as soon as the connection is lost).
TEST_P(SharedHandoverTest, UnacknowledgedQos1MessagesGoToAnotherMember) {
    auto leaving = member("leaving", kLeavingWorker);
    auto staying = member("staying", kStayingWorker, 1, true, ProtocolVersion::V5);

    const auto sent = publish(20);
    // The leaving member acknowledges its first three messages only.
    std::size_t acked = 0;
    auto got =
        drain({leaving.get(), staying.get()}, sent.size(),
              [&](std::size_t member, const Publish&) { return member == 1 || acked++ < 3; });
    const std::vector<std::string> acked_by_leaving(
        got[0].begin(), got[0].begin() + std::min<std::size_t>(3, got[0].size()));
    const std::size_t unacked = got[0].size() - acked_by_leaving.size();
    ASSERT_GT(unacked, 0u) << "round robin gave the leaving member (almost) nothing";
    sync_with_broker(*leaving);
    leaving->close();  // no DISCONNECT

    for (std::size_t i = 0; i < unacked; ++i) {
        auto moved = staying->receive_publish();
        ASSERT_TRUE(moved) << "moved message " << i << " of " << unacked;
        got[1].push_back(payload_of(*moved));
    }
    staying->expect_nothing(300ms);
    auto all = got[1];
    all.insert(all.end(), acked_by_leaving.begin(), acked_by_leaving.end());
    EXPECT_EQ(sorted(all), sorted(sent)) << "each message acknowledged exactly once";
}

// Both members persistent: while one is offline every message goes to the online one and
// nothing queues for the offline one; with both offline each message queues for one.
TEST_P(SharedHandoverTest, OfflinePersistentMemberGetsMessagesOnlyWhenNoMemberIsOnline) {
    const std::string away_id = id_on("away", kLeavingWorker);
    const std::string online_id = id_on("online", kStayingWorker);
    member("away", kLeavingWorker, 1, /*clean_start=*/false)->disconnect();
    auto online = member("online", kStayingWorker, 1, /*clean_start=*/false);

    const auto first = publish(10, 1, "first-");
    EXPECT_EQ(sorted(drain({online.get()}, first.size()).at(0)), sorted(first));
    auto away = connected(broker_.port(), version(), away_id, false, /*expect_present=*/true);
    away->expect_nothing(300ms);  // nothing was queued for it

    away->disconnect();
    online->disconnect();
    const auto second = publish(10, 1, "second-");
    away = connected(broker_.port(), version(), away_id, false, true);
    online = connected(broker_.port(), version(), online_id, false, true);
    auto got = drain({away.get(), online.get()}, second.size());
    away->expect_nothing(200ms);
    online->expect_nothing(100ms);
    auto all = got[0];
    all.insert(all.end(), got[1].begin(), got[1].end());
    EXPECT_EQ(sorted(all), sorted(second)) << "each queued message exactly once";
}

INSTANTIATE_TEST_SUITE_P(Versions, SharedHandoverTest, both_versions(), VersionParamName{});

class SharedHandoverV5Test : public SharedHandoverTest {};

// A member with Receive Maximum 2 holds two messages in flight and the rest of its share
// queued; when its connection drops, the online member gets all of them.
TEST_P(SharedHandoverV5Test, QueueBeyondReceiveMaximumGoesToAnotherMember) {
    const std::string id = id_on("small-window", kLeavingWorker);
    RawClient leaving(broker_.port(), ProtocolVersion::V5);
    protocol::Connect connect = leaving.connect_packet(id);
    connect.properties.set_number(PropertyId::ReceiveMaximum, 2);
    auto connack = leaving.connect(connect);
    ASSERT_TRUE(connack && connack->reason == ReasonCode::Success);
    ASSERT_TRUE(leaving.subscribe(kFilter, 1));
    expect_on_worker(broker_, id, kLeavingWorker);
    auto staying = member("staying", kStayingWorker);

    const auto sent = publish(20);
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(leaving.receive_publish(kDefaultTimeout, /*ack=*/false));
    }
    leaving.expect_nothing(300ms);  // [MQTT-3.3.4-9] its window is full
    leaving.close();

    auto got = drain({staying.get()}, sent.size()).at(0);
    EXPECT_EQ(sorted(got), sorted(sent));
    staying->expect_nothing(200ms);
}

// [MQTT-4.8.2-4] a QoS 2 delivery started to a member whose connection breaks is
// completed with that member when it reconnects, not sent to another one.
TEST_P(SharedHandoverV5Test, StartedQos2DeliveryStaysWithItsMemberUntilItReconnects) {
    const std::string id = id_on("qos2-away", kLeavingWorker);
    auto leaving = member("qos2-away", kLeavingWorker, 2, /*clean_start=*/false);
    auto staying = member("qos2-online", kStayingWorker, 2);

    const auto sent = publish(6, 2);
    auto got = drain({leaving.get(), staying.get()}, sent.size(),
                     [](std::size_t member, const Publish&) { return member == 1; });
    ASSERT_FALSE(got[0].empty());
    leaving->close();  // PUBREC withheld
    staying->expect_nothing(500ms);

    leaving = connected(broker_.port(), version(), id, false, /*expect_present=*/true);
    std::vector<std::string> resent;
    for (std::size_t i = 0; i < got[0].size(); ++i) {
        auto again = leaving->receive_publish();
        ASSERT_TRUE(again);
        EXPECT_TRUE(again->dup) << "[MQTT-4.4.0-1] a resent PUBLISH has DUP 1";
        EXPECT_EQ(int{again->qos}, 2);
        resent.push_back(payload_of(*again));
    }
    EXPECT_EQ(resent, got[0]);
    leaving->expect_nothing(200ms);
    auto all = got[1];
    all.insert(all.end(), resent.begin(), resent.end());
    EXPECT_EQ(sorted(all), sorted(sent));
}

// [MQTT-4.8.2-6] a member refusing a message (PUBACK >= 0x80): the message is discarded,
// not offered to another member, neither then nor when the member leaves.
TEST_P(SharedHandoverV5Test, RefusedMessageIsNotSentToAnotherMember) {
    auto refusing = member("refusing", kLeavingWorker);
    auto staying = member("accepting", kStayingWorker);

    const auto sent = publish(10);
    auto got = drain({refusing.get(), staying.get()}, sent.size(),
                     [&](std::size_t member, const Publish& publish) {
                         if (member == 1) {
                             return true;
                         }
                         protocol::Puback refusal;
                         refusal.packet_id = publish.packet_id;
                         refusal.reason = ReasonCode::UnspecifiedError;
                         EXPECT_TRUE(refusing->send(refusal));
                         return false;
                     });
    ASSERT_FALSE(got[0].empty());
    sync_with_broker(*refusing);
    staying->expect_nothing(300ms);
    refusing->close();
    staying->expect_nothing(500ms);
    auto all = got[0];
    all.insert(all.end(), got[1].begin(), got[1].end());
    EXPECT_EQ(sorted(all), sorted(sent));
}

INSTANTIATE_TEST_SUITE_P(V5, SharedHandoverV5Test, ::testing::Values(ProtocolVersion::V5),
                         VersionParamName{});

}  // namespace
}  // namespace petrel::test
