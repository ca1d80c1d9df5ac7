// Client role: topic aliases towards the server up to its Topic Alias Maximum, and from it
// up to ours.
#include "client_test_support.hpp"

namespace petrel::connection::testing {
namespace {

using protocol::PropertyId;

TEST(ClientAliases, OutboundUpToTheServersMaximum) {
    ClientDriver client;
    client.connect(connack_with(property(PropertyId::TopicAliasMaximum, 1)));
    const auto first =
        client.publish(delivery("long/topic", "1", 0)).sent_of<protocol::Publish>().at(0);
    EXPECT_EQ(first.topic, "long/topic");  // defines alias 1
    EXPECT_EQ(first.properties.number(PropertyId::TopicAlias), 1u);
    const auto second =
        client.publish(delivery("long/topic", "2", 0)).sent_of<protocol::Publish>().at(0);
    EXPECT_EQ(second.topic, "");  // uses it
    EXPECT_EQ(second.properties.number(PropertyId::TopicAlias), 1u);
    const auto other = client.publish(delivery("other", "3", 0)).sent_of<protocol::Publish>().at(0);
    EXPECT_EQ(other.topic, "other");  // the one alias is reassigned
    EXPECT_EQ(other.properties.number(PropertyId::TopicAlias), 1u);
}

TEST(ClientAliases, NoneWithoutTheServersConsentOrOnMqtt311) {
    ClientDriver client;
    client.connect();
    client.publish(delivery("t", "1", 0));
    const auto publish = client.publish(delivery("t", "2", 0)).sent_of<protocol::Publish>().at(0);
    EXPECT_EQ(publish.topic, "t");
    EXPECT_FALSE(publish.properties.contains(PropertyId::TopicAlias));
}

TEST(ClientAliases, AliasesStartAfreshOnEachConnection) {
    ClientDriver client;
    const auto connack = connack_with(property(PropertyId::TopicAliasMaximum, 2));
    client.connect(connack);
    client.publish(delivery("t", "1", 0));
    client.endpoint.connection_lost();
    client.connect(options(), connack);
    const auto publish = client.publish(delivery("t", "2", 0)).sent_of<protocol::Publish>().at(0);
    EXPECT_EQ(publish.topic, "t");  // defined again, not used
}

TEST(ClientAliases, InboundResolvedUpToOurMaximum) {
    ClientDriver client;
    ClientOptions with = options();
    with.topic_alias_maximum = 2;
    client.connect(with);
    protocol::Publish define;
    define.topic = "in/topic";
    define.properties.add_number(PropertyId::TopicAlias, 2);
    const MessageReceived first = client.feed(define).one<MessageReceived>();
    EXPECT_EQ(first.publish.topic, "in/topic");
    EXPECT_FALSE(first.publish.properties.contains(PropertyId::TopicAlias));
    protocol::Publish use;
    use.properties.add_number(PropertyId::TopicAlias, 2);
    EXPECT_EQ(client.feed(use).one<MessageReceived>().publish.topic, "in/topic");
}

TEST(ClientAliases, InboundAboveOurMaximumIsTopicAliasInvalid) {
    ClientDriver client;
    ClientOptions with = options();
    with.topic_alias_maximum = 2;
    client.connect(with);
    protocol::Publish publish;
    publish.topic = "in/topic";
    publish.properties.add_number(PropertyId::TopicAlias, 3);
    const Drained closed = client.feed(publish);
    EXPECT_TRUE(closed.all<MessageReceived>().empty());
    EXPECT_EQ(closed.sent_of<protocol::Disconnect>().at(0).reason, ReasonCode::TopicAliasInvalid);
    EXPECT_EQ(closed.one<Closed>().reason, ReasonCode::TopicAliasInvalid);
}

TEST(ClientAliases, InboundUnknownAliasIsAProtocolError) {
    ClientDriver client;
    ClientOptions with = options();
    with.topic_alias_maximum = 2;
    client.connect(with);
    protocol::Publish use;
    use.properties.add_number(PropertyId::TopicAlias, 1);
    EXPECT_EQ(client.feed(use).sent_of<protocol::Disconnect>().at(0).reason,
              ReasonCode::ProtocolError);
}

}  // namespace
}  // namespace petrel::connection::testing
