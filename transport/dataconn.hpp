// dataconn: one request per connection, zrepl-compatible; between two zferry peers (both
// advertised zferry/1) a connection whose request completed cleanly carries the next one
// (dataconn_reuse.hpp). Client: ReqHeader message
// (endpoint), ReqStructured message, and for /v1/recv the ZFS stream. Server: ResHeader
// ("HANDLER OK\n" or "HANDLER ERROR:\n<text>"), ResStructured, and for /v1/send the stream.
// Stream payloads move pipe<->socket with splice (or readv/writev), never through our memory
// in splice mode. Handlers are pluggable; whatever a handler does wrong becomes an error
// sent to the client, never a crash of the server.
#pragma once

#include "core/log.hpp"
#include "core/owned_task.hpp"
#include "core/unique_fd.hpp"
#include "transport/dataconn_protocol.hpp"
#include "transport/dataconn_reuse.hpp"
#include "transport/handshake_io.hpp"
#include "transport/pending_connections.hpp"
#include "transport/stream_conn.hpp"

#include <boost/asio/steady_timer.hpp>

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

// What a server grants a connection before it has sent a whole request, i.e. before the
// peer has shown it speaks the protocol at all: the version handshake, the mux label, the
// request header and the structured request. Without these, a heartbeat or one byte every
// few seconds kept a connection (and its buffers) forever, and enough of them took every
// file descriptor.
struct DataconnServerLimits {
    // Connections in their preamble, in total and from one source address. A connection
    // beyond either limit closes the oldest such connection (of the same address, for the
    // per-address limit): a legitimate client is through its preamble in a few round trips,
    // so the connection that has waited longest is the likeliest to be stalling on purpose,
    // and a legitimate newcomer gets in while a flood holds every slot. 0: no limit.
    std::size_t max_pending = 256;
    std::size_t max_pending_per_address = 32;
    // One deadline for the whole preamble, counted from the accept. Progress does not extend
    // it (heartbeats do not either); once the request is read, idle timeouts apply again.
    std::chrono::milliseconds preamble_timeout{10000};
    // Request sizes (zrepl's limits). Memory grows with the bytes that arrive, never with the
    // size a frame announces; the banner reader holds a few KiB at most (BannerReader).
    std::size_t max_request_header = kRequestHeaderMax;
    std::size_t max_request = kRequestStructuredMax;
    // Accept failed for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the
    // oldest connection in its preamble is closed and accept retried; with none to close,
    // accept pauses this long instead of spinning.
    std::chrono::milliseconds accept_backoff{100};
    // A connection kept for another request (zferry/1 peers only): the next request, header
    // and structured part, must be in within this, counted from the end of the previous one
    // (the same bound a new connection's preamble has); otherwise it is closed.
    std::chrono::milliseconds next_request_timeout{10000};
};

// Connection reuse between zferry peers. With a zrepl peer (no zferry/1 in its banner) every
// connection carries one request, whatever these say.
struct DataconnReuseOptions {
    // Server: read another request on a connection whose request completed cleanly.
    bool serve = true;
    // Client: idle connections kept per endpoint (0: none, one request per connection), and
    // how long one may idle before it is closed instead of reused; well under the server's
    // next_request_timeout, so a server never closes a connection the client is taking.
    std::size_t client_max_idle = 0;
    std::chrono::milliseconds client_idle_timeout{3000};
};

// Told the stream bytes of every /v1/send and /v1/recv this side moved to its end (for
// metrics): `sent` when this side wrote the stream, false when it read it.
using StreamBytesObserver = std::function<void(std::string_view endpoint, bool sent, std::uint64_t bytes)>;

struct DataconnOptions {
    ConnOptions conn;
    FrameConnOptions frames;
    HeartbeatOptions heartbeat;
    StreamOptions stream;
    // Client: the limit for connecting, for the handshake and for the label, each.
    std::chrono::milliseconds handshake_timeout{10000};
    // Server: see DataconnServerLimits (the server's preamble is bounded by
    // limits.preamble_timeout, not by handshake_timeout).
    DataconnServerLimits limits;
    // Whether our banner advertises zferry/1; false plays a zrepl peer (tests, compatibility).
    bool advertise_zferry = true;
    DataconnReuseOptions reuse;
    StreamBytesObserver on_stream_bytes;  // null: not counted
};

struct RequestContext {
    Logger log;
    std::string client_identity;
    std::string endpoint;
    // Both sides advertised zferry/1: an error's class crosses with its text
    // (dataconn_protocol.hpp's kErrorClassTemporary).
    bool zferry_peer = false;
};

