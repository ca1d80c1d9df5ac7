// Crash recovery (README "Durability", persistence_mode sync): a publisher and two
// persistent-session subscribers run while the broker is killed with SIGKILL at random
// moments, again and again. Whatever the publisher saw acknowledged must survive every
// crash: it is delivered to each subscriber — QoS 1 at least once, QoS 2 exactly once — in
// per-topic publish order, and a retained topic never goes back past its last acknowledged
// retained publish.
//
// The clients behave as the spec asks of real clients across a lost connection: the
// publisher keeps its unacknowledged messages and, on reconnecting to its session, resends
// them with DUP=1 and the same packet id, or resends PUBREL for those already PUBREC'd
// [MQTT-4.4.0-1]. A subscriber keeps the packet ids of QoS 2 messages it has received but
// not yet seen released (4.3.3, "method A": the message goes to the application when its
// PUBLISH first arrives; a PUBLISH whose packet id is still unreleased is that message
// again [MQTT-4.3.3-9]). Nothing else of a client outlives its connection.
//
// Set PETREL_CRASH_SEED to replay a run's random choices (the seed is printed).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/wait.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PacketId;
using protocol::PropertyId;
using protocol::Publish;

constexpr int kKills = 24;
constexpr std::size_t kPublishWindow = 16;  // publisher's unacknowledged messages at most
constexpr int kKillDelayMinMs = 20;         // after the publisher's connection is up
constexpr int kKillDelayMaxMs = 300;
constexpr auto kFinalDrainTimeout = 30s;
constexpr auto kFinalDrainStall = 5s;       // no progress this long: what is missing is lost
constexpr auto kLateDuplicateWait = 300ms;  // after the drain, for deliveries still on the way
constexpr std::size_t kMaxReportedProblems = 25;

// Two workers even on one core: a message then crosses workers on its way to a subscriber
// homed elsewhere, and its store writes are staged by more than one worker.
const std::string kBrokerConfig =
    "threads 2\n"
    "max_queued_messages 100000\n"
    "queue_memory_window 16\n";  // small, so that offline queues are read back from LMDB

struct TopicSpec {
    const char* name;
    Qos qos;
    bool retain;
};
constexpr std::array<TopicSpec, 6> kTopics{{
    {"crash/q1/a", 1, false},
    {"crash/q1/b", 1, false},
    {"crash/q2/a", 2, false},
    {"crash/q2/b", 2, false},
    {"crash/retained/q1", 1, true},
    {"crash/retained/q2", 2, true},
}};
constexpr std::size_t kTopicCount = kTopics.size();

// "TOPIC SEQ " and a filler whose length and letter follow from SEQ, so a receiver can
// check every byte of what it got.
std::string message_payload(std::size_t topic, int seq) {
    std::string text = std::string{kTopics[topic].name} + ' ' + std::to_string(seq) + ' ';
    text.append(static_cast<std::size_t>(seq * 37 % 211), static_cast<char>('a' + seq % 26));
    return text;
}

struct MessageKey {
    std::size_t topic;
    int seq;
};

// The message a PUBLISH carries, if it is exactly one this test published.
std::optional<MessageKey> parse_message(const Publish& publish) {
    const std::string payload = payload_of(publish);
    for (std::size_t topic = 0; topic < kTopicCount; ++topic) {
        const std::string prefix = std::string{kTopics[topic].name} + ' ';
        if (publish.topic != kTopics[topic].name || !payload.starts_with(prefix)) {
            continue;
        }
        int seq = -1;
        const char* first = payload.data() + prefix.size();
        std::from_chars(first, payload.data() + payload.size(), seq);
        if (seq >= 0 && payload == message_payload(topic, seq)) {
            return MessageKey{topic, seq};
        }
    }
    return std::nullopt;
}

std::string message_name(std::size_t topic, int seq) {
    return std::string{kTopics[topic].name} + " #" + std::to_string(seq);
}

