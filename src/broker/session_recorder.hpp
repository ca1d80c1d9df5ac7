// SessionRecorder: every write a worker makes to the store about its sessions, and the
// rules that make those writes enough for QoS 1 and 2 across workers and crashes.
//
// Call sites say what happened (a session connected, subscribed, got a QoS 2 PUBLISH, a
// PUBREC came back); the recorder decides whether the session is stored and what to
// stage. It stages into this worker's StagedWrites batch, submitted once per event batch.
// One per worker, used on its thread only.
//
// What is stored. A session whose expiry interval is over 0 is persistent: its record,
// subscriptions, inbound QoS 2 ids, queue and in-flight state. A session that ends with its
// connection keeps only its record while it has a will, so that a crash still publishes the
// will at restart; nothing else of it. The retained update a published message makes is
// staged here too although it belongs to no session: rule 1 needs it in the same commit
// as the queue entries, and rule 7 in the same lock as the router's update.
//
// The ordering rules. A reply or a packet that promises something waits for the commit
// that makes the promise survive a crash: it holds a CommitToken in the staged batch
// (hold()), and the connection's ReplyGate keeps its later replies behind it. Each rule
// names what keeps it.
//
//  1. One commit per published message. The publisher's inbound QoS 2 id, the message, a
//     queue entry for every persistent target wherever it is homed, and the retained update
//     go into one batch on the publishing worker, staged in that order by
//     inbound_qos2_received(), routed() and retained(); retained() submits the batch, so it
//     must come last. The PUBACK or PUBREC to the publisher waits for that commit. After a
//     crash the message is either everywhere it was due, and a resend is known as a
//     duplicate, or nowhere, and the resend delivers it. Were the retained update submitted
//     first, a crash between the two commits would keep the id without the queue entries:
//     the resend would be taken for a duplicate and the subscribers would never get the
//     message.
//  2. A failed commit takes the promise back. The publisher's QoS 2 id is erased again
//     (inbound_qos2_refused(): a resend is a new message, not a duplicate) and every target
//     forgets the queue entries of that batch (forget_unstored(), on its home worker), since
//     the publisher was refused (v5 0x97, 3.1.1 no acknowledgement and a resend).
//  3. The publishing worker writes the queue entries of targets homed elsewhere. It takes
//     the seq from the target's atomic next_seq (routed()); the home worker takes the entry
//     over from there (in flight, dropped) in batches submitted later: Worker::flush_outboxes
//     submits before it posts the deliveries. Every other write about a session comes from
//     its home worker, in the order the session's state changed. An entry staged for a
//     session that ended meanwhile is left without a session: recovery erases it.
//  4. A session is recorded before anything is delivered to it (connected(), before the
//     resend at CONNECT), so its queue entries have a session to belong to. The CONNACK
//     does not wait: until a SUBACK nothing was promised.
//  5. SUBACK and UNSUBACK of a persistent session wait for the subscription's commit: a
//     SUBACK promises that messages published from then on reach the session, crash or not
//     (ClientConnection::reply_when_stored, when persistent()).
//  6. PUBCOMP to the publisher waits for the commit of its id's erasure
//     (inbound_qos2_released() returns true). Otherwise a crash would bring the id back,
//     and the client's next message with that id would be taken for a duplicate.
//  7. Retained updates of one topic reach the store in the order the router applied them:
//     retained() stages and submits under the router's retained lock.
//  8. A QoS 2 PUBLISH to a subscriber leaves only once its in-flight record, with its packet
//     id, is committed (flights_started() returns true). Were it resent after a crash under
//     another id, the client would deliver it twice. A QoS 1 PUBLISH need not wait: a
//     duplicate is allowed.
//  9. PUBREL waits for the commit of the AwaitingPubcomp state (pubrec_received() returns
//     true). Were it sent first and the broker crashed, the PUBLISH would be resent after
//     the client had already released its packet id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "commit_waiter.hpp"
#include "petrel/net/event_loop.hpp"
#include "petrel/session/outbound_flow.hpp"
#include "router.hpp"
#include "session_handle.hpp"
#include "staged_writes.hpp"

namespace petrel::broker {

struct BrokerContext;

class SessionRecorder {
  public:
    SessionRecorder(net::EventLoop& loop, BrokerContext& context);

    // ---- the session record (writes SessionHandle::stored and ::persistent) ----

