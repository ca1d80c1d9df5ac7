// A publisher and a subscriber that must keep working while a hostile scenario runs next to
// them: the subscriber's session on one worker, the publisher's on another, so their
// messages take the cross-thread path.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {

class WellBehavedPair {
  public:
    // `threads`: the broker's worker count (the subscriber goes on worker 1 when there are
    // two or more). `port`: the listener to use (0: the broker's first).
    WellBehavedPair(const BrokerProcess& broker, const std::string& stem, unsigned threads,
                    std::uint16_t port = 0)
        : subscriber_(connected(port != 0 ? port : broker.port(), ProtocolVersion::V5,
                                client_id_on_worker(stem + "-sub", threads > 1 ? 1 : 0, threads),
                                true)),
          publisher_(connected(port != 0 ? port : broker.port(), ProtocolVersion::V311,
                               client_id_on_worker(stem + "-pub", 0, threads), true)),
          topic_("fine/" + stem) {
        EXPECT_TRUE(subscriber_->subscribe(topic_, 1));
    }

    // Publishes `count` QoS 1 messages and checks each arrives, in order.
    void exchange(int count) {
        for (int i = 0; i < count; ++i) {
            ASSERT_TRUE(publisher_->publish(topic_, std::to_string(next_ + i), 1));
        }
        for (int i = 0; i < count; ++i) {
            auto got = subscriber_->receive_publish();
            ASSERT_TRUE(got) << "message " << i;
            EXPECT_EQ(payload_of(*got), std::to_string(next_ + i));
        }
        next_ += count;
    }

    RawClient& subscriber() { return *subscriber_; }
    RawClient& publisher() { return *publisher_; }

  private:
    std::unique_ptr<RawClient> subscriber_;
    std::unique_ptr<RawClient> publisher_;
    std::string topic_;
    int next_ = 0;
};

}  // namespace petrel::test
