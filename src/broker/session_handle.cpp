// A session as a Subscriber: the router's steps for a delivery, carried out by the
// worker's session code.
#include "session_handle.hpp"

#include "session_recorder.hpp"
#include "worker.hpp"

namespace petrel::broker {

bool SessionHandle::may_receive(const Worker& publisher, std::string_view topic) const {
    return publisher.may_receive(*this, topic);
}

bool SessionHandle::stage(SessionRecorder& publisher, session::Delivery& delivery,
                          bool with_message) {
    // A clean session's queue lives in memory only.
    if (!persistent.load(std::memory_order_relaxed)) {
        return false;
    }
    publisher.queued(shared_from_this(), delivery, with_message);
    return true;
}

void SessionHandle::deliver(Worker& home, SubscriberPtr self, session::Delivery&& delivery) {
    home.deliver(std::static_pointer_cast<SessionHandle>(std::move(self)), std::move(delivery));
}

}  // namespace petrel::broker
