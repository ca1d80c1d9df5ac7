#include "stream_check.hpp"

#include <optional>
#include <string>

#include "finding.hpp"

namespace petrel::fuzz {

using protocol::PacketType;
using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

namespace {

protocol::ByteView view(std::string_view bytes) {
    return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}

std::string_view text(protocol::ByteView bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Reason String or User Property in the properties of a packet that has them.
bool has_problem_information(const protocol::Packet& packet) {
    return std::visit(
        [](const auto& p) {
            if constexpr (requires { p.properties; }) {
                return p.properties.contains(PropertyId::ReasonString) ||
                       p.properties.contains(PropertyId::UserProperty);
            } else {
                return false;
            }
        },
        packet);
}

}  // namespace

std::string describe(const protocol::Packet& packet) {
    std::string out(protocol::to_string(protocol::packet_type(packet)));
    std::visit(
        [&](const auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, protocol::Publish>) {
                out += "(topic=" + p.topic + " qos=" + std::to_string(p.qos) +
                       " id=" + std::to_string(p.packet_id) + " dup=" + std::to_string(p.dup) +
                       " retain=" + std::to_string(p.retain) + " " +
                       std::to_string(p.payload ? p.payload->size() : 0) + " bytes)";
            } else if constexpr (std::is_same_v<T, protocol::Connect>) {
                out += "(v" + std::to_string(static_cast<int>(p.version)) + " id=" + p.client_id +
                       " clean=" + std::to_string(p.clean_start) + ")";
            } else if constexpr (requires { p.reasons; }) {
                out += "(id=" + std::to_string(p.packet_id) + " reasons=";
                for (ReasonCode reason : p.reasons) {
                    out += std::to_string(static_cast<int>(reason)) + " ";
                }
                out += ")";
            } else if constexpr (requires { p.packet_id; }) {
                out += "(id=" + std::to_string(p.packet_id) + ")";
            }
            if constexpr (requires { p.reason; }) {
                out += " reason=0x";
                static constexpr char kHex[] = "0123456789abcdef";
                out += kHex[p.reason.byte() >> 4];
                out += kHex[p.reason.byte() & 15];
            }
        },
        packet);
    return out;
}

void SentStream::add(std::string_view bytes) {
    if (doomed_) {
        return;  // the broker reads no further
    }
    partial_.append(bytes);
    // The broker's framing (ClientConnection::on_data), step by step.
    while (!doomed_ && !partial_.empty()) {
        const protocol::ByteView rest = view(partial_);
        if (!connect_complete_ && static_cast<PacketType>(rest[0] >> 4) != PacketType::Connect) {
            doomed_ = true;  // [MQTT-3.1.0-1] the first packet must be CONNECT
            break;
        }
        const protocol::FrameResult framed = protocol::frame(rest);
        if (framed.status == protocol::FrameStatus::Malformed ||
            (framed.frame.header_length > 0 && broker_maximum_packet_size_ > 0 &&
             framed.frame.total_length() > broker_maximum_packet_size_)) {
            doomed_ = true;
            break;
        }
        if (framed.status == protocol::FrameStatus::Incomplete) {
            break;
        }
        const std::size_t length = framed.frame.total_length();
        on_packet(rest.first(length));
        partial_.erase(0, length);
    }
    if (doomed_) {
        partial_.clear();
    }
}

void SentStream::on_packet(protocol::ByteView packet) {
    protocol::Result<protocol::Packet> decoded = protocol::decode(packet, terms_.version);
    if (!connect_complete_) {
        connect_complete_ = true;
        if (!decoded) {
            // The version the broker answers a CONNECT it cannot read in (on_data).
            const auto level = protocol::peek_connect_level(packet);
            if (level == 5) {
                terms_.version = ProtocolVersion::V5;
            }
            doomed_ = true;
            return;
        }
        const auto& connect = std::get<protocol::Connect>(*decoded);
        terms_.version = connect.version;
        terms_.connect_decoded = true;
        terms_.clean_start = connect.clean_start;
        terms_.empty_client_id = connect.client_id.empty();
        const protocol::Properties& properties = connect.properties;
        terms_.maximum_packet_size = properties.number(PropertyId::MaximumPacketSize).value_or(0);
        terms_.topic_alias_maximum = static_cast<std::uint16_t>(
            properties.number(PropertyId::TopicAliasMaximum).value_or(0));
        terms_.receive_maximum = static_cast<std::uint16_t>(
            properties.number(PropertyId::ReceiveMaximum).value_or(65535));
        terms_.problem_information =
            properties.number(PropertyId::RequestProblemInformation).value_or(1) != 0;
        terms_.response_information =
            properties.number(PropertyId::RequestResponseInformation).value_or(0) == 1;
        terms_.authentication_method = properties.contains(PropertyId::AuthenticationMethod);
        return;
    }
    if (!decoded) {
        doomed_ = true;
        return;
    }
    using Request = SentStream::Request;
    if (std::holds_alternative<protocol::Pingreq>(*decoded)) {
        ++pingreqs_;
    } else if (std::holds_alternative<protocol::Disconnect>(*decoded)) {
        disconnect_sent_ = true;
    } else if (const auto* subscribe = std::get_if<protocol::Subscribe>(&*decoded)) {
        requests_.push_back(
            Request{PacketType::Suback, subscribe->packet_id, subscribe->subscriptions.size()});
    } else if (const auto* unsubscribe = std::get_if<protocol::Unsubscribe>(&*decoded)) {
        requests_.push_back(
            Request{PacketType::Unsuback, unsubscribe->packet_id, unsubscribe->filters.size()});
    } else if (const auto* publish = std::get_if<protocol::Publish>(&*decoded)) {
        if (publish->qos > 0) {
            requests_.push_back(Request{publish->qos == 1 ? PacketType::Puback : PacketType::Pubrec,
                                        publish->packet_id, 0});
        }
    } else if (const auto* pubrel = std::get_if<protocol::Pubrel>(&*decoded)) {
        requests_.push_back(Request{PacketType::Pubcomp, pubrel->packet_id, 0});
    } else if (const auto* puback = std::get_if<protocol::Puback>(&*decoded)) {
        releases_.push_back(puback->packet_id);
    } else if (const auto* pubcomp = std::get_if<protocol::Pubcomp>(&*decoded)) {
        releases_.push_back(pubcomp->packet_id);
    } else if (const auto* pubrec = std::get_if<protocol::Pubrec>(&*decoded)) {
        if (protocol::is_failure(pubrec->reason)) {
            releases_.push_back(pubrec->packet_id);  // 4.3.3: the exchange ends here
        }
    }
}

void OutputCheck::feed(std::string_view bytes, const SentStream& sent,
                       std::deque<protocol::Packet>& out) {
    if (!sent.connect_complete()) {
        finding("the broker wrote before the client's CONNECT was complete", bytes);
    }
    const ClientTerms& terms = sent.terms();
    buffer_.append(bytes);
    std::size_t consumed = 0;
    while (consumed < buffer_.size()) {
        const protocol::ByteView rest = view(buffer_).subspan(consumed);
        const protocol::FrameResult framed = protocol::frame(rest);
        if (framed.status == protocol::FrameStatus::Malformed) {
            finding("broker output: a fixed header that does not frame", text(rest));
        }
        if (framed.status == protocol::FrameStatus::Incomplete) {
            break;
        }
        const protocol::ByteView packet = rest.first(framed.frame.total_length());
        if (terms.maximum_packet_size > 0 && packet.size() > terms.maximum_packet_size) {
            finding("broker output: a packet over the client's Maximum Packet Size [MQTT-3.1.2-24]",
                    text(packet));
        }
        protocol::Result<protocol::Packet> decoded = protocol::decode(packet, terms.version);
        if (!decoded) {
            finding(std::string("broker output does not decode: ") + decoded.error().what,
                    text(packet));
        }
        take_sent(sent);
        check(*decoded, text(packet), terms);
        out.push_back(std::move(decoded).value());
        consumed += packet.size();
    }
    buffer_.erase(0, consumed);
}

void OutputCheck::at_eof() const {
    if (!buffer_.empty()) {
        finding("the broker closed the connection in the middle of a packet", buffer_);
    }
}

void OutputCheck::check(const protocol::Packet& packet, std::string_view bytes,
                        const ClientTerms& terms) {
    const PacketType type = protocol::packet_type(packet);
    const bool v5 = terms.version == ProtocolVersion::V5;
    if (ended_) {
        finding("broker output after a refusing CONNACK or a DISCONNECT", bytes);
    }
    if (type == PacketType::Connect || type == PacketType::Subscribe ||
        type == PacketType::Unsubscribe || type == PacketType::Pingreq) {
        finding("broker output: a packet only a client sends", bytes);
    }
    if (type == PacketType::Auth && (!v5 || !terms.authentication_method)) {
        finding("broker output: AUTH to a client that named no authentication method", bytes);
    }
    if (!connack_seen_ && type != PacketType::Connack && type != PacketType::Auth) {
        finding("broker output: the first packet is not CONNACK [MQTT-3.2.0-1]", bytes);
    }
    if (type == PacketType::Connack) {
        if (connack_seen_) {
            finding("broker output: a second CONNACK [MQTT-3.2.0-2]", bytes);
        }
        connack_seen_ = true;
        const auto& connack = std::get<protocol::Connack>(packet);
        if (protocol::is_failure(connack.reason)) {
            ended_ = true;
            if (connack.session_present) {
                finding("broker output: Session Present with a refusal [MQTT-3.2.2-6]", bytes);
            }
        } else if (!terms.connect_decoded) {
            finding("broker output: CONNACK accepting a CONNECT that does not decode", bytes);
        } else {
            if (terms.clean_start && connack.session_present) {
                finding("broker output: Session Present after a clean start [MQTT-3.2.2-2]", bytes);
            }
            if (v5 && terms.empty_client_id &&
                !connack.properties.contains(PropertyId::AssignedClientIdentifier)) {
                finding("broker output: no Assigned Client Identifier [MQTT-3.2.2-16]", bytes);
            }
        }
        if (connack.properties.contains(PropertyId::ResponseInformation) &&
            !terms.response_information) {
            finding("broker output: Response Information not asked for [MQTT-3.1.2-28]", bytes);
        }
    }
    if (type == PacketType::Disconnect) {
        if (!v5) {
            finding("broker output: DISCONNECT to a 3.x client", bytes);
        }
        ended_ = true;
    }
    if (!terms.problem_information && type != PacketType::Publish && type != PacketType::Connack &&
        type != PacketType::Disconnect && has_problem_information(packet)) {
        finding("broker output: Reason String or User Property the client refused [MQTT-3.1.2-29]",
                bytes);
    }
    if (const auto* publish = std::get_if<protocol::Publish>(&packet)) {
        check_publish(*publish, bytes, terms);
    }
    if (type == PacketType::Pingresp) {
        ++pingresps_;
    }
    check_answer(packet, bytes, terms);
}

void OutputCheck::check_answer(const protocol::Packet& packet, std::string_view bytes,
                               const ClientTerms& terms) {
    const PacketType type = protocol::packet_type(packet);
    std::optional<protocol::PacketId> id;
    std::optional<std::size_t> reasons;
    if (const auto* suback = std::get_if<protocol::Suback>(&packet)) {
        id = suback->packet_id;
        reasons = suback->reasons.size();
    } else if (const auto* unsuback = std::get_if<protocol::Unsuback>(&packet)) {
        id = unsuback->packet_id;
        if (terms.version == ProtocolVersion::V5) {
            reasons = unsuback->reasons.size();  // 3.x UNSUBACK has none
        }
    } else if (const auto* puback = std::get_if<protocol::Puback>(&packet)) {
        id = puback->packet_id;
    } else if (const auto* pubrec = std::get_if<protocol::Pubrec>(&packet)) {
        id = pubrec->packet_id;
    } else if (const auto* pubcomp = std::get_if<protocol::Pubcomp>(&packet)) {
        id = pubcomp->packet_id;
    }
    if (!id) {
        return;
    }
    const auto found = unanswered_.find({type, *id});
    if (found == unanswered_.end()) {
        finding("broker output: an answer to no packet the client sent (or answered twice)", bytes);
    }
    const std::size_t filters = found->second.front();
    found->second.pop_front();
    if (found->second.empty()) {
        unanswered_.erase(found);
    }
    if (reasons && *reasons != filters) {
        finding("broker output: not one reason code per filter [MQTT-3.8.4-6], [MQTT-3.11.3-1]",
                bytes);
    }
}

void OutputCheck::check_publish(const protocol::Publish& publish, std::string_view bytes,
                                const ClientTerms& terms) {
    std::string_view topic = publish.topic;
    const auto alias = publish.properties.number(PropertyId::TopicAlias);
    if (alias && terms.version == ProtocolVersion::V5) {
        if (*alias == 0 || *alias > terms.topic_alias_maximum) {
            finding("broker output: a Topic Alias above the client's maximum [MQTT-3.3.2-10]",
                    bytes);
        }
        if (aliases_.size() < *alias) {
            aliases_.resize(*alias);
        }
        std::string& mapped = aliases_[*alias - 1];
        if (topic.empty()) {
            if (mapped.empty()) {
                finding("broker output: an empty topic with an alias it never defined", bytes);
            }
            topic = mapped;
        } else {
            mapped = publish.topic;
        }
    }
    if (topic.empty()) {
        finding("broker output: a PUBLISH without a topic", bytes);
    }
    if (topic.find_first_of("+#") != std::string_view::npos) {
        finding("broker output: a PUBLISH to a wildcard topic [MQTT-3.3.2-2]", bytes);
    }
    if (publish.qos > 0) {
        check_packet_id(publish, bytes, terms);
    }
}

void OutputCheck::take_sent(const SentStream& sent) {
    const std::vector<SentStream::Request>& requests = sent.requests();
    for (; requests_taken_ < requests.size(); ++requests_taken_) {
        const SentStream::Request& request = requests[requests_taken_];
        unanswered_[{request.answer, request.id}].push_back(request.filters);
    }
    const std::vector<protocol::PacketId>& releases = sent.releases();
    for (; releases_taken_ < releases.size(); ++releases_taken_) {
        const protocol::PacketId id = releases[releases_taken_];
        // Whatever kind of acknowledgement it is: counting too many as ending a delivery
        // can only make the check miss something.
        if (in_flight_.erase(id) == 0) {
            ++early_releases_[id];
        }
    }
}

void OutputCheck::check_packet_id(const protocol::Publish& publish, std::string_view bytes,
                                  const ClientTerms& terms) {
    const bool v5 = terms.version == ProtocolVersion::V5;
    const protocol::PacketId id = publish.packet_id;
    if (in_flight_.contains(id)) {
        if (!publish.dup) {
            finding("broker output: a new PUBLISH with a packet id still in flight [MQTT-2.2.1-3]",
                    bytes);
        }
        if (v5) {
            finding("broker output: a PUBLISH resent on the same connection [MQTT-4.4.0-2]", bytes);
        }
        return;
    }
    if (auto early = early_releases_.find(id); early != early_releases_.end()) {
        if (--early->second == 0) {
            early_releases_.erase(early);
        }
        return;  // perhaps already acknowledged: not counted as in flight
    }
    in_flight_.insert(id);
    if (v5 && in_flight_.size() > terms.receive_maximum) {
        finding(
            "broker output: more unacknowledged QoS 1/2 PUBLISHes than the client's "
            "Receive Maximum [MQTT-3.3.4-9]",
            bytes);
    }
}

}  // namespace petrel::fuzz
