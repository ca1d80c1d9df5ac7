// The on-disk encoding of store records: compact binary keys and small versioned values.
//
// Keys put the client id first, length-prefixed, then a big-endian number, so that LMDB's
// byte-wise key order groups one client's records together and orders them by sequence
// or packet id: a cursor walk is send order, and erasing a session is one range scan.
//
// Every value starts with a format byte (kRecordFormat) so a future layout can be read
// next to this one. Decoders check every length against the bytes present and return
// nullopt for anything short, long or out of range: a corrupt value is an error the
// caller reports, never undefined behaviour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "petrel/store/store.hpp"

namespace petrel::store::codec {

inline constexpr std::uint8_t kRecordFormat = 1;

// Keys.
std::string client_prefix(std::string_view client_id);  // u16 length + bytes
std::string session_key(std::string_view client_id);    // = client_prefix
std::string subscription_key(std::string_view client_id, std::string_view filter);
std::string queued_key(std::string_view client_id, std::uint64_t seq);
std::string inflight_key(std::string_view client_id, protocol::PacketId packet_id);
std::string qos2_key(std::string_view client_id, protocol::PacketId packet_id);
std::string message_key(MessageId id);  // big-endian u64

struct ClientKey {
    std::string client_id;
    std::string_view rest;  // what follows the client id (points into the decoded key)
};
std::optional<ClientKey> decode_client_key(std::string_view key);
std::optional<MessageId> decode_message_key(std::string_view key);

// Values. For records keyed by client id (and seq / packet id / filter), the decoder
// takes the key as well and fills those fields from it.
std::string encode_u64(std::uint64_t value);  // big-endian, for counters and ids
std::optional<std::uint64_t> decode_u64(std::string_view bytes);

std::string encode_message(const session::Message& message);
std::optional<session::Message> decode_message(std::string_view value);

std::string encode_session(const StoredSession& session);
std::optional<StoredSession> decode_session(std::string_view key, std::string_view value);

std::string encode_subscription(const session::SubscriptionRecord& record);
std::optional<StoredSubscription> decode_subscription(std::string_view key, std::string_view value);

std::string encode_queued(const QueuedEntry& entry);
std::optional<QueuedEntry> decode_queued(std::string_view key, std::string_view value);

std::string encode_inflight(const InflightEntry& entry);
std::optional<InflightEntry> decode_inflight(std::string_view key, std::string_view value);

std::optional<protocol::PacketId> decode_qos2_key(std::string_view key, std::string* client_id);

}  // namespace petrel::store::codec
