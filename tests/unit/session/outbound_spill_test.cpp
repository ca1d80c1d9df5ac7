// OutboundFlow's queue limits by bytes, offer() outcomes, and spilling: with a memory
// window, deliveries beyond it are counted but held only by the store, read back with
// refill() as the in-memory queue drains, in order and without anything overtaking them.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flow_test_support.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::session {
namespace {

using Kind = OutboundPacket::Kind;
using namespace petrel::session::flow_testing;

// A stored delivery: topic "m<seq>", QoS 1.
Delivery stored(std::uint64_t seq) {
    Delivery delivery = make_delivery(1, "m" + std::to_string(seq));
    delivery.seq = seq;
    return delivery;
}

// What the store would hand back for seqs first..last.
std::vector<Delivery> stored_range(std::uint64_t first, std::uint64_t last) {
    std::vector<Delivery> deliveries;
    for (std::uint64_t seq = first; seq <= last; ++seq) {
        deliveries.push_back(stored(seq));
    }
    return deliveries;
}

std::vector<std::string> names(std::uint64_t first, std::uint64_t last) {
    std::vector<std::string> topics;
    for (std::uint64_t seq = first; seq <= last; ++seq) {
        topics.push_back("m" + std::to_string(seq));
    }
    return topics;
}

OutboundFlow spilling_flow(std::size_t max_inflight, std::size_t memory_window,
                           std::size_t max_queued = 0, std::size_t max_queued_bytes = 0) {
    return OutboundFlow(OutboundLimits{.max_inflight = max_inflight,
                                       .max_queued = max_queued,
                                       .max_queued_bytes = max_queued_bytes,
                                       .memory_window = memory_window});
}

OfferOutcome offer_outcome(OutboundFlow& flow, Delivery delivery, bool online,
                           std::vector<OutboundPacket>* packets = nullptr) {
    OfferOutcome outcome = OfferOutcome::Dropped;
    std::vector<OutboundPacket> out = flow.offer(std::move(delivery), online, &outcome);
    if (packets != nullptr) {
        *packets = std::move(out);
    }
    return outcome;
}

// Moves the first `count` (> 0) queued deliveries into flight: the client grants more room.
std::vector<OutboundPacket> drain(OutboundFlow& flow, std::size_t count) {
    flow.set_receive_maximum(static_cast<std::uint16_t>(flow.inflight_count() + count));
    std::vector<OutboundPacket> out = flow.resume();
    std::vector<OutboundPacket> fresh;
    for (OutboundPacket& packet : out) {
        if (!packet.dup) {
            fresh.push_back(std::move(packet));
        }
    }
    return fresh;
}

// ---- Sizes and the byte limit ----------------------------------------------------------

TEST(OutboundFlowBytes, DeliverySizeIsTopicPlusPayload) {
    const Delivery delivery = make_delivery(1, "a/b");  // payload "payload of a/b"
    EXPECT_EQ(OutboundFlow::delivery_size(delivery), 3u + 14u);
    EXPECT_EQ(OutboundFlow::delivery_size(Delivery{}), 0u);
}

TEST(OutboundFlowBytes, ByteLimitDropsTheNewMessageCountedAsBytes) {
    const std::size_t size = OutboundFlow::delivery_size(stored(1));
    OutboundFlow flow = spilling_flow(1, 0, 100, 2 * size);
    EXPECT_EQ(offer_outcome(flow, stored(1), false), OfferOutcome::Queued);
    EXPECT_EQ(offer_outcome(flow, stored(2), false), OfferOutcome::Queued);
    EXPECT_EQ(offer_outcome(flow, stored(3), false), OfferOutcome::Dropped);
    EXPECT_EQ(flow.counters().dropped_queue_bytes, 1u);
    EXPECT_EQ(flow.counters().dropped_queue_full, 0u);
    EXPECT_EQ(flow.queued_bytes(), 2 * size);
    EXPECT_EQ(queued_topics(flow), names(1, 2));

    // A smaller delivery that still fits is taken.
    OutboundFlow roomy = spilling_flow(1, 0, 100, size + 5);
    EXPECT_EQ(offer_outcome(roomy, stored(1), false), OfferOutcome::Queued);
    EXPECT_EQ(offer_outcome(roomy, stored(2), false), OfferOutcome::Dropped);
    Delivery tiny = make_delivery(1, "");
    auto tiny_message = std::make_shared<Message>();
    tiny_message->topic = "x";
    tiny_message->payload = protocol::make_payload("");
    tiny.message = tiny_message;
    EXPECT_EQ(offer_outcome(roomy, tiny, false), OfferOutcome::Queued);
    EXPECT_EQ(roomy.queued_bytes(), size + 1);
}

TEST(OutboundFlowBytes, CountLimitIsCheckedAndCountedSeparately) {
    OutboundFlow flow = spilling_flow(1, 0, 2, 1'000'000);
    for (std::uint64_t seq = 1; seq <= 4; ++seq) {
        flow.offer(stored(seq), false);
    }
    EXPECT_EQ(flow.counters().dropped_queue_full, 2u);
    EXPECT_EQ(flow.counters().dropped_queue_bytes, 0u);
}

TEST(OutboundFlowBytes, ZeroLimitsMeanNoLimit) {
    OutboundFlow flow = spilling_flow(1, 0, 0, 0);
    for (std::uint64_t seq = 1; seq <= 3000; ++seq) {
        ASSERT_EQ(offer_outcome(flow, stored(seq), false), OfferOutcome::Queued);
    }
    EXPECT_EQ(flow.queued_count(), 3000u);
    EXPECT_EQ(flow.counters().dropped_queue_full, 0u);
    EXPECT_EQ(flow.counters().dropped_queue_bytes, 0u);
}

TEST(OutboundFlowBytes, ByteLimitDoesNotApplyToADeliveryGoingStraightIntoFlight) {
    OutboundFlow flow = spilling_flow(1, 0, 10, 1);
    std::vector<OutboundPacket> out;
    EXPECT_EQ(offer_outcome(flow, stored(1), true, &out), OfferOutcome::Sent);
    EXPECT_EQ(topics_of(out), names(1, 1));
    EXPECT_EQ(flow.queued_bytes(), 0u);
    EXPECT_EQ(offer_outcome(flow, stored(2), true), OfferOutcome::Dropped);
    EXPECT_EQ(flow.counters().dropped_queue_bytes, 1u);
}

TEST(OutboundFlowBytes, QueuedBytesFollowOfferFillWindowAndAck) {
    const std::size_t size = OutboundFlow::delivery_size(stored(1));
    OutboundFlow flow = spilling_flow(1, 0);
    const protocol::PacketId first = send_now(flow, 1, "in/flight");
    EXPECT_EQ(flow.queued_bytes(), 0u);  // in flight is not queued
    flow.offer(stored(1), true);
    flow.offer(stored(2), true);
    EXPECT_EQ(flow.queued_bytes(), 2 * size);

    std::optional<std::vector<OutboundPacket>> out = flow.on_puback(first);
    ASSERT_TRUE(out.has_value());
    ASSERT_EQ(topics_of(*out), names(1, 1));
    EXPECT_EQ(flow.queued_bytes(), size);
    out = flow.on_puback((*out)[0].packet_id);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(topics_of(*out), names(2, 2));
    EXPECT_EQ(flow.queued_bytes(), 0u);

    // Offline, then resume: the bytes leave with the deliveries.
    OutboundFlow offline = spilling_flow(5, 0);
    offline.offer(stored(1), false);
    offline.offer(stored(2), false);
    EXPECT_EQ(offline.queued_bytes(), 2 * size);
    EXPECT_EQ(offline.resume().size(), 2u);
    EXPECT_EQ(offline.queued_bytes(), 0u);
}

// ---- Outcomes --------------------------------------------------------------------------

TEST(OutboundFlowOutcome, EachCaseSaysWhatHappened) {
    OutboundFlow flow = spilling_flow(1, 2, 4);
    std::vector<OutboundPacket> out;
    EXPECT_EQ(offer_outcome(flow, make_delivery(0, "q0"), true, &out), OfferOutcome::Sent);
    EXPECT_EQ(out.size(), 1u);
    EXPECT_EQ(offer_outcome(flow, make_delivery(0, "q0"), false, &out), OfferOutcome::Dropped);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(flow.counters().dropped_qos0_offline, 1u);
    EXPECT_EQ(offer_outcome(flow, stored(1), true, &out), OfferOutcome::Sent);
    EXPECT_EQ(topics_of(out), names(1, 1));
    EXPECT_EQ(offer_outcome(flow, stored(2), true, &out), OfferOutcome::Queued);  // window full
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(offer_outcome(flow, stored(3), false, &out), OfferOutcome::Queued);
    EXPECT_EQ(offer_outcome(flow, stored(4), false, &out), OfferOutcome::Spilled);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(offer_outcome(flow, stored(5), true, &out), OfferOutcome::Spilled);
    EXPECT_EQ(offer_outcome(flow, stored(6), false, &out), OfferOutcome::Dropped);
    EXPECT_EQ(flow.counters().dropped_queue_full, 1u);
    // The outcome is optional.
    EXPECT_TRUE(flow.offer(stored(7), false).empty());
    EXPECT_EQ(flow.counters().dropped_queue_full, 2u);
}

// ---- Spilling --------------------------------------------------------------------------

TEST(OutboundFlowSpill, DeliveriesBeyondTheMemoryWindowAreCountedButNotHeld) {
    const std::size_t size = OutboundFlow::delivery_size(stored(1));
    OutboundFlow flow = spilling_flow(5, 3);
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
        EXPECT_EQ(offer_outcome(flow, stored(seq), false),
                  seq <= 3 ? OfferOutcome::Queued : OfferOutcome::Spilled)
            << "seq " << seq;
    }
    EXPECT_EQ(queued_topics(flow), names(1, 3));
    EXPECT_EQ(flow.spilled_count(), 2u);
    EXPECT_EQ(flow.queued_count(), 5u);
    EXPECT_EQ(flow.queued_bytes(), 5 * size);
    EXPECT_EQ(flow.refill_after_seq(), 3u);
}