// "N" from the broker's "client 'ID' (...) connected (...) on worker N" line, or "?".
std::string worker_of(const std::string& log, const std::string& client_id) {
    const std::size_t line = log.find("client '" + client_id + "' (");
    const std::string marker = " on worker ";
    const std::size_t at = line == std::string::npos ? line : log.find(marker, line);
    if (at == std::string::npos) {
        return "?";
    }
    const std::size_t first = at + marker.size();
    return log.substr(first, log.find_first_not_of("0123456789", first) - first);
}

std::uint32_t crash_seed() {
    if (const char* text = std::getenv("PETREL_CRASH_SEED"); text != nullptr && *text != '\0') {
        return static_cast<std::uint32_t>(std::strtoul(text, nullptr, 10));
    }
    return std::random_device{}();
}

// --- the publisher: numbered messages, a window of them in flight, resent after a crash ---

struct SentMessage {
    std::size_t topic;
    int seq;
    int round_published;
    int round_acknowledged = -1;  // PUBACK, or PUBCOMP for QoS 2
    int sends = 0;
};

class Publisher {
  public:
    explicit Publisher(std::uint32_t seed) : rng_(seed) { last_acknowledged_.fill(-1); }

    std::unique_ptr<RawClient> connect(std::uint16_t port, bool first) const {
        auto client = std::make_unique<RawClient>(port, ProtocolVersion::V311);
        auto connack = client->connect("crash-publisher", /*clean_start=*/false);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success);
        EXPECT_TRUE(!connack || connack->session_present == !first)
            << "publisher session " << (first ? "present on first connect" : "lost");
        return client;
    }

    // One connection's life: resend everything unacknowledged, then keep kPublishWindow
    // new messages in flight until the connection dies; with `finish`, publish nothing
    // new and return once everything is acknowledged (or `stop`).
    void run(RawClient& client, int round, bool finish, const std::atomic<bool>& stop) {
        for (const InFlight& entry : in_flight_) {
            if (!(entry.stage == Stage::AwaitPubcomp ? send_pubrel(client, entry.id)
                                                     : send_publish(client, entry, true))) {
                return;
            }
        }
        while (!stop) {
            while (!finish && in_flight_.size() < kPublishWindow) {
                if (!send_publish(client, publish_next(round), false)) {
                    return;
                }
            }
            if (finish && in_flight_.empty()) {
                return;
            }
            auto packet = client.receive(100ms);
            if (!packet) {
                if (client.closed()) {
                    return;
                }
                continue;
            }
            if (!handle_reply(client, *packet, round)) {
                return;
            }
        }
    }

    const std::vector<SentMessage>& messages() const { return messages_; }
    int published_count(std::size_t topic) const { return next_seq_[topic]; }
    int last_acknowledged(std::size_t topic) const { return last_acknowledged_[topic]; }
    std::size_t in_flight_count() const { return in_flight_count_; }

  private:
    enum class Stage { AwaitPuback, AwaitPubrec, AwaitPubcomp };
    struct InFlight {
        PacketId id;
        std::size_t message;  // index in messages_
        Stage stage;
    };

    const InFlight& publish_next(int round) {
        std::uniform_int_distribution<std::size_t> pick(0, kTopicCount - 1);
        const std::size_t topic = pick(rng_);
        messages_.push_back(SentMessage{topic, next_seq_[topic]++, round});
        in_flight_.push_back(
            InFlight{next_packet_id(), messages_.size() - 1,
                     kTopics[topic].qos == 1 ? Stage::AwaitPuback : Stage::AwaitPubrec});
        in_flight_count_ = in_flight_.size();
        return in_flight_.back();
    }

    PacketId next_packet_id() {
        do {
            last_id_ = static_cast<PacketId>(last_id_ == 0xFFFF ? 1 : last_id_ + 1);
        } while (find(last_id_) != in_flight_.end());
        return last_id_;
    }

    std::deque<InFlight>::iterator find(PacketId id) {
        return std::find_if(in_flight_.begin(), in_flight_.end(),
                            [id](const InFlight& entry) { return entry.id == id; });
    }

    bool send_publish(RawClient& client, const InFlight& entry, bool dup) {
        SentMessage& message = messages_[entry.message];
        const TopicSpec& spec = kTopics[message.topic];
        Publish publish = make_publish(spec.name, message_payload(message.topic, message.seq),
                                       spec.qos, spec.retain, entry.id);
        publish.dup = dup;
        ++message.sends;
        return client.send(publish);
    }

    static bool send_pubrel(RawClient& client, PacketId id) {
        protocol::Pubrel pubrel;
        pubrel.packet_id = id;
        return client.send(pubrel);
    }

    void acknowledged(std::deque<InFlight>::iterator entry, int round) {
        SentMessage& message = messages_[entry->message];
        message.round_acknowledged = round;
        last_acknowledged_[message.topic] =
            std::max(last_acknowledged_[message.topic], message.seq);
        in_flight_.erase(entry);
        in_flight_count_ = in_flight_.size();
    }

    // False when the connection is gone.
    bool handle_reply(RawClient& client, const Packet& packet, int round) {
        if (const auto* puback = std::get_if<protocol::Puback>(&packet)) {
            const auto entry = find(puback->packet_id);
            if (entry == in_flight_.end() || entry->stage != Stage::AwaitPuback) {
                ADD_FAILURE() << "round " << round << ": publisher got an unexpected "
                              << describe(packet);
                return true;
            }
            acknowledged(entry, round);
            return true;
        }
        if (const auto* pubrec = std::get_if<protocol::Pubrec>(&packet)) {
            const auto entry = find(pubrec->packet_id);
            if (entry == in_flight_.end() || entry->stage == Stage::AwaitPuback) {
                ADD_FAILURE() << "round " << round << ": publisher got an unexpected "
                              << describe(packet);
                return true;
            }
            entry->stage = Stage::AwaitPubcomp;  // a repeated PUBREC gets PUBREL again
            return send_pubrel(client, entry->id);
        }
        if (const auto* pubcomp = std::get_if<protocol::Pubcomp>(&packet)) {
            const auto entry = find(pubcomp->packet_id);
            if (entry == in_flight_.end() || entry->stage != Stage::AwaitPubcomp) {
                ADD_FAILURE() << "round " << round << ": publisher got an unexpected "
                              << describe(packet);
                return true;
            }
            acknowledged(entry, round);
            return true;
        }
        ADD_FAILURE() << "round " << round << ": publisher got " << describe(packet);
        return true;
    }

    std::mt19937 rng_;
    std::vector<SentMessage> messages_;
    std::deque<InFlight> in_flight_;  // in the order first sent, which is the resend order
    std::atomic<std::size_t> in_flight_count_{0};  // in_flight_.size(), for the main thread
    std::array<int, kTopicCount> next_seq_{};
    std::array<int, kTopicCount> last_acknowledged_{};  // highest acknowledged seq, or -1
    PacketId last_id_ = 0;
};

