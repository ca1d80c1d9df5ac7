// The store conformance suite, part one: sessions, subscriptions, queue, in-flight, QoS 2
// ids, retained slots and reference counting, alike in both stores (store_conformance.hpp).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "store_conformance.hpp"

namespace petrel::store {
namespace {

using test::commit;
using test::inflight;
using test::make_message;
using test::queued;

template <class Harness>
class StoreConformance : public test::StoreFixture<Harness> {};
TYPED_TEST_SUITE(StoreConformance, test::Stores);

TYPED_TEST(StoreConformance, SessionRoundTripsWithWill) {
    StoredSession s{"c1", protocol::ProtocolVersion::V5, 3600, 1'700'000'000'123, {}, {}, 0};
    protocol::Will will;
    will.topic = "will/c1";
    will.payload = protocol::make_payload("gone");
    will.qos = 1;
    will.properties.add_number(protocol::PropertyId::WillDelayInterval, 30);
    s.will = will;
    WriteBatch b;
    b.put_session(s);
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);

    auto snap = this->reloaded();
    ASSERT_EQ(snap.sessions.size(), 1u);
    const auto& got = snap.sessions[0];
    EXPECT_EQ(got.client_id, "c1");
    EXPECT_EQ(got.version, protocol::ProtocolVersion::V5);
    EXPECT_EQ(got.expiry_interval, 3600u);
    EXPECT_EQ(got.disconnected_at_ms, 1'700'000'000'123);
    ASSERT_TRUE(got.will);
    EXPECT_EQ(*got.will->payload, "gone");
    EXPECT_EQ(got.will->properties, will.properties);
}

TYPED_TEST(StoreConformance, ClockKeepsTheLastValueWritten) {
    EXPECT_EQ(this->reloaded().clock_ms, 0);
    WriteBatch first;
    first.set_clock(1'700'000'000'000);
    ASSERT_TRUE(commit(this->store(), std::move(first)).ok);
    WriteBatch second;
    second.set_clock(1'700'000'005'000);
    ASSERT_TRUE(commit(this->store(), std::move(second)).ok);
    EXPECT_EQ(this->reloaded().clock_ms, 1'700'000'005'000);
    EXPECT_EQ(this->store().recover(0).clock_ms, 1'700'000'005'000);
}

TYPED_TEST(StoreConformance, SubscriptionsPutReplaceErase) {
    WriteBatch b;
    b.put_subscription({"c1", "a/+", {{1, true, false, protocol::RetainHandling::DoNotSend}, 7}});
    b.put_subscription(
        {"c1", "b/#", {{2, false, true, protocol::RetainHandling::SendOnSubscribe}, std::nullopt}});
    b.put_subscription({"c1", "a/+", {{0, false, false, protocol::RetainHandling::DoNotSend}, 8}});
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    auto snap = this->reloaded();
    ASSERT_EQ(snap.subscriptions.size(), 2u);
    EXPECT_EQ(snap.subscriptions[0].filter, "a/+");
    EXPECT_EQ(snap.subscriptions[0].record.subscription_id, 8u);
    EXPECT_EQ(snap.subscriptions[1].record.options.qos, 2);

    WriteBatch erase;
    erase.erase_subscription("c1", "a/+");
    ASSERT_TRUE(commit(this->store(), std::move(erase)).ok);
    EXPECT_EQ(this->reloaded().subscriptions.size(), 1u);
}

TYPED_TEST(StoreConformance, QueueComesBackInSeqOrder) {
    // 256 sorts before 2 as text: the key must hold seq big-endian.
    for (std::uint64_t seq : {256u, 2u, 70000u, 1u}) {
        this->queue_new(seq, "c1", seq);
    }
    auto snap = this->reloaded();
    std::vector<std::uint64_t> seqs;
    for (const auto& e : snap.queued.at("c1")) {
        seqs.push_back(e.seq);
        EXPECT_TRUE(snap.messages.contains(e.message));
    }
    EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 256, 70000}));

    WriteBatch b;
    b.erase_queued("c1", 2);
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    EXPECT_EQ(this->store().counts().queued, 3u);
    EXPECT_EQ(this->store().counts().messages, 3u);
}