    // A connection is attached: the record as it now is (rule 4).
    void connected(SessionHandle& session);
    // The connection is lost and the session lives on (disconnected_at_ms is set).
    void disconnected(SessionHandle& session);
    // A disconnected session's delayed will went out: the record without it.
    void will_published(SessionHandle& session);
    // The session ended (clean start, expiry, or expiry 0 at disconnect): all of it goes.
    void ended(SessionHandle& session);
    // Its subscriptions, queue and in-flight state are stored: a reply promising them
    // waits for the commit (rule 5).
    bool persistent(const SessionHandle& session) const;

    // ---- subscriptions ----

    void subscribed(const SessionHandle& session, const std::string& filter,
                    const session::SubscriptionRecord& record);
    // Only a subscription that existed.
    void unsubscribed(const SessionHandle& session, const std::string& filter);

    // ---- QoS 2 from the client ----

    // A new QoS 2 PUBLISH: `reply` (its PUBREC) waits for the id's commit (rule 1).
    void inbound_qos2_received(const SessionHandle& session, protocol::PacketId packet_id,
                               const CommitToken& reply);
    // Its commit failed: the id goes again (rule 2).
    void inbound_qos2_refused(const SessionHandle& session, protocol::PacketId packet_id);
    // A PUBREL for a known id. True when the PUBCOMP must wait for the commit (rule 6).
    bool inbound_qos2_released(const SessionHandle& session, protocol::PacketId packet_id);

    // ---- published messages, on the publishing worker ----

    // Has each subscriber of `routed` stage what its QoS 1/2 delivery must commit with the
    // message (Subscriber::stage: a persistent session's queue entry, through queued()),
    // the message once; the batch holds `reply` when anything was staged (rules 1 and 3).
    void routed(std::vector<RoutedDelivery>& routed, const CommitToken& reply);
    // A persistent session's share of routed(): numbers `delivery` from the target's
    // next_seq and stages its queue entry (and the message when `with_message`).
    void queued(const SessionHandlePtr& target, session::Delivery& delivery, bool with_message);
    // Updates the router's retained message for `message`'s topic and stages the same
    // update, then submits the batch holding `reply` (rules 1 and 7).
    void retained(const session::MessagePtr& message, const CommitToken& reply);

    // ---- deliveries, on the target's home worker ----

    // A delivery that did not come through routed() (a retained message on subscribe, a
    // shared one kept at hand-over): numbered here when the target is persistent, and then
    // its copy is returned, to stage with offered() once the flow took it.
    std::optional<session::Delivery> numbered_here(SessionHandle& target,
                                                   session::Delivery& delivery);
    // The outbound flow took a delivery numbered_here(): stored if it is queued; one that
    // went straight into flight is recorded by flights_started().
    void offered(const SessionHandlePtr& target, const session::Delivery& delivery,
                 session::OfferOutcome outcome);
    // A delivery whose queue entry routed() staged was dropped before it was sent.
    void stored_delivery_dropped(const SessionHandle& target, std::uint64_t seq);
    // `packet` will not be sent (expired, too large): its queue entry, or its in-flight
    // record when it is a resend, goes.
    void unsent_dropped(const SessionHandle& session, const session::OutboundPacket& packet);
    // The outbound flow started these PUBLISHes: each new flight's queue entry becomes an
    // in-flight record with its packet id. True when they must wait for the commit (rule 8).
    bool flights_started(const SessionHandle& session,
                         const std::vector<session::OutboundPacket>& packets);
    // A QoS 2 delivery got its PUBREC: only the PUBREL remains. True when the PUBREL must
    // wait for the commit (rule 9).
    bool pubrec_received(const SessionHandle& session, protocol::PacketId packet_id);
    // PUBACK, PUBCOMP or a PUBREC with a failure reason: the delivery is over.
    void delivery_completed(const SessionHandle& session, protocol::PacketId packet_id);
    // Shared-subscription deliveries taken from a leaving member, to route to others with
    // routed() in the same batch.
    void handed_over(const SessionHandle& session, const session::OutboundFlow::Taken& taken);

    // ---- the batch ----

    // The broker is alive at `unix_ms` (worker 0, every few seconds).
    void alive_at(std::int64_t unix_ms);
    // `reply` runs once everything staged so far is committed.
    void hold(CommitToken reply);
    // Submits now, at shut-down or before posting deliveries to other workers (rule 3).
    void submit();

  private:
    BrokerContext& context_;
    StagedWrites staged_;

    void record(SessionHandle& session, std::int64_t disconnected_at_ms);
    // Stages `delivery`'s queue entry for `target` (and the message when `with_message`).
    void stage_queued(const SessionHandlePtr& target, const session::Delivery& delivery,
                      bool with_message);
    // A failed batch's queue entries, each told to its target on the target's home worker.
    void forget_unstored(std::vector<StagedQueueEntry> entries);
};

}  // namespace petrel::broker