// --- a subscriber with a persistent session on crash/# ---

struct Receipt {
    std::size_t topic;
    int seq;
    int round;
    PacketId packet_id;
    bool dup;
};

class Subscriber {
  public:
    Subscriber(std::string client_id, ProtocolVersion version)
        : client_id_(std::move(client_id)), version_(version) {}

    const std::string& name() const { return client_id_; }

    std::unique_ptr<RawClient> connect(std::uint16_t port, bool first) const {
        auto client = std::make_unique<RawClient>(port, version_);
        auto connect = client->connect_packet(client_id_, /*clean_start=*/false);
        if (version_ == ProtocolVersion::V5) {
            connect.properties.set_number(PropertyId::SessionExpiryInterval, 0xFFFFFFFF);
        }
        auto connack = client->connect(connect);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << client_id_;
        EXPECT_TRUE(!connack || connack->session_present == !first)
            << client_id_ << ": session " << (first ? "present on first connect" : "lost");
        if (first) {
            auto suback = client->subscribe("crash/#", 2);
            EXPECT_TRUE(suback && suback->reasons.size() == 1 &&
                        suback->reasons[0] == ReasonCode::GrantedQos2)
                << client_id_;
        }
        return client;
    }

    // Receives and acknowledges until the connection dies or `stop`.
    void run(RawClient& client, int round, const std::atomic<bool>& stop) {
        while (!stop) {
            auto packet = client.receive(100ms);
            if (!packet) {
                if (client.closed()) {
                    return;
                }
                continue;
            }
            if (auto* publish = std::get_if<Publish>(&*packet)) {
                on_publish(client, *publish, round);
            } else if (auto* pubrel = std::get_if<protocol::Pubrel>(&*packet)) {
                unreleased_.erase(pubrel->packet_id);  // an unknown id gets PUBCOMP too
                protocol::Pubcomp pubcomp;
                pubcomp.packet_id = pubrel->packet_id;
                client.send(pubcomp);
            } else {
                ADD_FAILURE() << "round " << round << ": " << client_id_ << " got "
                              << describe(*packet);
            }
        }
    }

