// The fuzz_broker input format: one input is what one or two clients do to the broker,
// laid out so that one mutated byte changes one decision.
//
//   input  := setup op*               bytes past the end read as 0
//   setup  := 3 bytes (ClientSetup below): protocol, CONNECT fields, broker, how it ends
//   op     := opcode operands         the opcode is taken modulo the number of ops
//
// What the modulo leaves (opcode / kOpCount, 0 to 23) is seconds passing before the op for
// fuzz_connection, whose servers have no clock of their own (keep alive, the connect
// timeout, message expiry); fuzz_broker's brokers run on real time and ignore it.
//
// The harness writes the CONNECT from the setup unless the setup says the input brings its
// own (then the first ops carry it, as Packet or Raw bytes: this fuzzes CONNECT itself).
// Ops mix three levels, because each finds different bugs: Raw bytes are written as they
// are (framing), Packet bodies get a correct fixed header from the harness (decoding of
// each packet type), and the named ops build valid packets from a few choices (reaching
// deep: deliveries to oneself, QoS 1/2 exchanges, retained messages, aliases, takeover).
//
//   Packet      first-byte length body[length]   fixed header written by the harness
//   Raw         length bytes[length]             written as they are
//   Publish     flags topic size payload         see PublishFlags / TopicChoice
//   Subscribe   head (filter options)*           head bits 0-1: filters - 1; bit 2:
//                                                Subscription Identifier; bit 3: user
//                                                property. Options: the v5 options byte
//   Unsubscribe choice                           filter kFilters[bits 0-3]; a second one,
//                                                kFilters[bits 4-7], unless those are 0
//   Ack         how                              answer a PUBLISH/PUBREC/PUBREL the broker
//                                                sent (see AckChoice)
//   Sync        -                                PINGREQ; wait for its PINGRESP
//   Open        setup                            one more client (up to three at once: else
//                                                the one after the current client ends
//                                                first); it becomes the current one. The
//                                                same client id as another means a takeover
//   Switch      -                                the next client becomes current
//   Reauth      how                              v5 re-authentication: bit 0 wrong
//                                                password, bit 1 as the other user
//   Disconnect  reason properties                DISCONNECT; the client is done. v5:
//                                                reason byte as is; properties bit 0:
//                                                Session Expiry 0, bit 1: 30 s, bit 2:
//                                                Reason String, bit 3: User Property
//
// Size: a byte under 128 is that many payload bytes from the input; 128 + n is n * 256
// filler bytes (up to 32 KiB), so that packet size limits are in reach of small inputs.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "petrel/protocol/packet.hpp"

