// The gRPC server over a connection: one coroutine drives a ServerSession (grpc/
// server_session.hpp) over a TCP socket, runs each call's handler as a task it owns, and ends
// when the peer or the session ends the connection. Every handler it started has finished
// (cancelled if still running) when serve_grpc_connection returns.
//
// The socket's executor must be single-threaded (an io_context run by one thread, or a
// strand): the session and the handlers' replies meet on it without locks.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "transport/grpc/grpc_codec.hpp"
#include "transport/grpc/server_session.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>

namespace zferry::transport::grpc {

namespace asio = boost::asio;

// What a handler knows about its call. `log` carries the method and the client identity.
struct CallContext {
    Logger log;
    std::string method;  // "/Replication/Ping"
    std::string client_identity;
    std::optional<TimePoint> deadline;
};

struct UnaryReply {
    Status status;
    std::string message;  // the serialized response, when status is OK

    static UnaryReply ok(std::string message) { return UnaryReply{Status{}, std::move(message)}; }
    static UnaryReply error(StatusCode code, std::string text) {
        return UnaryReply{{code, std::move(text)}, {}};
    }
};

// A unary method: the serialized request in, a reply out. Cancelled (the coroutine sees
// operation_aborted) when the client resets the call, its deadline passes or the connection
// ends. An exception becomes UNKNOWN with its text.
using UnaryHandler = std::function<asio::awaitable<UnaryReply>(CallContext ctx, std::string request)>;

// Method path -> handler. Unknown paths are answered UNIMPLEMENTED with grpc-go's texts.
class ServiceDispatch {
public:
    void add(std::string path, UnaryHandler handler) { handlers_[std::move(path)] = std::move(handler); }
    const UnaryHandler* find(std::string_view path) const {
        auto it = handlers_.find(path);
        return it == handlers_.end() ? nullptr : &it->second;
    }
    // The status for a path without a handler: "unknown service S", "unknown method M for
    // service S" or "malformed method name: ...".
    Status unknown_method(std::string_view path) const;

private:
    std::map<std::string, UnaryHandler, std::less<>> handlers_;
};

// Shared by a server's connections: drain() makes every connection that watches it shut down
// gracefully (GOAWAY, the calls in flight finish within GrpcServerOptions::shutdown_grace and
// are cancelled after it) and end. Lives on the connections' executor and outlives them.
class DrainSignal {
public:
    explicit DrainSignal(asio::any_io_executor ex);
    ~DrainSignal();
    void drain();
    bool draining() const noexcept { return draining_; }
    // Completes when drain() is called (or the wait is cancelled); check draining() after.
    // Not a coroutine itself: the caller loops.
    asio::awaitable<std::tuple<error_code>> wait_once() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    bool draining_ = false;
};

struct GrpcServerOptions {
    ServerSessionOptions session;
    std::string client_identity;         // from the transport; goes into every call's log context
    const DrainSignal* drain = nullptr;  // none: the connection ends only with the peer or cancellation
    std::chrono::milliseconds shutdown_grace{10000};
    // If set, kept equal to the calls this connection is serving (the owner's "is it idle?").
    std::shared_ptr<std::size_t> calls_in_flight;
};

// Serves one HTTP/2 connection (prior knowledge, no banner: whatever precedes HTTP/2 on the
// connection has been read by the caller). Returns success when the peer closed or went away
// cleanly; an error when the session ended it (too_many_pings: Errc::protocol_error;
// unanswered keepalive: Errc::timeout) or the socket failed. The socket is closed on return.
asio::awaitable<Result<void>> serve_grpc_connection(asio::ip::tcp::socket socket,
                                                    const ServiceDispatch& dispatch,
                                                    GrpcServerOptions options, Logger log);

}  // namespace zferry::transport::grpc