    const std::vector<Receipt>& receipts() const { return receipts_; }
    const std::vector<std::string>& reused_ids() const { return reused_ids_; }
    std::size_t distinct_count() const { return distinct_count_; }

  private:
    void on_publish(RawClient& client, const Publish& publish, int round) {
        const auto key = parse_message(publish);
        if (!key || publish.qos != kTopics[key->topic].qos) {
            ADD_FAILURE() << "round " << round << ": " << client_id_ << " got a message it "
                          << "cannot match to a publish: " << describe(Packet{publish});
        }
        if (publish.qos == 1) {
            protocol::Puback puback;
            puback.packet_id = publish.packet_id;
            client.send(puback);
        } else if (publish.qos == 2) {
            // An unreleased packet id means the same message again: acknowledge only.
            const auto [held, new_message] =
                unreleased_.try_emplace(publish.packet_id, Unreleased{key, round});
            protocol::Pubrec pubrec;
            pubrec.packet_id = publish.packet_id;
            client.send(pubrec);
            if (!new_message) {
                if (!same_message(held->second.message, key)) {
                    reused_ids_.push_back(describe_reuse(publish, held->second, key, round));
                }
                return;
            }
        }
        if (key) {
            receipts_.push_back(
                Receipt{key->topic, key->seq, round, publish.packet_id, publish.dup});
            if (seen_.insert({key->topic, key->seq}).second) {
                distinct_count_ = seen_.size();
            }
        }
    }

    // A QoS 2 message received and not yet released, and where it came from.
    struct Unreleased {
        std::optional<MessageKey> message;
        int round;
    };

    static bool same_message(const std::optional<MessageKey>& a,
                             const std::optional<MessageKey>& b) {
        return a && b && a->topic == b->topic && a->seq == b->seq;
    }

    // The sender broke [MQTT-2.2.1-3]: it used a packet id again before the PUBCOMP that
    // frees it. A receiver must take such a PUBLISH as the unreleased message again
    // [MQTT-4.3.3-9], so the new message is lost.
    static std::string describe_reuse(const Publish& publish, const Unreleased& held,
                                      const std::optional<MessageKey>& key, int round) {
        const auto name = [](const std::optional<MessageKey>& message) {
            return message ? message_name(message->topic, message->seq) : std::string{"?"};
        };
        return "round " + std::to_string(round) + ": packet id " +
               std::to_string(publish.packet_id) + " (dup=" + std::to_string(publish.dup) +
               ") carried " + name(key) + " while " + name(held.message) + ", received in round " +
               std::to_string(held.round) + " under that id, was still unreleased (no PUBREL)";
    }

    std::string client_id_;
    ProtocolVersion version_;
    // The QoS 2 state a client keeps across connections.
    std::map<PacketId, Unreleased> unreleased_;
    std::vector<std::string> reused_ids_;
    std::vector<Receipt> receipts_;
    std::set<std::pair<std::size_t, int>> seen_;
    std::atomic<std::size_t> distinct_count_{0};  // seen_.size(), for the main thread
};