TEST(OutboundFlowSpill, NoMemoryWindowNeverSpillsAndSetMemoryWindowTurnsItOn) {
    OutboundFlow flow = spilling_flow(1, 0);
    for (std::uint64_t seq = 1; seq <= 50; ++seq) {
        ASSERT_EQ(offer_outcome(flow, stored(seq), false), OfferOutcome::Queued);
    }
    EXPECT_EQ(flow.spilled_count(), 0u);
    EXPECT_EQ(flow.refill_wanted(), 0u);
    flow.set_memory_window(50);
    EXPECT_EQ(offer_outcome(flow, stored(51), false), OfferOutcome::Spilled);
}

TEST(OutboundFlowSpill, LimitsCountSpilledDeliveries) {
    const std::size_t size = OutboundFlow::delivery_size(stored(1));
    OutboundFlow by_count = spilling_flow(1, 2, 4);
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
        by_count.offer(stored(seq), false);
    }
    EXPECT_EQ(by_count.spilled_count(), 2u);
    EXPECT_EQ(by_count.counters().dropped_queue_full, 1u);

    OutboundFlow by_bytes = spilling_flow(1, 2, 0, 3 * size);
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
        by_bytes.offer(stored(seq), false);
    }
    EXPECT_EQ(by_bytes.spilled_count(), 1u);
    EXPECT_EQ(by_bytes.counters().dropped_queue_bytes, 2u);
    EXPECT_EQ(by_bytes.queued_bytes(), 3 * size);
}

