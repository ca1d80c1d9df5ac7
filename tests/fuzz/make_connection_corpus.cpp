// Writes the fuzz_broker seed corpus: realistic packet sequences in the input format of
// connection_input.hpp, one file each. Run it when the format or the scenarios change:
//   fuzz_connection_corpus tests/fuzz/corpus/connection
// Next to these: inputs that once found a bug, under their own names, and inputs a long
// fuzzing run found that add coverage, under libFuzzer's hash names (picked with
// -merge=1 -use_counters=0 into a copy of these seeds; stale when the format changes).
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "connection_input.hpp"
#include "petrel/protocol/codec.hpp"

namespace {

using namespace petrel::fuzz;
using petrel::protocol::ProtocolVersion;

// Indices into kTopics and kFilters.
constexpr std::uint8_t kT = 0, kTA = 1, kU = 3, kRetainedA = 5, kDenied = 6;
constexpr std::uint8_t kFT = 0, kFAll = 1, kFPlus = 2, kFShared = 5, kFWill = 8, kFRetained = 13,
                       kFSharedAll = 10;
constexpr std::uint8_t kQos1 = 1, kQos2 = 2, kRetain = PublishFlags::kRetain;
constexpr std::uint8_t kAckOldest = 0, kAckAll = 2;

ClientSetup client(ProtocolVersion version, std::uint8_t id = 0) {
    ClientSetup setup;
    setup.version = version;
    setup.client_id = id;
    return setup;
}

// The body of a packet as the codec encodes it (no fixed header), for Packet ops.
std::string body_of(const petrel::protocol::Packet& packet, ProtocolVersion version) {
    std::string bytes;
    petrel::protocol::encode(packet, version, bytes);
    const auto framed = petrel::protocol::frame(petrel::protocol::ByteView(
        reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    return bytes.substr(framed.frame.header_length);
}

std::string connect_bytes(ProtocolVersion version, const char* id, bool with_will) {
    petrel::protocol::Connect connect;
    connect.version = version;
    connect.client_id = id;
    connect.keep_alive = 30;
    if (with_will) {
        connect.will =
            petrel::protocol::Will{"fz/will", petrel::protocol::make_payload("w"), 1, false, {}};
    }
    if (version == ProtocolVersion::V5) {
        connect.properties.add_number(petrel::protocol::PropertyId::SessionExpiryInterval, 10);
    }
    std::string bytes;
    petrel::protocol::encode(connect, version, bytes);
    return bytes;
}

std::vector<std::pair<std::string, std::string>> seeds() {
    std::vector<std::pair<std::string, std::string>> out;
    const auto add = [&](std::string name, const InputWriter& writer) {
        out.emplace_back(std::move(name), writer.bytes());
    };
    for (ProtocolVersion v : {ProtocolVersion::V31, ProtocolVersion::V311, ProtocolVersion::V5}) {
        const std::string p = "v" + std::to_string(static_cast<int>(v)) + "-";
        add(p + "qos0-to-self",
            InputWriter(client(v)).subscribe({{kFT, 0}}).publish(0, kT, "hello").sync());
        add(p + "qos1-to-self", InputWriter(client(v))
                                    .subscribe({{kFAll, 1}})
                                    .publish(kQos1, kTA, "one")
                                    .sync()
                                    .ack(kAckOldest)
                                    .sync());
        add(p + "qos2-to-self-by-hand", InputWriter(client(v))
                                            .subscribe({{kFT, 2}})
                                            .publish(kQos2, kT, "two")
                                            .sync()
                                            .ack(kAckAll)  // PUBREL for our PUBLISH, PUBREC
                                            .sync()
                                            .ack(kAckAll)  // PUBCOMP for the broker's PUBREL
                                            .sync());
        add(p + "retained", InputWriter(client(v))
                                .publish(kQos1 | kRetain, kRetainedA, "kept")
                                .subscribe({{kFRetained, 1}})
                                .sync()
                                .ack(kAckAll)
                                .unsubscribe(kFRetained)
                                .publish(kRetain, kRetainedA, "")
                                .sync());
        add(p + "unsubscribe", InputWriter(client(v))
                                   .subscribe({{kFAll, 0}, {kFPlus, 1}})
                                   .unsubscribe(kFAll | kFPlus << 4)
                                   .publish(kQos1, kU, "nobody")
                                   .sync());
        ClientSetup persistent = client(v, 2);
        persistent.clean_start = false;
        persistent.session_expiry = true;
        ClientSetup resumed = persistent;
        resumed.auto_ack = true;
        add(p + "session-resumed-with-inflight", InputWriter(persistent)
                                                     .subscribe({{kFT, 1}, {kFWill, 2}})
                                                     .publish(kQos1, kT, "a")
                                                     .publish(kQos1, kT, "b")
                                                     .publish(kQos2, kT, "c")
                                                     .sync()
                                                     .disconnect(0, 0)
                                                     .open(resumed)
                                                     .sync());
        ClientSetup will = client(v, 0);
        will.will = true;
        will.will_qos = 1;
        will.ending = Ending::HalfClose;
        ClientSetup watcher = client(v, 1);
        watcher.auto_ack = true;
        add(p + "will-on-takeover", InputWriter(watcher)
                                        .subscribe({{kFWill, 1}})
                                        .sync()
                                        .open(will)
                                        .open(will)  // takes over the second client's session
                                        .sync()
                                        .switch_client()  // back to the watcher
                                        .sync());
        ClientSetup takeover = client(v, 0);
        takeover.auto_ack = true;
        add(p + "takeover", InputWriter(takeover)
                                .subscribe({{kFAll, 2}})
                                .publish(kQos2, kT, "x")
                                .open(takeover)
                                .publish(kQos1, kT, "y")
                                .sync());
        ClientSetup own = client(v);
        own.own_connect = true;
        add(p + "own-connect", InputWriter(own)
                                   .packet(0x10, body_of(petrel::protocol::Packet{[&] {
                                                             petrel::protocol::Connect c;
                                                             c.version = v;
                                                             c.client_id = "fz-own";
                                                             c.keep_alive = 20;
                                                             return c;
                                                         }()},
                                                         v))
                                   .subscribe({{kFT, 1}})
                                   .publish(kQos1, kT, "own")
                                   .sync());
        const std::string raw_connect = connect_bytes(v, "fz-raw", true);
        std::string raw_publish;
        petrel::protocol::encode(
            petrel::protocol::Publish{
                false, 0, false, "fz/t", 0, {}, petrel::protocol::make_payload("p")},
            v, raw_publish);
        add(p + "raw-split", InputWriter(own)
                                 .raw(raw_connect.substr(0, 7))
                                 .raw(raw_connect.substr(7))
                                 .raw(raw_publish.substr(0, 5))
                                 .raw(raw_publish.substr(5))
                                 .sync());
        add(p + "malformed-publish-qos3", InputWriter(client(v)).packet(0x36, std::string("\x00\x04"
                                                                                          "fz/t"
                                                                                          "\x00\x01"
                                                                                          "x",
                                                                                          9)));
        ClientSetup password = client(v, 1);
        password.restricted_broker = true;
        password.authentication = Authentication::Password;
        add(p + "restricted-password", InputWriter(password)
                                           .subscribe({{kFT, 1}, {kFAll, 1}, {kFShared, 0}})
                                           .publish(kQos1, kT, "limited")
                                           .publish(kQos1, kDenied, "denied")
                                           .sync()
                                           .ack(kAckAll));
        password.wrong_secret = true;
        add(p + "restricted-wrong-password", InputWriter(password).sync());
    }

    const ProtocolVersion v5 = ProtocolVersion::V5;
    ClientSetup rich = client(v5);
    rich.topic_alias_maximum = true;
    rich.receive_maximum = true;
    rich.response_information = true;
    rich.session_expiry = true;
    rich.auto_ack = true;
    const std::uint8_t request_reply = PublishFlags::kRequestReply | PublishFlags::kUtf8Payload;
    add("v5-properties", InputWriter(rich)
                             .subscribe({{kFAll, 0x2A}, {kFPlus, 0x05}}, true, true)
                             .publish(kQos1 | request_reply, kTA, "request")
                             .publish(kQos2 | PublishFlags::kExpiry, kU, "expires")
                             .publish(PublishFlags::kUtf8Payload, kT, "\xff not utf-8")
                             .sync());
    add("v5-topic-alias",
        InputWriter(rich)
            .subscribe({{kFAll, 1}})
            .publish(kQos1 | PublishFlags::kTopicAlias, kT | 1 << 5, "set")
            .publish(kQos1 | PublishFlags::kTopicAlias, TopicChoice::kEmpty | 1 << 5, "use")
            .publish(0, kTA, "a")
            .publish(0, 2, "b")
            .publish(0, kU, "c")
            .sync());
    add("v5-disconnect-reasons", InputWriter(rich)
                                     .subscribe({{kFT, 1}})
                                     .publish(kQos1, kT, "q")
                                     .disconnect(0x04, 0x02 | 0x04 | 0x08)
                                     .open(rich)
                                     .disconnect(0x80, 0x01));
    ClientSetup small = client(v5, 1);
    small.maximum_packet_size = true;
    small.no_problem_information = true;
    small.auto_ack = true;
    add("v5-client-maximum-packet-size", InputWriter(small)
                                             .subscribe({{kFT, 1}, {kFWill, 9}})
                                             .publish_filler(kQos1, kT, 1)
                                             .publish(kQos1, kT, "fits")
                                             .unsubscribe(0x0E)
                                             .sync());
    ClientSetup shared = client(v5, 0);
    shared.auto_ack = true;
    ClientSetup member = client(v5, 1);
    add("v5-shared-subscription", InputWriter(shared)
                                      .subscribe({{kFShared, 1}, {kFSharedAll, 2}})
                                      .open(member)
                                      .subscribe({{kFShared, 1}})
                                      .publish(kQos1, kT, "1")
                                      .publish(kQos1, kT, "2")
                                      .publish(kQos2, kT, "3")
                                      .sync()
                                      .switch_client()
                                      .sync());
    ClientSetup scram = client(v5, 2);
    scram.restricted_broker = true;
    scram.authentication = Authentication::Scram;
    add("v5-scram-and-reauth", InputWriter(scram)
                                   .subscribe({{kFT, 1}})
                                   .publish(kQos1, kT, "authenticated")
                                   .sync()
                                   .reauth(0)
                                   .sync()
                                   .reauth(2));  // as another user: refused
    scram.wrong_secret = true;
    add("v5-scram-wrong-proof", InputWriter(scram).sync());
    add("v5-auth-on-open-broker",
        InputWriter(client(v5))
            .packet(0xF0, body_of(petrel::protocol::Packet{[] {
                                      petrel::protocol::Auth a;
                                      a.reason = petrel::protocol::ReasonCode::ReAuthenticate;
                                      a.properties.add_text(
                                          petrel::protocol::PropertyId::AuthenticationMethod,
                                          "SCRAM-SHA-256");
                                      return a;
                                  }()},
                                  v5))
            .sync());
    ClientSetup will_delay = client(v5, 0);
    will_delay.will = true;
    will_delay.will_qos = 2;
    will_delay.will_retain = true;
    will_delay.will_properties = true;
    will_delay.session_expiry = true;
    will_delay.ending = Ending::HalfClose;
    add("v5-will-delay", InputWriter(will_delay).subscribe({{kFWill, 2}}).sync());
    ClientSetup quota = client(v5, 1);
    add("v5-receive-maximum-exceeded", [&] {
        InputWriter writer(quota);
        for (int i = 0; i < 10; ++i) {
            writer.publish(kQos1, kT, "x");  // 10 unacknowledged, our maximum is 8
        }
        return writer.sync();
    }());

    // Time passing, for fuzz_connection (fuzz_broker plays the ops at once).
    // A 3.1.1 client silent past 1.5 times its keep alive (20 s): its will reaches a v5
    // subscriber, whose keep alive (60 s) has not run out.
    ClientSetup watcher = client(v5, 0);
    watcher.auto_ack = true;
    ClientSetup silent = client(ProtocolVersion::V311, 1);
    silent.will = true;
    silent.will_qos = 1;
    add("time-keep-alive-will", InputWriter(watcher)
                                    .subscribe({{kFWill, kQos1}})
                                    .open(silent)
                                    .after(22)
                                    .switch_client()
                                    .after(22)
                                    .switch_client());
    // A CONNECT that never completes: the connect timeout (10 s) ends the connection.
    ClientSetup unfinished = client(v5, 0);
    unfinished.own_connect = true;
    add("time-connect-timeout", InputWriter(unfinished).raw("\x10\x05").after(12).sync());
    // The restricted server's Server Keep Alive (30 s) runs out: DISCONNECT 0x8D.
    ClientSetup restricted_v5 = client(v5, 0);
    restricted_v5.restricted_broker = true;
    add("time-server-keep-alive", InputWriter(restricted_v5)
                                      .after(22)
                                      .switch_client()
                                      .after(22)
                                      .switch_client()
                                      .after(2)
                                      .switch_client());
    // QoS 1 with a Message Expiry Interval of 1 s, to itself, queued behind a full window
    // (Receive Maximum 2) until it expires; then acknowledged.
    ClientSetup expiring = client(v5, 0);
    expiring.receive_maximum = true;
    add("time-message-expiry", InputWriter(expiring)
                                   .subscribe({{kFT, kQos1}})
                                   .publish(kQos1, kT, "1")
                                   .publish(kQos1, kT, "2")
                                   .publish(kQos1 | PublishFlags::kExpiry, kT, "3")
                                   .after(3)
                                   .ack(kAckAll));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <output directory>\n", argv[0]);
        return 2;
    }
    const std::string directory = argv[1];
    int written = 0;
    for (const auto& [name, bytes] : seeds()) {
        std::ofstream out(directory + "/" + name, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            std::fprintf(stderr, "cannot write into %s\n", directory.c_str());
            return 1;
        }
        ++written;
    }
    std::printf("wrote %d seeds to %s\n", written, directory.c_str());
    return 0;
}