// After the last restart: waits until nothing is unacknowledged and both subscribers hold
// all `total` messages. Gives up early once nothing has moved for kFinalDrainStall.
bool wait_for_drain(const Publisher& publisher, const Subscriber& first, const Subscriber& second,
                    std::size_t total) {
    const auto started = std::chrono::steady_clock::now();
    auto last_progress = started;
    std::array<std::size_t, 3> last_state{};
    while (true) {
        const std::array<std::size_t, 3> state{publisher.in_flight_count(), first.distinct_count(),
                                               second.distinct_count()};
        if (state == std::array<std::size_t, 3>{0, total, total}) {
            return true;
        }
        const auto now = std::chrono::steady_clock::now();
        if (state != last_state) {
            last_state = state;
            last_progress = now;
        }
        if (now - last_progress > kFinalDrainStall || now - started > kFinalDrainTimeout) {
            return false;
        }
        std::this_thread::sleep_for(20ms);
    }
}

// --- checks ---

class ProblemList {
  public:
    explicit ProblemList(std::string what) : what_(std::move(what)) {}
    ~ProblemList() {
        if (count_ > 0) {
            ADD_FAILURE() << count_ << " " << what_ << ":\n"
                          << text_ << (count_ > kMaxReportedProblems ? "  ...\n" : "");
        }
    }
    void add(const std::string& problem) {
        if (++count_ <= kMaxReportedProblems) {
            text_ += "  " + problem + "\n";
        }
    }

  private:
    std::string what_;
    std::string text_;
    std::size_t count_ = 0;
};

// What a fresh subscriber is given as retained, read right after a restart before any
// other client reconnects: for each retained topic, the last acknowledged publish or one
// published after it (sent, its acknowledgement lost in the crash) — never an older one.
// With `all_acknowledged`, exactly the last one published.
void check_retained(std::uint16_t port, const Publisher& publisher, int round,
                    bool all_acknowledged) {
    RawClient client(port);
    ASSERT_TRUE(client.connect("crash-retained-reader-" + std::to_string(round), true));
    ASSERT_TRUE(client.subscribe("crash/retained/+", 0));
    std::map<std::size_t, int> got;  // topic -> seq
    const auto take = [&](std::chrono::milliseconds timeout) {
        auto publish = client.try_wait_for<Publish>(timeout);
        if (!publish) {
            return false;
        }
        const auto key = parse_message(*publish);
        EXPECT_TRUE(key && publish->retain) << "round " << round << ": retained message "
                                            << describe(Packet{*publish}) << " is not one "
                                            << "published, or has no RETAIN flag";
        if (key) {
            EXPECT_FALSE(got.contains(key->topic)) << "two retained messages on one topic";
            got[key->topic] = key->seq;
        }
        return true;
    };
    std::size_t required = 0;
    std::size_t possible = 0;
    for (std::size_t topic = 0; topic < kTopicCount; ++topic) {
        required += kTopics[topic].retain && publisher.last_acknowledged(topic) >= 0;
        possible += kTopics[topic].retain && publisher.published_count(topic) > 0;
    }
    const auto deadline = std::chrono::steady_clock::now() + kDefaultTimeout;
    while (got.size() < required && take(remaining(deadline))) {
    }
    while (got.size() < possible && take(200ms)) {
    }
    for (std::size_t topic = 0; topic < kTopicCount; ++topic) {
        if (!kTopics[topic].retain) {
            continue;
        }
        const int acknowledged = publisher.last_acknowledged(topic);
        const int last_published = publisher.published_count(topic) - 1;
        const auto found = got.find(topic);
        if (found == got.end()) {
            EXPECT_LT(acknowledged, 0)
                << "round " << round << ": no retained message on " << kTopics[topic].name
                << " after the restart; last acknowledged was #" << acknowledged;
            continue;
        }
        EXPECT_GE(found->second, all_acknowledged ? last_published : acknowledged)
            << "round " << round << ": retained " << kTopics[topic].name
            << " went back to an older publish (last acknowledged #" << acknowledged
            << ", last published #" << last_published << ")";
        EXPECT_LE(found->second, last_published);
    }
    client.disconnect();
}

