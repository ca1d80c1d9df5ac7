// The store conformance suite, part three: queue summaries through every mutation that
// changes a queue. LmdbStore keeps them in a table of their own (`queue_stats`) that
// recover() reads instead of the queue; load() sums the queue itself, and check()
// compares the two, so each step is checked all three ways.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "store_conformance.hpp"

namespace petrel::store {
namespace {

using test::commit;
using test::make_message;
using test::queued;

using Summaries = std::map<std::string, QueueSummary>;

template <class Harness>
class QueueSummaryConformance : public test::StoreFixture<Harness> {
  protected:
    void apply(WriteBatch b) {
        const auto result = commit(this->store(), std::move(b));
        ASSERT_TRUE(result.ok) << result.error;
    }
    // What recover() reads (LmdbStore: the table), what load() sums, and what check() says.
    void expect_summaries(const Summaries& expected) {
        EXPECT_EQ(this->recovered(1).queue_summaries, expected);
        EXPECT_EQ(this->store().load().queue_summaries, expected);
        const auto problems = this->harness_.check_problems();
        EXPECT_TRUE(problems.empty()) << problems.front();
    }
};
TYPED_TEST_SUITE(QueueSummaryConformance, test::Stores);

TYPED_TEST(QueueSummaryConformance, FollowEveryMutation) {
    WriteBatch messages;
    for (MessageId id = 1; id <= 3; ++id) {
        messages.put_message(id, make_message("t/" + std::to_string(id), "p"));
        messages.set_retained("keep/" + std::to_string(id), id);  // outlives every queue
    }
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(messages)));

    WriteBatch push;
    push.push_queued(queued("c1", 1, 1, 10));
    push.push_queued(queued("c1", 2, 1, 20));
    push.push_queued(queued("c1", 5, 2, 30));
    push.push_queued(queued("c2", 3, 1, 7));
    push.push_queued(queued("c2", 4, 3, 8));
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(push)));
    this->expect_summaries({{"c1", {3, 60, 5}}, {"c2", {2, 15, 4}}});

    WriteBatch replace;  // same seqs, other sizes: one entry each still
    replace.push_queued(queued("c1", 2, 3, 25));
    replace.push_queued(queued("c1", 5, 3, 1));
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(replace)));
    this->expect_summaries({{"c1", {3, 36, 5}}, {"c2", {2, 15, 4}}});

    // The highest seq goes: the one before it is the last. c1's keys have c2's after
    // them, c2's have none.
    WriteBatch erase_last;
    erase_last.erase_queued("c1", 5);
    erase_last.erase_queued("c2", 4);
    erase_last.erase_queued("c1", 99);  // not there: a no-op
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(erase_last)));
    this->expect_summaries({{"c1", {2, 35, 2}}, {"c2", {1, 7, 3}}});

    WriteBatch erase_first;
    erase_first.erase_queued("c1", 1);
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(erase_first)));
    this->expect_summaries({{"c1", {1, 25, 2}}, {"c2", {1, 7, 3}}});

    // Pushed and erased again within a batch, and the queue emptied: no summary.
    WriteBatch drain;
    drain.push_queued(queued("c1", 10, 2, 4));
    drain.erase_queued("c1", 10);
    drain.erase_queued("c1", 2);
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(drain)));
    this->expect_summaries({{"c2", {1, 7, 3}}});

    // A queue that starts again may start below where it was: nothing stored is in the way.
    WriteBatch refill;
    refill.push_queued(queued("c1", 4, 1, 9));
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(refill)));
    this->expect_summaries({{"c1", {1, 9, 4}}, {"c2", {1, 7, 3}}});

    WriteBatch erase_session;
    erase_session.erase_session("c1");
    erase_session.erase_session("c2");
    erase_session.push_queued(queued("c2", 1, 2, 3));  // after its session went
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(erase_session)));
    this->expect_summaries({{"c2", {1, 3, 1}}});
}

// Batches submitted back to back share transactions (group commit in LmdbStore): each
// must find the summary the one before it left.
TYPED_TEST(QueueSummaryConformance, BatchesInOneTransaction) {
    WriteBatch message;
    message.put_message(1, make_message("t", "p"));
    message.set_retained("keep", 1);
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(message)));
    constexpr std::uint64_t kBatches = 200;
    for (std::uint64_t seq = 1; seq <= kBatches; ++seq) {
        WriteBatch b;
        b.push_queued(queued("g", seq, 1, seq));
        if (seq % 2 == 0) {
            b.erase_queued("g", seq - 1);
        }
        this->store().submit(std::move(b), nullptr);
    }
    this->store().flush();
    std::uint64_t bytes = 0;
    for (std::uint64_t seq = 2; seq <= kBatches; seq += 2) {
        bytes += seq;
    }
    this->expect_summaries({{"g", {kBatches / 2, bytes, kBatches}}});
}

TYPED_TEST(QueueSummaryConformance, LongClientIds) {
    const std::string client(65'535, 'c');
    std::string twin = client;  // same length and head: only the digest tells them apart
    twin.back() = 't';
    WriteBatch b;
    b.put_message(1, make_message("t", "p"));
    for (std::uint64_t seq = 1; seq <= 4; ++seq) {
        b.push_queued(queued(client, seq, 1, 10));
        b.push_queued(queued(twin, seq * 2, 1, 5));
    }
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(b)));
    this->expect_summaries({{client, {4, 40, 4}}, {twin, {4, 20, 8}}});

    WriteBatch erase;
    erase.erase_queued(client, 4);
    erase.erase_queued(twin, 8);
    erase.erase_queued(twin, 2);
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(erase)));
    this->expect_summaries({{client, {3, 30, 3}}, {twin, {2, 10, 6}}});

    WriteBatch gone;
    gone.erase_session(client);
    gone.erase_session(std::string(65'535, 'x'));  // unknown: a no-op
    ASSERT_NO_FATAL_FAILURE(this->apply(std::move(gone)));
    this->expect_summaries({{twin, {2, 10, 6}}});
}

}  // namespace
}  // namespace petrel::store
