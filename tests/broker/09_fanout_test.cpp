// Volume: fan-out and fan-in with real libmosquitto clients on a multi-threaded broker
// (every subscriber gets every message exactly once, in order, intact), a payload of
// several megabytes, and hundreds of packets arriving in one write.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/mosquitto_client.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PacketId;

// A payload that names its message and carries bytes a truncation or mix-up would change.
std::string payload_for(int publisher, int index) {
    std::string payload = "p" + std::to_string(publisher) + " m" + std::to_string(index) + " ";
    for (int i = 0; i < 64; ++i) {
        payload += static_cast<char>((index * 31 + i * 7 + publisher) & 0xFF);
    }
    return payload;
}

class FanoutTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    MosquittoOptions options(const std::string& id) const {
        MosquittoOptions result;
        result.client_id = id;
        result.v5 = is_v5(GetParam());
        return result;
    }

    BrokerProcess broker_{"threads 4\n"};
};

TEST_P(FanoutTest, HundredSubscribersGetEveryMessageOnceInOrder) {
    constexpr int kSubscribers = 100;
    constexpr int kMessages = 200;
    std::vector<std::unique_ptr<MosquittoClient>> subscribers;
    for (int i = 0; i < kSubscribers; ++i) {
        auto subscriber =
            std::make_unique<MosquittoClient>(options("fan-sub-" + std::to_string(i)));
        ASSERT_EQ(subscriber->connect(broker_.port()), 0) << "subscriber " << i;
        auto granted = subscriber->subscribe("fan/out", 1);
        ASSERT_TRUE(granted) << "subscriber " << i;
        ASSERT_EQ(granted->at(0), 1);
        subscribers.push_back(std::move(subscriber));
    }

    MosquittoClient publisher(options("fan-pub"));
    ASSERT_EQ(publisher.connect(broker_.port()), 0);
    std::vector<int> mids;
    for (int i = 0; i < kMessages; ++i) {
        const int mid = publisher.publish("fan/out", payload_for(0, i), 1);
        ASSERT_GT(mid, 0);
        mids.push_back(mid);
    }
    for (int mid : mids) {
        ASSERT_TRUE(publisher.wait_published(mid, 30s)) << "no PUBACK for mid " << mid;
    }

    for (int s = 0; s < kSubscribers; ++s) {
        ASSERT_TRUE(subscribers[s]->wait_for(kMessages, 30s))
            << "subscriber " << s << " got " << subscribers[s]->message_count();
    }
    // A little longer, for duplicates that would arrive late.
    subscribers.back()->wait_for(kMessages + 1, 200ms);
    for (int s = 0; s < kSubscribers; ++s) {
        const auto messages = subscribers[s]->messages();
        ASSERT_EQ(messages.size(), static_cast<std::size_t>(kMessages)) << "subscriber " << s;
        for (int i = 0; i < kMessages; ++i) {
            ASSERT_EQ(messages[i].payload, payload_for(0, i))
                << "subscriber " << s << " message " << i;
            EXPECT_EQ(messages[i].qos, 1);
            EXPECT_EQ(messages[i].topic, "fan/out");
            EXPECT_FALSE(messages[i].retain);
        }
    }
}