// Every published message (all are acknowledged by the end) reached `subscriber`: QoS 1
// at least once, QoS 2 exactly once, each topic's first receipts in publish order.
void check_deliveries(const Subscriber& subscriber, const Publisher& publisher,
                      std::size_t& qos1_duplicates) {
    ProblemList lost("messages never delivered to " + subscriber.name());
    ProblemList doubled("QoS 2 messages delivered twice to " + subscriber.name());
    ProblemList reordered("messages delivered out of publish order to " + subscriber.name());
    ProblemList reused("QoS 2 packet ids the broker reused before their release, towards " +
                       subscriber.name());
    for (const std::string& problem : subscriber.reused_ids()) {
        reused.add(problem);
    }
    std::array<std::vector<const Receipt*>, kTopicCount> first_receipt;
    std::array<int, kTopicCount> highest_first;
    highest_first.fill(-1);
    for (std::size_t topic = 0; topic < kTopicCount; ++topic) {
        first_receipt[topic].assign(static_cast<std::size_t>(publisher.published_count(topic)),
                                    nullptr);
    }
    for (const Receipt& receipt : subscriber.receipts()) {
        const std::string name = message_name(receipt.topic, receipt.seq);
        auto& first = first_receipt[receipt.topic];
        if (static_cast<std::size_t>(receipt.seq) >= first.size()) {
            reordered.add(name + " was never published");
            continue;
        }
        const Receipt*& earlier = first[static_cast<std::size_t>(receipt.seq)];
        if (earlier != nullptr) {
            if (kTopics[receipt.topic].qos == 2) {
                doubled.add(name + ": first in round " + std::to_string(earlier->round) +
                            " (packet id " + std::to_string(earlier->packet_id) +
                            "), again in round " + std::to_string(receipt.round) + " (packet id " +
                            std::to_string(receipt.packet_id) +
                            ", dup=" + std::to_string(receipt.dup) + ")");
            } else {
                ++qos1_duplicates;
            }
            continue;
        }
        earlier = &receipt;
        int& highest = highest_first[receipt.topic];
        if (receipt.seq < highest) {
            reordered.add(name + " first arrived in round " + std::to_string(receipt.round) +
                          ", after #" + std::to_string(highest));
        }
        highest = std::max(highest, receipt.seq);
    }
    std::map<std::pair<std::size_t, int>, const SentMessage*> sent;
    for (const SentMessage& message : publisher.messages()) {
        sent[{message.topic, message.seq}] = &message;
    }
    for (std::size_t topic = 0; topic < kTopicCount; ++topic) {
        for (std::size_t seq = 0; seq < first_receipt[topic].size(); ++seq) {
            if (first_receipt[topic][seq] == nullptr) {
                const SentMessage& message = *sent.at({topic, static_cast<int>(seq)});
                lost.add(message_name(topic, message.seq) + ": published in round " +
                         std::to_string(message.round_published) + ", acknowledged in round " +
                         std::to_string(message.round_acknowledged) + ", sent " +
                         std::to_string(message.sends) + " times");
            }
        }
    }
}

// --- the test ---

