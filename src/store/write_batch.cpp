// WriteBatch: records mutations in order; the stores interpret them.
#include <memory>
#include <utility>

#include "petrel/store/store.hpp"

namespace petrel::store {

Store::~Store() = default;

void WriteBatch::put_message(MessageId id, const session::Message& message) {
    auto copy = std::make_shared<session::Message>(message);
    copy->id = id;
    put_message(id, std::move(copy));
}

void WriteBatch::put_message(MessageId id, session::MessagePtr message) {
    mutations_.emplace_back(mutation::PutMessage{id, std::move(message)});
}

void WriteBatch::put_session(StoredSession session) {
    mutations_.emplace_back(mutation::PutSession{std::move(session)});
}

void WriteBatch::erase_session(std::string client_id) {
    mutations_.emplace_back(mutation::EraseSession{std::move(client_id)});
}

void WriteBatch::put_subscription(StoredSubscription subscription) {
    mutations_.emplace_back(mutation::PutSubscription{std::move(subscription)});
}

void WriteBatch::erase_subscription(std::string client_id, std::string filter) {
    mutations_.emplace_back(mutation::EraseSubscription{std::move(client_id), std::move(filter)});
}

void WriteBatch::push_queued(QueuedEntry entry) {
    mutations_.emplace_back(mutation::PushQueued{std::move(entry)});
}

void WriteBatch::erase_queued(std::string client_id, std::uint64_t seq) {
    mutations_.emplace_back(mutation::EraseQueued{std::move(client_id), seq});
}

void WriteBatch::put_inflight(InflightEntry entry) {
    mutations_.emplace_back(mutation::PutInflight{std::move(entry)});
}

void WriteBatch::erase_inflight(std::string client_id, protocol::PacketId packet_id) {
    mutations_.emplace_back(mutation::EraseInflight{std::move(client_id), packet_id});
}

void WriteBatch::add_inbound_qos2(std::string client_id, protocol::PacketId packet_id) {
    mutations_.emplace_back(mutation::AddInboundQos2{std::move(client_id), packet_id});
}

void WriteBatch::erase_inbound_qos2(std::string client_id, protocol::PacketId packet_id) {
    mutations_.emplace_back(mutation::EraseInboundQos2{std::move(client_id), packet_id});
}

void WriteBatch::set_retained(std::string topic, MessageId message) {
    mutations_.emplace_back(mutation::SetRetained{std::move(topic), message});
}

void WriteBatch::erase_retained(std::string topic) {
    mutations_.emplace_back(mutation::EraseRetained{std::move(topic)});
}

void WriteBatch::set_clock(std::int64_t unix_ms) {
    mutations_.emplace_back(mutation::SetClock{unix_ms});
}

}  // namespace petrel::store
