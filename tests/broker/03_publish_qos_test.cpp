// QoS 0/1/2 both directions (spec 4.3): handshakes, delivery QoS = min(publish, granted),
// QoS 2 exactly once with duplicates, packet identifiers, in-flight windows, resending on
// reconnect of a persistent session, and the bound on an offline session's queue.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "support/broker_process.hpp"
#include "support/paho.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PacketId;
using protocol::PropertyId;
using protocol::Publish;

// --- delivery QoS for every (version, publish QoS, subscription QoS) ---

using QosCase = std::tuple<ProtocolVersion, int, int>;

class QosMatrixTest : public ::testing::TestWithParam<QosCase> {};

TEST_P(QosMatrixTest, DeliversAtTheLowerQosWithFullHandshakes) {
    const auto [version, publish_qos, subscribe_qos] = GetParam();
    BrokerProcess broker;
    RawClient subscriber(broker.port(), version);
    ASSERT_TRUE(subscriber.connect("qos-sub"));
    auto suback = subscriber.subscribe("qos/t", static_cast<Qos>(subscribe_qos));
    ASSERT_TRUE(suback);
    ASSERT_EQ(suback->reasons.size(), 1u);
    EXPECT_EQ(static_cast<int>(suback->reasons[0].byte()), subscribe_qos);

    RawClient publisher(broker.port(), version);
    ASSERT_TRUE(publisher.connect("qos-pub"));
    // publish() checks PUBACK, or PUBREC + PUBCOMP, as the QoS requires.
    ASSERT_TRUE(publisher.publish("qos/t", "payload \x01\x02", static_cast<Qos>(publish_qos)));

    auto message = subscriber.receive_publish(kDefaultTimeout, /*ack=*/false);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->topic, "qos/t");
    EXPECT_EQ(payload_of(*message), "payload \x01\x02");
    EXPECT_EQ(int{message->qos}, std::min(publish_qos, subscribe_qos));
    EXPECT_FALSE(message->dup);
    EXPECT_FALSE(message->retain);
    if (message->qos > 0) {
        EXPECT_NE(message->packet_id, 0);
    }
    // The subscriber's side of the handshake: PUBACK, or PUBREC -> PUBREL -> PUBCOMP.
    ASSERT_TRUE(subscriber.acknowledge(*message));
    subscriber.expect_nothing(200ms);  // no redelivery once acknowledged
    publisher.expect_nothing(50ms);
}

INSTANTIATE_TEST_SUITE_P(All, QosMatrixTest,
                         ::testing::Combine(both_versions(), ::testing::Values(0, 1, 2),
                                            ::testing::Values(0, 1, 2)),
                         [](const ::testing::TestParamInfo<QosCase>& info) {
                             return std::string{version_name(std::get<0>(info.param))} + "_pub" +
                                    std::to_string(std::get<1>(info.param)) + "_sub" +
                                    std::to_string(std::get<2>(info.param));
                         });

// --- per-version behaviour ---

class QosTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }
};

TEST_P(QosTest, Qos2DuplicatePublishIsDeliveredOnce) {
    BrokerProcess broker;
    RawClient subscriber(broker.port(), version());
    ASSERT_TRUE(subscriber.connect("once-sub"));
    ASSERT_TRUE(subscriber.subscribe("once/t", 2));

    RawClient publisher(broker.port(), version());
    ASSERT_TRUE(publisher.connect("once-pub"));
    Publish publish = make_publish("once/t", "exactly once", 2, false, 7);
    ASSERT_TRUE(publisher.send(publish));
    auto pubrec = publisher.expect<protocol::Pubrec>();
    ASSERT_TRUE(pubrec);
    EXPECT_EQ(pubrec->packet_id, 7);

    // The PUBREC was "lost": the client sends the PUBLISH again with DUP=1. Until PUBREL
    // the broker must answer PUBREC again and not deliver a second time [MQTT-4.3.3-10].
    publish.dup = true;
    ASSERT_TRUE(publisher.send(publish));
    auto again = publisher.expect<protocol::Pubrec>();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->packet_id, 7);

    protocol::Pubrel pubrel;
    pubrel.packet_id = 7;
    ASSERT_TRUE(publisher.send(pubrel));
    auto pubcomp = publisher.expect<protocol::Pubcomp>();
    ASSERT_TRUE(pubcomp);
    EXPECT_EQ(pubcomp->packet_id, 7);

    auto message = subscriber.receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "exactly once");
    EXPECT_EQ(int{message->qos}, 2);
    subscriber.expect_nothing(300ms);
}

