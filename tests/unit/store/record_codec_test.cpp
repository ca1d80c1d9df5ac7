// record_codec: every record round-trips, key order is send order, and no damaged value
// (truncated, extended, out of range) decodes.
#include <gtest/gtest.h>

#include "petrel/store/record_codec.hpp"

namespace petrel::store::codec {
namespace {

// Every strict prefix and one extra byte must be refused: lengths are checked.
template <class Decode>
void expect_damage_refused(const std::string& value, Decode decode) {
    for (std::size_t n = 0; n < value.size(); ++n) {
        EXPECT_FALSE(decode(value.substr(0, n))) << "prefix of " << n << " bytes decoded";
    }
    EXPECT_FALSE(decode(value + '\0')) << "trailing byte accepted";
}

session::Message sample_message() {
    session::Message m;
    m.topic = "sensors/1/temp";
    m.payload = protocol::make_payload(std::string("\x00\x01\xff", 3));
    m.qos = 2;
    m.retain = true;
    m.properties.add_number(protocol::PropertyId::MessageExpiryInterval, 60);
    m.properties.add_user_property("name", "value");
    m.publisher = "pub-1";
    return m;
}

TEST(RecordCodec, MessageRoundTrips) {
    const auto m = sample_message();
    const auto encoded = encode_message(m);
    auto decoded = decode_message(encoded);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->topic, m.topic);
    EXPECT_EQ(*decoded->payload, *m.payload);
    EXPECT_EQ(decoded->qos, 2);
    EXPECT_TRUE(decoded->retain);
    EXPECT_EQ(decoded->properties, m.properties);
    EXPECT_EQ(decoded->publisher, "pub-1");
    expect_damage_refused(encoded,
                          [](std::string_view v) { return decode_message(v).has_value(); });
}

TEST(RecordCodec, MessageExpiryTimeRoundTripsAndOlderRecordsHaveNone) {
    session::Message m = sample_message();
    m.expires_at_ms = 1'800'000'000'123;
    auto decoded = decode_message(encode_message(m));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->expires_at_ms, m.expires_at_ms);
    // A record written before message expiry existed ends after the publisher.
    session::Message old = sample_message();
    decoded = decode_message(encode_message(old));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->expires_at_ms, 0);
}

TEST(RecordCodec, RetainedMessageSourceRoundTripsAndOlderRecordsHaveNone) {
    session::Message m = sample_message();
    m.source = session::MessageSource{std::make_shared<const std::string>("alice"), 3};
    auto decoded = decode_message(encode_message(m));
    ASSERT_TRUE(decoded);
    ASSERT_TRUE(decoded->source);
    ASSERT_TRUE(decoded->source->username);
    EXPECT_EQ(*decoded->source->username, "alice");
    EXPECT_EQ(decoded->source->listener, 3);
    EXPECT_EQ(decoded->expires_at_ms, 0);
    // An anonymous publisher, with an expiry.
    m.source = session::MessageSource{nullptr, 0};
    m.expires_at_ms = 1'800'000'000'123;
    decoded = decode_message(encode_message(m));
    ASSERT_TRUE(decoded && decoded->source);
    EXPECT_FALSE(decoded->source->username);
    EXPECT_EQ(decoded->expires_at_ms, m.expires_at_ms);
    // Records written before the source was kept (with or without an expiry) have none.
    session::Message old = sample_message();
    old.expires_at_ms = 5;
    decoded = decode_message(encode_message(old));
    ASSERT_TRUE(decoded);
    EXPECT_FALSE(decoded->source);
    // A source cut short is damage.
    std::string cut = encode_message(m);
    cut.pop_back();
    EXPECT_FALSE(decode_message(cut));
}

TEST(RecordCodec, SessionRoundTrips) {
    StoredSession s{"client", protocol::ProtocolVersion::V31, 99, -5, {}, {}, 0};
    protocol::Will will;
    will.topic = "w";
    will.payload = protocol::make_payload("bye");
    will.retain = true;
    s.will = will;
    const auto key = session_key(s.client_id);
    const auto value = encode_session(s);
    auto decoded = decode_session(key, value);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->client_id, "client");
    EXPECT_EQ(decoded->version, protocol::ProtocolVersion::V31);
    EXPECT_EQ(decoded->disconnected_at_ms, -5);
    ASSERT_TRUE(decoded->will);
    EXPECT_EQ(*decoded->will->payload, "bye");
    EXPECT_TRUE(decoded->will->retain);
    expect_damage_refused(value,
                          [&](std::string_view v) { return decode_session(key, v).has_value(); });
}