TEST(CrashTest, AcknowledgedMessagesSurviveRepeatedSigkill) {
    const auto started = std::chrono::steady_clock::now();
    const std::uint32_t seed = crash_seed();
    std::cout << "crash test seed " << seed << " (PETREL_CRASH_SEED=" << seed << " replays it)"
              << std::endl;
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> kill_delay_ms(kKillDelayMinMs, kKillDelayMaxMs);

    BrokerProcess broker(kBrokerConfig);
    Publisher publisher(static_cast<std::uint32_t>(rng()));
    Subscriber online("crash-online", ProtocolVersion::V5);     // connected every round
    Subscriber away("crash-away", ProtocolVersion::V311);       // every other round
    std::array<std::size_t, 3> acknowledged_in_crash_rounds{};  // by QoS
    std::string workers;                                        // where each client is homed

    for (int round = 0; round <= kKills; ++round) {
        const bool final_round = round == kKills;
        if (round > 0) {
            broker.restart();
            check_retained(broker.port(), publisher, round, /*all_acknowledged=*/false);
        }
        const std::uint16_t port = broker.port();
        auto online_client = online.connect(port, round == 0);
        std::unique_ptr<RawClient> away_client;
        if (round == 0) {
            away.connect(port, true)->disconnect();  // subscribes, then stays away
        } else if (round % 2 == 1 || final_round) {
            away_client = away.connect(port, false);
        }
        auto publisher_client = publisher.connect(port, round == 0);
        if (::testing::Test::HasFatalFailure()) {
            return;
        }
        const std::size_t total_before = publisher.messages().size();
        std::atomic<bool> stop{false};
        {
            std::vector<std::jthread> clients;
            clients.emplace_back([&] { online.run(*online_client, round, stop); });
            if (away_client) {
                clients.emplace_back([&] { away.run(*away_client, round, stop); });
            }
            clients.emplace_back(
                [&] { publisher.run(*publisher_client, round, final_round, stop); });
            if (!final_round) {
                std::this_thread::sleep_for(std::chrono::milliseconds{kill_delay_ms(rng)});
                EXPECT_EQ(broker.kill_hard(), 128 + SIGKILL);
            } else {
                const bool drained = wait_for_drain(publisher, online, away, total_before);
                EXPECT_TRUE(drained)
                    << "after the last restart: " << publisher.in_flight_count()
                    << " messages still unacknowledged; of " << total_before << " published, "
                    << online.name() << " got " << online.distinct_count() << " and " << away.name()
                    << " got " << away.distinct_count();
                std::this_thread::sleep_for(kLateDuplicateWait);
                stop = true;
            }
        }  // joins the client threads
        if (round == 0) {
            EXPECT_FALSE(std::filesystem::is_empty(broker.data_dir()))
                << "nothing persisted under the default persistence_location ./data";
            const std::string log = broker.log();
            workers = "workers: publisher " + worker_of(log, "crash-publisher") + ", " +
                      online.name() + " " + worker_of(log, online.name()) + ", " + away.name() +
                      " " + worker_of(log, away.name());
        }
        if (final_round) {
            check_retained(port, publisher, round, /*all_acknowledged=*/true);
            online_client->disconnect();
            away_client->disconnect();
            publisher_client->disconnect();
        }
    }
    for (const SentMessage& message : publisher.messages()) {
        if (message.round_acknowledged >= 0 && message.round_acknowledged < kKills) {
            ++acknowledged_in_crash_rounds[kTopics[message.topic].qos];
        }
    }

    std::size_t qos1_duplicates_online = 0;
    std::size_t qos1_duplicates_away = 0;
    check_deliveries(online, publisher, qos1_duplicates_online);
    check_deliveries(away, publisher, qos1_duplicates_away);

    std::array<std::size_t, 3> published{};
    std::size_t resent = 0;
    for (const SentMessage& message : publisher.messages()) {
        ++published[kTopics[message.topic].qos];
        resent += message.sends > 1;
    }
    if (::testing::Test::HasFailure()) {
        // The log of every run, kept for the report: run N + 1 is round N.
        const auto kept = std::filesystem::temp_directory_path() /
                          ("petrel-crash-test-" + std::to_string(seed) + ".log");
        std::filesystem::copy_file(broker.log_path(), kept,
                                   std::filesystem::copy_options::overwrite_existing);
        std::cout << "broker log of all rounds kept in " << kept.string() << std::endl;
    }
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    std::cout << "crash test: " << kKills << " kills in " << seconds.count() << " s; published "
              << "QoS 1: " << published[1] << " (" << acknowledged_in_crash_rounds[1]
              << " acknowledged between kills), QoS 2: " << published[2] << " ("
              << acknowledged_in_crash_rounds[2] << " acknowledged between kills); " << resent
              << " resent by the publisher; QoS 1 duplicates seen: " << online.name() << " "
              << qos1_duplicates_online << ", " << away.name() << " " << qos1_duplicates_away
              << "; " << workers << "; seed " << seed << std::endl;
}

}  // namespace
}  // namespace petrel::test
