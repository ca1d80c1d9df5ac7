// SessionRecorder against the in-memory store: what a session's events leave in the store,
// persistent or not, and what a failed commit takes back.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "petrel/store/memory_store.hpp"
#include "session_recorder.hpp"
#include "worker.hpp"

namespace petrel::broker {
namespace {

// The in-memory store, whose commits fail while `failing` is set.
class FailingStore final : public store::Store {
  public:
    bool failing = false;

    void submit(store::WriteBatch batch, Done done) override {
        if (failing) {
            if (done) {
                done(store::CommitResult{false, false, "refused by the test"});
            }
            return;
        }
        inner_.submit(std::move(batch), std::move(done));
    }
    store::Snapshot load() override { return inner_.load(); }
    store::Snapshot recover(std::size_t queue_window) override {
        return inner_.recover(queue_window);
    }
    QueuedRead read_queued(const std::string& client_id, std::uint64_t after_seq,
                           std::size_t limit) override {
        return inner_.read_queued(client_id, after_seq, limit);
    }
    store::StoreCounts counts() override { return inner_.counts(); }
    void flush() override {}

  private:
    store::MemoryStore inner_;
};

class SessionRecorderTest : public ::testing::Test {
  protected:
    SessionRecorderTest() {
        auto owned = std::make_unique<FailingStore>();
        store_ = owned.get();
        context_ = std::make_unique<BrokerContext>(config_, log_, std::move(owned), 0);
        context_->workers.push_back(std::make_unique<Worker>(0, *context_));
    }

    Worker& worker() { return *context_->workers[0]; }
    SessionRecorder& recorder() { return worker().recorder(); }
    store::Snapshot stored() { return store_->load(); }

    // Submits what is staged and runs what the commit left for the worker's loop: twice,
    // since a failed commit posts the forgetting, which posts to the home worker.
    void commit() {
        recorder().submit();
        for (int round = 0; round < 2; ++round) {
            worker().loop().post([this] { worker().loop().stop(); });
            worker().loop().run();
        }
    }

    // A session homed on worker 0; persistent when `expiry` > 0.
    static SessionHandlePtr make_session(const std::string& client_id, std::uint32_t expiry) {
        auto session = std::make_shared<SessionHandle>(client_id, 0, session::OutboundLimits{});
        session->state.expiry_interval = expiry;
        return session;
    }

    session::MessagePtr make_message(std::uint64_t id, const std::string& payload = "hello") {
        auto message = std::make_shared<session::Message>();
        message->id = id;
        message->topic = "a/b";
        message->payload = protocol::make_payload(payload);
        message->qos = 2;
        return message;
    }

    // A commit token whose result lands in `result`.
    CommitToken token_into(std::optional<store::CommitResult>& result) {
        return make_commit_token(worker().loop(),
                                 [&result](const store::CommitResult& r) { result = r; });
    }

    // Routes `message` at `qos` to `target` as Worker::publish does: numbered and staged
    // by the recorder, then offered to the target's flow. Returns the packets due now.
    std::vector<session::OutboundPacket> route(const SessionHandlePtr& target,
                                               const session::MessagePtr& message,
                                               protocol::Qos qos, const CommitToken& reply) {
        std::vector<RoutedDelivery> routed(1);
        routed[0].target = target;
        routed[0].delivery.message = message;
        routed[0].delivery.qos = qos;
        recorder().routed(routed, reply);
        return target->state.outbound().offer(std::move(routed[0].delivery), online_);
    }