TYPED_TEST(StoreConformance, InflightInSendOrderAndStateChangeReleasesPayload) {
    WriteBatch b;
    b.put_message(1, make_message("t", "one"));
    b.put_message(2, make_message("t", "two"));
    b.put_inflight(inflight("c1", 20, 5, 1));  // packet id order is not send order
    b.put_inflight(inflight("c1", 10, 9, 2));
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);

    // PUBREC received for packet 5: only the PUBREL remains, the payload goes.
    auto rec = inflight("c1", 20, 5, 0);
    rec.state = session::OutboundState::AwaitingPubcomp;
    WriteBatch update;
    update.put_inflight(rec);
    ASSERT_TRUE(commit(this->store(), std::move(update)).ok);

    auto snap = this->reloaded();
    const auto& entries = snap.inflight.at("c1");
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].packet_id, 9);
    EXPECT_EQ(entries[1].packet_id, 5);
    EXPECT_EQ(entries[1].state, session::OutboundState::AwaitingPubcomp);
    EXPECT_EQ(entries[1].message, 0u);
    EXPECT_EQ(snap.messages.size(), 1u);
    EXPECT_TRUE(snap.messages.contains(2));

    WriteBatch done;
    done.erase_inflight("c1", 9);
    done.erase_inflight("c1", 5);
    ASSERT_TRUE(commit(this->store(), std::move(done)).ok);
    EXPECT_EQ(this->store().counts(), StoreCounts{});
}

TYPED_TEST(StoreConformance, InboundQos2Ids) {
    WriteBatch b;
    b.add_inbound_qos2("c1", 300);
    b.add_inbound_qos2("c1", 4);
    b.add_inbound_qos2("c2", 4);
    b.erase_inbound_qos2("c2", 4);
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    auto snap = this->reloaded();
    EXPECT_EQ(snap.inbound_qos2.at("c1"), (std::vector<protocol::PacketId>{4, 300}));
    EXPECT_FALSE(snap.inbound_qos2.contains("c2"));
}

TYPED_TEST(StoreConformance, RetainedReplaceReleasesOldMessage) {
    WriteBatch b;
    b.put_message(1, make_message("r/1", "old"));
    b.set_retained("r/1", 1);
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    WriteBatch replace;
    replace.put_message(2, make_message("r/1", "new"));
    replace.set_retained("r/1", 2);
    ASSERT_TRUE(commit(this->store(), std::move(replace)).ok);

    auto snap = this->reloaded();
    EXPECT_EQ(snap.retained.at("r/1"), 2u);
    ASSERT_EQ(snap.messages.size(), 1u);
    EXPECT_EQ(*snap.messages.at(2)->payload, "new");

    WriteBatch erase;
    erase.erase_retained("r/1");
    ASSERT_TRUE(commit(this->store(), std::move(erase)).ok);
    EXPECT_EQ(this->store().counts(), StoreCounts{});
}

TYPED_TEST(StoreConformance, EraseSessionCascadesAndSparesOtherClients) {
    // "c" is a byte prefix of "cc": the cascade must not reach into it.
    for (const std::string client : {"c", "cc"}) {
        WriteBatch b;
        b.put_session({client, protocol::ProtocolVersion::V311, 0xFFFFFFFF, 0, {}, {}, 0});
        b.put_subscription({client, "x/#", {}});
        b.add_inbound_qos2(client, 1);
        ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    }
    this->queue_new(1, "c", 1);
    this->queue_new(2, "cc", 1);
    WriteBatch shared;
    shared.push_queued(queued("cc", 2, 1));
    shared.put_inflight(inflight("c", 0, 7, 2));
    ASSERT_TRUE(commit(this->store(), std::move(shared)).ok);

    WriteBatch erase;
    erase.erase_session("c");
    ASSERT_TRUE(commit(this->store(), std::move(erase)).ok);

    auto snap = this->reloaded();
    ASSERT_EQ(snap.sessions.size(), 1u);
    EXPECT_EQ(snap.sessions[0].client_id, "cc");
    EXPECT_EQ(snap.subscriptions.size(), 1u);
    EXPECT_FALSE(snap.queued.contains("c"));
    EXPECT_FALSE(snap.inflight.contains("c"));
    EXPECT_FALSE(snap.inbound_qos2.contains("c"));
    EXPECT_EQ(snap.queued.at("cc").size(), 2u);
    EXPECT_EQ(snap.messages.size(), 2u);  // both still referenced by "cc"
    EXPECT_EQ(this->store().counts(), (StoreCounts{1, 1, 2, 0, 1, 2, 0}));
}

