// The per-delivery PUBLISH writer against protocol::encode of the equivalent Publish, built
// the way the broker built one per delivery before: byte for byte, and sizes.
#include "petrel/connection/publish_encoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "petrel/protocol/codec.hpp"

namespace petrel::connection {
namespace {

using protocol::PropertyId;
using protocol::ProtocolVersion;

constexpr std::int64_t kNowMs = 1'000'000'000'000;

session::MessagePtr make_message(std::string topic, std::string payload,
                                 protocol::Properties properties = {},
                                 std::int64_t expires_at_ms = 0) {
    auto message = std::make_shared<session::Message>();
    message->topic = std::move(topic);
    message->payload = protocol::make_payload(std::move(payload));
    message->properties = std::move(properties);
    message->expires_at_ms = expires_at_ms;
    return message;
}

session::OutboundPacket make_packet(const session::MessagePtr& message, protocol::Qos qos, bool dup,
                                    bool retain, std::vector<std::uint32_t> ids = {},
                                    protocol::PacketId packet_id = 0x1234) {
    session::OutboundPacket packet;
    packet.packet_id = qos > 0 ? packet_id : 0;
    packet.dup = dup;
    packet.delivery.message = message;
    packet.delivery.qos = qos;
    packet.delivery.retain = retain;
    packet.delivery.subscription_ids = std::move(ids);
    return packet;
}

// The reference: a whole protocol::Publish per delivery, properties copied and completed
// (subscription identifiers, remaining expiry, alias), then protocol::encode.
std::string reference(const session::OutboundPacket& packet, ProtocolVersion version,
                      std::string_view topic, OutboundTopicAliases* aliases) {
    const session::Message& message = *packet.delivery.message;
    protocol::Publish publish;
    publish.dup = packet.dup;
    publish.qos = packet.delivery.qos;
    publish.retain = packet.delivery.retain;
    publish.topic = std::string(topic);
    publish.packet_id = packet.packet_id;
    publish.payload = message.payload;
    if (version == ProtocolVersion::V5) {
        publish.properties = message.properties;
        for (std::uint32_t id : packet.delivery.subscription_ids) {
            publish.properties.add_number(PropertyId::SubscriptionIdentifier, id);
        }
        if (message.expires_at_ms != 0) {
            publish.properties.set_number(
                PropertyId::MessageExpiryInterval,
                std::max<std::uint32_t>(1, message.remaining_seconds(kNowMs)));
        }
        if (aliases != nullptr) {
            if (const auto alias = aliases->use(publish.topic)) {
                publish.properties.add_number(PropertyId::TopicAlias, alias->alias);
                if (!alias->send_topic) {
                    publish.topic.clear();
                }
            }
        }
    }
    std::string out;
    protocol::encode(publish, version, out);
    return out;
}

struct Written {
    std::string bytes;
    std::size_t size = 0;
};

Written write(const session::OutboundPacket& packet, ProtocolVersion version,
              std::string_view topic, OutboundTopicAliases* aliases) {
    const PublishFrame frame = frame_delivery(packet, version, topic, aliases, kNowMs);
    Written written;
    written.bytes = "prefix";  // appends, never overwrites
    write_header(frame, written.bytes);
    EXPECT_EQ(written.bytes.substr(0, 6), "prefix");
    written.bytes.erase(0, 6);
    written.bytes += *packet.delivery.message->payload;
    written.size = encoded_size(frame);
    return written;
}

void expect_same(const session::OutboundPacket& packet, ProtocolVersion version,
                 std::string_view topic) {
    const std::string expected = reference(packet, version, topic, nullptr);
    const Written actual = write(packet, version, topic, nullptr);
    EXPECT_EQ(actual.bytes, expected);
    EXPECT_EQ(actual.size, expected.size());
}

protocol::Properties forwarded_set(int which) {
    protocol::Properties p;
    switch (which) {
        case 0:
            break;
        case 1:
            p.add_user_property("k", "v");
            p.add_user_property("k", "second");
            p.add_user_property("", "");
            break;
        case 2:
            p.add_number(PropertyId::PayloadFormatIndicator, 1);
            p.add_text(PropertyId::ContentType, "text/plain");
            p.add_text(PropertyId::ResponseTopic, "reply/here");
            p.add_text(PropertyId::CorrelationData, std::string("\0\x01\xff", 3));
            p.add_user_property("name", "value");
            break;
        case 3:  // the expiry in the middle: moved to the end when the message expires
            p.add_user_property("a", "1");
            p.add_number(PropertyId::MessageExpiryInterval, 3600);
            p.add_user_property("b", "2");
            break;
    }
    return p;
}

const std::vector<ProtocolVersion> kVersions{ProtocolVersion::V31, ProtocolVersion::V311,
                                             ProtocolVersion::V5};

TEST(PublishEncoder, EveryFlagPropertyAndIdentifierCombination) {
    const std::vector<std::vector<std::uint32_t>> id_sets{
        {}, {1}, {127, 128, 16383, 16384, 268'435'455}};
    for (ProtocolVersion version : kVersions) {
        for (protocol::Qos qos : {0, 1, 2}) {
            for (bool dup : {false, true}) {
                for (bool retain : {false, true}) {
                    for (int set = 0; set < 4; ++set) {
                        for (std::int64_t expires :
                             {std::int64_t{0}, kNowMs + 1, kNowMs + 59'001, kNowMs - 5}) {
                            for (const auto& ids : id_sets) {
                                for (const char* payload : {"", "hello"}) {
                                    SCOPED_TRACE(testing::Message()
                                                 << "v" << static_cast<int>(version) << " q"
                                                 << int{qos} << " dup " << dup << " retain "
                                                 << retain << " set " << set << " expires "
                                                 << expires - kNowMs << " ids " << ids.size()
                                                 << " payload '" << payload << "'");
                                    const auto message =
                                        make_message("a/b/c", payload, forwarded_set(set), expires);
                                    expect_same(make_packet(message, qos, dup, retain, ids),
                                                version, message->topic);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

TEST(PublishEncoder, RemainingLengthBoundaries) {
    for (ProtocolVersion version : kVersions) {
        for (protocol::Qos qos : {0, 1}) {
            const auto packet_for = [&](std::size_t payload_size) {
                protocol::Properties properties;
                properties.add_user_property("u", "p");
                return make_packet(make_message("t/x", std::string(payload_size, 'p'),
                                                std::move(properties), kNowMs + 10'000),
                                   qos, false, false, {5});
            };
            // Remaining length without payload, from the reference encoding.
            const std::string empty = reference(packet_for(0), version, "t/x", nullptr);
            const std::size_t base = empty.size() - 2;
            for (std::size_t remaining : {127U, 128U, 16383U, 16384U, 2'097'151U, 2'097'152U}) {
                SCOPED_TRACE(testing::Message() << "v" << static_cast<int>(version) << " q"
                                                << int{qos} << " remaining " << remaining);
                const auto packet = packet_for(remaining - base);
                expect_same(packet, version, "t/x");
                const std::string expected = reference(packet, version, "t/x", nullptr);
                ASSERT_EQ(expected.size(), remaining + 1 + protocol::varint_size(remaining));
            }
        }
    }
}

TEST(PublishEncoder, PropertyLengthBoundaries) {
    for (std::size_t value_size : {100U, 119U, 120U, 121U, 16370U, 16380U, 16390U}) {
        protocol::Properties properties;
        properties.add_user_property("k", std::string(value_size, 'v'));
        const auto message = make_message("p", "x", std::move(properties), kNowMs + 1000);
        for (protocol::Qos qos : {0, 1}) {
            SCOPED_TRACE(testing::Message() << "value " << value_size << " q" << int{qos});
            expect_same(make_packet(message, qos, false, true, {1, 300}), ProtocolVersion::V5, "p");
        }
    }
}

TEST(PublishEncoder, TopicAliasFirstUseThenReuse) {
    OutboundTopicAliases reference_aliases(2);
    OutboundTopicAliases aliases(2);
    const auto message = make_message("mount/a/b", "payload", forwarded_set(2), kNowMs + 5000);
    // The client sees the topic without the mount point; three topics cycle two aliases.
    for (std::string_view topic : {"a/b", "a/b", "c", "c", "a/b", "d", "a/b", "d"}) {
        for (protocol::Qos qos : {0, 1}) {
            SCOPED_TRACE(testing::Message() << topic << " q" << int{qos});
            const auto packet = make_packet(message, qos, qos > 0, false, {9});
            const std::string expected =
                reference(packet, ProtocolVersion::V5, topic, &reference_aliases);
            const Written actual = write(packet, ProtocolVersion::V5, topic, &aliases);
            EXPECT_EQ(actual.bytes, expected);
            EXPECT_EQ(actual.size, expected.size());
        }
    }
}

TEST(PublishEncoder, AliasesOffOrBeforeV5LeaveTheTopic) {
    const auto message = make_message("a/b", "x");
    OutboundTopicAliases off;
    OutboundTopicAliases on(5);
    const auto packet = make_packet(message, 1, false, false);
    EXPECT_EQ(frame_delivery(packet, ProtocolVersion::V5, "a/b", &off, kNowMs).topic_alias, 0);
    const PublishFrame v311 = frame_delivery(packet, ProtocolVersion::V311, "a/b", &on, kNowMs);
    EXPECT_EQ(v311.topic_alias, 0);
    EXPECT_EQ(v311.topic, "a/b");
    // 3.1.1 took no alias: the first v5 use still sends the topic.
    const PublishFrame v5 = frame_delivery(packet, ProtocolVersion::V5, "a/b", &on, kNowMs);
    EXPECT_EQ(v5.topic_alias, 1);
    EXPECT_EQ(v5.topic, "a/b");
}

TEST(PublishEncoder, ForwardedPropertiesEncodedOnceAndShared) {
    const auto message = make_message("t", "x", forwarded_set(1));
    const std::string& first = message->forwarded_property_bytes();
    const std::string& second = message->forwarded_property_bytes();
    EXPECT_EQ(&first, &second);
    const PublishFrame frame = frame_delivery(make_packet(message, 0, false, false),
                                              ProtocolVersion::V5, "t", nullptr, kNowMs);
    EXPECT_EQ(frame.forwarded_properties.data(), first.data());
    // A copy of the message starts without the cache: it may be changed before it is shared.
    session::Message copy = *message;
    copy.properties.add_user_property("more", "x");
    EXPECT_GT(copy.forwarded_property_bytes().size(), first.size());
    EXPECT_TRUE(make_message("t", "x")->forwarded_property_bytes().empty());
}

TEST(PublishEncoder, ForwardedPropertiesBuiltOnceAcrossThreads) {
    // Workers deliver one message at the same time: every one must see the same bytes.
    std::string expected;
    protocol::encode_property_entries(forwarded_set(2), expected);
    for (int round = 0; round < 50; ++round) {
        const auto message = make_message("t", "x", forwarded_set(2));
        std::vector<const std::string*> seen(4);
        std::vector<std::thread> workers;
        for (std::size_t i = 0; i < seen.size(); ++i) {
            workers.emplace_back([&, i] { seen[i] = &message->forwarded_property_bytes(); });
        }
        for (std::thread& worker : workers) {
            worker.join();
        }
        for (const std::string* bytes : seen) {
            EXPECT_EQ(bytes, seen[0]);
        }
        EXPECT_EQ(*seen[0], expected);
    }
}

TEST(PublishEncoder, ExpiryIsPerDeliveryAndAtLeastOneSecond) {
    const auto message = make_message("t", "", forwarded_set(3), kNowMs + 1500);
    const auto packet = make_packet(message, 0, false, false);
    EXPECT_EQ(frame_delivery(packet, ProtocolVersion::V5, "t", nullptr, kNowMs).message_expiry, 2U);
    EXPECT_EQ(
        frame_delivery(packet, ProtocolVersion::V5, "t", nullptr, kNowMs + 1400).message_expiry,
        1U);
    EXPECT_EQ(
        frame_delivery(packet, ProtocolVersion::V5, "t", nullptr, kNowMs + 9000).message_expiry,
        1U);
    // The forwarded copy of the publisher's interval is replaced, not sent twice.
    std::string out;
    write_header(frame_delivery(packet, ProtocolVersion::V5, "t", nullptr, kNowMs), out);
    const auto decoded = protocol::decode(
        protocol::ByteView(reinterpret_cast<const std::uint8_t*>(out.data()), out.size()),
        ProtocolVersion::V5);
    ASSERT_TRUE(decoded.has_value());
    const auto& publish = std::get<protocol::Publish>(decoded.value());
    EXPECT_EQ(publish.properties.number(PropertyId::MessageExpiryInterval), 2U);
}

}  // namespace
}  // namespace petrel::connection