TEST(RecordCodec, SessionKeepsItsUserNameAndListener) {
    StoredSession s{"client", protocol::ProtocolVersion::V5, 60, 0, {}, "alice", 3};
    auto decoded = decode_session(session_key(s.client_id), encode_session(s));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->username, "alice");
    EXPECT_EQ(decoded->listener, 3);

    s.username.reset();  // anonymous, on a listener other than the first
    decoded = decode_session(session_key(s.client_id), encode_session(s));
    ASSERT_TRUE(decoded);
    EXPECT_FALSE(decoded->username);
    EXPECT_EQ(decoded->listener, 3);
}

TEST(RecordCodec, SubscriptionRoundTrips) {
    session::SubscriptionRecord r{{1, true, true, protocol::RetainHandling::SendIfNewSubscription},
                                  12345};
    const auto key = subscription_key("c", "a/+/b");
    const auto value = encode_subscription({"c", "a/+/b", r});
    auto decoded = decode_subscription(key, value);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->client_id, "c");
    EXPECT_EQ(decoded->filter, "a/+/b");
    EXPECT_EQ(decoded->record.options, r.options);
    EXPECT_EQ(decoded->record.subscription_id, 12345u);
    expect_damage_refused(
        value, [&](std::string_view v) { return decode_subscription(key, v).has_value(); });
}

TEST(RecordCodec, QueuedAndInflightRoundTrip) {
    QueuedEntry q{"c", 1ull << 40, 77, 1, true, {1, 2, 3}, 1ull << 33};
    const auto qkey = queued_key(q.client_id, q.seq);
    auto qd = decode_queued(qkey, encode_queued(q));
    ASSERT_TRUE(qd);
    EXPECT_EQ(qd->client_id, "c");
    EXPECT_EQ(qd->seq, q.seq);
    EXPECT_EQ(qd->message, 77u);
    EXPECT_EQ(qd->bytes, 1ull << 33);
    EXPECT_EQ(qd->subscription_ids, q.subscription_ids);
    expect_damage_refused(encode_queued(q),
                          [&](std::string_view v) { return decode_queued(qkey, v).has_value(); });

    InflightEntry f{"c", 9, 65535, session::OutboundState::AwaitingPubcomp, 0, 2, false, {}};
    const auto fkey = inflight_key(f.client_id, f.packet_id);
    auto fd = decode_inflight(fkey, encode_inflight(f));
    ASSERT_TRUE(fd);
    EXPECT_EQ(fd->packet_id, 65535);
    EXPECT_EQ(fd->seq, 9u);
    EXPECT_EQ(fd->state, session::OutboundState::AwaitingPubcomp);
    expect_damage_refused(encode_inflight(f),
                          [&](std::string_view v) { return decode_inflight(fkey, v).has_value(); });
}

TEST(RecordCodec, OutOfRangeFieldsAreRefused) {
    auto value = encode_queued({"c", 1, 5, 1, false, {}, 10});
    value[17] = 3;  // qos, after the format byte, message id and bytes
    EXPECT_FALSE(decode_queued(queued_key("c", 1), value));
    auto inflight =
        encode_inflight({"c", 1, 1, session::OutboundState::AwaitingPuback, 5, 1, false, {}});
    inflight[9] = 7;  // state
    EXPECT_FALSE(decode_inflight(inflight_key("c", 1), inflight));
    auto message = encode_message(sample_message());
    message[0] = 2;  // unknown record format
    EXPECT_FALSE(decode_message(message));
    // A count claiming four billion subscription ids in a short value.
    std::string ids = encode_queued({"c", 1, 5, 1, false, {}});
    ids.replace(ids.size() - 4, 4, "\xff\xff\xff\xff");
    EXPECT_FALSE(decode_queued(queued_key("c", 1), ids));
}

TEST(RecordCodec, KeysOrderBySeqWithinAClient) {
    EXPECT_LT(queued_key("c", 2), queued_key("c", 256));
    EXPECT_LT(queued_key("c", 255), queued_key("c", 1ull << 32));
    EXPECT_LT(inflight_key("c", 9), inflight_key("c", 300));
    // The length prefix keeps "c" and "cc" apart: no key of one starts with the other's prefix.
    EXPECT_FALSE(queued_key("cc", 1).starts_with(client_prefix("c")));
}

TEST(RecordCodec, DamagedKeysAreRefused) {
    EXPECT_FALSE(decode_client_key(""));
    EXPECT_FALSE(
        decode_client_key(std::string("\0\x05"
                                      "ab",
                                      4)));
    EXPECT_FALSE(
        decode_queued(client_prefix("c") + "123", encode_queued({"c", 1, 5, 1, false, {}})));
    EXPECT_FALSE(decode_message_key("1234567"));
    EXPECT_EQ(decode_message_key(message_key(0x0102030405060708)), 0x0102030405060708u);
}

// LMDB's key limit (mdb_env_get_maxkeysize with the default build).
constexpr std::size_t kMaxKeySize = 511;

