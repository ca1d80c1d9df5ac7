// Recovery on start: the store's sessions, subscriptions, queues, in-flight state and
// retained messages put back into the workers and the router, before any client connects.
#pragma once

#include <vector>

#include "broker_context.hpp"
#include "petrel/session/message.hpp"

namespace petrel::broker {

// Reads the store into the workers' sessions and the router. Sessions whose expiry
// passed while the broker was stopped are ended (and erased from the store). Returns the
// wills that became due while the broker was down — those of clients that were connected
// when it stopped without a DISCONNECT, and of sessions that ended — to publish once the
// workers run. Throws store::StoreError on an unreadable store.
std::vector<session::MessagePtr> recover_state(BrokerContext& context);

}  // namespace petrel::broker