TYPED_TEST(StoreConformance, SharedPayloadIsStoredOnceUntilLastReference) {
    WriteBatch b;
    b.put_message(9, make_message("big", std::string(10'000, 'x')));
    for (int i = 0; i < 1000; ++i) {
        b.push_queued(queued("client" + std::to_string(i), 1, 9));
    }
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    EXPECT_EQ(this->store().counts().messages, 1u);
    EXPECT_EQ(this->store().counts().queued, 1000u);

    for (int i = 0; i < 999; ++i) {
        WriteBatch one;
        one.erase_queued("client" + std::to_string(i), 1);
        ASSERT_TRUE(commit(this->store(), std::move(one)).ok);
    }
    auto snap = this->reloaded();
    EXPECT_EQ(snap.messages.size(), 1u);
    WriteBatch last;
    last.erase_queued("client999", 1);
    ASSERT_TRUE(commit(this->store(), std::move(last)).ok);
    EXPECT_EQ(this->store().counts().messages, 0u);
}

TYPED_TEST(StoreConformance, UnreferencedMessageIsNotStored) {
    WriteBatch b;
    b.put_message(5, make_message("t", "nobody wants me"));
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    EXPECT_EQ(this->store().counts().messages, 0u);
}

TYPED_TEST(StoreConformance, DanglingReferenceFailsTheWholeBatch) {
    WriteBatch b;
    b.put_session({"c1", protocol::ProtocolVersion::V5, 10, 0, {}, {}, 0});
    b.push_queued(queued("c1", 1, 404));
    const auto result = commit(this->store(), std::move(b));
    EXPECT_FALSE(result.ok);
    EXPECT_FALSE(result.out_of_space);
    EXPECT_NE(result.error.find("404"), std::string::npos);
    EXPECT_EQ(this->store().counts(), StoreCounts{});
}

TYPED_TEST(StoreConformance, MessageIdHighWaterMarkOutlivesTheMessage) {
    this->queue_new(42, "c1", 1);
    WriteBatch b;
    b.erase_queued("c1", 1);
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    auto snap = this->reloaded();
    EXPECT_TRUE(snap.messages.empty());
    EXPECT_EQ(snap.max_message_id, 42u);
}

TYPED_TEST(StoreConformance, MessageFieldsRoundTrip) {
    auto m = make_message("a/b", std::string("\0bin\xff", 5), 2);
    m.retain = true;
    m.properties.add_user_property("k", "v");
    m.properties.add_text(protocol::PropertyId::ContentType, "text/plain");
    WriteBatch b;
    b.put_message(3, m);
    b.set_retained("a/b", 3);
    ASSERT_TRUE(commit(this->store(), std::move(b)).ok);
    auto snap = this->reloaded();
    const auto& got = *snap.messages.at(3);
    EXPECT_EQ(got.topic, "a/b");
    EXPECT_EQ(*got.payload, std::string("\0bin\xff", 5));
    EXPECT_EQ(got.qos, 2);
    EXPECT_TRUE(got.retain);
    EXPECT_EQ(got.properties, m.properties);
    EXPECT_EQ(got.publisher, "publisher");
}

TYPED_TEST(StoreConformance, ConcurrentSubmitsAllCompleteOnce) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 2500;
    std::vector<std::atomic<int>> calls(kThreads * kPerThread);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const int n = t * kPerThread + i;
                const auto id = static_cast<MessageId>(n + 1);
                WriteBatch b;
                b.put_message(id, make_message("t", "p"));
                b.push_queued(queued("client" + std::to_string(t), static_cast<unsigned>(i), id));
                this->store().submit(std::move(b), [&, n](CommitResult r) {
                    calls[static_cast<std::size_t>(n)].fetch_add(1);
                    if (!r.ok) {
                        failures.fetch_add(1);
                    }
                });
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    this->store().flush();
    for (const auto& c : calls) {
        ASSERT_EQ(c.load(), 1);
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(this->store().counts().queued, std::uint64_t{kThreads * kPerThread});
    EXPECT_EQ(this->reloaded().max_message_id, MessageId{kThreads * kPerThread});
}

}  // namespace
}  // namespace petrel::store