TEST(OutboundFlowSpill, NothingOvertakesSpilledDeliveries) {
    OutboundFlow flow = spilling_flow(5, 2);
    for (std::uint64_t seq = 1; seq <= 4; ++seq) {
        flow.offer(stored(seq), false);
    }
    // The client comes back: the memory queue goes out, the spilled ones are still away.
    EXPECT_EQ(topics_of(flow.resume()), names(1, 2));
    ASSERT_TRUE(flow.queued().empty());
    ASSERT_EQ(flow.spilled_count(), 2u);

    // The window has room and the memory queue is empty, yet m5 must wait behind m3, m4.
    std::vector<OutboundPacket> out;
    EXPECT_EQ(offer_outcome(flow, stored(5), true, &out), OfferOutcome::Spilled);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(flow.inflight_count(), 2u);
    EXPECT_EQ(flow.spilled_count(), 3u);

    // Even once part of them is back and the memory queue has room again.
    ASSERT_EQ(flow.refill_wanted(), 2u);
    EXPECT_EQ(topics_of(flow.refill(stored_range(3, 3), false)), std::vector<std::string>{});
    EXPECT_EQ(offer_outcome(flow, stored(6), true, &out), OfferOutcome::Spilled);
    EXPECT_EQ(topics_of(out), names(3, 3));  // room freed goes to older ones first
    EXPECT_EQ(flow.spilled_count(), 3u);

    // Everything comes back in seq order.
    EXPECT_EQ(flow.refill_after_seq(), 3u);
    EXPECT_EQ(topics_of(flow.refill(stored_range(4, 6), true)), names(4, 5));
    EXPECT_EQ(queued_topics(flow), names(6, 6));
    EXPECT_EQ(flow.spilled_count(), 0u);

    // Nothing spilled any more: a new delivery queues in memory again.
    EXPECT_EQ(offer_outcome(flow, stored(7), true), OfferOutcome::Queued);
}

