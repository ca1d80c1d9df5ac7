// Binary encoding of store keys and values; see record_codec.hpp for the layout rules.
#include "petrel/store/record_codec.hpp"

#include <limits>

namespace petrel::store::codec {

namespace {

class Writer {
  public:
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u16(std::uint16_t v) { big_endian(v, 2); }
    void u32(std::uint32_t v) { big_endian(v, 4); }
    void u64(std::uint64_t v) { big_endian(v, 8); }
    // Lengths are 32-bit: a payload may exceed 65,535 bytes (MQTT allows ~256 MB).
    void bytes(std::string_view b) {
        u32(static_cast<std::uint32_t>(b.size()));
        out_.append(b);
    }
    void raw(std::string_view b) { out_.append(b); }
    std::string take() { return std::move(out_); }

  private:
    void big_endian(std::uint64_t v, int width) {
        for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
            out_.push_back(static_cast<char>((v >> shift) & 0xFF));
        }
    }
    std::string out_;
};

// Reads with every access bounds-checked; the first failure sticks, so a decoder reads
// its fields unconditionally and checks ok() once at the end.
class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}

    std::uint8_t u8() { return static_cast<std::uint8_t>(big_endian(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(big_endian(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(big_endian(4)); }
    std::uint64_t u64() { return big_endian(8); }
    bool flag() {
        const auto v = u8();
        if (v > 1) {
            ok_ = false;
        }
        return v == 1;
    }
    std::string_view raw(std::size_t n) {
        if (!ok_ || in_.size() - pos_ < n) {
            ok_ = false;
            return {};
        }
        auto out = in_.substr(pos_, n);
        pos_ += n;
        return out;
    }
    std::string bytes() { return std::string(raw(u32())); }
    std::string_view rest() { return raw(in_.size() - pos_); }
    void fail() { ok_ = false; }
    bool ok() const { return ok_; }
    // Trailing bytes are corruption too: every layout is read to its end.
    bool done() const { return ok_ && pos_ == in_.size(); }

  private:
    std::uint64_t big_endian(std::size_t width) {
        std::uint64_t v = 0;
        for (char c : raw(width)) {
            v = (v << 8) | static_cast<std::uint8_t>(c);
        }
        return v;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

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

// The client part of a key, then the expected remainder length (0 = any).
std::optional<std::pair<std::string, std::string_view>> split_key(std::string_view key,
                                                                  std::size_t rest_size) {
    auto client = decode_client_key(key);
    if (!client || client->rest.size() != rest_size) {
        return std::nullopt;
    }
    return std::pair{std::move(client->client_id), client->rest};
}

}  // namespace

std::string client_prefix(std::string_view client_id) {
    Writer w;
    w.u16(static_cast<std::uint16_t>(client_id.size()));
    w.raw(client_id);
    return w.take();
}

std::string session_key(std::string_view client_id) {
    return client_prefix(client_id);
}

std::string subscription_key(std::string_view client_id, std::string_view filter) {
    return client_prefix(client_id).append(filter);
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

std::string message_key(MessageId id) {
    return encode_u64(id);
}

std::optional<ClientKey> decode_client_key(std::string_view key) {
    Reader r(key);
    const auto length = r.u16();
    auto client = r.raw(length);
    if (!r.ok()) {
        return std::nullopt;
    }
    return ClientKey{std::string(client), key.substr(2 + length)};
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

std::string encode_message(const session::Message& message) {
    Writer w;
    w.u8(kRecordFormat);
    w.bytes(message.topic);
    w.bytes(message.payload ? std::string_view(*message.payload) : std::string_view());
    w.u8(message.qos);
    w.u8(message.retain ? 1 : 0);
    write_properties(w, message.properties);
    w.bytes(message.publisher);
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
    return w.take();
}

std::optional<StoredSession> decode_session(std::string_view key, std::string_view value) {
    auto client = split_key(key, 0);
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
    return r.done() ? std::optional(std::move(s)) : std::nullopt;
}

std::string encode_subscription(const session::SubscriptionRecord& record) {
    Writer w;
    w.u8(kRecordFormat);
    w.u8(record.options.qos);
    w.u8(record.options.no_local ? 1 : 0);
    w.u8(record.options.retain_as_published ? 1 : 0);
    w.u8(static_cast<std::uint8_t>(record.options.retain_handling));
    w.u8(record.subscription_id ? 1 : 0);
    w.u32(record.subscription_id.value_or(0));
    return w.take();
}

std::optional<StoredSubscription> decode_subscription(std::string_view key,
                                                      std::string_view value) {
    auto client = decode_client_key(key);
    Reader r(value);
    if (!client || !format_ok(r)) {
        return std::nullopt;
    }
    StoredSubscription s;
    s.client_id = std::move(client->client_id);
    s.filter = std::string(client->rest);
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
    return r.done() ? std::optional(std::move(s)) : std::nullopt;
}

std::string encode_queued(const QueuedEntry& entry) {
    Writer w;
    w.u8(kRecordFormat);
    w.u64(entry.message);
    w.u8(entry.qos);
    w.u8(entry.retain ? 1 : 0);
    write_ids(w, entry.subscription_ids);
    return w.take();
}

std::optional<QueuedEntry> decode_queued(std::string_view key, std::string_view value) {
    auto client = split_key(key, 8);
    Reader r(value);
    if (!client || !format_ok(r)) {
        return std::nullopt;
    }
    QueuedEntry e;
    e.client_id = std::move(client->first);
    e.seq = *decode_u64(client->second);
    e.message = r.u64();
    e.qos = read_qos(r);
    e.retain = r.flag();
    e.subscription_ids = read_ids(r);
    return r.done() && e.message != 0 ? std::optional(std::move(e)) : std::nullopt;
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

std::optional<InflightEntry> decode_inflight(std::string_view key, std::string_view value) {
    std::string client;
    auto packet_id = decode_qos2_key(key, &client);
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

std::optional<protocol::PacketId> decode_qos2_key(std::string_view key, std::string* client_id) {
    auto client = split_key(key, 2);
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
