// The gRPC client side of one HTTP/2 connection, sans-I/O like ServerSession: start_call()
// queues a unary request (headers as grpc-go sends them), receive()/produce_output() move
// bytes, on_timer() runs deadlines and keepalive, and every call ends exactly once as a
// CallResult (status and, for OK, the response message).
//
// Errors map as grpc-go maps them: a reset stream by its HTTP/2 code (CANCEL -> CANCELLED,
// REFUSED_STREAM -> UNAVAILABLE and `refused`, ...), a local deadline -> DEADLINE_EXCEEDED (also when the
// server's RST_STREAM(CANCEL) arrives after it), a response without grpc-status by its HTTP
// status. A GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") is remembered
// (told_too_many_pings()) so the owner can connect again with
// throttled_after_too_many_pings(params).
#pragma once

#include "transport/grpc/grpc_codec.hpp"
#include "transport/grpc/keepalive.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace zferry::transport::grpc {

struct ClientSessionOptions {
    // zrepl's client dials through its own connecter; grpc-go then sends the target's
    // endpoint as :authority.
    std::string authority = "doesntmatterdonebydialer";
    std::string user_agent = "grpc-zferry/0.1";
    std::size_t max_receive_message = kDefaultMaxMessage;
    KeepaliveParams keepalive{};
};

struct CallResult {
    std::int32_t stream_id = 0;
    Status status;
    std::string message;  // the response message, when status is OK
    // The call never left this side: the connection took no new calls (GOAWAY received, or it
    // ended). The server cannot have seen it, so it is safe to make again on a new connection.
    bool unsent = false;
    // The server refused the stream: RST_STREAM(REFUSED_STREAM) before any response (over its
    // concurrent-stream limit), or a GOAWAY whose last stream id is below the call's. By RFC
    // 9113 §8.7 it did not process the call, so it is safe to make again.
    bool refused = false;
};

class ClientSession {
public:
    ClientSession(ClientSessionOptions options, TimePoint now);
    ~ClientSession();
    ClientSession(const ClientSession&) = delete;
    ClientSession& operator=(const ClientSession&) = delete;

    // Queues a unary call; returns its stream id, or nullopt when the session cannot start
    // streams any more (GOAWAY received, ids exhausted, session ended).
    std::optional<std::int32_t> start_call(std::string_view path, std::string_view request,
                                           std::optional<Duration> timeout, TimePoint now);
    // RST_STREAM(CANCEL); the call ends CANCELLED.
    void cancel(std::int32_t stream_id);

    bool receive(std::span<const std::uint8_t> bytes, TimePoint now);
    void produce_output(std::string& out);
    void on_timer(TimePoint now);
    std::optional<TimePoint> next_timer() const;

    std::vector<CallResult> take_results();
    // The connection is gone (EOF, I/O error): every open call ends UNAVAILABLE with `why`.
    void connection_lost(std::string_view why);

    bool done() const;
    const std::string& close_reason() const;
    bool told_too_many_pings() const;
    std::size_t active_calls() const;
    // start_call can still start a call: no GOAWAY received, the session not ended.
    bool accepting_calls() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace zferry::transport::grpc
