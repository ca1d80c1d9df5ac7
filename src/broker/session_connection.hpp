// The connection a session is attached to, as the session's home worker sees it: where
// the packets the session's outbound flow produces go, and what ends it when a newer
// connection takes the session over. A client's ClientConnection is one kind; a bridge's
// link to a remote broker will be another.
//
// Lifetimes are the session's: the home worker sets SessionHandle::connection at attach
// and clears it at detach, and touches it only on its own thread.
#pragma once

#include <string>
#include <vector>

#include "commit_waiter.hpp"
#include "petrel/session/outbound_flow.hpp"

namespace petrel::broker {

class SessionConnection {
  public:
    virtual ~SessionConnection() = default;

    // Writes the publishes and PUBRELs the session's outbound flow produced, after any
    // reply still waiting for a commit.
    virtual void send_outbound(std::vector<session::OutboundPacket> packets) = 0;
    // The same, once the batch that holds the returned token is committed.
    virtual CommitToken send_after_commit(std::vector<session::OutboundPacket> packets) = 0;
    // [MQTT-3.1.4-3] A newer connection takes the session over: this one ends first, its
    // will published (a v5 client is told 0x8E Session taken over).
    virtual void close_for_takeover() = 0;
    // Where the connection comes from, for logs.
    virtual const std::string& peer() const = 0;
};

}  // namespace petrel::broker
