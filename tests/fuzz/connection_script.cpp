#include "connection_script.hpp"

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "broker_link.hpp"
#include "connection_input.hpp"
#include "petrel/protocol/codec.hpp"
#include "script_link.hpp"
#include "support/scram_client.hpp"

namespace petrel::fuzz {

namespace {

using protocol::PacketId;
using protocol::PacketType;
using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

// Bounds per input, so that one long input cannot cost seconds.
constexpr int kMaxOpens = 8;
// Three at once: a takeover needs two with one client id, plus one that watches.
constexpr std::size_t kMaxClients = 3;
constexpr std::string_view kWrongPassword = "not-the-password";
// Fixed, so that what the client sends depends on the input alone.
constexpr std::string_view kNonce = "fuzz-nonce-0123456789";

// An answer the client owes the broker: PUBACK/PUBREC for its PUBLISH, PUBREL for its
// PUBREC, PUBCOMP for its PUBREL.
struct Owed {
    PacketType reply = PacketType::Puback;
    PacketId id = 0;
};

struct Client {
    ClientSetup setup;
    std::unique_ptr<ScriptLink> link;
    bool connack = false;
    // The latest AUTH from the broker, taken by whoever waits for it.
    std::optional<protocol::Auth> auth;
    // The CONNECT went through a SCRAM exchange: re-authentication can succeed.
    bool scram_connected = false;
    PacketId last_id = 0;
    std::deque<Owed> owed;

    bool v5() const { return link->version() == ProtocolVersion::V5; }
    PacketId next_id() {
        last_id = static_cast<PacketId>(last_id == 0xFFFF ? 1 : last_id + 1);
        return last_id;
    }
};

class Script {
  public:
    Script(std::span<const std::uint8_t> input, ScriptTarget& target)
        : in_(input), target_(target) {}

    void run();

  private:
    ClientSetup read_setup() {
        const std::uint8_t b0 = in_.byte();
        const std::uint8_t b1 = in_.byte();
        return ClientSetup::decode(b0, b1, in_.byte());
    }
    Client* current() {
        Client* client = clients_[current_].get();
        return client != nullptr && client->link->can_write() ? client : nullptr;
    }

    void connect(std::unique_ptr<Client>& slot, const ClientSetup& setup);
    void scram_step(Client& client, test::ScramClient& scram, bool at_connect, const char* what);
    void end(std::unique_ptr<Client>& slot, bool sent_disconnect);
    // Takes the broker's packets off the link: what is owed, CONNACK, AUTH.
    void absorb(Client& client);
    void answer(Client& client, const Owed& owed, bool failure, bool wrong_id);

    void op_packet();
    void op_raw();
    void op_publish();
    void op_subscribe();
    void op_unsubscribe();
    void op_ack();
    void op_open();
    void op_reauth();
    void op_disconnect();