TEST_P(QosTest, PacketIdsAreNonZeroAndDistinctWhileInFlight) {
    BrokerProcess broker;
    RawClient subscriber(broker.port(), version());
    ASSERT_TRUE(subscriber.connect("ids-sub"));
    ASSERT_TRUE(subscriber.subscribe("ids/1", 1));
    ASSERT_TRUE(subscriber.subscribe("ids/2", 2));

    RawClient publisher(broker.port(), version());
    ASSERT_TRUE(publisher.connect("ids-pub"));
    constexpr int kEach = 8;  // 16 in flight: below the default window of 20
    for (int i = 0; i < kEach; ++i) {
        ASSERT_TRUE(publisher.publish("ids/1", "one " + std::to_string(i), 1));
        ASSERT_TRUE(publisher.publish("ids/2", "two " + std::to_string(i), 2));
    }

    // None is acknowledged, so every id is in use at once [MQTT-2.2.1-3].
    std::vector<Publish> received;
    std::set<PacketId> ids;
    for (int i = 0; i < 2 * kEach; ++i) {
        auto message = subscriber.receive_publish(kDefaultTimeout, /*ack=*/false);
        ASSERT_TRUE(message) << "after " << i << " messages";
        EXPECT_NE(message->packet_id, 0);
        EXPECT_TRUE(ids.insert(message->packet_id).second)
            << "packet id " << message->packet_id << " reused while in flight";
        received.push_back(*message);
    }
    for (const auto& message : received) {
        ASSERT_TRUE(subscriber.acknowledge(message));
    }
    subscriber.expect_nothing(200ms);
}

TEST_P(QosTest, InflightWindowLimitsUnacknowledgedDeliveries) {
    BrokerProcess broker("max_inflight_messages 3\n");
    RawClient subscriber(broker.port(), version());
    ASSERT_TRUE(subscriber.connect("window-sub"));
    ASSERT_TRUE(subscriber.subscribe("window/t", 1));
    RawClient publisher(broker.port(), version());
    ASSERT_TRUE(publisher.connect("window-pub"));
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(publisher.publish("window/t", std::to_string(i), 1));
    }

    std::vector<Publish> first;
    for (int i = 0; i < 3; ++i) {
        auto message = subscriber.receive_publish(kDefaultTimeout, false);
        ASSERT_TRUE(message);
        EXPECT_EQ(payload_of(*message), std::to_string(i));
        first.push_back(*message);
    }
    subscriber.expect_nothing(300ms);  // the window is full
    for (const auto& message : first) {
        ASSERT_TRUE(subscriber.acknowledge(message));
    }
    for (int i = 3; i < 6; ++i) {
        auto message = subscriber.receive_publish();
        ASSERT_TRUE(message);
        EXPECT_EQ(payload_of(*message), std::to_string(i));  // order kept [MQTT-4.6.0-6]
    }
}