namespace petrel::fuzz {

enum class Op : std::uint8_t {
    Packet,
    Raw,
    Publish,
    Subscribe,
    Unsubscribe,
    Ack,
    Sync,
    Open,
    Switch,
    Reauth,
    Disconnect,
};
inline constexpr std::uint8_t kOpCount = 11;

// Topic names and filters the named ops choose from: enough overlap that clients receive
// their own and each other's messages, plus names the ACL refuses, $-topics, shared
// subscriptions and a few invalid ones.
inline constexpr std::array<std::string_view, 16> kTopics = {
    "fz/t",     "fz/t/a", "fz/t/b", "fz/u",      "fz/will",  "fz/r/a",  "fz/deny/x", "fz",
    "fz/t/a/b", "/fz",    "fz/",    "$SYS/fz/x", "own/fz-a", "fz-user", "fz/+",      "",
};
inline constexpr std::array<std::string_view, 16> kFilters = {
    "fz/t",   "fz/#",   "fz/+",    "#",         "+/+",           "$share/g/fz/t",
    "fz/t/+", "+/t/#",  "fz/will", "fz/deny/#", "$share/g/fz/#", "$SYS/#",
    "own/+",  "fz/r/#", "fz/#/x",  "$share/g",
};
// "" asks the broker to assign an id (v5; 3.1.1 with clean start). A session's home
// worker follows from std::hash of its id; with libstdc++ and two workers these land on
// both (fz-a on one, fz-e and fz-f on the other), so that connections are handed over
// and deliveries cross workers. The ids that first stood here all shared one worker.
inline constexpr std::array<std::string_view, 4> kClientIds = {"fz-a", "fz-e", "fz-f", ""};

// The password file of the restricted broker holds these two users.
inline constexpr std::string_view kUser = "fz-user";
inline constexpr std::string_view kOtherUser = "fz-other";
inline constexpr std::string_view kPassword = "fz-password";
inline constexpr std::string_view kScramMethod = "SCRAM-SHA-256";
inline constexpr std::string_view kWillTopic = "fz/will";

enum class Authentication : std::uint8_t {
    None,
    Password,      // user name and password in CONNECT (wrong_secret: a wrong password)
    UsernameOnly,  // no password: the restricted broker must refuse it
    Scram,         // v5 enhanced authentication (3.x: Password)
};

enum class Ending : std::uint8_t {
    Disconnect,          // DISCONNECT (v5 0x00): no will
    DisconnectWithWill,  // v5 DISCONNECT 0x04; 3.x: a plain DISCONNECT
    HalfClose,           // shut down our side without DISCONNECT: the will is due
    Reset,               // close the socket without reading what is left
};

// The three setup bytes.
struct ClientSetup {
    // byte 0
    protocol::ProtocolVersion version = protocol::ProtocolVersion::V311;  // bits 0-1
    bool own_connect = false;                                             // bit 2
    bool clean_start = true;                                              // bit 3
    bool will = false;                                                    // bit 4
    protocol::Qos will_qos = 0;                                           // bits 5-6 (3: 2)
    bool will_retain = false;                                             // bit 7
    // byte 1; the v5 ones are ignored for 3.x
    std::uint8_t client_id = 0;           // bits 0-1: kClientIds
    bool session_expiry = false;          // bit 2: Session Expiry Interval 30 s
    bool topic_alias_maximum = false;     // bit 3: Topic Alias Maximum 2
    bool receive_maximum = false;         // bit 4: Receive Maximum 2
    bool maximum_packet_size = false;     // bit 5: Maximum Packet Size kClientMaximumPacketSize
    bool no_problem_information = false;  // bit 6: Request Problem Information 0
    bool response_information = false;    // bit 7: Request Response Information 1
    // byte 2
    bool restricted_broker = false;  // bit 0: the broker with a password file and limits
    Authentication authentication = Authentication::None;  // bits 1-2
    bool wrong_secret = false;                             // bit 3: wrong password / SCRAM proof
    bool will_properties = false;        // bit 4: v5 Will Delay 1 s, Message Expiry, user property
    bool auto_ack = false;               // bit 5: answer every PUBLISH/PUBREC/PUBREL at once
    Ending ending = Ending::Disconnect;  // bits 6-7

