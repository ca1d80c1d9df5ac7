// Client role: SUBSCRIBE and UNSUBSCRIBE out, SUBACK and UNSUBACK in, and what the
// endpoint subscribes again when the server has lost the session.
#include "client_test_support.hpp"

namespace petrel::connection::testing {
namespace {

protocol::Subscription subscription(std::string filter, protocol::Qos qos) {
    protocol::Subscription out;
    out.filter = std::move(filter);
    out.options.qos = qos;
    return out;
}

TEST(ClientSubscribe, SubscribeAndSuback) {
    for (const auto version : {ProtocolVersion::V311, ProtocolVersion::V5}) {
        ClientDriver client(version);
        client.connect();
        protocol::Subscription no_local = subscription("b/#", 2);
        no_local.options.no_local = version == ProtocolVersion::V5;
        client.endpoint.subscribe({subscription("a/+", 1), no_local}, client.now);
        const Drained sent = client.drain();
        ASSERT_EQ(sent.sent_of<protocol::Subscribe>().size(), 1u);
        const protocol::Subscribe subscribe = sent.sent_of<protocol::Subscribe>()[0];
        ASSERT_EQ(subscribe.subscriptions.size(), 2u);
        EXPECT_EQ(subscribe.subscriptions[0].filter, "a/+");
        EXPECT_EQ(subscribe.subscriptions[1].options, no_local.options);
        EXPECT_NE(subscribe.packet_id, 0);

        const Drained acked = client.feed(protocol::Suback{
            subscribe.packet_id, {ReasonCode::GrantedQos1, ReasonCode::UnspecifiedError}, {}});
        const Subscribed subscribed = acked.one<Subscribed>();
        ASSERT_EQ(subscribed.subscriptions.size(), 2u);
        EXPECT_EQ(subscribed.subscriptions[1].filter, "b/#");
        EXPECT_EQ(subscribed.reasons, (std::vector<protocol::SubackReason>{
                                          ReasonCode::GrantedQos1, ReasonCode::UnspecifiedError}));
    }
}

TEST(ClientSubscribe, UnsubscribeAndUnsuback) {
    for (const auto version : {ProtocolVersion::V311, ProtocolVersion::V5}) {
        ClientDriver client(version);
        client.connect();
        client.endpoint.unsubscribe({"a/+"}, client.now);
        const auto unsubscribe = client.drain().sent_of<protocol::Unsubscribe>().at(0);
        EXPECT_EQ(unsubscribe.filters, std::vector<std::string>{"a/+"});
        std::vector<protocol::UnsubackReason> reasons;
        if (version == ProtocolVersion::V5) {
            reasons.push_back(ReasonCode::NoSubscriptionExisted);
        }
        const Drained acked = client.feed(protocol::Unsuback{unsubscribe.packet_id, reasons, {}});
        const Unsubscribed unsubscribed = acked.one<Unsubscribed>();
        EXPECT_EQ(unsubscribed.filters, std::vector<std::string>{"a/+"});
        EXPECT_EQ(unsubscribed.reasons, reasons);  // 3.1.1 has none
    }
}

TEST(ClientSubscribe, SubscribeBeforeConnackGoesAfterIt) {
    ClientDriver client;
    client.start(options());
    client.endpoint.subscribe({subscription("a", 0)}, client.now);
    EXPECT_TRUE(client.drain().sent.empty());
    const Drained connected = client.feed(protocol::Connack{});
    EXPECT_EQ(connected.sent_of<protocol::Subscribe>().at(0).subscriptions.at(0).filter, "a");
}

TEST(ClientSubscribe, RequestIdsAreNotThoseOfPublishesInFlight) {
    ClientDriver client;
    client.connect();
    std::vector<protocol::PacketId> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(
            client.publish(delivery("t", "x", 1)).sent_of<protocol::Publish>().at(0).packet_id);
    }
    client.endpoint.subscribe({subscription("a", 0)}, client.now);
    const auto id = client.drain().sent_of<protocol::Subscribe>().at(0).packet_id;
    EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 0);
}

TEST(ClientSubscribe, SessionLostMeansSubscribeAgainWhatWasGranted) {
    ClientDriver client;
    ClientOptions with = options();
    with.clean_start = false;
    client.connect(with);
    client.endpoint.subscribe({subscription("a", 1), subscription("refused", 1)}, client.now);
    const auto first = client.drain().sent_of<protocol::Subscribe>().at(0);
    client.feed(protocol::Suback{
        first.packet_id, {ReasonCode::GrantedQos1, ReasonCode::NotAuthorized}, {}});
    client.endpoint.subscribe({subscription("b", 2)}, client.now);
    const auto second = client.drain().sent_of<protocol::Subscribe>().at(0);
    client.feed(protocol::Suback{second.packet_id, {ReasonCode::GrantedQos2}, {}});

    client.endpoint.connection_lost();
    client.start(with);
    // Session present: the server holds them; nothing is sent again.
    EXPECT_TRUE(client.feed(protocol::Connack{true, ReasonCode::Success, {}})
                    .sent_of<protocol::Subscribe>()
                    .empty());

    client.endpoint.connection_lost();
    client.start(with);
    // Not present: one SUBSCRIBE of every granted subscription, the refused one left out.
    const auto again = client.feed(protocol::Connack{}).sent_of<protocol::Subscribe>();
    ASSERT_EQ(again.size(), 1u);
    ASSERT_EQ(again[0].subscriptions.size(), 2u);
    EXPECT_EQ(again[0].subscriptions[0].filter, "a");
    EXPECT_EQ(again[0].subscriptions[1].filter, "b");
    EXPECT_EQ(again[0].subscriptions[1].options.qos, 2);
}