// The reply of a send handler: structured response and the read end of a pipe carrying the
// stream. wait_source is awaited after the pipe's EOF and says whether the source (e.g.
// `zfs send`) succeeded; its error goes to the client as the stream's error trailer.
struct SendReply {
    std::string structured;
    UniqueFd stream;
    std::function<asio::awaitable<Result<void>>()> wait_source;
    // Stops the source when its stream cannot reach the client any more (the client left, the
    // connection broke): a source stalled without writing never sees EPIPE and would never
    // exit. Optional; without it wait_source is awaited either way.
    std::function<asio::awaitable<void>()> abort_source;
    // The serving job's send.bandwidth_limit (null: none); it must outlive wait_source.
    Throttle* limit = nullptr;
};

// A recv handler's sink: the write end of a pipe the stream is written into (closed by the
// server at the stream's end), and finish, awaited afterwards with the outcome of the
// transfer, returning the structured response (e.g. after `zfs recv` exits).
struct RecvSession {
    UniqueFd stream;
    std::function<asio::awaitable<Result<std::string>>(Result<std::uint64_t> transfer)> finish;
    // The serving job's recv.bandwidth_limit (null: none); it must outlive finish.
    Throttle* limit = nullptr;
};

class DataconnHandler {
public:
    virtual ~DataconnHandler() = default;
    virtual asio::awaitable<Result<std::string>> ping(RequestContext& ctx, std::string request) = 0;
    virtual asio::awaitable<Result<SendReply>> send(RequestContext& ctx, std::string request) = 0;
    virtual asio::awaitable<Result<RecvSession>> recv(RequestContext& ctx, std::string request) = 0;
};

// Accepts on a TCP endpoint; every connection gets its own task for handshake, label and
// request, so a slow or malicious client never stalls others, and options.limits bounds what
// connections that have not sent a request yet can cost. stop() closes the acceptor,
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
    // Connections accepted whose request has not been read yet (at most limits.max_pending).
    std::size_t pending_connections() const noexcept;

    // Maps a peer address to a client identity; default: the address string. An error
    // refuses the peer: its connection is closed right after the accept, before anything is
    // read or written, and the refusal is logged with the peer's address and the error.
    std::function<Result<std::string>(const asio::ip::address&)> identify;

    // Serves one connection whose handshake and `zrepl_data` label another listener has read
    // (a listener that serves control and data on one port), for the client `identity`;
    // `zferry_peer`: the handshake found both sides advertising zferry/1 (errors carry their
    // class, and the connection may carry more requests). The request is read under the
    // absolute deadline the caller set on `conn` for its preamble, and `pending` (the caller's
    // slot among its connections in their preamble, whose close function closes `conn`) stays
    // counted until the request is in: a labelled connection that never sends a request is
    // still shed by the caller's limits. The caller owns the task running this and joins it
    // before the server goes; stop() does not know about it.
    asio::awaitable<void> serve_connection(std::unique_ptr<TcpConn> conn, std::string identity,
                                           PendingConnections::Slot pending, bool zferry_peer);
    // Connections that got as far as their label (each counted once, whatever it carried).
    std::uint64_t connections_served() const noexcept { return connections_served_; }
    // Requests read on a connection kept from an earlier request.
    std::uint64_t reused_requests() const noexcept { return reused_requests_; }

private:
    asio::awaitable<void> accept_loop();
    // Counts an accepted connection among the pending ones (closing the oldest as the limits
    // say); the slot's close function closes `conn`.
    PendingConnections::Slot admit(TcpConn& conn, const asio::ip::address& address);
    asio::awaitable<void> serve(std::unique_ptr<TcpConn> accepted, std::string identity,
                                PendingConnections::Slot admitted);
    // After the label: frames, heartbeats, the request, and the close, always awaited.
    asio::awaitable<void> serve_labelled(std::unique_ptr<TcpConn> conn, RequestContext ctx,
                                         PendingConnections::Slot& slot, bool reuse);
    // Reads the request and drives the protocol's decisions (dataconn_protocol.hpp). True
    // when the connection may carry another request (`reuse` and a clean end). `kept`: the
    // connection was kept from an earlier request (its end is no error).
    asio::awaitable<bool> serve_request(StreamConn& conn, RequestContext& ctx,
                                        PendingConnections::Slot& pending, bool reuse, bool kept);
    asio::awaitable<bool> serve_send(StreamConn& conn, RequestContext& ctx, std::string request, bool reuse);
    asio::awaitable<bool> serve_recv(StreamConn& conn, RequestContext& ctx, std::string request, bool reuse);
    // Logs and writes what a decision says; false if it could not be written. Returns
    // whether the connection may carry another request after it.
    asio::awaitable<bool> carry_out(StreamConn& conn, RequestContext& ctx, dataconn::ServerDecision decision,
                                    bool reuse = false);
    void reap();

    asio::io_context& ctx_;
    IoEngine& engine_;
    DataconnHandler& handler_;
    DataconnOptions options_;
    Logger log_;
    BufferPool pool_{15, 22, BufferPool::NoFit::allocate};
    asio::ip::tcp::acceptor acceptor_;
    OwnedTask accept_task_;
    // Connections accepted whose request has not been read yet; before conns_, whose tasks'
    // slots point into it.
    PendingConnections pending_;
    std::list<std::unique_ptr<OwnedTask>> conns_;
    bool stopping_ = false;
    std::uint64_t connections_served_ = 0;
    std::uint64_t reused_requests_ = 0;
};

