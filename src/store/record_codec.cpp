// Binary encoding of store values; see record_codec.hpp for the layout rules (keys are in
// record_keys.cpp).
#include "petrel/store/record_codec.hpp"

#include "codec_io.hpp"

namespace petrel::store::codec {

namespace {

bool format_ok(Reader& r) {
    return r.u8() == kRecordFormat && r.ok();
}

void write_properties(Writer& w, const protocol::Properties& properties) {
    w.u32(static_cast<std::uint32_t>(properties.size()));
    for (const auto& p : properties) {
        w.u8(static_cast<std::uint8_t>(p.id));
        w.u32(p.number);
        w.bytes(p.text);
        w.bytes(p.value);
    }
}

protocol::Properties read_properties(Reader& r) {
    protocol::Properties properties;
    const auto count = r.u32();
    // Each property takes at least 13 bytes, so a huge count fails on the first missing
    // byte instead of looping: the loop stops as soon as the reader fails.
    for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
        protocol::Property p;
        const auto id = r.u8();
        if (!protocol::property_type(id)) {
            r.fail();
            break;
        }
        p.id = static_cast<protocol::PropertyId>(id);
        p.number = r.u32();
        p.text = r.bytes();
        p.value = r.bytes();
        properties.add(std::move(p));
    }
    return properties;
}

std::uint8_t read_qos(Reader& r) {
    const auto qos = r.u8();
    if (qos > 2) {
        r.fail();
    }
    return qos;
}

void write_ids(Writer& w, const std::vector<std::uint32_t>& ids) {
    w.u32(static_cast<std::uint32_t>(ids.size()));
    for (auto id : ids) {
        w.u32(id);
    }
}

std::vector<std::uint32_t> read_ids(Reader& r) {
    std::vector<std::uint32_t> ids;
    const auto count = r.u32();
    for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
        ids.push_back(r.u32());
    }
    return ids;
}

// The client a key names, resolved, and what follows the client part; `rest_size` is the
// length that must follow (npos = any).
std::optional<std::pair<std::string, std::string_view>> split_key(std::string_view key,
                                                                  std::size_t rest_size,
                                                                  const ClientNames& names) {
    auto client = decode_client_key(key);
    if (!client || (rest_size != std::string_view::npos && client->rest.size() != rest_size)) {
        return std::nullopt;
    }
    auto id = resolve_client(client->client, names);
    if (!id) {
        return std::nullopt;
    }
    return std::pair{std::move(*id), client->rest};
}

}  // namespace

std::string encode_message(const session::Message& message) {
    Writer w;
    w.u8(kRecordFormat);
    w.bytes(message.topic);
    w.bytes(message.payload ? std::string_view(*message.payload) : std::string_view());
    w.u8(message.qos);
    w.u8(message.retain ? 1 : 0);
    write_properties(w, message.properties);
    w.bytes(message.publisher);
    if (message.expires_at_ms != 0 || message.source) {
        // Optional trailing fields: records written before message expiry existed end here,
        // those written before the source (check_retain_source) after the expiry.
        w.u64(static_cast<std::uint64_t>(message.expires_at_ms));
    }
    if (message.source) {
        w.u16(message.source->listener);
        w.u8(message.source->username ? 1 : 0);
        if (message.source->username) {
            w.bytes(*message.source->username);
        }
    }
    return w.take();
}

std::optional<session::Message> decode_message(std::string_view value) {
    Reader r(value);
    if (!format_ok(r)) {
        return std::nullopt;
    }
    session::Message m;
    m.topic = r.bytes();
    m.payload = protocol::make_payload(r.bytes());
    m.qos = read_qos(r);
    m.retain = r.flag();
    m.properties = read_properties(r);
    m.publisher = r.bytes();
    if (!r.done()) {
        m.expires_at_ms = static_cast<std::int64_t>(r.u64());
    }
    if (!r.done()) {
        session::MessageSource source;
        source.listener = r.u16();
        if (r.flag()) {
            source.username = std::make_shared<const std::string>(r.bytes());
        }
        m.source = std::move(source);
    }
    return r.done() ? std::optional(std::move(m)) : std::nullopt;
}

std::string encode_session(const StoredSession& session) {
    Writer w;
    w.u8(kRecordFormat);
    w.u8(static_cast<std::uint8_t>(session.version));
    w.u32(session.expiry_interval);
    w.u64(static_cast<std::uint64_t>(session.disconnected_at_ms));
    w.u8(session.will ? 1 : 0);
    if (session.will) {
        w.bytes(session.will->topic);
        w.bytes(session.will->payload ? std::string_view(*session.will->payload) : "");
        w.u8(session.will->qos);
        w.u8(session.will->retain ? 1 : 0);
        write_properties(w, session.will->properties);
    }
    // Appended later, and only when there is something to say: records without them read
    // as anonymous on the first listener.
    if (session.username || session.listener != 0) {
        w.u8(session.username ? 1 : 0);
        w.bytes(session.username.value_or(""));
        w.u16(session.listener);
    }
    return w.take();
}

std::optional<StoredSession> decode_session(std::string_view key, std::string_view value,
                                            const ClientNames& names) {
    auto client = split_key(key, 0, names);
    Reader r(value);
    if (!client || !format_ok(r)) {
        return std::nullopt;
    }
    StoredSession s;
    s.client_id = std::move(client->first);
    const auto version = r.u8();
    if (version < 3 || version > 5) {
        return std::nullopt;
    }
    s.version = static_cast<protocol::ProtocolVersion>(version);
    s.expiry_interval = r.u32();
    s.disconnected_at_ms = static_cast<std::int64_t>(r.u64());
    if (r.flag()) {
        protocol::Will will;
        will.topic = r.bytes();
        will.payload = protocol::make_payload(r.bytes());
        will.qos = read_qos(r);
        will.retain = r.flag();
        will.properties = read_properties(r);
        s.will = std::move(will);
    }
    if (!r.done()) {
        const bool has_username = r.flag();
        std::string username = r.bytes();
        if (has_username) {
            s.username = std::move(username);
        }
        s.listener = r.u16();
    }
    return r.done() ? std::optional(std::move(s)) : std::nullopt;
}