    Config config_;
    spdlog::logger log_{"session_recorder_test"};
    FailingStore* store_ = nullptr;
    std::unique_ptr<BrokerContext> context_;
    bool online_ = false;
};

TEST_F(SessionRecorderTest, PersistentSessionRecordsEveryChange) {
    const SessionHandlePtr session = make_session("keeper", 300);
    recorder().connected(*session);
    EXPECT_TRUE(session->stored);
    EXPECT_TRUE(recorder().persistent(*session));
    recorder().subscribed(*session, "a/#", session::SubscriptionRecord{});
    std::optional<store::CommitResult> pubrec;
    recorder().inbound_qos2_received(*session, 7, token_into(pubrec));
    commit();
    ASSERT_TRUE(pubrec);
    EXPECT_TRUE(pubrec->ok);
    store::Snapshot snapshot = stored();
    ASSERT_EQ(snapshot.sessions.size(), 1u);
    EXPECT_EQ(snapshot.sessions[0].client_id, "keeper");
    EXPECT_EQ(snapshot.sessions[0].expiry_interval, 300u);
    ASSERT_EQ(snapshot.subscriptions.size(), 1u);
    EXPECT_EQ(snapshot.subscriptions[0].filter, "a/#");
    EXPECT_EQ(snapshot.inbound_qos2["keeper"], std::vector<protocol::PacketId>{7});

    // Offline: a routed QoS 2 message is queued, its entry and message stored together.
    std::optional<store::CommitResult> puback;
    EXPECT_TRUE(route(session, make_message(11), 2, token_into(puback)).empty());
    commit();
    ASSERT_TRUE(puback);
    EXPECT_TRUE(puback->ok);
    snapshot = stored();
    ASSERT_EQ(snapshot.queued["keeper"].size(), 1u);
    EXPECT_EQ(snapshot.queued["keeper"][0].seq, 1u);
    EXPECT_EQ(snapshot.queued["keeper"][0].message, 11u);
    EXPECT_TRUE(snapshot.messages.contains(11));

    // Back online: the queued message goes into flight, and must be committed first.
    std::vector<session::OutboundPacket> resumed = session->state.outbound().resume();
    ASSERT_EQ(resumed.size(), 1u);
    const protocol::PacketId packet_id = resumed[0].packet_id;
    EXPECT_TRUE(recorder().flights_started(*session, resumed));
    commit();
    snapshot = stored();
    EXPECT_TRUE(snapshot.queued["keeper"].empty());
    ASSERT_EQ(snapshot.inflight["keeper"].size(), 1u);
    EXPECT_EQ(snapshot.inflight["keeper"][0].packet_id, packet_id);
    EXPECT_EQ(snapshot.inflight["keeper"][0].state, session::OutboundState::AwaitingPubrec);

    // PUBREC: only the PUBREL remains, which waits for that state's commit.
    ASSERT_TRUE(session->state.outbound().on_pubrec(packet_id));
    EXPECT_TRUE(recorder().pubrec_received(*session, packet_id));
    commit();
    snapshot = stored();
    ASSERT_EQ(snapshot.inflight["keeper"].size(), 1u);
    EXPECT_EQ(snapshot.inflight["keeper"][0].state, session::OutboundState::AwaitingPubcomp);
    EXPECT_EQ(snapshot.inflight["keeper"][0].message, 0u);
    EXPECT_FALSE(snapshot.messages.contains(11));  // its last reference went

    // PUBCOMP, the client's PUBREL, UNSUBSCRIBE.
    ASSERT_TRUE(session->state.outbound().on_pubcomp(packet_id));
    recorder().delivery_completed(*session, packet_id);
    EXPECT_TRUE(recorder().inbound_qos2_released(*session, 7));
    recorder().unsubscribed(*session, "a/#");
    commit();
    snapshot = stored();
    EXPECT_TRUE(snapshot.inflight["keeper"].empty());
    EXPECT_TRUE(snapshot.inbound_qos2["keeper"].empty());
    EXPECT_TRUE(snapshot.subscriptions.empty());

    // Disconnected, then ended.
    session->disconnected_at_ms = 1234;
    recorder().disconnected(*session);
    commit();
    snapshot = stored();
    ASSERT_EQ(snapshot.sessions.size(), 1u);
    EXPECT_EQ(snapshot.sessions[0].disconnected_at_ms, 1234);
    recorder().ended(*session);
    commit();
    EXPECT_FALSE(session->stored);
    EXPECT_FALSE(recorder().persistent(*session));
    EXPECT_EQ(store_->counts(), store::StoreCounts{});
}

TEST_F(SessionRecorderTest, SessionEndingWithItsConnectionRecordsNothing) {
    const SessionHandlePtr session = make_session("passing", 0);
    recorder().connected(*session);
    EXPECT_FALSE(session->stored);
    EXPECT_FALSE(recorder().persistent(*session));
    recorder().subscribed(*session, "a/#", session::SubscriptionRecord{});
    std::optional<store::CommitResult> pubrec;
    recorder().inbound_qos2_received(*session, 7, token_into(pubrec));
    online_ = true;
    std::vector<session::OutboundPacket> sent = route(session, make_message(11), 2, nullptr);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].delivery.seq, 0u);  // not numbered: nothing of it is stored
    EXPECT_FALSE(recorder().flights_started(*session, sent));
    ASSERT_TRUE(session->state.outbound().on_pubrec(sent[0].packet_id));
    EXPECT_FALSE(recorder().pubrec_received(*session, sent[0].packet_id));
    recorder().delivery_completed(*session, sent[0].packet_id);
    EXPECT_FALSE(recorder().inbound_qos2_released(*session, 7));
    recorder().unsubscribed(*session, "a/#");
    recorder().ended(*session);
    commit();
    ASSERT_TRUE(pubrec);  // the token was never held: it ran when let go
    EXPECT_EQ(store_->counts(), store::StoreCounts{});
}