std::string long_name(std::size_t size, char last) {
    std::string name(size, 'n');
    name.back() = last;
    return name;
}

// A `names` table of one entry, as LmdbStore's is.
ClientNames names_of(const std::string& client) {
    return [client, part = client_prefix(client)](std::string_view p) {
        return p == part ? &client : nullptr;
    };
}

TEST(RecordCodec, LongNamesAreHashedIntoShortKeys) {
    const auto client = long_name(65'535, 'a');
    const auto filter = long_name(10'000, 'f');
    EXPECT_LE(subscription_key(client, filter).size(), kMaxKeySize);
    EXPECT_LE(queued_key(client, 1).size(), kMaxKeySize);
    EXPECT_LE(retained_key(filter).size(), kMaxKeySize);
    EXPECT_EQ(client_prefix(long_name(kInlineNameMax, 'x')).size(), 2 + kInlineNameMax);
    EXPECT_EQ(client_prefix(long_name(kInlineNameMax + 1, 'x')).size(),
              2 + kHashedNameHead + kDigestSize);
    // Same length, same head, one byte apart at the end: different keys, and neither
    // client's prefix starts the other's keys. Beyond 65,535 bytes the digest still tells.
    const auto twin = long_name(65'535, 'b');
    EXPECT_NE(client_prefix(client), client_prefix(twin));
    EXPECT_FALSE(queued_key(twin, 1).starts_with(client_prefix(client)));
    EXPECT_NE(client_prefix(long_name(70'000, 'a')), client_prefix(long_name(70'000, 'b')));
    EXPECT_FALSE(queued_key(client, 1).starts_with(client_prefix("n")));
}

TEST(RecordCodec, HashedClientDecodesOnlyWithItsName) {
    const auto client = long_name(65'535, 'a');
    const QueuedEntry q{client, 7, 77, 1, false, {}, 12};
    const auto key = queued_key(client, 7);
    const auto value = encode_queued(q);
    EXPECT_FALSE(decode_queued(key, value));  // no names: the key alone cannot say who
    auto decoded = decode_queued(key, value, names_of(client));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->client_id, client);
    EXPECT_EQ(decoded->seq, 7u);
    EXPECT_FALSE(decode_queued(key, value, names_of(long_name(65'535, 'b'))));

    std::string id;
    EXPECT_EQ(decode_qos2_key(qos2_key(client, 300), &id, names_of(client)), 300);
    EXPECT_EQ(id, client);
    StoredSession s{client, protocol::ProtocolVersion::V5, 1, 0, {}, {}, 0};
    auto session = decode_session(session_key(client), encode_session(s), names_of(client));
    ASSERT_TRUE(session);
    EXPECT_EQ(session->client_id, client);
}

TEST(RecordCodec, StoredNameMustHashToItsKey) {
    const auto client = long_name(1'000, 'a');
    const auto key = client_prefix(client);
    EXPECT_EQ(decode_name(key, encode_name(client)), client);
    EXPECT_FALSE(decode_name(key, encode_name(long_name(1'000, 'b'))));  // a collision
    EXPECT_FALSE(decode_name(client_prefix("short"), encode_name("short")));
    EXPECT_FALSE(decode_name(key, client));  // no format byte
}

TEST(RecordCodec, LongFilterAndTopicLiveInTheValue) {
    const auto client = long_name(65'535, 'a');
    const auto filter = long_name(10'000, '#');
    const StoredSubscription sub{client, filter, {{1, false, false, {}}, 5}};
    const auto key = subscription_key(client, filter);
    const auto value = encode_subscription(sub);
    auto decoded = decode_subscription(key, value, names_of(client));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->client_id, client);
    EXPECT_EQ(decoded->filter, filter);
    EXPECT_EQ(decoded->record.subscription_id, 5u);
    auto other = value;
    other[other.size() - 2] = 'x';  // another filter with, supposedly, the same digest
    EXPECT_FALSE(decode_subscription(key, other, names_of(client)));
    expect_damage_refused(value, [&](std::string_view v) {
        return decode_subscription(key, v, names_of(client)).has_value();
    });

    const auto topic = long_name(10'000, 't');
    const auto rkey = retained_key(topic);
    EXPECT_EQ(decode_retained(rkey, encode_retained(topic, 9)), std::pair(topic, MessageId{9}));
    EXPECT_FALSE(decode_retained(rkey, encode_retained(long_name(10'000, 'u'), 9)));
    EXPECT_FALSE(decode_retained(rkey, encode_u64(9)));
    EXPECT_EQ(decode_retained(retained_key("a/b"), encode_retained("a/b", 3)),
              std::pair(std::string("a/b"), MessageId{3}));
    EXPECT_FALSE(decode_retained(retained_key("a/b"), encode_u64(3) + "a/b"));
}

}  // namespace
}  // namespace petrel::store::codec
