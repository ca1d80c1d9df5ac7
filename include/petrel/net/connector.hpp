// An outgoing connection being made: resolve HOST, connect over TCP without blocking,
// run the TLS client handshake if asked, and hand over a ready Stream. It knows nothing
// of MQTT (a bridge drives one and then speaks MQTT over the stream).
//
// Endpoints are tried in the order given, and within one the addresses its host resolves
// to ("localhost": ::1, then 127.0.0.1), each attempt bounded by `timeout`, which covers
// the TCP connect and the TLS handshake together: a black-holed address costs that long
// and never blocks the loop or its other connections. The first attempt to succeed wins;
// when all fail, one report lists each address tried and why.
//
// Host names are looked up on a helper thread (getaddrinfo may wait on DNS), bounded by
// the same timeout; IP literals are converted on the spot, without DNS. Everything else
// runs on the loop's thread.
//
// With TLS 1.3 the client's handshake ends before the server has checked a client
// certificate: a server refusing ours is seen as the stream closing at once (its
// tls_error() says why), not as a failed connect.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "petrel/net/event_loop.hpp"
#include "petrel/net/stream.hpp"

namespace petrel::net {

class TlsClientContext;
class AsyncResolve;
struct SocketAddress;

struct Endpoint {
    std::string host;  // a name, or an IP literal (IPv6 without brackets)
    std::uint16_t port = 0;
    std::string to_string() const;  // "host:port", "[::1]:port"
};

// "HOST:PORT" or "[IPV6]:PORT" (port 1-65535); nullopt when malformed.
std::optional<Endpoint> parse_endpoint(std::string_view text);

struct ConnectOptions {
    std::vector<Endpoint> endpoints;              // tried in turn
    std::chrono::milliseconds timeout{10000};     // per address: TCP connect + TLS handshake
    std::shared_ptr<const TlsClientContext> tls;  // null: plain TCP
};

enum class ConnectFailure {
    Resolve,   // the host name did not resolve
    Refused,   // nothing listens there (ECONNREFUSED)
    TimedOut,  // no answer within the timeout (TCP or TLS)
    Tls,       // the handshake failed: verification, protocol version, alert …
    Network,   // any other socket error (unreachable network, reset …)
};

struct ConnectAttempt {
    std::string address;  // "localhost:8883 (::1)", or "name:port" when it did not resolve
    ConnectFailure failure = ConnectFailure::Network;
    std::string reason;  // errno text, or OpenSSL's reasons
};

struct ConnectError {
    std::vector<ConnectAttempt> attempts;  // in the order tried
    // "cannot connect: ADDRESS: REASON; ADDRESS: REASON"
    std::string message() const;
};

class Connector {
  public:
    // The stream is open (TLS established) and already watched by the loop, with the
    // callbacks given to the constructor. `endpoint` is the index of the one that answered.
    using OnConnected = std::function<void(std::unique_ptr<Stream> stream, std::size_t endpoint)>;
    using OnFailed = std::function<void(const ConnectError& error)>;

    // Loop-thread only, as every member. Nothing happens before start().
    Connector(EventLoop& loop, ConnectOptions options, Stream::Callbacks stream_callbacks,
              OnConnected on_connected, OnFailed on_failed);
    // Cancels an attempt in flight: its socket is closed and no callback runs afterwards.
    ~Connector();
    Connector(const Connector&) = delete;
    Connector& operator=(const Connector&) = delete;

    // Starts connecting. Exactly one of the two callbacks runs later, on the loop (never
    // inside start()); it may destroy the Connector. Calling start() again after that
    // starts over from the first endpoint; while connecting it is ignored.
    void start();
    bool connecting() const { return connecting_; }

  private:
    void next_endpoint();
    void resolved(std::vector<SocketAddress> addresses);
    void fail_endpoint(std::string reason);  // its host did not resolve
    void next_address();
    void on_socket_event();
    void on_tcp_connected();
    void advance_handshake();
    void on_timeout(std::uint64_t attempt);
    void fail_attempt(ConnectFailure failure, std::string reason);
    void succeed();
    void close_socket();
    std::string attempt_name() const;

    EventLoop& loop_;
    const ConnectOptions options_;
    Stream::Callbacks stream_callbacks_;
    OnConnected on_connected_;
    OnFailed on_failed_;

    bool connecting_ = false;
    std::size_t endpoint_ = 0;              // the endpoint being tried
    std::vector<SocketAddress> addresses_;  // its addresses
    std::size_t address_ = 0;               // the one being tried
    std::unique_ptr<AsyncResolve> resolving_;
    int fd_ = -1;
    bool watched_ = false;
    TlsSessionPtr tls_;
    std::uint64_t attempt_ = 0;  // tags timers, so that a stale one does nothing
    ConnectError error_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards timers, deferrals
};

}  // namespace petrel::net