TEST(OutboundFlowSpill, RefillWantedBelowHalfTheWindow) {
    OutboundFlow flow = spilling_flow(20, 4);
    EXPECT_EQ(flow.refill_wanted(), 0u);  // nothing spilled
    for (std::uint64_t seq = 1; seq <= 14; ++seq) {
        flow.offer(stored(seq), false);
    }
    ASSERT_EQ(flow.spilled_count(), 10u);
    EXPECT_EQ(flow.refill_wanted(), 0u);  // 4 in memory
    EXPECT_EQ(topics_of(drain(flow, 2)), names(1, 2));
    EXPECT_EQ(flow.refill_wanted(), 0u);  // 2 in memory: not below half of 4
    EXPECT_EQ(topics_of(drain(flow, 1)), names(3, 3));
    EXPECT_EQ(flow.refill_wanted(), 3u);  // 1 in memory: room for 3
    EXPECT_EQ(topics_of(drain(flow, 1)), names(4, 4));
    EXPECT_EQ(flow.refill_wanted(), 4u);  // empty: a whole window

    // Never more than is spilled.
    OutboundFlow few = spilling_flow(20, 4);
    for (std::uint64_t seq = 1; seq <= 6; ++seq) {
        few.offer(stored(seq), false);
    }
    drain(few, 4);
    EXPECT_EQ(few.refill_wanted(), 2u);

    // A window of 1 refills when empty; of 3, when below 1 (3 / 2 rounds down).
    for (const std::size_t window : {std::size_t{1}, std::size_t{3}}) {
        SCOPED_TRACE("memory window " + std::to_string(window));
        OutboundFlow small = spilling_flow(20, window);
        for (std::uint64_t seq = 1; seq <= 10; ++seq) {
            small.offer(stored(seq), false);
        }
        if (window > 1) {
            drain(small, window - 1);
        }
        EXPECT_EQ(small.refill_wanted(), 0u);
        drain(small, 1);
        EXPECT_EQ(small.refill_wanted(), window);
    }
}

TEST(OutboundFlowSpill, RefillTakesFewerThanWantedAndAsksAgainLater) {
    OutboundFlow flow = spilling_flow(20, 4);
    for (std::uint64_t seq = 1; seq <= 12; ++seq) {
        flow.offer(stored(seq), false);
    }
    drain(flow, 4);
    ASSERT_EQ(flow.refill_wanted(), 4u);
    // The store has only two of them committed so far.
    EXPECT_TRUE(flow.refill(stored_range(5, 6), false).empty());
    EXPECT_EQ(queued_topics(flow), names(5, 6));
    EXPECT_EQ(flow.spilled_count(), 6u);
    EXPECT_EQ(flow.queued_count(), 8u);
    EXPECT_EQ(flow.refill_after_seq(), 6u);
    EXPECT_EQ(flow.refill_wanted(), 0u);  // 2 in memory

    drain(flow, 1);
    EXPECT_EQ(flow.refill_wanted(), 3u);
    EXPECT_TRUE(flow.refill(stored_range(7, 9), false).empty());
    EXPECT_EQ(queued_topics(flow), (std::vector<std::string>{"m6", "m7", "m8", "m9"}));
    EXPECT_EQ(flow.spilled_count(), 3u);

    // An empty read changes nothing.
    EXPECT_TRUE(flow.refill({}, true).empty());
    EXPECT_EQ(flow.spilled_count(), 3u);
}

