#include "connection_input.hpp"

namespace petrel::fuzz {

using protocol::ProtocolVersion;

namespace {

std::uint8_t bit(bool value, int position) {
    return static_cast<std::uint8_t>(value ? 1u << position : 0u);
}

bool has(std::uint8_t byte, int position) {
    return (byte >> position) & 1u;
}

}  // namespace

std::array<std::uint8_t, 3> ClientSetup::encode() const {
    const std::uint8_t version_bits = version == ProtocolVersion::V31    ? 0
                                      : version == ProtocolVersion::V311 ? 1
                                                                         : 2;
    const std::uint8_t b0 =
        static_cast<std::uint8_t>(version_bits | bit(own_connect, 2) | bit(clean_start, 3) |
                                  bit(will, 4) | (will_qos & 3u) << 5 | bit(will_retain, 7));
    const std::uint8_t b1 = static_cast<std::uint8_t>(
        (client_id & 3u) | bit(session_expiry, 2) | bit(topic_alias_maximum, 3) |
        bit(receive_maximum, 4) | bit(maximum_packet_size, 5) | bit(no_problem_information, 6) |
        bit(response_information, 7));
    const std::uint8_t b2 = static_cast<std::uint8_t>(
        bit(restricted_broker, 0) | static_cast<std::uint8_t>(authentication) << 1 |
        bit(wrong_secret, 3) | bit(will_properties, 4) | bit(auto_ack, 5) |
        static_cast<std::uint8_t>(ending) << 6);
    return {b0, b1, b2};
}

ClientSetup ClientSetup::decode(std::uint8_t b0, std::uint8_t b1, std::uint8_t b2) {
    static constexpr ProtocolVersion kVersions[] = {ProtocolVersion::V31, ProtocolVersion::V311,
                                                    ProtocolVersion::V5, ProtocolVersion::V5};
    ClientSetup setup;
    setup.version = kVersions[b0 & 3u];
    setup.own_connect = has(b0, 2);
    setup.clean_start = has(b0, 3);
    setup.will = has(b0, 4);
    setup.will_qos = static_cast<protocol::Qos>(std::min((b0 >> 5) & 3, 2));
    setup.will_retain = has(b0, 7);
    setup.client_id = b1 & 3u;
    setup.session_expiry = has(b1, 2);
    setup.topic_alias_maximum = has(b1, 3);
    setup.receive_maximum = has(b1, 4);
    setup.maximum_packet_size = has(b1, 5);
    setup.no_problem_information = has(b1, 6);
    setup.response_information = has(b1, 7);
    setup.restricted_broker = has(b2, 0);
    setup.authentication = static_cast<Authentication>((b2 >> 1) & 3u);
    setup.wrong_secret = has(b2, 3);
    setup.will_properties = has(b2, 4);
    setup.auto_ack = has(b2, 5);
    setup.ending = static_cast<Ending>((b2 >> 6) & 3u);
    return setup;
}

void InputWriter::append_setup(const ClientSetup& setup) {
    for (std::uint8_t b : setup.encode()) {
        out_ += static_cast<char>(b);
    }
}

InputWriter& InputWriter::packet(std::uint8_t first_byte, std::string_view body) {
    op(Op::Packet);
    out_ += static_cast<char>(first_byte);
    out_ += static_cast<char>(std::min<std::size_t>(body.size(), 255));
    out_ += body.substr(0, 255);
    return *this;
}

InputWriter& InputWriter::raw(std::string_view bytes) {
    op(Op::Raw);
    out_ += static_cast<char>(std::min<std::size_t>(bytes.size(), 255));
    out_ += bytes.substr(0, 255);
    return *this;
}

InputWriter& InputWriter::publish(std::uint8_t flags, std::uint8_t topic,
                                  std::string_view payload) {
    op(Op::Publish);
    out_ += static_cast<char>(flags);
    out_ += static_cast<char>(topic);
    out_ += static_cast<char>(std::min<std::size_t>(payload.size(), 127));
    out_ += payload.substr(0, 127);
    return *this;
}

InputWriter& InputWriter::publish_filler(std::uint8_t flags, std::uint8_t topic,
                                         std::uint8_t units) {
    op(Op::Publish);
    out_ += static_cast<char>(flags);
    out_ += static_cast<char>(topic);
    out_ += static_cast<char>(128 + std::min<std::uint8_t>(units, 127));
    return *this;
}

InputWriter& InputWriter::subscribe(std::initializer_list<Filter> filters, bool identifier,
                                    bool user_property) {
    op(Op::Subscribe);
    const std::size_t count = std::clamp<std::size_t>(filters.size(), 1, 4);
    out_ += static_cast<char>((count - 1) | bit(identifier, 2) | bit(user_property, 3));
    std::size_t written = 0;
    for (const Filter& filter : filters) {
        if (written++ == count) {
            break;
        }
        out_ += static_cast<char>(filter.index);
        out_ += static_cast<char>(filter.options);
    }
    return *this;
}

InputWriter& InputWriter::unsubscribe(std::uint8_t choice) {
    op(Op::Unsubscribe);
    out_ += static_cast<char>(choice);
    return *this;
}

InputWriter& InputWriter::ack(std::uint8_t how) {
    op(Op::Ack);
    out_ += static_cast<char>(how);
    return *this;
}

InputWriter& InputWriter::sync() {
    op(Op::Sync);
    return *this;
}

InputWriter& InputWriter::open(const ClientSetup& setup) {
    op(Op::Open);
    append_setup(setup);
    return *this;
}

InputWriter& InputWriter::switch_client() {
    op(Op::Switch);
    return *this;
}

InputWriter& InputWriter::reauth(std::uint8_t how) {
    op(Op::Reauth);
    out_ += static_cast<char>(how);
    return *this;
}

InputWriter& InputWriter::disconnect(std::uint8_t reason, std::uint8_t properties) {
    op(Op::Disconnect);
    out_ += static_cast<char>(reason);
    out_ += static_cast<char>(properties);
    return *this;
}

}  // namespace petrel::fuzz