    InputReader in_;
    ScriptTarget& target_;
    bool restricted_ = false;  // the server the first setup chose serves the whole input
    std::array<std::unique_ptr<Client>, kMaxClients> clients_;
    std::size_t current_ = 0;
    int opens_ = 0;
};

protocol::Connect make_connect(const ClientSetup& setup) {
    protocol::Connect connect;
    connect.version = setup.version;
    connect.clean_start = setup.clean_start;
    const bool v5 = setup.version == ProtocolVersion::V5;
    // Above the restricted broker's max_keepalive (30) for MQTT 5, which is then told a
    // Server Keep Alive; within it for 3.1/3.1.1, which would be refused (return code 2).
    connect.keep_alive = v5 ? 60 : 20;
    connect.client_id = std::string(kClientIds[setup.client_id]);
    if (setup.will) {
        protocol::Will will;
        will.topic = std::string(kWillTopic);
        will.payload = protocol::make_payload("gone");
        will.qos = setup.will_qos;
        will.retain = setup.will_retain;
        if (v5 && setup.will_properties) {
            will.properties.add_number(PropertyId::WillDelayInterval, 1);
            will.properties.add_number(PropertyId::MessageExpiryInterval, 30);
            will.properties.add_text(PropertyId::ContentType, "text/plain");
            will.properties.add_user_property("fz", "will");
        }
        connect.will = std::move(will);
    }
    if (v5) {
        protocol::Properties& p = connect.properties;
        if (setup.session_expiry) {
            p.add_number(PropertyId::SessionExpiryInterval, 30);
        }
        if (setup.topic_alias_maximum) {
            p.add_number(PropertyId::TopicAliasMaximum, 2);
        }
        if (setup.receive_maximum) {
            p.add_number(PropertyId::ReceiveMaximum, 2);
        }
        if (setup.maximum_packet_size) {
            p.add_number(PropertyId::MaximumPacketSize, kClientMaximumPacketSize);
        }
        if (setup.no_problem_information) {
            p.add_number(PropertyId::RequestProblemInformation, 0);
        }
        if (setup.response_information) {
            p.add_number(PropertyId::RequestResponseInformation, 1);
        }
    }
    const std::string password(setup.wrong_secret ? kWrongPassword : kPassword);
    switch (setup.authentication) {
        case Authentication::None:
            break;
        case Authentication::UsernameOnly:
            connect.username = std::string(kUser);
            break;
        case Authentication::Scram:
            if (v5) {
                break;  // the caller adds the method and the client-first message
            }
            [[fallthrough]];
        case Authentication::Password:
            connect.username = std::string(kUser);
            connect.password = password;
            break;
    }
    return connect;
}

void Script::connect(std::unique_ptr<Client>& slot, const ClientSetup& setup) {
    slot = std::make_unique<Client>();
    Client& client = *slot;
    client.setup = setup;
    client.link = target_.connect(restricted_);
    if (setup.own_connect) {
        return;  // the ops write it
    }
    protocol::Connect connect = make_connect(setup);
    const bool scram =
        setup.authentication == Authentication::Scram && setup.version == ProtocolVersion::V5;
    if (!scram) {
        client.link->send(connect);
        return;
    }
    test::ScramClient exchange(std::string(kUser),
                               std::string(setup.wrong_secret ? kWrongPassword : kPassword),
                               std::string(kNonce));
    connect.properties.add_text(PropertyId::AuthenticationMethod, std::string(kScramMethod));
    connect.properties.add_text(PropertyId::AuthenticationData, exchange.client_first());
    client.link->send(connect);
    scram_step(client, exchange, true, "AUTH or CONNACK after a SCRAM CONNECT");
    client.scram_connected = !setup.wrong_secret;
}

// Waits for the broker's challenge (AUTH 0x18) and answers it; the outcome (CONNACK, or
// AUTH 0x00 on re-authentication) is not waited for, so that ops follow it at once. At
// CONNECT a CONNACK instead of the challenge (a refusal) ends the wait too.
void Script::scram_step(Client& client, test::ScramClient& scram, bool at_connect,
                        const char* what) {
    client.auth.reset();
    if (!client.link->answerable()) {
        return;  // the AUTH went into a packet the broker is still waiting for
    }
    client.link->wait(
        [&] {
            absorb(client);
            return client.auth.has_value() || (at_connect && client.connack);
        },
        what);
    if (!client.auth || client.auth->reason != ReasonCode::ContinueAuthentication) {
        client.auth.reset();
        return;
    }
    const std::string challenge(
        client.auth->properties.text(PropertyId::AuthenticationData).value_or(""));
    client.auth.reset();
    protocol::Auth reply;
    reply.reason = ReasonCode::ContinueAuthentication;
    reply.properties.add_text(PropertyId::AuthenticationMethod, std::string(kScramMethod));
    reply.properties.add_text(PropertyId::AuthenticationData,
                              scram.client_final(challenge).value_or("c=biws,r=x,p=eA=="));
    client.link->send(reply);
}

void Script::absorb(Client& client) {
    std::deque<protocol::Packet>& received = client.link->received();
    while (!received.empty() || (client.setup.auto_ack && !client.owed.empty())) {
        if (received.empty()) {
            const Owed owed = client.owed.front();
            client.owed.pop_front();
            answer(client, owed, false, false);  // may receive more
            continue;
        }
        protocol::Packet packet = std::move(received.front());
        received.pop_front();
        if (std::holds_alternative<protocol::Connack>(packet)) {
            client.connack = true;
        } else if (auto* publish = std::get_if<protocol::Publish>(&packet)) {
            if (publish->qos > 0) {
                client.owed.push_back({publish->qos == 1 ? PacketType::Puback : PacketType::Pubrec,
                                       publish->packet_id});
            }
        } else if (auto* pubrec = std::get_if<protocol::Pubrec>(&packet)) {
            if (!protocol::is_failure(pubrec->reason)) {
                client.owed.push_back({PacketType::Pubrel, pubrec->packet_id});
            }
        } else if (auto* pubrel = std::get_if<protocol::Pubrel>(&packet)) {
            client.owed.push_back({PacketType::Pubcomp, pubrel->packet_id});
        } else if (auto* auth = std::get_if<protocol::Auth>(&packet)) {
            client.auth = std::move(*auth);
        }
    }
}

void Script::answer(Client& client, const Owed& owed, bool failure, bool wrong_id) {
    const PacketId id = wrong_id ? static_cast<PacketId>(owed.id + 1) : owed.id;
    const bool fail = failure && client.v5();
    const auto refused = fail ? protocol::PubackReason(ReasonCode::UnspecifiedError)
                              : protocol::PubackReason(ReasonCode::Success);
    const auto unknown = fail ? protocol::PubrelReason(ReasonCode::PacketIdentifierNotFound)
                              : protocol::PubrelReason(ReasonCode::Success);
    switch (owed.reply) {
        case PacketType::Puback:
            client.link->send(protocol::Puback{id, refused, {}});
            break;
        case PacketType::Pubrec:
            client.link->send(protocol::Pubrec{id, refused, {}});
            break;
        case PacketType::Pubrel:
            client.link->send(protocol::Pubrel{id, unknown, {}});
            break;
        default:
            client.link->send(protocol::Pubcomp{id, unknown, {}});
            break;
    }
}

void Script::end(std::unique_ptr<Client>& slot, bool sent_disconnect) {
    if (!slot) {
        return;
    }
    Client& client = *slot;
    ScriptLink& link = *client.link;
    const Ending ending = client.setup.ending;
    if (ending == Ending::Reset && !sent_disconnect) {
        link.reset();
        slot.reset();
        return;
    }
    if (!sent_disconnect) {
        link.sync();  // everything sent so far is answered, or the connection closed
        absorb(client);
    }
    const bool framed = link.sent().connect_complete() && !link.sent().mid_packet();
    if (!sent_disconnect && ending != Ending::HalfClose && framed && link.can_write()) {
        const bool with_will = ending == Ending::DisconnectWithWill && client.v5();
        link.send(protocol::Disconnect{
            with_will ? protocol::DisconnectReason(ReasonCode::DisconnectWithWillMessage)
                      : protocol::DisconnectReason(ReasonCode::Success),
            {}});
        sent_disconnect = true;
    }
    if (!link.sent().disconnect_sent()) {
        // No DISCONNECT the broker can read (none, or its bytes completed a packet left
        // unfinished before it): end of stream is how it learns we are gone.
        link.half_close();
    }
    link.drain("the connection was not closed at its end");
    slot.reset();
}

void Script::run() {
    const ClientSetup setup = read_setup();
    restricted_ = setup.restricted_broker;
    connect(clients_[0], setup);
    while (!in_.done()) {
        const std::uint8_t opcode = in_.byte();
        target_.before_op(opcode);
        switch (static_cast<Op>(opcode % kOpCount)) {
            case Op::Packet:
                op_packet();
                break;
            case Op::Raw:
                op_raw();
                break;
            case Op::Publish:
                op_publish();
                break;
            case Op::Subscribe:
                op_subscribe();
                break;
            case Op::Unsubscribe:
                op_unsubscribe();
                break;
            case Op::Ack:
                op_ack();
                break;
            case Op::Sync:
                if (Client* client = current()) {
                    client->link->sync();
                }
                break;
            case Op::Open:
                op_open();
                break;
            case Op::Switch:
                for (std::size_t step = 1; step < kMaxClients; ++step) {
                    if (clients_[(current_ + step) % kMaxClients]) {
                        current_ = (current_ + step) % kMaxClients;
                        break;
                    }
                }
                break;
            case Op::Reauth:
                op_reauth();
                break;
            case Op::Disconnect:
                op_disconnect();
                break;
        }
        for (auto& client : clients_) {
            if (client) {
                client->link->poll();
                absorb(*client);
            }
        }
    }
    for (auto& client : clients_) {
        end(client, false);
    }
}

void Script::op_packet() {
    const std::uint8_t first_byte = in_.byte();
    const std::string body = in_.bytes(in_.byte());
    if (Client* client = current()) {
        std::string bytes(1, static_cast<char>(first_byte));
        protocol::encode_varint(static_cast<std::uint32_t>(body.size()), bytes);
        client->link->send_raw(bytes + body);
    }
}

void Script::op_raw() {
    const std::string bytes = in_.bytes(in_.byte());
    if (Client* client = current()) {
        client->link->send_raw(bytes);
    }
}

void Script::op_publish() {
    const std::uint8_t flags = in_.byte();
    const std::uint8_t topic = in_.byte();
    std::string payload = in_.payload();
    Client* client = current();
    if (client == nullptr) {
        return;
    }
    protocol::Publish publish;
    publish.qos = static_cast<protocol::Qos>((flags & PublishFlags::kQosMask) % 3);
    publish.retain = (flags & PublishFlags::kRetain) != 0;
    if (publish.qos > 0) {
        if ((flags & PublishFlags::kDup) != 0 && client->last_id != 0) {
            publish.dup = true;
            publish.packet_id = client->last_id;
        } else {
            publish.packet_id = client->next_id();
        }
    }
    if ((topic & TopicChoice::kEmpty) == 0) {
        publish.topic = std::string(kTopics[topic & TopicChoice::kIndexMask]);
    }
    if (client->v5()) {
        protocol::Properties& p = publish.properties;
        if (flags & PublishFlags::kExpiry) {
            p.add_number(PropertyId::MessageExpiryInterval, 1);
        }
        if (flags & PublishFlags::kUtf8Payload) {
            p.add_number(PropertyId::PayloadFormatIndicator, 1);
        }
        if (flags & PublishFlags::kRequestReply) {
            p.add_text(PropertyId::ResponseTopic, "fz/reply");
            p.add_text(PropertyId::CorrelationData, "c1");
            p.add_text(PropertyId::ContentType, "text/plain");
            p.add_user_property("fz", "publish");
        }
        if (flags & PublishFlags::kTopicAlias) {
            p.add_number(PropertyId::TopicAlias, topic >> TopicChoice::kAliasShift);
        }
    }
    publish.payload = protocol::make_payload(std::move(payload));
    client->link->send(publish);
}

void Script::op_subscribe() {
    const std::uint8_t head = in_.byte();
    protocol::Subscribe subscribe;
    for (int i = 0; i <= (head & 3); ++i) {
        protocol::Subscription subscription;
        subscription.filter = std::string(kFilters[in_.byte() & 0x0F]);
        const std::uint8_t options = in_.byte();
        subscription.options.qos = static_cast<protocol::Qos>((options & 3) % 3);
        subscription.options.no_local = (options & 0x04) != 0;
        subscription.options.retain_as_published = (options & 0x08) != 0;
        subscription.options.retain_handling =
            static_cast<protocol::RetainHandling>(((options >> 4) & 3) % 3);
        subscribe.subscriptions.push_back(std::move(subscription));
    }
    Client* client = current();
    if (client == nullptr) {
        return;
    }
    if (!client->v5()) {
        for (protocol::Subscription& subscription : subscribe.subscriptions) {
            subscription.options = protocol::SubscribeOptions{subscription.options.qos};
        }
    } else {
        if (head & 0x04) {
            subscribe.properties.add_number(PropertyId::SubscriptionIdentifier, head + 1u);
        }
        if (head & 0x08) {
            subscribe.properties.add_user_property("fz", "subscribe");
        }
    }
    subscribe.packet_id = client->next_id();
    client->link->send(subscribe);
}

void Script::op_unsubscribe() {
    const std::uint8_t choice = in_.byte();
    Client* client = current();
    if (client == nullptr) {
        return;
    }
    protocol::Unsubscribe unsubscribe;
    unsubscribe.filters.emplace_back(kFilters[choice & 0x0F]);
    if ((choice >> 4) != 0) {
        unsubscribe.filters.emplace_back(kFilters[choice >> 4]);
    }
    unsubscribe.packet_id = client->next_id();
    client->link->send(unsubscribe);
}

void Script::op_ack() {
    const std::uint8_t how = in_.byte();
    Client* client = current();
    if (client == nullptr) {
        return;
    }
    const bool failure = (how & AckChoice::kFailure) != 0;
    const bool wrong_id = (how & AckChoice::kWrongId) != 0;
    if (client->owed.empty()) {
        static constexpr PacketType kBlind[] = {PacketType::Puback, PacketType::Pubrec,
                                                PacketType::Pubrel, PacketType::Pubcomp};
        answer(*client, Owed{kBlind[(how >> 2) & 3], static_cast<PacketId>((how >> 4) + 1)}, false,
               false);
        return;
    }
    switch (how & AckChoice::kWhichMask) {
        case 0:
            answer(*client, client->owed.front(), failure, wrong_id);
            client->owed.pop_front();
            break;
        case 1:
            answer(*client, client->owed.back(), failure, wrong_id);
            client->owed.pop_back();
            break;
        case 2:
            while (!client->owed.empty()) {
                const Owed owed = client->owed.front();
                client->owed.pop_front();
                answer(*client, owed, failure, wrong_id);
            }
            break;
        default:
            answer(*client, client->owed.front(), failure, wrong_id);  // answered again later
            break;
    }
}

void Script::op_open() {
    ClientSetup setup = read_setup();
    if (opens_++ >= kMaxOpens) {
        return;
    }
    // A free slot, or else the one after the current client's, whose client ends first.
    std::size_t slot = (current_ + 1) % kMaxClients;
    for (std::size_t i = 0; i < kMaxClients; ++i) {
        if (!clients_[i]) {
            slot = i;
            break;
        }
    }
    end(clients_[slot], false);
    current_ = slot;
    connect(clients_[slot], setup);
}

void Script::op_reauth() {
    const std::uint8_t how = in_.byte();
    Client* client = current();
    if (client == nullptr || !client->v5()) {
        return;  // AUTH does not exist before v5 (Packet ops can send its bytes anyway)
    }
    test::ScramClient exchange(std::string((how & 2) ? kOtherUser : kUser),
                               std::string((how & 1) ? kWrongPassword : kPassword),
                               std::string(kNonce));
    protocol::Auth auth;
    auth.reason = ReasonCode::ReAuthenticate;
    auth.properties.add_text(PropertyId::AuthenticationMethod, std::string(kScramMethod));
    auth.properties.add_text(PropertyId::AuthenticationData, exchange.client_first());
    client->link->send(auth);
    if (client->scram_connected) {
        scram_step(*client, exchange, false, "AUTH after re-authentication");
    }
}

void Script::op_disconnect() {
    const std::uint8_t reason = in_.byte();
    const std::uint8_t properties = in_.byte();
    Client* client = current();
    if (client == nullptr) {
        return;
    }
    protocol::Disconnect disconnect;
    // A byte DISCONNECT may not carry is sent all the same (the broker must refuse it):
    // the packet is encoded with a stand-in that is always written, then the byte put in.
    const auto allowed = protocol::DisconnectReason::from_byte(reason);
    if (client->v5()) {
        disconnect.reason =
            allowed.value_or(protocol::DisconnectReason(ReasonCode::UnspecifiedError));
        protocol::Properties& p = disconnect.properties;
        if (properties & 1) {
            p.add_number(PropertyId::SessionExpiryInterval, 0);
        }
        if (properties & 2) {
            p.add_number(PropertyId::SessionExpiryInterval, 30);
        }
        if (properties & 4) {
            p.add_text(PropertyId::ReasonString, "bye");
        }
        if (properties & 8) {
            p.add_user_property("fz", "disconnect");
        }
    }
    if (client->v5() && !allowed) {
        std::string bytes;
        protocol::encode(disconnect, client->link->version(), bytes);
        // After the packet type and a one-byte remaining length: the body is under 128 bytes.
        bytes.at(2) = static_cast<char>(reason);
        client->link->send_raw(bytes);
    } else {
        client->link->send(disconnect);
    }
    end(clients_[current_], true);
}

}  // namespace

namespace {

// The brokers of fuzz_broker, over loopback TCP.
class BrokerTargets final : public ScriptTarget {
  public:
    BrokerTargets(const BrokerTarget& open, const BrokerTarget& restricted)
        : open_(open), restricted_(restricted) {}
    std::unique_ptr<ScriptLink> connect(bool restricted) override {
        const BrokerTarget& target = restricted ? restricted_ : open_;
        return std::make_unique<BrokerLink>(target.port, target.maximum_packet_size);
    }

  private:
    const BrokerTarget open_;
    const BrokerTarget restricted_;
};

}  // namespace

void run_connection_script(std::span<const std::uint8_t> input, const BrokerTarget& open,
                           const BrokerTarget& restricted) {
    BrokerTargets targets(open, restricted);
    Script(input, targets).run();
}

void run_connection_script(std::span<const std::uint8_t> input, ScriptTarget& target) {
    Script(input, target).run();
}

}  // namespace petrel::fuzz