TEST(OutboundFlowSpill, RefillSkipsDeliveriesNotNewerThanTheLastHeld) {
    const std::size_t size = OutboundFlow::delivery_size(stored(1));
    OutboundFlow flow = spilling_flow(20, 2);
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
        flow.offer(stored(seq), false);
    }
    drain(flow, 2);
    ASSERT_EQ(flow.refill_after_seq(), 2u);
    // A stale read repeats m2; m3 follows.
    std::vector<Delivery> read = stored_range(2, 3);
    read.push_back(stored(3));  // a duplicate within the same read
    flow.refill(std::move(read), false);
    EXPECT_EQ(queued_topics(flow), names(3, 3));
    EXPECT_EQ(flow.spilled_count(), 2u);
    EXPECT_EQ(flow.queued_bytes(), 3 * size);
    EXPECT_EQ(flow.refill_after_seq(), 3u);
}

TEST(OutboundFlowSpill, RefillWhileOnlineReturnsPacketsForTheFreeWindow) {
    const std::size_t size = OutboundFlow::delivery_size(stored(1));
    OutboundFlow flow = spilling_flow(3, 2);
    for (std::uint64_t seq = 1; seq <= 8; ++seq) {
        flow.offer(stored(seq), false);
    }
    ASSERT_EQ(topics_of(flow.resume()), names(1, 2));
    ASSERT_EQ(flow.spilled_count(), 6u);
    EXPECT_EQ(flow.queued_bytes(), 6 * size);
    ASSERT_EQ(flow.refill_wanted(), 2u);

    // One window slot is free: m3 goes out, m4 waits in memory.
    std::vector<OutboundPacket> out = flow.refill(stored_range(3, 4), true);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, Kind::Publish);
    EXPECT_NE(out[0].packet_id, 0);
    EXPECT_FALSE(out[0].dup);
    EXPECT_EQ(topic_of(out[0]), "m3");
    EXPECT_EQ(queued_topics(flow), names(4, 4));
    EXPECT_EQ(flow.inflight_count(), 3u);
    EXPECT_EQ(flow.spilled_count(), 4u);
    EXPECT_EQ(flow.queued_bytes(), 5 * size);  // m3 left the queue; m4..m8 remain

    // Acks drain the memory queue and then stop: the rest must be read back first.
    const protocol::PacketId m1 = flow.inflight().front().packet_id;
    std::optional<std::vector<OutboundPacket>> acked = flow.on_puback(m1);
    ASSERT_TRUE(acked.has_value());
    EXPECT_EQ(topics_of(*acked), names(4, 4));
    const protocol::PacketId m2 = flow.inflight().front().packet_id;
    acked = flow.on_puback(m2);
    ASSERT_TRUE(acked.has_value());
    EXPECT_TRUE(acked->empty());
    EXPECT_EQ(flow.inflight_count(), 2u);
    ASSERT_EQ(flow.refill_wanted(), 2u);
    EXPECT_EQ(topics_of(flow.refill(stored_range(5, 6), true)), names(5, 5));
    EXPECT_EQ(flow.queued_bytes(), 3 * size);
}

TEST(OutboundFlowSpill, ForgetSpilledUncountsADeliveryTheStoreLost) {
    const std::size_t size = OutboundFlow::delivery_size(stored(1));
    OutboundFlow flow = spilling_flow(5, 1);
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        flow.offer(stored(seq), false);
    }
    ASSERT_EQ(flow.spilled_count(), 2u);
    flow.forget_spilled(size);
    EXPECT_EQ(flow.spilled_count(), 1u);
    EXPECT_EQ(flow.queued_count(), 2u);
    EXPECT_EQ(flow.queued_bytes(), 2 * size);
    EXPECT_EQ(flow.counters().dropped_store_failed, 1u);

    // Never below zero, however often it is called.
    flow.forget_spilled(size);
    flow.forget_spilled(100 * size);
    EXPECT_EQ(flow.spilled_count(), 0u);
    EXPECT_EQ(flow.queued_bytes(), 0u);
    EXPECT_EQ(flow.counters().dropped_store_failed, 3u);
    EXPECT_EQ(queued_topics(flow), names(1, 1));
    EXPECT_EQ(flow.refill_wanted(), 0u);
}

