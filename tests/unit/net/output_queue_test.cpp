#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "petrel/net/stream.hpp"

namespace petrel::net {
namespace {

// A connected AF_UNIX stream pair: same sendmsg/EAGAIN behaviour as TCP, no network.
struct SocketPair {
    int writer = -1;
    int reader = -1;
    SocketPair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        writer = fds[0];
        reader = fds[1];
    }
    ~SocketPair() {
        ::close(writer);
        if (reader >= 0) {
            ::close(reader);
        }
    }
    std::string drain() {
        std::string out;
        char buffer[65536];
        ssize_t n;
        while ((n = ::read(reader, buffer, sizeof buffer)) > 0) {
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }
};

std::string pattern(std::size_t size, std::size_t seed) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        s[i] = static_cast<char>((i * 31 + seed) & 0xff);
    }
    return s;
}

TEST(OutputQueue, GatherAndConsumeTrackPartialWritesAcrossChunks) {
    OutputQueue q;
    q.append("hello ");
    q.append_shared(std::make_shared<const std::string>("shared "));
    q.append("world");
    q.append("");  // empty chunks are dropped
    q.append_shared(nullptr);
    EXPECT_EQ(q.size_bytes(), 18u);

    iovec iov[8];
    ASSERT_EQ(q.gather(iov, 8), 3u);
    q.consume(8);  // "hello " and "sh"
    EXPECT_EQ(q.size_bytes(), 10u);
    ASSERT_EQ(q.gather(iov, 8), 2u);
    EXPECT_EQ(std::string(static_cast<char*>(iov[0].iov_base), iov[0].iov_len), "ared ");
    ASSERT_EQ(q.gather(iov, 1), 1u);  // respects the maximum
    q.consume(10);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.gather(iov, 8), 0u);
}

TEST(OutputQueue, FlushWritesEverythingInOrder) {
    SocketPair pair;
    OutputQueue q;
    std::string expected;
    // More chunks than one sendmsg takes (64 iovecs), mixing owned and shared.
    for (int i = 0; i < 200; ++i) {
        std::string part = "chunk" + std::to_string(i) + ";";
        expected += part;
        if (i % 2 == 0) {
            q.append(part);
        } else {
            q.append_shared(std::make_shared<const std::string>(part));
        }
    }
    EXPECT_EQ(q.flush_to(pair.writer), 0);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(pair.drain(), expected);
}

TEST(OutputQueue, FullSocketKeepsTheRestQueuedAndResumesMidChunk) {
    SocketPair pair;
    const int small = 4096;
    ::setsockopt(pair.writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    OutputQueue q;
    const auto shared = std::make_shared<const std::string>(pattern(300000, 7));
    const std::string owned = pattern(500000, 3);
    q.append_shared(shared);
    q.append(owned);
    const std::string expected = *shared + owned;

    std::string received;
    int rounds = 0;
    while (!q.empty()) {
        ASSERT_EQ(q.flush_to(pair.writer), 0);  // EAGAIN is not an error
        received += pair.drain();
        ++rounds;
        ASSERT_LT(rounds, 100000);
    }
    received += pair.drain();
    EXPECT_GT(rounds, 1) << "the socket buffer never filled up";
    EXPECT_EQ(received.size(), expected.size());
    EXPECT_TRUE(received == expected);
    EXPECT_EQ(shared.use_count(), 1);  // the queue let go of the shared buffer
}

TEST(OutputQueue, ClosedPeerGivesEpipeNotSigpipe) {
    // SIGPIPE is not ignored in this test binary: a signal would kill it.
    SocketPair pair;
    ::close(pair.reader);
    pair.reader = -1;
    OutputQueue q;
    q.append("nobody is listening");
    const int error = q.flush_to(pair.writer);
    EXPECT_EQ(error, EPIPE);
    EXPECT_FALSE(q.empty());
}

TEST(OutputQueue, WorksOnPipesToo) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    OutputQueue q;
    q.append("through ");
    q.append_shared(std::make_shared<const std::string>("a pipe"));
    EXPECT_EQ(q.flush_to(fds[1]), 0);
    char buffer[64] = {};
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)), "through a pipe");
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST(OutputQueue, BadFdReportsItsErrno) {
    OutputQueue q;
    q.append("x");
    EXPECT_EQ(q.flush_to(-1), EBADF);
}

}  // namespace
}  // namespace petrel::net
