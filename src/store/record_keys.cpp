// Store keys, and the names that are too long to be keys; see record_codec.hpp.
#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

#include "codec_io.hpp"
#include "petrel/store/record_codec.hpp"

namespace petrel::store::codec {

namespace {

std::string sha256(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1 ||
        size != kDigestSize) {
        // Only a broken libcrypto gets here; no key could be built without it.
        throw std::runtime_error("SHA-256 unavailable in libcrypto");
    }
    return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace

std::string name_part(std::string_view name) {
    Writer w;
    if (!is_hashed(name)) {
        w.u16(static_cast<std::uint16_t>(name.size()));
        w.raw(name);
        return w.take();
    }
    // Any length above kInlineNameMax marks the hashed form; the digest covers the rest.
    w.u16(static_cast<std::uint16_t>(std::min<std::size_t>(name.size(), 0xFFFF)));
    w.raw(name.substr(0, kHashedNameHead));
    w.raw(sha256(name));
    return w.take();
}

std::optional<NamePart> split_name(std::string_view key, std::string_view* rest) {
    Reader r(key);
    const auto length = r.u16();
    NamePart part;
    if (length <= kInlineNameMax) {
        part.name = r.raw(length);
    } else {
        r.raw(kHashedNameHead + kDigestSize);
        part.hashed = true;
    }
    if (!r.ok()) {
        return std::nullopt;
    }
    part.encoded = key.substr(0, r.position());
    *rest = key.substr(r.position());
    return part;
}

std::optional<std::string> resolve_client(const NamePart& part, const ClientNames& names) {
    if (!part.hashed) {
        return std::string(part.name);
    }
    const std::string* name = names ? names(part.encoded) : nullptr;
    if (name == nullptr) {
        return std::nullopt;
    }
    return *name;
}

std::string client_prefix(std::string_view client_id) {
    return name_part(client_id);
}

std::string session_key(std::string_view client_id) {
    return client_prefix(client_id);
}

std::string subscription_key(std::string_view client_id, std::string_view filter) {
    return client_prefix(client_id).append(name_part(filter));
}

std::string queued_key(std::string_view client_id, std::uint64_t seq) {
    return client_prefix(client_id).append(encode_u64(seq));
}

std::string inflight_key(std::string_view client_id, protocol::PacketId packet_id) {
    Writer w;
    w.raw(client_prefix(client_id));
    w.u16(packet_id);
    return w.take();
}

std::string qos2_key(std::string_view client_id, protocol::PacketId packet_id) {
    return inflight_key(client_id, packet_id);
}

std::string retained_key(std::string_view topic) {
    return name_part(topic);
}

std::string message_key(MessageId id) {
    return encode_u64(id);
}

std::optional<ClientKey> decode_client_key(std::string_view key) {
    ClientKey out;
    auto part = split_name(key, &out.rest);
    if (!part) {
        return std::nullopt;
    }
    out.client = *part;
    return out;
}

std::optional<MessageId> decode_message_key(std::string_view key) {
    return decode_u64(key);
}

std::string encode_u64(std::uint64_t value) {
    Writer w;
    w.u64(value);
    return w.take();
}

std::optional<std::uint64_t> decode_u64(std::string_view bytes) {
    Reader r(bytes);
    const auto v = r.u64();
    return r.done() ? std::optional(v) : std::nullopt;
}

std::string encode_name(std::string_view client_id) {
    Writer w;
    w.u8(kRecordFormat);
    w.raw(client_id);
    return w.take();
}

std::optional<std::string> decode_name(std::string_view key, std::string_view value) {
    Reader r(value);
    if (r.u8() != kRecordFormat || !r.ok()) {
        return std::nullopt;
    }
    const auto name = r.rest();
    if (!is_hashed(name) || name_part(name) != key) {
        return std::nullopt;
    }
    return std::string(name);
}

std::string encode_retained(std::string_view topic, MessageId message) {
    std::string out = encode_u64(message);
    if (is_hashed(topic)) {
        out.append(topic);
    }
    return out;
}

std::optional<std::pair<std::string, MessageId>> decode_retained(std::string_view key,
                                                                 std::string_view value) {
    std::string_view rest;
    auto part = split_name(key, &rest);
    if (!part || !rest.empty() || value.size() < 8) {
        return std::nullopt;
    }
    const auto id = decode_u64(value.substr(0, 8));
    const auto topic = value.substr(8);
    if (part->hashed ? name_part(topic) != part->encoded : !topic.empty()) {
        return std::nullopt;
    }
    return std::pair{std::string(part->hashed ? topic : part->name), *id};
}

}  // namespace petrel::store::codec