std::string encode_subscription(const StoredSubscription& subscription) {
    const auto& record = subscription.record;
    Writer w;
    w.u8(kRecordFormat);
    w.u8(record.options.qos);
    w.u8(record.options.no_local ? 1 : 0);
    w.u8(record.options.retain_as_published ? 1 : 0);
    w.u8(static_cast<std::uint8_t>(record.options.retain_handling));
    w.u8(record.subscription_id ? 1 : 0);
    w.u32(record.subscription_id.value_or(0));
    if (is_hashed(subscription.filter)) {
        w.bytes(subscription.filter);  // the key holds only its digest
    }
    return w.take();
}

std::optional<StoredSubscription> decode_subscription(std::string_view key, std::string_view value,
                                                      const ClientNames& names) {
    auto client = split_key(key, std::string_view::npos, names);
    std::string_view rest;
    auto filter = client ? split_name(client->second, &rest) : std::nullopt;
    Reader r(value);
    if (!filter || !rest.empty() || !format_ok(r)) {
        return std::nullopt;
    }
    StoredSubscription s;
    s.client_id = std::move(client->first);
    s.record.options.qos = read_qos(r);
    s.record.options.no_local = r.flag();
    s.record.options.retain_as_published = r.flag();
    const auto handling = r.u8();
    if (handling > 2) {
        return std::nullopt;
    }
    s.record.options.retain_handling = static_cast<protocol::RetainHandling>(handling);
    const bool has_id = r.flag();
    const auto id = r.u32();
    if (has_id) {
        s.record.subscription_id = id;
    }
    if (filter->hashed) {
        s.filter = r.bytes();
        if (name_part(s.filter) != filter->encoded) {
            return std::nullopt;  // damaged, or another filter with the same digest
        }
    } else {
        s.filter = std::string(filter->name);
    }
    return r.done() ? std::optional(std::move(s)) : std::nullopt;
}

std::string encode_queued(const QueuedEntry& entry) {
    Writer w;
    w.u8(kRecordFormat);
    w.u64(entry.message);
    w.u64(entry.bytes);
    w.u8(entry.qos);
    w.u8(entry.retain ? 1 : 0);
    write_ids(w, entry.subscription_ids);
    return w.take();
}

std::optional<QueuedEntry> decode_queued_value(std::string_view value) {
    Reader r(value);
    if (!format_ok(r)) {
        return std::nullopt;
    }
    QueuedEntry e;
    e.message = r.u64();
    e.bytes = r.u64();
    e.qos = read_qos(r);
    e.retain = r.flag();
    e.subscription_ids = read_ids(r);
    return r.done() && e.message != 0 ? std::optional(std::move(e)) : std::nullopt;
}

std::optional<QueuedEntry> decode_queued(std::string_view key, std::string_view value,
                                         const ClientNames& names) {
    auto client = split_key(key, 8, names);
    auto e = client ? decode_queued_value(value) : std::nullopt;
    if (!e) {
        return std::nullopt;
    }
    e->client_id = std::move(client->first);
    e->seq = *decode_u64(client->second);
    return e;
}

std::string encode_queue_summary(const QueueSummary& summary) {
    Writer w;
    w.u8(kRecordFormat);
    w.u64(summary.count);
    w.u64(summary.bytes);
    w.u64(summary.last_seq);
    return w.take();
}

std::optional<QueueSummary> decode_queue_summary(std::string_view value) {
    Reader r(value);
    if (!format_ok(r)) {
        return std::nullopt;
    }
    QueueSummary s;
    s.count = r.u64();
    s.bytes = r.u64();
    s.last_seq = r.u64();
    return r.done() && s.count != 0 ? std::optional(s) : std::nullopt;
}

std::string encode_inflight(const InflightEntry& entry) {
    Writer w;
    w.u8(kRecordFormat);
    w.u64(entry.seq);
    w.u8(static_cast<std::uint8_t>(entry.state));
    w.u64(entry.message);
    w.u8(entry.qos);
    w.u8(entry.retain ? 1 : 0);
    write_ids(w, entry.subscription_ids);
    return w.take();
}

std::optional<InflightEntry> decode_inflight(std::string_view key, std::string_view value,
                                             const ClientNames& names) {
    std::string client;
    auto packet_id = decode_qos2_key(key, &client, names);
    Reader r(value);
    if (!packet_id || !format_ok(r)) {
        return std::nullopt;
    }
    InflightEntry e;
    e.client_id = std::move(client);
    e.packet_id = *packet_id;
    e.seq = r.u64();
    const auto state = r.u8();
    if (state > static_cast<std::uint8_t>(session::OutboundState::AwaitingPubcomp)) {
        return std::nullopt;
    }
    e.state = static_cast<session::OutboundState>(state);
    e.message = r.u64();
    e.qos = read_qos(r);
    e.retain = r.flag();
    e.subscription_ids = read_ids(r);
    return r.done() ? std::optional(std::move(e)) : std::nullopt;
}

std::optional<protocol::PacketId> decode_qos2_key(std::string_view key, std::string* client_id,
                                                  const ClientNames& names) {
    auto client = split_key(key, 2, names);
    if (!client) {
        return std::nullopt;
    }
    Reader r(client->second);
    const auto id = r.u16();
    if (client_id != nullptr) {
        *client_id = std::move(client->first);
    }
    return id;
}

}  // namespace petrel::store::codec
