// The router's shared subscriptions (spec 4.8.2): one member per group and message, online
// members first, the three strategies, and handing a leaving member's message to another.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "router.hpp"
#include "session_handle.hpp"

namespace petrel::broker {
namespace {

SessionHandlePtr make_session(const std::string& id, bool online) {
    auto session = std::make_shared<SessionHandle>(id, 0, session::OutboundFlow::Limits{});
    session->online.store(online);
    return session;
}

session::MessagePtr make_message(const std::string& topic, const std::string& publisher,
                                 protocol::Qos qos = 1) {
    auto message = std::make_shared<session::Message>();
    message->topic = topic;
    message->qos = qos;
    message->publisher = publisher;
    return message;
}

SubscriptionData with_qos(protocol::Qos qos) {
    SubscriptionData data;
    data.options.qos = qos;
    return data;
}

// Who got each of `count` messages from `publisher`.
std::map<std::string, int> deliver_many(Router& router, int count,
                                        const std::string& publisher = "pub") {
    std::map<std::string, int> got;
    for (int i = 0; i < count; ++i) {
        std::vector<RoutedDelivery> out;
        router.match(make_message("t/x", publisher), out);
        EXPECT_EQ(out.size(), 1u);
        for (const RoutedDelivery& routed : out) {
            ++got[routed.target->client_id()];
            EXPECT_TRUE(routed.delivery.shared);
            EXPECT_EQ(*routed.delivery.shared, "$share/g/t/+");
        }
    }
    return got;
}

TEST(RouterShared, RoundRobinTakesMembersInTurn) {
    Router router;
    auto a = make_session("a", true), b = make_session("b", true), c = make_session("c", true);
    for (const auto& s : {a, b, c}) {
        router.subscribe("$share/g/t/+", s, with_qos(1));
    }
    const auto got = deliver_many(router, 300);
    EXPECT_EQ(got.at("a"), 100);
    EXPECT_EQ(got.at("b"), 100);
    EXPECT_EQ(got.at("c"), 100);
}

TEST(RouterShared, OfflineMembersGetNothingWhileOneIsOnline) {
    Router router;
    auto online = make_session("online", true), offline = make_session("offline", false);
    router.subscribe("$share/g/t/+", offline, with_qos(1));
    router.subscribe("$share/g/t/+", online, with_qos(1));
    const auto got = deliver_many(router, 50);
    EXPECT_EQ(got.at("online"), 50);
    EXPECT_FALSE(got.contains("offline"));
    online->online.store(false);  // now nobody is online: an offline member queues them
    const auto queued = deliver_many(router, 10);
    EXPECT_EQ(queued.at("online") + queued.at("offline"), 10);
}

TEST(RouterShared, RandomUsesEveryMember) {
    Router router(SharedStrategy::Random);
    auto a = make_session("a", true), b = make_session("b", true), c = make_session("c", true);
    for (const auto& s : {a, b, c}) {
        router.subscribe("$share/g/t/+", s, with_qos(1));
    }
    const auto got = deliver_many(router, 300);
    for (const char* id : {"a", "b", "c"}) {
        EXPECT_GT(got.at(id), 50) << id;
    }
}

TEST(RouterShared, HashClientKeepsAPublisherOnOneMember) {
    Router router(SharedStrategy::HashClient);
    auto a = make_session("a", true), b = make_session("b", true);
    router.subscribe("$share/g/t/+", a, with_qos(1));
    router.subscribe("$share/g/t/+", b, with_qos(1));
    for (const char* publisher : {"p1", "p2", "p3", "p4"}) {
        EXPECT_EQ(deliver_many(router, 20, publisher).size(), 1u) << publisher;
    }
}

TEST(RouterShared, SeparateGroupsAndPlainSubscriptionsEachGetACopy) {
    Router router;
    auto a = make_session("a", true), b = make_session("b", true);
    router.subscribe("$share/g1/t/#", a, with_qos(1));
    router.subscribe("$share/g2/t/#", b, with_qos(1));
    router.subscribe("t/#", a, with_qos(0));
    std::vector<RoutedDelivery> out;
    router.match(make_message("t/x", "pub"), out);
    // a: its plain copy and the g1 copy stay separate; b: the g2 copy.
    EXPECT_EQ(out.size(), 3u);
}

TEST(RouterShared, RerouteGoesToAnotherOnlineMemberWithItsOwnOptions) {
    Router router;
    auto leaving = make_session("leaving", false), other = make_session("other", true);
    router.subscribe("$share/g/t/+", leaving, with_qos(2));
    SubscriptionData data = with_qos(0);
    data.subscription_id = 9;
    router.subscribe("$share/g/t/+", other, data);
    session::Delivery delivery;
    delivery.message = make_message("t/x", "pub", 2);
    delivery.qos = 2;
    delivery.shared = std::make_shared<const std::string>("$share/g/t/+");
    ASSERT_TRUE(router.has_other_online_member("$share/g/t/+", leaving));
    auto moved = router.reroute_shared(delivery, leaving);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->target, other);
    EXPECT_EQ(moved->delivery.qos, 0);
    EXPECT_EQ(moved->delivery.subscription_ids, std::vector<std::uint32_t>{9});

    other->online.store(false);
    EXPECT_FALSE(router.has_other_online_member("$share/g/t/+", leaving));
    EXPECT_FALSE(router.reroute_shared(delivery, leaving));
}

TEST(RouterShared, UnsubscribedGroupIsGone) {
    Router router;
    auto a = make_session("a", true);
    router.subscribe("$share/g/t/+", a, with_qos(1));
    EXPECT_TRUE(router.unsubscribe("$share/g/t/+", a));
    std::vector<RoutedDelivery> out;
    router.match(make_message("t/x", "pub"), out);
    EXPECT_TRUE(out.empty());
    EXPECT_FALSE(router.has_other_online_member("$share/g/t/+", nullptr));
}

}  // namespace
}  // namespace petrel::broker