TEST(OutboundFlowSpill, RestoredSpillIsReadBackAfterTheRestoredQueue) {
    const std::size_t size = OutboundFlow::delivery_size(stored(1));
    OutboundFlow flow = spilling_flow(2, 4);
    flow.restore_inflight(InflightMessage{9, OutboundState::AwaitingPuback, stored(1)});
    flow.restore_queued(stored(2));
    flow.restore_queued(stored(3));
    flow.restore_spilled(4, 4 * size);
    EXPECT_EQ(flow.queued_count(), 6u);
    EXPECT_EQ(flow.spilled_count(), 4u);
    EXPECT_EQ(flow.queued_bytes(), 6 * size);
    EXPECT_EQ(flow.refill_after_seq(), 3u);
    EXPECT_EQ(flow.refill_wanted(), 0u);  // 2 in memory: not below half of 4

    // New deliveries queue behind the restored spill.
    EXPECT_EQ(offer_outcome(flow, stored(8), false), OfferOutcome::Spilled);
    EXPECT_EQ(flow.spilled_count(), 5u);

    // Reconnect: m1 resent, m2 fills the window; m3 left in memory.
    const std::vector<OutboundPacket> out = flow.resume();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0].dup);
    EXPECT_EQ(topic_of(out[1]), "m2");
    ASSERT_EQ(flow.refill_wanted(), 3u);
    EXPECT_TRUE(flow.refill(stored_range(4, 6), true).empty());  // window still full
    EXPECT_EQ(queued_topics(flow), names(3, 6));
    EXPECT_EQ(flow.spilled_count(), 2u);

    std::optional<std::vector<OutboundPacket>> acked = flow.on_puback(9);
    ASSERT_TRUE(acked.has_value());
    EXPECT_EQ(topics_of(*acked), names(3, 3));
    EXPECT_EQ(flow.queued_bytes(), 5 * size);
}

TEST(OutboundFlowSpill, RestoreWithoutAMemoryWindowStillReadsTheSpillBack) {
    // A flow restored with spilled deliveries before its memory window is set must not
    // stall: everything spilled is wanted once the memory queue is empty.
    OutboundFlow flow = spilling_flow(5, 0);
    flow.restore_spilled(3, 30);
    EXPECT_EQ(offer_outcome(flow, stored(4), true), OfferOutcome::Spilled);  // keeps order
    EXPECT_EQ(flow.refill_wanted(), 4u);
    EXPECT_EQ(topics_of(flow.refill(stored_range(1, 4), true)), names(1, 4));
    EXPECT_EQ(flow.spilled_count(), 0u);
    EXPECT_EQ(offer_outcome(flow, stored(5), true), OfferOutcome::Sent);
}

TEST(OutboundFlowSpill, CopyKeepsTheSpillState) {
    const std::size_t size = OutboundFlow::delivery_size(stored(1));
    OutboundFlow original = spilling_flow(5, 2);
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
        original.offer(stored(seq), false);
    }
    const OutboundFlow copy = original;
    EXPECT_EQ(copy.spilled_count(), 3u);
    EXPECT_EQ(copy.queued_count(), 5u);
    EXPECT_EQ(copy.queued_bytes(), 5 * size);
    EXPECT_EQ(copy.refill_after_seq(), 2u);

    OutboundFlow assigned = spilling_flow(1, 0);
    assigned = copy;
    EXPECT_EQ(assigned.spilled_count(), 3u);
    EXPECT_EQ(assigned.queued_bytes(), 5 * size);
    EXPECT_EQ(assigned.refill_after_seq(), 2u);
    EXPECT_EQ(offer_outcome(assigned, stored(6), false), OfferOutcome::Spilled);
}

}  // namespace
}  // namespace petrel::session