TEST_P(QosTest, UnacknowledgedDeliveriesAreResentOnReconnect) {
    BrokerProcess broker;
    const std::string id = "resend-sub";
    std::vector<Publish> originals;
    {
        RawClient subscriber(broker.port(), version());
        auto connack = subscriber.connect(id, /*clean_start=*/false);
        ASSERT_TRUE(connack);
        ASSERT_TRUE(subscriber.subscribe("resend/t", 2));

        RawClient publisher(broker.port(), version());
        ASSERT_TRUE(publisher.connect("resend-pub"));
        ASSERT_TRUE(publisher.publish("resend/t", "m1", 1));
        ASSERT_TRUE(publisher.publish("resend/t", "m2", 2));
        ASSERT_TRUE(publisher.publish("resend/t", "m3", 2));
        ASSERT_TRUE(publisher.publish("resend/t", "m4", 1));

        for (int i = 0; i < 4; ++i) {
            auto message = subscriber.receive_publish(kDefaultTimeout, false);
            ASSERT_TRUE(message);
            originals.push_back(*message);
        }
        ASSERT_EQ(payload_of(originals[1]), "m2");
        // m2 gets as far as PUBREC/PUBREL; the others are not acknowledged at all.
        protocol::Pubrec pubrec;
        pubrec.packet_id = originals[1].packet_id;
        ASSERT_TRUE(subscriber.send(pubrec));
        ASSERT_TRUE(subscriber.wait_for<protocol::Pubrel>());
        subscriber.close();  // gone without DISCONNECT
    }

    RawClient subscriber(broker.port(), version());
    auto connack = subscriber.connect(id, false);
    ASSERT_TRUE(connack);
    EXPECT_TRUE(connack->session_present);

    // [MQTT-4.4.0-1] unacknowledged PUBLISH and PUBREL are resent with their original
    // ids, PUBLISH with DUP=1 [MQTT-3.3.1-1], in the original order [MQTT-4.6.0-1].
    std::vector<Publish> resent;
    std::optional<protocol::Pubrel> pubrel;
    for (int i = 0; i < 4; ++i) {
        auto packet = subscriber.receive();
        ASSERT_TRUE(packet) << "got " << i << " of 4 resent packets";
        if (auto* publish = std::get_if<Publish>(&*packet)) {
            resent.push_back(*publish);
        } else if (auto* rel = std::get_if<protocol::Pubrel>(&*packet)) {
            pubrel = *rel;
        } else {
            ADD_FAILURE() << "unexpected " << describe(*packet);
        }
    }
    ASSERT_TRUE(pubrel) << "PUBREL for m2 not resent";
    EXPECT_EQ(pubrel->packet_id, originals[1].packet_id);
    ASSERT_EQ(resent.size(), 3u);
    const std::vector<std::size_t> expected_order{0, 2, 3};
    for (std::size_t i = 0; i < resent.size(); ++i) {
        const auto& original = originals[expected_order[i]];
        EXPECT_EQ(payload_of(resent[i]), payload_of(original));
        EXPECT_EQ(resent[i].packet_id, original.packet_id);
        EXPECT_EQ(int{resent[i].qos}, int{original.qos});
        EXPECT_TRUE(resent[i].dup) << payload_of(resent[i]);
    }

    protocol::Pubcomp pubcomp;
    pubcomp.packet_id = pubrel->packet_id;
    ASSERT_TRUE(subscriber.send(pubcomp));
    for (const auto& message : resent) {
        ASSERT_TRUE(subscriber.acknowledge(message));
    }
    subscriber.expect_nothing(300ms);
}

TEST_P(QosTest, OfflineQueueIsBounded) {
    BrokerProcess broker("max_queued_messages 5\nmax_inflight_messages 2\n");
    const std::string id = "bounded-sub";
    {
        RawClient subscriber(broker.port(), version());
        ASSERT_TRUE(subscriber.connect(id, false));
        ASSERT_TRUE(subscriber.subscribe("bounded/t", 1));
        subscriber.disconnect();
    }
    RawClient publisher(broker.port(), version());
    ASSERT_TRUE(publisher.connect("bounded-pub"));
    constexpr int kPublished = 50;
    for (int i = 0; i < kPublished; ++i) {
        // Any PUBACK will do: a v5 broker may report the quota in its reason code.
        const auto publish =
            make_publish("bounded/t", std::to_string(i), 1, false, publisher.next_packet_id());
        ASSERT_TRUE(publisher.send(publish));
        ASSERT_TRUE(publisher.wait_for<protocol::Puback>());
    }

    RawClient subscriber(broker.port(), version());
    auto connack = subscriber.connect(id, false);
    ASSERT_TRUE(connack);
    EXPECT_TRUE(connack->session_present);
    std::vector<int> received;
    while (auto message = subscriber.try_receive_publish(1s)) {
        received.push_back(std::stoi(payload_of(*message)));
    }
    EXPECT_GE(received.size(), 1u);
    EXPECT_LE(received.size(), 5u + 2u) << "queue limit 5 plus in-flight window 2";
    EXPECT_TRUE(std::is_sorted(received.begin(), received.end()));

    // The broker is still healthy.
    ASSERT_TRUE(subscriber.subscribe("bounded/after", 1));
    ASSERT_TRUE(publisher.publish("bounded/after", "alive", 1));
    auto after = subscriber.receive_publish();
    ASSERT_TRUE(after);
    EXPECT_EQ(payload_of(*after), "alive");
}

