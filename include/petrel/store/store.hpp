// The store: what of the broker's state survives a restart, behind one interface.
//
// The broker describes every change as a WriteBatch (a list of mutations that must land
// together, e.g. "store this message and queue it for these three persistent sessions")
// and submits it; the store applies the batch atomically and calls back once it is
// committed. That callback is what releases a PUBACK/PUBREC in `persistence sync` mode
// (see the durability contract in ARCHITECTURE.md). On start-up the broker reads
// everything back with load().
//
// Payloads are stored once and reference-counted, as Mosquitto does in its message store:
// every queued entry, in-flight entry and retained slot naming a MessageId holds one
// reference, and a message whose last reference goes is deleted in the same transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "petrel/protocol/packet.hpp"
#include "petrel/session/message.hpp"
#include "petrel/session/outbound_flow.hpp"
#include "petrel/session/session.hpp"

namespace petrel::store {

// Assigned by the broker, increasing; never 0 (0 means "no message" in an InflightEntry).
using MessageId = std::uint64_t;

// A store that cannot be opened or read: thrown at start-up only, with a message fit to
// print as the one line the broker exits with.
class StoreError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct StoredSession {
    std::string client_id;
    protocol::ProtocolVersion version = protocol::ProtocolVersion::V311;
    std::uint32_t expiry_interval = 0;
    // Wall-clock time (unix ms) the connection was lost, 0 while connected: a steady_clock
    // time point means nothing after a restart, and time spent stopped must count.
    std::int64_t disconnected_at_ms = 0;
    std::optional<protocol::Will> will;
    // Who the latest connection was, for the ACL while the session is offline: its user
    // name (none: anonymous) and the index of the listener it came in on.
    std::optional<std::string> username;
    std::uint16_t listener = 0;
};

struct StoredSubscription {
    std::string client_id;
    std::string filter;
    session::SubscriptionRecord record;
};

struct QueuedEntry {
    std::string client_id;
    std::uint64_t seq = 0;  // per client, increasing: the order messages are delivered in
    MessageId message = 0;
    protocol::Qos qos = 0;
    bool retain = false;
    std::vector<std::uint32_t> subscription_ids;
    // The delivery's size as the session counts it against max_queued_bytes
    // (OutboundFlow::delivery_size), kept so a queue's bytes are known without its messages.
    std::uint64_t bytes = 0;
};

// One client's whole stored queue, summed.
struct QueueSummary {
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;     // sum of QueuedEntry::bytes
    std::uint64_t last_seq = 0;  // highest seq queued
    bool operator==(const QueueSummary&) const = default;
};

struct InflightEntry {
    std::string client_id;
    std::uint64_t seq = 0;  // send order: the resend order on reconnect [MQTT-4.4.0-1]
    protocol::PacketId packet_id = 0;
    session::OutboundState state = session::OutboundState::AwaitingPuback;
    MessageId message = 0;  // 0 once PUBREC'd: only the PUBREL remains, the payload is gone
    protocol::Qos qos = 0;
    bool retain = false;
    std::vector<std::uint32_t> subscription_ids;
};

// The mutations a batch may hold, in the order they were added.
namespace mutation {
struct PutMessage {
    MessageId id = 0;
    session::MessagePtr message;
};
struct PutSession {
    StoredSession session;
};
struct EraseSession {
    std::string client_id;
};
struct PutSubscription {
    StoredSubscription subscription;
};
struct EraseSubscription {
    std::string client_id;
    std::string filter;
};
struct PushQueued {
    QueuedEntry entry;
};
struct EraseQueued {
    std::string client_id;
    std::uint64_t seq = 0;
};
struct PutInflight {
    InflightEntry entry;
};
struct EraseInflight {
    std::string client_id;
    protocol::PacketId packet_id = 0;
};
struct AddInboundQos2 {
    std::string client_id;
    protocol::PacketId packet_id = 0;
};
struct EraseInboundQos2 {
    std::string client_id;
    protocol::PacketId packet_id = 0;
};
struct SetRetained {
    std::string topic;
    MessageId message = 0;
};
struct EraseRetained {
    std::string topic;
};
// The broker's "still alive at" time (unix ms), written every few seconds: after a crash
// it tells when the clients that were connected lost their connections.
struct SetClock {
    std::int64_t unix_ms = 0;
};
}  // namespace mutation

using Mutation =
    std::variant<mutation::PutMessage, mutation::PutSession, mutation::EraseSession,
                 mutation::PutSubscription, mutation::EraseSubscription, mutation::PushQueued,
                 mutation::EraseQueued, mutation::PutInflight, mutation::EraseInflight,
                 mutation::AddInboundQos2, mutation::EraseInboundQos2, mutation::SetRetained,
                 mutation::EraseRetained, mutation::SetClock>;

// A value: build it on a worker, move it into submit(). Applied all or nothing.
//
// Within a batch a message may be put and referenced in any order relative to its
// references, but a reference to an id that is neither stored nor put in the batch fails
// the batch (it would leave a dangling reference). Erasing what is not there is a no-op.
// Putting a message id that is already stored keeps the stored one: payloads are immutable.
class WriteBatch {
  public:
    void put_message(MessageId id, const session::Message& message);
    void put_message(MessageId id, session::MessagePtr message);
    void put_session(StoredSession session);
    // Also erases the client's subscriptions, queue, in-flight and QoS 2 ids.
    void erase_session(std::string client_id);
    void put_subscription(StoredSubscription subscription);
    void erase_subscription(std::string client_id, std::string filter);
    void push_queued(QueuedEntry entry);
    void erase_queued(std::string client_id, std::uint64_t seq);
    // Inserts, or replaces the entry with the same client and packet id (a state change).
    void put_inflight(InflightEntry entry);
    void erase_inflight(std::string client_id, protocol::PacketId packet_id);
    void add_inbound_qos2(std::string client_id, protocol::PacketId packet_id);
    void erase_inbound_qos2(std::string client_id, protocol::PacketId packet_id);
    void set_retained(std::string topic, MessageId message);
    void erase_retained(std::string topic);
    void set_clock(std::int64_t unix_ms);

