// The pieces behind the broker's limits, with time as an argument: the token bucket, the
// per-address connection rate, the log throttle, the memory guard's hysteresis and its
// default, and the connection slots that count open connections.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

#include "connection_admission.hpp"
#include "log_throttle.hpp"
#include "memory_guard.hpp"
#include "petrel/connection/token_bucket.hpp"
#include "source_rate_limiter.hpp"

namespace petrel::broker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using connection::TokenBucket;

const Clock::time_point t0 = Clock::time_point{} + 1000s;

// A logger whose lines the test reads back.
struct CapturedLog {
    std::ostringstream text;
    std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_st>(text));
    std::string str() {
        logger->flush();
        return text.str();
    }
};

TEST(TokenBucket, BurstThenTheRate) {
    TokenBucket bucket(10, 10, t0);
    for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(bucket.take(t0)) << i;
    }
    EXPECT_FALSE(bucket.take(t0));
    EXPECT_FALSE(bucket.take(t0 + 50ms));  // half a token
    EXPECT_TRUE(bucket.take(t0 + 100ms));  // one token per 100 ms
    EXPECT_FALSE(bucket.take(t0 + 100ms));
    EXPECT_FALSE(bucket.full(t0 + 500ms));
    EXPECT_TRUE(bucket.full(t0 + 1100ms));
    // Refilled to the burst, never beyond it.
    for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(bucket.take(t0 + 60s)) << i;
    }
    EXPECT_FALSE(bucket.take(t0 + 60s));
}

TEST(TokenBucket, AnEarlierTimeNeverRefillsOrBreaksIt) {
    TokenBucket bucket(1, 1, t0);
    EXPECT_TRUE(bucket.take(t0));
    EXPECT_FALSE(bucket.take(t0 - 5s));
    EXPECT_TRUE(bucket.take(t0 + 1s));
}

TEST(SourceRateLimiter, EachAddressHasItsOwnBucketAndIdleOnesAreForgotten) {
    SourceRateLimiter limiter(2);
    EXPECT_TRUE(limiter.allow("192.0.2.1", t0));
    EXPECT_TRUE(limiter.allow("192.0.2.1", t0));
    EXPECT_FALSE(limiter.allow("192.0.2.1", t0));
    EXPECT_TRUE(limiter.allow("192.0.2.2", t0));  // another address is not affected
    EXPECT_EQ(limiter.tracked(), 2u);
    limiter.forget_idle(t0 + 200ms);
    EXPECT_EQ(limiter.tracked(), 2u);  // not refilled yet
    EXPECT_TRUE(limiter.allow("192.0.2.1", t0 + 500ms));
    limiter.forget_idle(t0 + 2s);
    EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(SourceRateLimiter, ZeroIsOffAndAFullTableAllowsUntracked) {
    SourceRateLimiter off(0);
    for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(off.allow("192.0.2.1", t0));
    }
    EXPECT_EQ(off.tracked(), 0u);

    SourceRateLimiter small(1, 2);
    EXPECT_TRUE(small.allow("192.0.2.1", t0));
    EXPECT_TRUE(small.allow("192.0.2.2", t0));
    EXPECT_TRUE(small.allow("192.0.2.3", t0));  // the table is full: not tracked
    EXPECT_TRUE(small.allow("192.0.2.3", t0));
    EXPECT_FALSE(small.allow("192.0.2.1", t0));  // tracked ones are still limited
    EXPECT_EQ(small.tracked(), 2u);
}

TEST(LogThrottle, OneLinePerIntervalThatCountsTheQuietOnes) {
    LogThrottle throttle(10s);
    EXPECT_EQ(throttle.permit(t0), std::optional<std::uint64_t>{0});
    EXPECT_FALSE(throttle.permit(t0 + 1s));
    EXPECT_FALSE(throttle.permit(t0 + 9s));
    EXPECT_EQ(throttle.permit(t0 + 10s), std::optional<std::uint64_t>{2});
    EXPECT_FALSE(throttle.permit(t0 + 11s));
    EXPECT_EQ(throttle.permit(t0 + 60s), std::optional<std::uint64_t>{1});
}