TEST_P(QosTest, Qos2RoundTripWithPaho) {
    BrokerProcess broker;
    const bool v5 = is_v5(version());
    auto subscriber = make_paho_client(broker.port(), "paho-q2-sub", v5);
    auto publisher = make_paho_client(broker.port(), "paho-q2-pub", v5);
    subscriber->start_consuming();
    // Connecting both at once spares Paho's ~1 s wait for a second client's connect.
    auto subscriber_connected = subscriber->connect(paho_connect_options(v5, true));
    auto publisher_connected = publisher->connect(paho_connect_options(v5, true));
    subscriber_connected->wait();
    publisher_connected->wait();
    subscriber->subscribe("paho/q2", 2)->wait();
    constexpr int kMessages = 20;
    for (int i = 0; i < kMessages; ++i) {
        publisher->publish("paho/q2", "q2 " + std::to_string(i), 2, false)->wait();
    }
    for (int i = 0; i < kMessages; ++i) {
        mqtt::const_message_ptr message;
        ASSERT_TRUE(subscriber->try_consume_message_for(&message, 5s)) << "message " << i;
        EXPECT_EQ(message->get_payload_str(), "q2 " + std::to_string(i));
        EXPECT_EQ(message->get_qos(), 2);
    }
    mqtt::const_message_ptr extra;
    EXPECT_FALSE(subscriber->try_consume_message_for(&extra, 300ms)) << "duplicate delivery";
    publisher->disconnect()->wait();
    subscriber->disconnect()->wait();
}

INSTANTIATE_TEST_SUITE_P(Versions, QosTest, both_versions(), VersionParamName{});

TEST(QosV5Test, MessagesOverTheClientsMaximumPacketSizeAreNotSent) {
    BrokerProcess broker;
    RawClient subscriber(broker.port(), ProtocolVersion::V5);
    auto connect = subscriber.connect_packet("small-client");
    connect.properties.set_number(PropertyId::MaximumPacketSize, 200);
    ASSERT_TRUE(subscriber.connect(connect));
    ASSERT_TRUE(subscriber.subscribe("small/t", 1));
    RawClient publisher(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(publisher.connect("small-pub"));
    ASSERT_TRUE(publisher.publish("small/t", std::string(1000, 'x'), 1));
    ASSERT_TRUE(publisher.publish("small/t", "fits", 1));
    // [MQTT-3.1.2-25] a packet over the client's limit is discarded, not sent.
    auto message = subscriber.receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "fits");
    EXPECT_FALSE(subscriber.closed());
}

TEST(QosV5Test, ReceiveMaximumIsHonoured) {
    BrokerProcess broker;
    RawClient subscriber(broker.port(), ProtocolVersion::V5);
    auto connect = subscriber.connect_packet("receive-max-sub");
    connect.properties.set_number(PropertyId::ReceiveMaximum, 2);
    ASSERT_TRUE(subscriber.connect(connect));
    ASSERT_TRUE(subscriber.subscribe("recvmax/t", 1));
    RawClient publisher(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(publisher.connect("receive-max-pub"));
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(publisher.publish("recvmax/t", std::to_string(i), 1));
    }
    // [MQTT-3.3.4-9] no more than Receive Maximum unacknowledged QoS 1/2 deliveries.
    auto first = subscriber.receive_publish(kDefaultTimeout, false);
    auto second = subscriber.receive_publish(kDefaultTimeout, false);
    ASSERT_TRUE(first && second);
    subscriber.expect_nothing(300ms);
    ASSERT_TRUE(subscriber.acknowledge(*first));
    ASSERT_TRUE(subscriber.acknowledge(*second));
    for (int i = 2; i < 4; ++i) {
        auto message = subscriber.receive_publish();
        ASSERT_TRUE(message);
        EXPECT_EQ(payload_of(*message), std::to_string(i));
    }
}

}  // namespace
}  // namespace petrel::test
