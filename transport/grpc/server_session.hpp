// The gRPC server side of one HTTP/2 connection, sans-I/O: bytes in (receive), bytes out
// (produce_output), time in (`now` on every call, on_timer at next_timer()). Requests whose
// message is complete come out as IncomingCall; the owner answers each with respond() or
// fail(). Calls the peer resets or whose grpc-timeout passes come out of take_cancelled()
// (the session has already sent RST_STREAM(CANCEL) for an expired deadline, as grpc-go does).
//
// Keepalive with grpc-go's semantics: the server pings after `keepalive.time` without reading
// anything and gives up `keepalive.timeout` after an unanswered ping; pings it receives are
// judged by the enforcement policy, and too many end the connection with one
// GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"), after which done() turns true once the output
// is taken: the owner writes it and closes the socket, as grpc-go closes at once.
//
// nghttp2 stays inside the .cpp.
#pragma once

#include "transport/grpc/grpc_codec.hpp"
#include "transport/grpc/keepalive.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace zferry::transport::grpc {

struct ServerSessionOptions {
    std::size_t max_receive_message = kDefaultMaxMessage;
    // Calls in flight; advertised in SETTINGS, a stream beyond it is refused (REFUSED_STREAM,
    // which a client may retry).
    std::uint32_t max_concurrent_streams = 100;
    // Header bytes per request (names + values + 32 per field, as HTTP/2 counts them).
    std::size_t max_header_list = 16 << 10;
    KeepaliveParams keepalive{};
    EnforcementPolicy enforcement{};
};

struct IncomingCall {
    std::int32_t stream_id = 0;
    std::string path;  // "/Replication/Ping"
    std::string authority;
    std::optional<TimePoint> deadline;                          // from grpc-timeout
    std::vector<std::pair<std::string, std::string>> metadata;  // non-reserved headers, in order
    std::string message;                                        // the request message
};

class ServerSession {
public:
    ServerSession(ServerSessionOptions options, TimePoint now);
    ~ServerSession();
    ServerSession(const ServerSession&) = delete;
    ServerSession& operator=(const ServerSession&) = delete;

    // Bytes read from the peer. False when the session is beyond repair (a fatal nghttp2
    // error such as a wrong client magic): write what produce_output gives, then close.
    // A peer's protocol errors are answered by GOAWAY or RST_STREAM in the output.
    bool receive(std::span<const std::uint8_t> bytes, TimePoint now);
    // Everything there is to write, appended to `out`.
    void produce_output(std::string& out);
    // Deadlines and keepalive.
    void on_timer(TimePoint now);
    std::optional<TimePoint> next_timer() const;

    std::vector<IncomingCall> take_calls();
    std::vector<std::int32_t> take_cancelled();

    // The answer to a call: OK with one message, or a status (Trailers-Only). Ignored for a
    // call that is gone (cancelled, reset, connection closing).
    void respond(std::int32_t stream_id, std::string_view message);
    void fail(std::int32_t stream_id, const Status& status);

    // Graceful shutdown, as grpc-go's GracefulStop: GOAWAY(2^31-1, NO_ERROR) and a PING; on
    // its ACK, or after `drain_wait`, the final GOAWAY(last stream id, NO_ERROR,
    // "graceful_stop"). Calls accepted before it run to completion (the owner bounds how long
    // they may take); later ones are refused. done() once none remain.
    void begin_shutdown(TimePoint now, Duration drain_wait = std::chrono::seconds(5));

    // Nothing more to read or write: close the connection.
    bool done() const;
    // Why the session ended ("too_many_pings", "keepalive ping not acked within timeout", a
    // protocol error), empty while it runs or after a clean end.
    const std::string& close_reason() const;
    std::size_t active_calls() const;
    int ping_strikes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace zferry::transport::grpc
