// The gRPC client over a connection: a ClientSession (grpc/client_session.hpp) driven over a
// TCP socket by run(), and call() for unary calls from any coroutine on the same executor,
// many at a time. The owner runs run() as a task it joins; close() ends it, and calls still
// waiting then end UNAVAILABLE.
//
// The socket's executor must be single-threaded (an io_context run by one thread, or a
// strand).
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "transport/grpc/client_session.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace zferry::transport::grpc {

namespace asio = boost::asio;

class GrpcClientConnection {
public:
    GrpcClientConnection(asio::ip::tcp::socket socket, ClientSessionOptions options, Logger log);
    ~GrpcClientConnection();
    GrpcClientConnection(const GrpcClientConnection&) = delete;
    GrpcClientConnection& operator=(const GrpcClientConnection&) = delete;

    // Drives the connection until the server ends it, it fails, or close(). Success when it
    // was closed here or the server went away cleanly.
    asio::awaitable<Result<void>> run();
    // One unary call. A cancelled caller resets the stream and gets CANCELLED. A call the
    // connection no longer takes (GOAWAY received, ended, closed) is UNAVAILABLE and `unsent`.
    // A call the server refused unprocessed (RST_STREAM(REFUSED_STREAM)) is made again on this
    // connection, up to 4 attempts within the one timeout; refused once the connection takes no
    // more calls (a GOAWAY below its stream id), it is UNAVAILABLE and `unsent` too.
    asio::awaitable<CallResult> call(std::string path, std::string request, std::optional<Duration> timeout);
    // Refused calls made again on this connection.
    std::uint64_t refused_retries() const;
    void close();
    // New calls can still go out on this connection (no GOAWAY received, not ended or closed):
    // an owner that reuses the connection asks first, and connects again otherwise.
    bool accepting_calls() const;

    // The server sent GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"): connect again with
    // next_keepalive() (the interval doubled), as grpc-go does.
    bool told_too_many_pings() const;
    KeepaliveParams next_keepalive() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace zferry::transport::grpc