TEST_F(SessionRecorderTest, WillKeepsTheRecordOfASessionThatEndsWithItsConnection) {
    const SessionHandlePtr session = make_session("willing", 0);
    session->state.will = protocol::Will{};
    session->state.will->topic = "last/words";
    recorder().connected(*session);
    recorder().subscribed(*session, "a/#", session::SubscriptionRecord{});
    commit();
    EXPECT_TRUE(session->stored);
    EXPECT_FALSE(recorder().persistent(*session));  // the record only
    store::Snapshot snapshot = stored();
    ASSERT_EQ(snapshot.sessions.size(), 1u);
    ASSERT_TRUE(snapshot.sessions[0].will);
    EXPECT_EQ(snapshot.sessions[0].will->topic, "last/words");
    EXPECT_TRUE(snapshot.subscriptions.empty());

    recorder().ended(*session);
    commit();
    EXPECT_EQ(store_->counts(), store::StoreCounts{});
}

TEST_F(SessionRecorderTest, RetainedUpdateGoesToTheRouterAndTheStore) {
    std::optional<store::CommitResult> puback;
    recorder().retained(make_message(21), token_into(puback));
    commit();
    ASSERT_TRUE(puback);
    EXPECT_EQ(context_->router.retained_matching("a/b").size(), 1u);
    EXPECT_EQ(stored().retained["a/b"], 21u);

    recorder().retained(make_message(22, ""), nullptr);  // an empty payload deletes it
    commit();
    EXPECT_TRUE(context_->router.retained_matching("a/b").empty());
    EXPECT_EQ(store_->counts(), store::StoreCounts{});
}

TEST_F(SessionRecorderTest, FailedCommitTakesTheQueueEntriesAndTheQos2IdBack) {
    const SessionHandlePtr publisher = make_session("publisher", 300);
    const SessionHandlePtr target = make_session("target", 300);
    recorder().connected(*publisher);
    recorder().connected(*target);
    commit();

    store_->failing = true;
    std::optional<store::CommitResult> pubrec;
    CommitToken reply = token_into(pubrec);
    recorder().inbound_qos2_received(*publisher, 9, reply);
    route(target, make_message(31), 1, reply);
    EXPECT_EQ(target->state.outbound().queued_count(), 1u);
    commit();
    EXPECT_EQ(target->state.outbound().queued_count(), 0u);  // forgotten on its home worker
    reply.reset();  // the publisher's last holder: the PUBREC learns of the failure
    commit();
    ASSERT_TRUE(pubrec);
    EXPECT_FALSE(pubrec->ok);

    store_->failing = false;
    recorder().inbound_qos2_refused(*publisher, 9);
    commit();
    store::Snapshot snapshot = stored();
    EXPECT_TRUE(snapshot.inbound_qos2["publisher"].empty());
    EXPECT_TRUE(snapshot.queued["target"].empty());
}

}  // namespace
}  // namespace petrel::broker
