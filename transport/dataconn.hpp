// dataconn: one request per connection, zrepl-compatible. Client: ReqHeader message
// (endpoint), ReqStructured message, and for /v1/recv the ZFS stream. Server: ResHeader
// ("HANDLER OK\n" or "HANDLER ERROR:\n<text>"), ResStructured, and for /v1/send the stream.
// Stream payloads move pipe<->socket with splice (or readv/writev), never through our memory
// in splice mode. Handlers are pluggable; whatever a handler does wrong becomes an error
// sent to the client, never a crash of the server.
#pragma once

#include "core/log.hpp"
#include "core/owned_task.hpp"
#include "core/unique_fd.hpp"
#include "transport/handshake_io.hpp"
#include "transport/stream_conn.hpp"

#include <functional>
#include <list>

namespace zferry::transport {

inline constexpr std::string_view kEndpointPing = "/v1/ping";
inline constexpr std::string_view kEndpointSend = "/v1/send";
inline constexpr std::string_view kEndpointRecv = "/v1/recv";

inline constexpr std::size_t kRequestHeaderMax = 1 << 15;
inline constexpr std::size_t kRequestStructuredMax = 1 << 22;
inline constexpr std::size_t kResponseHeaderMax = 1 << 15;
inline constexpr std::size_t kResponseStructuredMax = 1 << 23;

struct DataconnOptions {
    ConnOptions conn;
    FrameConnOptions frames;
    HeartbeatOptions heartbeat;
    StreamOptions stream;
    std::chrono::milliseconds handshake_timeout{10000};
};

struct RequestContext {
    Logger log;
    std::string client_identity;
    std::string endpoint;
};

// The reply of a send handler: structured response and the read end of a pipe carrying the
// stream. wait_source is awaited after the pipe's EOF and says whether the source (e.g.
// `zfs send`) succeeded; its error goes to the client as the stream's error trailer.
struct SendReply {
    std::string structured;
    UniqueFd stream;
    std::function<asio::awaitable<Result<void>>()> wait_source;
};

// A recv handler's sink: the write end of a pipe the stream is written into (closed by the
// server at the stream's end), and finish, awaited afterwards with the outcome of the
// transfer, returning the structured response (e.g. after `zfs recv` exits).
struct RecvSession {
    UniqueFd stream;
    std::function<asio::awaitable<Result<std::string>>(Result<std::uint64_t> transfer)> finish;
};

class DataconnHandler {
public:
    virtual ~DataconnHandler() = default;
    virtual asio::awaitable<Result<std::string>> ping(RequestContext& ctx, std::string request) = 0;
    virtual asio::awaitable<Result<SendReply>> send(RequestContext& ctx, std::string request) = 0;
    virtual asio::awaitable<Result<RecvSession>> recv(RequestContext& ctx, std::string request) = 0;
};

// Accepts on a TCP endpoint; every connection gets its own task for handshake, label and
// request, so a slow or malicious client never stalls others. stop() closes the acceptor,
// cancels and joins every connection task.
class DataconnServer {
public:
    DataconnServer(asio::io_context& ctx, IoEngine& engine, DataconnHandler& handler, DataconnOptions options,
                   Logger log);
    ~DataconnServer();

    // Binds and starts accepting (port 0: any free port, see local_endpoint()).
    Result<void> listen(const asio::ip::tcp::endpoint& ep);
    asio::ip::tcp::endpoint local_endpoint() const;
    asio::awaitable<void> stop();
    std::size_t active_connections() const noexcept;

    // Maps a peer address to a client identity; default: the address string.
    std::function<std::string(const asio::ip::address&)> identify;

private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(asio::ip::tcp::socket socket);
    asio::awaitable<void> serve_request(StreamConn& conn, RequestContext& ctx);
    void reap();

    asio::io_context& ctx_;
    IoEngine& engine_;
    DataconnHandler& handler_;
    DataconnOptions options_;
    Logger log_;
    BufferPool pool_{15, 22, BufferPool::NoFit::allocate};
    asio::ip::tcp::acceptor acceptor_;
    OwnedTask accept_task_;
    std::list<std::unique_ptr<OwnedTask>> conns_;
    bool stopping_ = false;
};

class DataconnClient {
public:
    DataconnClient(asio::io_context& ctx, IoEngine& engine, asio::ip::tcp::endpoint server,
                   DataconnOptions options, Logger log);

    asio::awaitable<Result<std::string>> ping(std::string request);
    // Sends a /v1/send request; the stream is written into `sink` (a pipe's write end, not
    // closed by us). Returns the structured response; *bytes gets the stream size.
    asio::awaitable<Result<std::string>> send(std::string request, int sink, std::uint64_t* bytes = nullptr);
    // Sends a /v1/recv request with the stream read from `source` (a pipe's read end, until EOF).
    asio::awaitable<Result<std::string>> recv(std::string request, int source,
                                              std::uint64_t* bytes = nullptr);

private:
    asio::awaitable<Result<std::unique_ptr<StreamConn>>> connect();
    // Connects and sends the request (endpoint header, structured request); on failure the
    // connection is closed and the error returned.
    asio::awaitable<Result<std::unique_ptr<StreamConn>>> start_request(std::string_view endpoint,
                                                                       const std::string& request);

    asio::io_context& ctx_;
    IoEngine& engine_;
    asio::ip::tcp::endpoint server_;
    DataconnOptions options_;
    Logger log_;
    BufferPool pool_{15, 22, BufferPool::NoFit::allocate};
};

}  // namespace zferry::transport