TEST(MemoryGuard, RefusesAboveTheLimitAndResumesBelowNinetyPercent) {
    CapturedLog log;
    MemoryGuard guard(1000 << 20, *log.logger);
    guard.update(900 << 20);
    EXPECT_FALSE(guard.refusing());
    guard.update(1001 << 20);
    EXPECT_TRUE(guard.refusing());
    guard.update(1200 << 20);  // logged once, not on every tick
    guard.update(950 << 20);   // below the limit, above 90 %: still refusing
    EXPECT_TRUE(guard.refusing());
    guard.update(899 << 20);
    EXPECT_FALSE(guard.refusing());
    const std::string text = log.str();
    EXPECT_NE(text.find("memory guard: resident 1001 MiB above memory_limit 1000 MiB, refusing "
                        "new connections"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("1200 MiB"), std::string::npos) << text;
    EXPECT_NE(text.find("memory guard: resident 899 MiB below 90 % of memory_limit 1000 MiB, "
                        "accepting new connections again"),
              std::string::npos)
        << text;
}

TEST(MemoryGuard, ZeroIsOff) {
    CapturedLog log;
    MemoryGuard guard(0, *log.logger);
    guard.update(std::size_t{1} << 40);
    guard.check();
    EXPECT_FALSE(guard.refusing());
    EXPECT_EQ(log.str(), "");
}

TEST(MemoryGuard, MeasuresThisProcess) {
    const auto resident = anonymous_resident_bytes();
    ASSERT_TRUE(resident);
    EXPECT_GT(*resident, 0u);
}

TEST(MemoryGuard, DefaultIsThreeQuartersOfTheSmallerOfMemoryAndCgroupLimit) {
    constexpr std::size_t kGiB = std::size_t{1} << 30;
    EXPECT_EQ(default_memory_limit(16 * kGiB, std::nullopt).bytes, 12 * kGiB);
    EXPECT_EQ(default_memory_limit(16 * kGiB, 4 * kGiB).bytes, 3 * kGiB);
    EXPECT_EQ(default_memory_limit(16 * kGiB, 4 * kGiB).basis, "the cgroup memory limit");
    // cgroup v1 says "no limit" with a huge number.
    EXPECT_EQ(default_memory_limit(16 * kGiB, std::size_t{9223372036854771712ULL}).bytes,
              12 * kGiB);
    EXPECT_GT(default_memory_limit().bytes, 0u);  // this machine
}

TEST(ConnectionAdmission, SlotsCountOpenConnectionsUntilDestroyedAlsoWhenMoved) {
    CapturedLog log;
    Config config = parse_config(
        "max_connections 2\nlistener 0 127.0.0.1\nmax_connections 1\n"
        "listener 0 127.0.0.1\n",
        "t");
    ConnectionAdmission admission(config, 0, *log.logger);
    net::Listener first("127.0.0.1", 0);
    net::Listener second("127.0.0.1", 0);
    const net::AcceptedSocket socket{-1, "127.0.0.1:5000", "127.0.0.1"};

    std::optional<ConnectionSlot> a = admission.admit(0, first, socket, t0);
    ASSERT_TRUE(a);
    EXPECT_FALSE(admission.admit(0, first, socket, t0));  // the listener's limit
    std::optional<ConnectionSlot> b = admission.admit(1, second, socket, t0);
    ASSERT_TRUE(b);
    EXPECT_FALSE(admission.admit(1, second, socket, t0));  // the global limit
    EXPECT_EQ(admission.open_connections(), 2u);

    ConnectionSlot moved = std::move(*a);  // as at a handover to another worker
    a.reset();
    EXPECT_EQ(admission.open_connections(), 2u);
    EXPECT_FALSE(admission.admit(0, first, socket, t0));
    { const ConnectionSlot gone = std::move(moved); }
    EXPECT_EQ(admission.open_connections(), 1u);
    EXPECT_TRUE(admission.admit(0, first, socket, t0));  // destroyed again at once
    EXPECT_EQ(admission.open_connections(), 1u);

    const std::string text = log.str();
    EXPECT_NE(text.find("connection from 127.0.0.1:5000 refused: max_connections 1 of listener "
                        "127.0.0.1:"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("refused: max_connections 2 reached"), std::string::npos) << text;
}

TEST(ConnectionAdmission, RefusalsAreLoggedOncePerReasonAndInterval) {
    CapturedLog log;
    const Config config = parse_config("max_connection_rate 1\n", "t");
    ConnectionAdmission admission(config, 0, *log.logger);
    net::Listener listener("127.0.0.1", 0);
    const net::AcceptedSocket socket{-1, "192.0.2.7:5000", "192.0.2.7"};
    EXPECT_TRUE(admission.admit(0, listener, socket, t0));
    for (int i = 0; i < 50; ++i) {
        EXPECT_FALSE(admission.admit(0, listener, socket, t0 + 1ms));
    }
    EXPECT_EQ(admission.open_connections(), 0u);  // refused ones are not counted
    std::string text = log.str();
    EXPECT_NE(text.find("refused: more than max_connection_rate 1 new connections per second "
                        "from 192.0.2.7"),
              std::string::npos)
        << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_TRUE(admission.admit(0, listener, socket, t0 + 11s));  // refilled
    EXPECT_FALSE(admission.admit(0, listener, socket, t0 + 11s));
    text = log.str();
    EXPECT_NE(text.find("(49 more refused for this reason since the last such line)"),
              std::string::npos)
        << text;
}

}  // namespace
}  // namespace petrel::broker
