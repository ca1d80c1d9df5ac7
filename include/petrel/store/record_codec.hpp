// The on-disk encoding of store records: compact binary keys and small versioned values.
//
// Keys put the client id first, length-prefixed, then a big-endian number, so that LMDB's
// byte-wise key order groups one client's records together and orders them by sequence
// or packet id: a cursor walk is send order, and erasing a session is one range scan.
//
// LMDB keys hold at most 511 bytes (mdb_env_get_maxkeysize), while a client id, a topic
// filter or a topic may be 65,535 bytes long. A name longer than kInlineNameMax is
// therefore "hashed" in a key: its length, its first kHashedNameHead bytes and its SHA-256
// digest. The full name is kept in a value (a client id in LmdbStore's `names` table, a
// filter in its subscription record, a topic in its retained record), and a decoder checks
// that it hashes to the key: a collision or a damaged name reads as corruption.
//
// Every value but the bare numbers (reference counts, the message id of a retained slot)
// starts with a format byte (kRecordFormat) so a future layout can be read next to this
// one. Decoders check every length against the bytes present and return nullopt for
// anything short, long or out of range: a corrupt value is an error the caller reports,
// never undefined behaviour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "petrel/store/store.hpp"

namespace petrel::store::codec {

inline constexpr std::uint8_t kRecordFormat = 1;
// Longest name kept whole in a key; a key then holds at most two name parts of
// 2 + kInlineNameMax bytes plus an 8-byte number, well inside LMDB's 511.
inline constexpr std::size_t kInlineNameMax = 128;
inline constexpr std::size_t kHashedNameHead = 32;  // kept readable, for describe_key
inline constexpr std::size_t kDigestSize = 32;      // SHA-256

inline bool is_hashed(std::string_view name) {
    return name.size() > kInlineNameMax;
}

// A name's part of a key: u16 length then the name, or for a longer name its first
// kHashedNameHead bytes and SHA-256 digest (the length saturating at 65,535). The length
// comes first, so no name's part is a prefix of another's: one client's keys share a
// prefix that no other client's key starts with.
std::string name_part(std::string_view name);

struct NamePart {
    std::string_view encoded;  // the whole part, as it appears in the key
    std::string_view name;     // the name itself; empty when hashed
    bool hashed = false;
};

// Keys.
std::string client_prefix(std::string_view client_id);  // = name_part(client_id)
std::string session_key(std::string_view client_id);    // = client_prefix
std::string subscription_key(std::string_view client_id, std::string_view filter);
std::string queued_key(std::string_view client_id, std::uint64_t seq);
std::string inflight_key(std::string_view client_id, protocol::PacketId packet_id);
std::string qos2_key(std::string_view client_id, protocol::PacketId packet_id);
std::string retained_key(std::string_view topic);  // = name_part(topic)
std::string message_key(MessageId id);             // big-endian u64

struct ClientKey {
    NamePart client;
    std::string_view rest;  // what follows the client part (points into the decoded key)
};
std::optional<ClientKey> decode_client_key(std::string_view key);
std::optional<MessageId> decode_message_key(std::string_view key);

// The full client id of a hashed client part (LmdbStore's `names` table), already checked
// against its digest; null when none is known. Records of a hashed client do not decode
// without it.
using ClientNames = std::function<const std::string*(std::string_view client_part)>;

// Values. For records keyed by client id (and seq / packet id / filter), the decoder
// takes the key as well and fills those fields from it.
std::string encode_u64(std::uint64_t value);  // big-endian, for counters and ids
std::optional<std::uint64_t> decode_u64(std::string_view bytes);

// A hashed client's full id, stored under its client_prefix.
std::string encode_name(std::string_view client_id);
std::optional<std::string> decode_name(std::string_view key, std::string_view value);

// `id` is not encoded (it is the key); the decoder does not set Message::id.
std::string encode_message(const session::Message& message);
std::optional<session::Message> decode_message(std::string_view value);

std::string encode_session(const StoredSession& session);
std::optional<StoredSession> decode_session(std::string_view key, std::string_view value,
                                            const ClientNames& names = {});

// Carries the filter when it is hashed in the key.
std::string encode_subscription(const StoredSubscription& subscription);
std::optional<StoredSubscription> decode_subscription(std::string_view key, std::string_view value,
                                                      const ClientNames& names = {});

std::string encode_queued(const QueuedEntry& entry);
std::optional<QueuedEntry> decode_queued(std::string_view key, std::string_view value,
                                         const ClientNames& names = {});
// The value alone: everything but client_id and seq, which the key holds.
std::optional<QueuedEntry> decode_queued_value(std::string_view value);

// One client's whole queue summed (LmdbStore's `queue_stats`, under its client_prefix).
// Only a non-empty queue has a record, so a count of 0 does not decode.
std::string encode_queue_summary(const QueueSummary& summary);
std::optional<QueueSummary> decode_queue_summary(std::string_view value);

std::string encode_inflight(const InflightEntry& entry);
std::optional<InflightEntry> decode_inflight(std::string_view key, std::string_view value,
                                             const ClientNames& names = {});

std::optional<protocol::PacketId> decode_qos2_key(std::string_view key, std::string* client_id,
                                                  const ClientNames& names = {});

// The message id, followed by the topic when it is hashed in the key.
std::string encode_retained(std::string_view topic, MessageId message);
std::optional<std::pair<std::string, MessageId>> decode_retained(std::string_view key,
                                                                 std::string_view value);

}  // namespace petrel::store::codec