class DataconnClient {
public:
    DataconnClient(asio::io_context& ctx, IoEngine& engine, asio::ip::tcp::endpoint server,
                   DataconnOptions options, Logger log);
    // Over any transport: every request's connection comes from `connector`.
    DataconnClient(asio::io_context& ctx, IoEngine& engine, std::shared_ptr<WireConnector> connector,
                   DataconnOptions options, Logger log);

    asio::awaitable<Result<std::string>> ping(std::string request);
    // Sends a /v1/send request; the stream is written into `sink` (a pipe's write end, not
    // closed by us). Returns the structured response; *bytes gets the stream size.
    // `on_response`, if set, gets the structured response as soon as it arrives, before the
    // stream (a caller that hands the stream on needs the response first).
    asio::awaitable<Result<std::string>> send(std::string request, int sink, std::uint64_t* bytes = nullptr,
                                              std::function<void(const std::string&)> on_response = {});
    // Sends a /v1/recv request with the stream read from `source` (a pipe's read end, until EOF).
    asio::awaitable<Result<std::string>> recv(std::string request, int source,
                                              std::uint64_t* bytes = nullptr);

    // Closes the idle connections (and keeps none from now on). Must be awaited before the
    // client goes when options.reuse.client_max_idle > 0: an idle connection runs tasks.
    asio::awaitable<void> close();
    // Connections opened (the handshake done) and requests that took a kept connection.
    std::uint64_t connections_opened() const noexcept { return connections_opened_; }
    std::uint64_t reused_requests() const noexcept { return reused_requests_; }
    std::size_t idle_connections() const noexcept { return idle_.size(); }

private:
    // A request's connection: kept ones come from the pool.
    struct Leased {
        std::unique_ptr<StreamConn> conn;
        bool zferry = false;  // both banners had zferry/1
        bool reused = false;
    };
    // The requests themselves; the public calls run them so that cancellation cannot skip
    // the close (see errors_on_cancel in dataconn.cpp).
    asio::awaitable<Result<std::string>> ping_request(std::string request);
    asio::awaitable<Result<std::string>> send_request(std::string request, int sink, std::uint64_t* bytes,
                                                      std::function<void(const std::string&)> on_response);
    asio::awaitable<Result<std::string>> recv_request(std::string request, int source, std::uint64_t* bytes);
    asio::awaitable<Result<Leased>> connect();
    // A kept connection that is still open, or a new one.
    asio::awaitable<Result<Leased>> lease();
    // Connects (or takes a kept connection) and sends the request (endpoint header,
    // structured request); on failure the connection is closed and the error returned. A kept
    // connection that fails before a byte of the request went out is replaced by a new one.
    asio::awaitable<Result<Leased>> start_request(std::string_view endpoint, const std::string& request);
    // After the request: back to the pool when it ended cleanly on a zferry/1 connection,
    // closed otherwise.
    asio::awaitable<void> finish(Leased c, bool clean);
    // Closes each kept connection when its idle timeout passes; runs while any is kept.
    asio::awaitable<void> reap_idle();

    asio::io_context& ctx_;
    IoEngine& engine_;
    std::shared_ptr<WireConnector> connector_;
    DataconnOptions options_;
    Logger log_;
    BufferPool pool_{15, 22, BufferPool::NoFit::allocate};
    dataconn::IdlePool<Leased> idle_;
    asio::steady_timer reap_timer_;
    OwnedTask reaper_;
    bool closed_ = false;
    std::uint64_t connections_opened_ = 0;
    std::uint64_t reused_requests_ = 0;
};

}  // namespace zferry::transport