TEST_P(FanoutTest, Qos2FanInKeepsEachPublishersOrder) {
    constexpr int kPublishers = 5;
    constexpr int kMessages = 100;
    MosquittoClient subscriber(options("fan-in-sub"));
    ASSERT_EQ(subscriber.connect(broker_.port()), 0);
    ASSERT_TRUE(subscriber.subscribe("fan/in/+", 2));

    std::vector<std::unique_ptr<MosquittoClient>> publishers;
    for (int p = 0; p < kPublishers; ++p) {
        publishers.push_back(
            std::make_unique<MosquittoClient>(options("fan-in-pub-" + std::to_string(p))));
        ASSERT_EQ(publishers.back()->connect(broker_.port()), 0);
    }
    for (int i = 0; i < kMessages; ++i) {
        for (int p = 0; p < kPublishers; ++p) {
            ASSERT_GT(publishers[p]->publish("fan/in/" + std::to_string(p), payload_for(p, i), 2),
                      0);
        }
    }
    ASSERT_TRUE(subscriber.wait_for(kPublishers * kMessages, 30s))
        << "got " << subscriber.message_count();
    subscriber.wait_for(kPublishers * kMessages + 1, 200ms);
    const auto messages = subscriber.messages();
    ASSERT_EQ(messages.size(), static_cast<std::size_t>(kPublishers * kMessages));
    std::vector<int> next(kPublishers, 0);
    for (const auto& message : messages) {
        const int p = message.topic.back() - '0';
        ASSERT_GE(p, 0);
        ASSERT_LT(p, kPublishers);
        ASSERT_EQ(message.payload, payload_for(p, next[p])) << "publisher " << p;
        EXPECT_EQ(message.qos, 2);
        ++next[p];
    }
}

INSTANTIATE_TEST_SUITE_P(Versions, FanoutTest, both_versions(), VersionParamName{});

class VolumeTest : public ::testing::TestWithParam<ProtocolVersion> {};

TEST_P(VolumeTest, LargePayloadArrivesIntact) {
    BrokerProcess broker;
    RawClient subscriber(broker.port(), GetParam());
    ASSERT_TRUE(subscriber.connect("large-sub"));
    ASSERT_TRUE(subscriber.subscribe("large/t", 1));
    std::string payload(3 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<char>((i * 131 + (i >> 12)) & 0xFF);
    }
    // Read while the publisher writes, so neither side depends on socket buffer sizes.
    auto received = std::async(std::launch::async, [&] { return subscriber.receive_publish(10s); });
    RawClient publisher(broker.port(), GetParam());
    ASSERT_TRUE(publisher.connect("large-pub"));
    ASSERT_TRUE(publisher.publish("large/t", payload, 1));
    auto message = received.get();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message).size(), payload.size());
    EXPECT_TRUE(payload_of(*message) == payload) << "payload bytes differ";
}

TEST_P(VolumeTest, PipelinedPublishesAreAllAcknowledgedAndDelivered) {
    BrokerProcess broker;
    RawClient subscriber(broker.port(), GetParam());
    ASSERT_TRUE(subscriber.connect("pipeline-sub"));
    ASSERT_TRUE(subscriber.subscribe("pipeline/t", 1));
    RawClient publisher(broker.port(), GetParam());
    ASSERT_TRUE(publisher.connect("pipeline-pub"));

    // Many packets in one write: the broker must split them out of one read buffer.
    constexpr int kMessages = 500;
    std::string bytes;
    for (int i = 1; i <= kMessages; ++i) {
        protocol::encode(
            make_publish("pipeline/t", std::to_string(i), 1, false, static_cast<PacketId>(i)),
            GetParam(), bytes);
    }
    auto delivered = std::async(std::launch::async, [&] {
        std::vector<int> payloads;
        while (payloads.size() < kMessages) {
            auto message = subscriber.try_receive_publish(5s);
            if (!message) {
                break;
            }
            payloads.push_back(std::stoi(payload_of(*message)));
        }
        return payloads;
    });
    ASSERT_TRUE(publisher.send_raw(bytes));
    std::set<PacketId> acknowledged;
    for (int i = 0; i < kMessages; ++i) {
        auto puback = publisher.expect<protocol::Puback>();
        ASSERT_TRUE(puback) << "after " << i << " PUBACKs";
        acknowledged.insert(puback->packet_id);
    }
    EXPECT_EQ(acknowledged.size(), static_cast<std::size_t>(kMessages));
    const auto payloads = delivered.get();
    ASSERT_EQ(payloads.size(), static_cast<std::size_t>(kMessages));
    for (int i = 0; i < kMessages; ++i) {
        ASSERT_EQ(payloads[i], i + 1) << "out of order";
    }
}

INSTANTIATE_TEST_SUITE_P(Versions, VolumeTest, both_versions(), VersionParamName{});

}  // namespace
}  // namespace petrel::test