    bool empty() const { return mutations_.empty(); }
    std::size_t size() const { return mutations_.size(); }
    const std::vector<Mutation>& mutations() const { return mutations_; }

  private:
    std::vector<Mutation> mutations_;
};

struct CommitResult {
    bool ok = true;
    bool out_of_space = false;  // map at its limit or disk full: refuse QoS 1/2 (0x97)
    std::string error;          // for the log when !ok
};

struct StoreCounts {
    std::uint64_t sessions = 0;
    std::uint64_t subscriptions = 0;
    std::uint64_t queued = 0;
    std::uint64_t inflight = 0;
    std::uint64_t inbound_qos2 = 0;
    std::uint64_t messages = 0;
    std::uint64_t retained = 0;
    bool operator==(const StoreCounts&) const = default;
};

// Everything the store holds, as read back on start-up.
struct Snapshot {
    std::vector<StoredSession> sessions;
    std::vector<StoredSubscription> subscriptions;
    std::map<std::string, std::vector<QueuedEntry>> queued;      // per client, seq order
    std::map<std::string, std::vector<InflightEntry>> inflight;  // per client, seq order
    std::map<std::string, std::vector<protocol::PacketId>> inbound_qos2;
    std::map<std::string, MessageId> retained;  // topic → message
    std::unordered_map<MessageId, session::MessagePtr> messages;
    // Per client with a non-empty queue: the whole queue summed. Filled by recover() (and
    // by load(), where it sums `queued`).
    std::map<std::string, QueueSummary> queue_summaries;
    // The last SetClock (unix ms), 0 when none was ever written.
    std::int64_t clock_ms = 0;
    // The highest id ever put, even if that message is gone since: ids must keep
    // increasing after a restart so that none is reused while a client may still see it.
    MessageId max_message_id = 0;
};

class Store {
  public:
    using Done = std::function<void(CommitResult)>;

    virtual ~Store();

    // Applies `batch` atomically. `done` is called exactly once when the batch is committed
    // (or has failed), on the store's writer thread for a persistent store: it must not
    // block, and it must post its work back to the caller's own event loop rather than
    // touch a session or a socket directly. `done` may be empty.
    virtual void submit(WriteBatch batch, Done done) = 0;
    // Reads everything back. Throws StoreError when a record cannot be read: a corrupt
    // store is reported, never silently emptied.
    virtual Snapshot load() = 0;
    // What the broker reads at start-up: as load(), except that each client's `queued`
    // holds only its first `queue_window` entries (all when 0), `queue_summaries` sums the
    // whole queue, and `messages` holds only the messages that the returned queued and
    // in-flight entries and the retained slots refer to. Memory grows with the window and
    // the in-flight state, not with the number of queued messages. Throws as load() does.
    virtual Snapshot recover(std::size_t queue_window) = 0;

    struct QueuedRead {
        std::vector<QueuedEntry> entries;                             // seq order
        std::unordered_map<MessageId, session::MessagePtr> messages;  // those they refer to
    };
    // Up to `limit` of `client_id`'s committed queued entries with seq > `after_seq`, in
    // seq order, with their messages. Safe from any thread, concurrently with submit():
    // how a session's spilled queue is read back. Throws StoreError on a corrupt record.
    virtual QueuedRead read_queued(const std::string& client_id, std::uint64_t after_seq,
                                   std::size_t limit) = 0;
    virtual StoreCounts counts() = 0;
    // Returns once every batch submitted before the call is committed (and on disk).
    // Blocks: not for a worker's event loop, and never from a `done` callback (the
    // writer thread would wait for itself).
    virtual void flush() = 0;
};

}  // namespace petrel::store