    std::array<std::uint8_t, 3> encode() const;
    static ClientSetup decode(std::uint8_t b0, std::uint8_t b1, std::uint8_t b2);
};

inline constexpr std::uint32_t kClientMaximumPacketSize = 200;

// Publish op, flags byte.
struct PublishFlags {
    static constexpr std::uint8_t kQosMask = 0x03;  // QoS = value % 3
    static constexpr std::uint8_t kRetain = 0x04;
    static constexpr std::uint8_t kDup = 0x08;           // DUP=1, and the previous packet id again
    static constexpr std::uint8_t kExpiry = 0x10;        // v5 Message Expiry Interval 1 s
    static constexpr std::uint8_t kUtf8Payload = 0x20;   // v5 Payload Format Indicator 1
    static constexpr std::uint8_t kRequestReply = 0x40;  // v5 Response Topic, Correlation
                                                         // Data, User Property, Content Type
    static constexpr std::uint8_t kTopicAlias = 0x80;    // v5 Topic Alias, see TopicChoice
};

// Publish op, topic byte: kTopics[bits 0-3]; bit 4: send the topic empty (with an alias:
// use the alias); bits 5-7: the alias number when PublishFlags::kTopicAlias is set.
struct TopicChoice {
    static constexpr std::uint8_t kIndexMask = 0x0F;
    static constexpr std::uint8_t kEmpty = 0x10;
    static constexpr int kAliasShift = 5;
};

// Ack op, how byte: bits 0-1 which answer: 0 the oldest owed, 1 the newest, 2 all of them,
// 3 the oldest without forgetting it (so it is answered twice); bit 2: a failure reason
// (v5); bit 3: the packet id + 1. With nothing owed: a PUBACK, PUBREC, PUBREL or PUBCOMP
// (bits 2-3) for packet id (bits 4-7) + 1.
struct AckChoice {
    static constexpr std::uint8_t kWhichMask = 0x03;
    static constexpr std::uint8_t kFailure = 0x04;
    static constexpr std::uint8_t kWrongId = 0x08;
};

// Reads an input front to back; past the end every byte is 0.
class InputReader {
  public:
    explicit InputReader(std::span<const std::uint8_t> data) : data_(data) {}
    bool done() const { return pos_ >= data_.size(); }
    std::uint8_t byte() { return pos_ < data_.size() ? data_[pos_++] : 0; }
    // Up to `n` bytes (fewer at the end of the input).
    std::string bytes(std::size_t n) {
        const std::size_t take = std::min(n, data_.size() - std::min(pos_, data_.size()));
        std::string out(reinterpret_cast<const char*>(data_.data()) + pos_, take);
        pos_ += take;
        return out;
    }
    // A payload by the Size rule above.
    std::string payload() {
        const std::uint8_t size = byte();
        if (size < 128) {
            return bytes(size);
        }
        return std::string(std::size_t{size - 128u} * 256, 'p');
    }

  private:
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

// Writes inputs in this format, for the seed corpus (make_connection_corpus.cpp).
class InputWriter {
  public:
    explicit InputWriter(const ClientSetup& setup) { append_setup(setup); }
    const std::string& bytes() const { return out_; }

    InputWriter& packet(std::uint8_t first_byte, std::string_view body);
    InputWriter& raw(std::string_view bytes);
    InputWriter& publish(std::uint8_t flags, std::uint8_t topic, std::string_view payload);
    // A payload of `units` * 256 filler bytes (units < 128).
    InputWriter& publish_filler(std::uint8_t flags, std::uint8_t topic, std::uint8_t units);
    struct Filter {
        std::uint8_t index = 0;
        std::uint8_t options = 0;
    };
    InputWriter& subscribe(std::initializer_list<Filter> filters, bool identifier = false,
                           bool user_property = false);
    InputWriter& unsubscribe(std::uint8_t choice);
    InputWriter& ack(std::uint8_t how);
    InputWriter& sync();
    InputWriter& open(const ClientSetup& setup);
    InputWriter& switch_client();
    InputWriter& reauth(std::uint8_t how);
    InputWriter& disconnect(std::uint8_t reason, std::uint8_t properties);
    // `seconds` pass before the next op (fuzz_connection); at most kMaxSecondsPerOp.
    InputWriter& after(std::uint8_t seconds) {
        later_ = std::min(seconds, kMaxSecondsPerOp);
        return *this;
    }
    static constexpr std::uint8_t kMaxSecondsPerOp = (255 - (kOpCount - 1)) / kOpCount;

  private:
    void append_setup(const ClientSetup& setup);
    void op(Op op) {
        out_ += static_cast<char>(static_cast<std::uint8_t>(op) + later_ * kOpCount);
        later_ = 0;
    }
    std::string out_;
    std::uint8_t later_ = 0;
};

}  // namespace petrel::fuzz
