#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "net_test_util.hpp"
#include "petrel/net/stream.hpp"

namespace petrel::net {
namespace {

using namespace std::chrono_literals;
using test::LoopThread;
using test::read_exact;
using test::tcp_pair;
using test::wait_until;
using test::write_all;

TEST(StreamHandover, SocketAndUnreadBytesMoveToAnotherLoop) {
    // Loop A reads a greeting, releases the socket from inside on_data and hands the
    // bytes after the greeting to a new stream on loop B, as the broker does after CONNECT.
    LoopThread a;
    LoopThread b;
    auto pair = tcp_pair();
    std::mutex mutex;
    std::string on_b;  // guarded by mutex
    std::atomic<int> a_closes{0};
    std::atomic<int> b_closes{0};
    std::unique_ptr<Stream> stream_a;
    std::unique_ptr<Stream> stream_b;
    a.call([&] {
        stream_a = std::make_unique<Stream>(
            a.loop, pair.server, pair.peer,
            Stream::Callbacks{[&](std::string& input) {
                                  const auto end = input.find('|');
                                  if (end == std::string::npos) {
                                      return;
                                  }
                                  input.erase(0, end + 1);
                                  std::string unread;
                                  const int fd = stream_a->release(unread);
                                  EXPECT_FALSE(stream_a->is_open());
                                  b.loop.post([&, fd, unread = std::move(unread)]() mutable {
                                      stream_b = std::make_unique<Stream>(
                                          b.loop, fd, "moved",
                                          Stream::Callbacks{[&](std::string& input) {
                                                                std::lock_guard lock(mutex);
                                                                on_b += input;
                                                                input.clear();
                                                            },
                                                            [&](std::error_code) { ++b_closes; }},
                                          std::move(unread));
                                      stream_b->send("welcome");
                                  });
                              },
                              [&](std::error_code) { ++a_closes; }});
    });
    write_all(pair.client, "HELLO|early");
    EXPECT_EQ(read_exact(pair.client, 7), "welcome");  // loop B owns the open socket
    write_all(pair.client, " late");
    ASSERT_TRUE(wait_until([&] {
        std::lock_guard lock(mutex);
        return on_b == "early late";
    }));
    a.call([&] { stream_a.reset(); });  // a released stream does not close the socket
    write_all(pair.client, "!");
    ASSERT_TRUE(wait_until([&] {
        std::lock_guard lock(mutex);
        return on_b == "early late!";
    }));
    EXPECT_EQ(a_closes, 0);
    ::close(pair.client);
    ASSERT_TRUE(wait_until([&] { return b_closes == 1; }));
    b.call([&] { stream_b.reset(); });
}

TEST(StreamHandover, ReleaseDropsQueuedOutputAndIgnoresLaterCalls) {
    LoopThread lt;
    auto pair = tcp_pair();
    std::unique_ptr<Stream> stream;
    int fd = -1;
    lt.call([&] {
        stream = std::make_unique<Stream>(lt.loop, pair.server, pair.peer, Stream::Callbacks{});
        stream->send("dropped");  // the deferred flush finds a released stream
        std::string unread;
        fd = stream->release(unread);
        EXPECT_EQ(unread, "");
        EXPECT_EQ(stream->release(unread), -1);
        stream->send("ignored");
        stream->close();
    });
    lt.call([&] { stream.reset(); });
    lt.stop();
    ASSERT_EQ(fd, pair.server);
    write_all(fd, "still open");
    EXPECT_EQ(read_exact(pair.client, 10), "still open");
    ::close(fd);
    ::close(pair.client);
}

}  // namespace
}  // namespace petrel::net
