// The router routes to any Subscriber, not only to sessions: a test double stands for the
// bridges and remote cluster nodes to come. Merging overlapping subscriptions, No Local,
// subscription identifiers and the choice of a shared group's member work on it as they
// do on a session, and the two kinds mix in one group.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "router.hpp"
#include "session_handle.hpp"

namespace petrel::broker {
namespace {

// A delivery target that is not a session. The router never hands it a delivery itself
// (the worker does), so the worker-side steps only record that they were not called.
class FakeSubscriber final : public Subscriber {
  public:
    FakeSubscriber(std::string client_id, bool online) : Subscriber(0), client_id_(client_id) {
        this->online.store(online);
    }
    const std::string& client_id() const override { return client_id_; }
    bool may_receive(const Worker&, std::string_view) const override { return true; }
    bool stage(SessionRecorder&, session::Delivery&, bool) override {
        ADD_FAILURE() << "the router stages nothing";
        return false;
    }
    void deliver(Worker&, SubscriberPtr, session::Delivery&&) override {
        ADD_FAILURE() << "the router delivers nothing";
    }

  private:
    std::string client_id_;
};

std::shared_ptr<FakeSubscriber> make_subscriber(const std::string& id, bool online = true) {
    return std::make_shared<FakeSubscriber>(id, online);
}

session::MessagePtr make_message(const std::string& topic, const std::string& publisher,
                                 protocol::Qos qos = 2) {
    auto message = std::make_shared<session::Message>();
    message->topic = topic;
    message->qos = qos;
    message->publisher = publisher;
    return message;
}

SubscriptionData subscription(protocol::Qos qos, std::optional<std::uint32_t> id = std::nullopt,
                              bool no_local = false) {
    SubscriptionData data;
    data.options.qos = qos;
    data.options.no_local = no_local;
    data.subscription_id = id;
    return data;
}

std::vector<RoutedDelivery> route(const Router& router, const std::string& topic,
                                  const std::string& publisher = "pub") {
    std::vector<RoutedDelivery> out;
    router.match(make_message(topic, publisher), out);
    return out;
}

TEST(RouterSubscriber, OverlappingSubscriptionsMergeIntoOneDelivery) {
    Router router;
    auto node = make_subscriber("node");
    router.subscribe("a/#", node, subscription(0, 1));
    router.subscribe("a/+", node, subscription(2, 2));
    router.subscribe("a/b", node, subscription(1));
    const auto out = route(router, "a/b");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].target, node);
    EXPECT_EQ(out[0].delivery.qos, 2);  // the highest granted
    auto ids = out[0].delivery.subscription_ids;
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{1, 2}));
    EXPECT_FALSE(out[0].delivery.shared);
}

TEST(RouterSubscriber, EachSubscriberGetsItsOwnDelivery) {
    Router router;
    auto first = make_subscriber("first"), second = make_subscriber("second");
    router.subscribe("a/+", first, subscription(1, 7));
    router.subscribe("a/#", second, subscription(0));
    const auto out = route(router, "a/b");
    ASSERT_EQ(out.size(), 2u);
    for (const RoutedDelivery& routed : out) {
        if (routed.target == first) {
            EXPECT_EQ(routed.delivery.qos, 1);
            EXPECT_EQ(routed.delivery.subscription_ids, std::vector<std::uint32_t>{7});
        } else {
            EXPECT_EQ(routed.target, second);
            EXPECT_EQ(routed.delivery.qos, 0);
            EXPECT_TRUE(routed.delivery.subscription_ids.empty());
        }
    }
}

TEST(RouterSubscriber, NoLocalSkipsThePublishersOwnClientId) {
    Router router;
    auto node = make_subscriber("node");
    router.subscribe("a/b", node, subscription(1, std::nullopt, true));
    EXPECT_TRUE(route(router, "a/b", "node").empty());
    ASSERT_EQ(route(router, "a/b", "other").size(), 1u);
    // A second, plain subscription still delivers the subscriber's own message.
    router.subscribe("a/#", node, subscription(0, 3));
    const auto own = route(router, "a/b", "node");
    ASSERT_EQ(own.size(), 1u);
    EXPECT_EQ(own[0].delivery.subscription_ids, std::vector<std::uint32_t>{3});
}

TEST(RouterSubscriber, SharedGroupPicksOnlineMembersOfEitherKind) {
    Router router;
    auto offline = make_subscriber("offline", false), online = make_subscriber("online");
    auto session = std::make_shared<SessionHandle>("session", 0, session::OutboundFlow::Limits{});
    session->online.store(true);
    router.subscribe("$share/g/a/+", offline, subscription(1, 5));
    router.subscribe("$share/g/a/+", online, subscription(1, 5));
    router.subscribe("$share/g/a/+", session, subscription(1, 5));
    int to_online = 0;
    int to_session = 0;
    for (int i = 0; i < 20; ++i) {
        const auto out = route(router, "a/b");
        ASSERT_EQ(out.size(), 1u);
        EXPECT_NE(out[0].target, offline);
        to_online += out[0].target == online ? 1 : 0;
        to_session += out[0].target == session ? 1 : 0;
        EXPECT_EQ(out[0].delivery.subscription_ids, std::vector<std::uint32_t>{5});
        ASSERT_TRUE(out[0].delivery.shared);
        EXPECT_EQ(*out[0].delivery.shared, "$share/g/a/+");
    }
    EXPECT_EQ(to_online, 10);  // round robin over the two online members
    EXPECT_EQ(to_session, 10);

    // A member leaving hands its shared message to another online member.
    session::Delivery delivery = route(router, "a/b")[0].delivery;
    EXPECT_TRUE(router.has_other_online_member("$share/g/a/+", online));
    const auto moved = router.reroute_shared(delivery, online);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->target, session);

    // Nobody online: an offline member takes it (a persistent one would queue it).
    online->online.store(false);
    session->online.store(false);
    EXPECT_FALSE(router.has_other_online_member("$share/g/a/+", online));
    EXPECT_EQ(route(router, "a/b").size(), 1u);
}

TEST(RouterSubscriber, UnsubscribeRemovesOnlyThatSubscriber) {
    Router router;
    auto node = make_subscriber("node"), other = make_subscriber("other");
    router.subscribe("a/b", node, subscription(1));
    router.subscribe("a/b", other, subscription(1));
    EXPECT_EQ(router.subscription_count(), 2u);
    EXPECT_TRUE(router.unsubscribe("a/b", node));
    EXPECT_FALSE(router.unsubscribe("a/b", node));
    const auto out = route(router, "a/b");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].target, other);
}

}  // namespace
}  // namespace petrel::broker