TEST(ClientSubscribe, UnansweredRequestsAreSentAgainWhenTheSessionIsPresent) {
    ClientDriver client;
    ClientOptions with = options();
    with.clean_start = false;
    client.connect(with);
    client.endpoint.subscribe({subscription("a", 1)}, client.now);
    client.endpoint.unsubscribe({"z"}, client.now);
    client.drain();
    client.endpoint.connection_lost();
    client.start(with);
    const Drained resumed = client.feed(protocol::Connack{true, ReasonCode::Success, {}});
    EXPECT_EQ(resumed.sent_types(),
              (std::vector<protocol::PacketType>{protocol::PacketType::Subscribe,
                                                 protocol::PacketType::Unsubscribe}));
}

TEST(ClientSubscribe, UnsubscribedFiltersAreNotSubscribedAgain) {
    ClientDriver client;
    client.connect();
    client.endpoint.subscribe({subscription("a", 1), subscription("b", 1)}, client.now);
    client.endpoint.unsubscribe({"a"}, client.now);
    client.drain();
    client.endpoint.connection_lost();
    client.start(options());
    const auto again = client.feed(protocol::Connack{}).sent_of<protocol::Subscribe>();
    ASSERT_EQ(again.size(), 1u);
    ASSERT_EQ(again[0].subscriptions.size(), 1u);
    EXPECT_EQ(again[0].subscriptions[0].filter, "b");
}

TEST(ClientSubscribe, SubscribeOverTheServersMaximumPacketSizeIsRefusedUnsent) {
    ClientDriver client;
    client.connect(connack_with(property(protocol::PropertyId::MaximumPacketSize, 20)));
    client.endpoint.subscribe({subscription(std::string(40, 'f'), 0)}, client.now);
    const Drained refused = client.drain();
    EXPECT_TRUE(refused.sent.empty());
    const Subscribed& subscribed = refused.one<Subscribed>();
    EXPECT_TRUE(subscribed.unsent);
    ASSERT_EQ(subscribed.reasons.size(), 1u);
    EXPECT_EQ(subscribed.reasons[0], ReasonCode::UnspecifiedError);
}

}  // namespace
}  // namespace petrel::connection::testing

namespace petrel::connection::testing {
namespace {

TEST(ClientSubscribe, AnUnansweredUnsubscribeEndsWhenTheSessionIsLost) {
    ClientDriver client;
    client.connect();
    client.endpoint.unsubscribe({"gone"}, client.now);
    client.drain();
    client.endpoint.connection_lost();
    const Drained restarted = client.connect();
    const Unsubscribed unsubscribed = restarted.one<Unsubscribed>();
    EXPECT_EQ(unsubscribed.filters, std::vector<std::string>{"gone"});
    EXPECT_EQ(unsubscribed.reasons,
              std::vector<protocol::UnsubackReason>{ReasonCode::NoSubscriptionExisted});
    EXPECT_TRUE(restarted.sent_of<protocol::Unsubscribe>().empty());
}

}  // namespace
}  // namespace petrel::connection::testing

namespace petrel::connection::testing {
namespace {

TEST(ClientSubscribe, AFlightNeverTakesTheIdOfAnUnansweredRequest) {
    // One flight at a time, so that the flow's ids climb to the SUBSCRIBE's.
    ClientDriver client(ProtocolVersion::V5, 1);
    client.connect();
    client.endpoint.subscribe({subscription("a", 0)}, client.now);
    const auto request = client.drain().sent_of<protocol::Subscribe>().at(0).packet_id;
    protocol::PacketId last = 0;
    for (;;) {
        const auto sent = client.publish(delivery("t", "x", 1)).sent_of<protocol::Publish>();
        if (sent.empty()) {
            break;  // held back
        }
        last = sent[0].packet_id;
        ASSERT_NE(last, request);
        client.feed(protocol::Puback{last, ReasonCode::Success, {}});
    }
    EXPECT_EQ(static_cast<protocol::PacketId>(last + 1), request);
    // Once answered, the id is free and the held-back message goes with it.
    const Drained answered = client.feed(protocol::Suback{request, {ReasonCode::Success}, {}});
    answered.one<Subscribed>();
    ASSERT_EQ(answered.sent_of<protocol::Publish>().size(), 1u);
    EXPECT_EQ(answered.sent_of<protocol::Publish>()[0].packet_id, request);
}

}  // namespace
}  // namespace petrel::connection::testing
