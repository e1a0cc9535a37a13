#include "transport/dataconn.hpp"

#include "core/async.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>
#include <unistd.h>

#include <exception>

namespace zferry::transport {
namespace {

// Runs a handler call, turning exceptions and empty results into errors for the client.
template <class T, class F>
asio::awaitable<Result<T>> guarded(F&& f) {
    try {
        co_return co_await f();
    } catch (const std::exception& e) {
        co_return Error(Errc::internal, std::string("handler failed: ") + e.what());
    } catch (...) {
        co_return Error(Errc::internal, "handler failed with an unknown exception");
    }
}

asio::awaitable<Result<std::string>> read_response(StreamConn& conn, bool zferry_peer) {
    auto header = co_await conn.read_message(frame_type::res_header, kResponseHeaderMax);
    if (!header) co_return header.error();
    auto verdict = dataconn::parse_response_header(*header, zferry_peer);
    if (auto* refused = std::get_if<dataconn::response::Refused>(&verdict)) co_return refused->error;
    if (auto* invalid = std::get_if<dataconn::response::Invalid>(&verdict)) co_return invalid->error;
    co_return co_await conn.read_message(frame_type::res_structured, kResponseStructuredMax);
}

template <class T>
asio::awaitable<T> without_cancellation_exceptions(asio::awaitable<T> a) {
    co_await asio::this_coro::throw_if_cancelled(false);
    co_return co_await std::move(a);
}

// Runs a client request as a coroutine thread of its own on which no co_await throws when
// cancelled (the transport answers operation_aborted instead): a cancelled request still
// closes its connection and joins the connection's tasks before their memory goes, and the
// caller's own exception behaviour stays as it was. The caller's cancellation is forwarded.
template <class T>
asio::awaitable<T> errors_on_cancel(asio::awaitable<T> a) {
    auto ex = co_await asio::this_coro::executor;
    co_return co_await asio::co_spawn(ex, without_cancellation_exceptions(std::move(a)), asio::use_awaitable);
}

// The two halves of a /v1/recv client run side by side. Both turn cancellation into error
// results instead of exceptions: the layers below release their write lock and finish
// their frames only on the error path, and the connection is closed afterwards.
asio::awaitable<Result<std::string>> read_recv_response(StreamConn& conn, bool zferry_peer) {
    co_await asio::this_coro::throw_if_cancelled(false);
    co_return co_await read_response(conn, zferry_peer);
}

// The stream, then End. A local source failure leaves the connection usable: the server
// learns of it from an error trailer and answers with an error.
asio::awaitable<Result<std::uint64_t>> write_recv_stream(StreamConn& conn, AsyncFd& source) {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto sent = co_await conn.write_stream_data(frame_type::zfs_stream, source);
    if (sent) {
        auto end = co_await conn.write_end();
        if (!end) co_return end.error();
        co_return sent;
    }
    auto cs = co_await asio::this_coro::cancellation_state;
    if (conn.usable() && cs.cancelled() == asio::cancellation_type::none) {
        std::string text = "client stream source failed: " + sent.error().message();
        (void)co_await conn.write_error_trailer(text);
    }
    co_return sent;
}

// The server answers /v1/recv before the stream's end only to refuse or to fail: its answer
// stops the stream. A stream that ends or fails first leaves the answer to be read (a
// refusal explains a broken stream better than the broken pipe does).
struct StopStreamOnResponse {
    asio::cancellation_type_t operator()(const std::exception_ptr& e, const Result<std::uint64_t>&) const {
        return e ? asio::cancellation_type::terminal : asio::cancellation_type::none;
    }
    asio::cancellation_type_t operator()(const std::exception_ptr&, const Result<std::string>&) const {
        return asio::cancellation_type::terminal;
    }
};

// Shared by a /v1/send's stream writer and the reader of the client's heartbeats: the reader
// says the client left and stops the writer.
struct ClientGone {
    bool left = false;
    AsyncFd* pipe = nullptr;  // the source's pipe while the writer uses it
};

}  // namespace

// ---------------------------------------------------------------------------- server

DataconnServer::DataconnServer(asio::io_context& ctx, IoEngine& engine, DataconnHandler& handler,
                               DataconnOptions options, Logger log)
    : ctx_(ctx),
      engine_(engine),
      handler_(handler),
      options_(options),
      log_(std::move(log)),
      acceptor_(ctx),
      accept_task_(ctx.get_executor()),
      pending_(PendingLimits{options.limits.max_pending, options.limits.max_pending_per_address}) {}

DataconnServer::~DataconnServer() {
    error_code ignored;
    acceptor_.close(ignored);
}

Result<void> DataconnServer::listen(const asio::ip::tcp::endpoint& ep) {
    error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error(ec, "listening on " + ep.address().to_string() + ":" + std::to_string(ep.port()));
    log_.info("dataconn server listening on {}:{} (io engine: {})", ep.address().to_string(),
              local_endpoint().port(), engine_.name());
    accept_task_.start(accept_loop());
    return {};
}

asio::ip::tcp::endpoint DataconnServer::local_endpoint() const {
    error_code ec;
    return acceptor_.local_endpoint(ec);
}

std::size_t DataconnServer::active_connections() const noexcept {
    std::size_t n = 0;
    for (const auto& t : conns_) n += t->running();
    return n;
}

void DataconnServer::reap() {
    conns_.remove_if([](const std::unique_ptr<OwnedTask>& t) { return !t->running(); });
}

std::size_t DataconnServer::pending_connections() const noexcept { return pending_.count(); }

PendingConnections::Slot DataconnServer::admit(TcpConn& conn, const asio::ip::address& address) {
    return pending_.admit(address.to_string(), [this, c = &conn](std::string_view why) {
        log_.with("peer", c->peer())
            .warn(
                "closing a connection that has not sent its request yet: {}; a legitimate client reconnects",
                why);
        // Closing the socket fails the connection's pending operations at once, so its task
        // ends through its ordinary error path and the descriptor is free now.
        c->close();
    });
}

asio::awaitable<void> DataconnServer::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_ec);
        if (ec == asio::error::operation_aborted || stopping_ || !acceptor_.is_open()) co_return;
        if (ec) {
            // Never spin on a failing accept, never give up on it: make room if a connection
            // that has not sent its request can be closed, otherwise pause.
            if (is_resource_shortage(ec) &&
                pending_.shed_oldest(nullptr, "accepting a new connection failed: " + ec.message()))
                continue;
            log_.warn("accepting a connection failed: {}; retrying in {} ms", ec.message(),
                      options_.limits.accept_backoff.count());
            asio::steady_timer t(ctx_, options_.limits.accept_backoff);
            co_await t.async_wait(use_ec);
            continue;
        }
        reap();
        error_code rec;
        const auto remote = socket.remote_endpoint(rec);
        if (rec) continue;  // the peer is gone already; the socket closes here
        std::string identity;
        if (identify) {
            Result<std::string> id = Error(Errc::internal, "identify failed with an unknown exception");
            try {
                id = identify(remote.address());
            } catch (const std::exception& e) {
                id = Error(Errc::internal, std::string("identify failed: ") + e.what());
            } catch (...) {
            }
            if (!id) {
                log_.with("peer", describe_endpoint(remote))
                    .warn("refusing connection: {}", id.error().message());
                continue;  // closed before a byte is read or written
            }
            identity = std::move(*id);
        } else {
            identity = remote.address().to_string();
        }
        auto conn = std::make_unique<TcpConn>(engine_, std::move(socket), options_.conn);
        auto slot = admit(*conn, remote.address());
        auto task = std::make_unique<OwnedTask>(ctx_.get_executor());
        task->start(serve(std::move(conn), std::move(identity), std::move(slot)));
        conns_.push_back(std::move(task));
    }
}

asio::awaitable<void> DataconnServer::stop() {
    stopping_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    co_await accept_task_.join();
    for (auto& t : conns_) t->cancel();
    for (auto& t : conns_) co_await t->join();
    conns_.clear();
}

asio::awaitable<void> DataconnServer::serve(std::unique_ptr<TcpConn> accepted, std::string identity,
                                            PendingConnections::Slot admitted) {
    // Locals, so that the slot (whose close function points at the connection) goes first.
    auto conn = std::move(accepted);
    auto slot = std::move(admitted);
    RequestContext ctx{log_.with("peer", conn->peer()).with("client", identity), identity, {}};
    // One deadline for the handshake, the label and the request: no step's progress (nor a
    // heartbeat) buys a slow peer more time. serve_request lifts it once the request is in.
    conn->set_absolute_deadline(Clock::now() + options_.limits.preamble_timeout);
    auto hs = co_await exchange_banners_within_deadline(*conn, banner_for(options_.advertise_zferry));
    if (!hs) {
        if (slot.shed()) co_return;  // logged when it was closed
        ctx.log.warn("closing connection: {}", hs.error().message());
        co_return;
    }
    auto label = co_await read_label_within_deadline(*conn);
    if (!label) {
        if (slot.shed()) co_return;
        ctx.log.warn("closing connection: {}", label.error().message());
        co_return;
    }
    if (*label != MuxLabel::zrepl_data) {
        ctx.log.warn("closing connection: label {} is not served by the dataconn server", label_name(*label));
        co_return;
    }
    ctx.zferry_peer = hs->zferry_extensions;
    co_await serve_labelled(std::move(conn), std::move(ctx), slot, hs->zferry_extensions);
}

asio::awaitable<void> DataconnServer::serve_connection(std::unique_ptr<TcpConn> accepted,
                                                       std::string identity, PendingConnections::Slot pending,
                                                       bool zferry_peer) {
    // Locals, so that the slot (whose close function points at the connection) goes first.
    auto conn = std::move(accepted);
    auto slot = std::move(pending);
    RequestContext ctx{log_.with("peer", conn->peer()).with("client", identity), identity, {}, zferry_peer};
    // The caller's deadline for its preamble (handshake, label) covers the request too.
    co_await serve_labelled(std::move(conn), std::move(ctx), slot, zferry_peer);
}

asio::awaitable<void> DataconnServer::serve_labelled(std::unique_ptr<TcpConn> conn, RequestContext ctx,
                                                     PendingConnections::Slot& slot, bool zferry_negotiated) {
    ++connections_served_;
    const bool reuse = zferry_negotiated && options_.reuse.serve;
    auto frames = std::make_unique<FrameConn>(std::move(conn), pool_, options_.frames);
    auto hb = std::make_unique<HeartbeatConn>(std::move(frames), options_.heartbeat);
    StreamConn sc(std::move(hb), pool_, options_.stream);
    // The connection now runs tasks of its own (heartbeats, background reads) that must be
    // joined before `sc` goes, also when stop() cancelled us: from here no co_await throws
    // on cancellation (the transport answers operation_aborted), and close is always awaited.
    co_await asio::this_coro::throw_if_cancelled(false);
    std::exception_ptr failure;
    try {
        const RequestContext connection_ctx = ctx;
        bool next = co_await serve_request(sc, ctx, slot, reuse, false);
        while (next) {
            // The next request under the same bounds as a new connection's: within the
            // deadline from now, the same size limits. A /v1/send's background reader is
            // still waiting for the client's next frame; it ends with that frame (or the
            // deadline, or EOF), which the next read gets.
            sc.heartbeat().frames().conn().set_absolute_deadline(Clock::now() +
                                                                 options_.limits.next_request_timeout);
            co_await sc.heartbeat().join_background_reads();
            ctx = connection_ctx;
            next = co_await serve_request(sc, ctx, slot, reuse, true);
        }
    } catch (...) {
        failure = std::current_exception();
    }
    co_await sc.close();
    if (failure) std::rethrow_exception(failure);
}

asio::awaitable<bool> DataconnServer::serve_request(StreamConn& conn, RequestContext& ctx,
                                                    PendingConnections::Slot& pending, bool reuse,
                                                    bool kept) {
    auto header = co_await conn.read_message(frame_type::req_header, options_.limits.max_request_header);
    if (!header) {
        // A kept connection ends here when the client closes it or lets it idle: no error.
        if (kept)
            ctx.log.debug("connection kept for another request ends: {}", header.error().message());
        else if (!pending.shed())
            ctx.log.warn("reading request header: {}", header.error().message());
        co_return false;
    }
    if (kept) ++reused_requests_;
    ctx.endpoint = *header;
    ctx.log = ctx.log.with("request", ctx.endpoint);
    auto structured = co_await conn.read_message(frame_type::req_structured, options_.limits.max_request);
    if (!structured) {
        if (!pending.shed()) ctx.log.warn("reading request: {}", structured.error().message());
        co_return false;
    }
    // The request is in: the connection leaves the preamble's limits, and the handler's work
    // (a long stream) runs on idle timeouts again.
    pending.release();
    conn.heartbeat().frames().conn().clear_absolute_deadline();

    auto endpoint = dataconn::parse_endpoint(ctx.endpoint);
    if (!endpoint) {
        co_await carry_out(conn, ctx, dataconn::refuse(endpoint.error()));
        co_return false;
    }
    switch (*endpoint) {
        case dataconn::Endpoint::ping: {
            auto r =
                co_await guarded<std::string>([&] { return handler_.ping(ctx, std::move(*structured)); });
            co_return co_await carry_out(conn, ctx, dataconn::answer(std::move(r)), reuse);
        }
        case dataconn::Endpoint::send:
            co_return co_await serve_send(conn, ctx, std::move(*structured), reuse);
        case dataconn::Endpoint::recv:
            co_return co_await serve_recv(conn, ctx, std::move(*structured), reuse);
    }
    co_return false;
}

asio::awaitable<bool> DataconnServer::serve_send(StreamConn& conn, RequestContext& ctx, std::string request,
                                                 bool reuse) {
    auto r = co_await guarded<SendReply>([&] { return handler_.send(ctx, std::move(request)); });
    if (r) {
        if (auto e = dataconn::incomplete_reply(dataconn::Endpoint::send, static_cast<bool>(r->stream),
                                                static_cast<bool>(r->wait_source)))
            r = std::move(*e);
    }
    if (!r) {
        co_await carry_out(conn, ctx, dataconn::refuse(r.error()));
        co_return false;
    }
    if (auto ec = set_nonblocking(r->stream.get())) {
        co_await carry_out(conn, ctx, dataconn::refuse(Error(ec, "send stream pipe")));
        co_return false;
    }
    if (!co_await carry_out(conn, ctx, dataconn::answer(std::move(r->structured)), true)) {
        r->stream.reset();
        (void)co_await guarded<void>(r->wait_source);
        co_return false;
    }
    Result<std::uint64_t> sent = std::uint64_t{0};
    {
        auto pipe = engine_.attach(r->stream.get());
        // The client's heartbeats keep our writes alive while its consumer stalls; they are
        // read until the close. When that reader ends (the client closed, reset or went
        // silent), the stream stops: a writer waiting on a stalled source would otherwise wait
        // as long as the source, with nobody left to read what it writes.
        auto gone = std::make_shared<ClientGone>();
        gone->pipe = pipe.get();
        conn.heartbeat().start_background_reads([gone] {
            gone->left = true;
            if (gone->pipe) gone->pipe->cancel();
        });
        sent = co_await conn.write_stream_data(frame_type::zfs_stream, *pipe, &gone->left, r->limit);
        gone->pipe = nullptr;
        if (gone->left && !sent)
            sent = Error(TransportErrc::connection_closed,
                         "sending stream: the client left (" + sent.error().message() + ")");
    }
    if (sent && options_.on_stream_bytes) options_.on_stream_bytes(kEndpointSend, true, *sent);
    // Close our read end before waiting: a source blocked on a full pipe must see EPIPE.
    r->stream.reset();
    Result<void> source;
    if (!sent && r->abort_source) {
        // Nobody reads the rest: a source that stalls without writing would never see EPIPE.
        try {
            co_await r->abort_source();
        } catch (...) {
        }
        source = Error(Errc::shutdown, "the stream's source was stopped: its client is gone");
    } else {
        source = co_await guarded<void>(r->wait_source);
    }
    co_return co_await carry_out(conn, ctx, dataconn::send_outcome(sent, source), reuse);
}

asio::awaitable<bool> DataconnServer::serve_recv(StreamConn& conn, RequestContext& ctx, std::string request,
                                                 bool reuse) {
    auto r = co_await guarded<RecvSession>([&] { return handler_.recv(ctx, std::move(request)); });
    if (r) {
        if (auto e = dataconn::incomplete_reply(dataconn::Endpoint::recv, static_cast<bool>(r->stream),
                                                static_cast<bool>(r->finish)))
            r = std::move(*e);
    }
    if (!r) {
        co_await carry_out(conn, ctx, dataconn::refuse(r.error()));
        co_return false;
    }
    if (auto ec = set_nonblocking(r->stream.get())) {
        co_await carry_out(conn, ctx, dataconn::refuse(Error(ec, "recv stream pipe")));
        co_return false;
    }
    Result<std::uint64_t> received = std::uint64_t{0};
    {
        auto pipe = engine_.attach(r->stream.get());
        received = co_await conn.read_stream(frame_type::zfs_stream, *pipe, r->limit);
    }
    if (received && options_.on_stream_bytes) options_.on_stream_bytes(kEndpointRecv, false, *received);
    r->stream.reset();  // EOF for the consumer
    auto finished = co_await guarded<std::string>([&] { return r->finish(received); });
    co_return co_await carry_out(
        conn, ctx, dataconn::recv_outcome(received, conn.sink_failed(), conn.usable(), finished), reuse);
}

asio::awaitable<bool> DataconnServer::carry_out(StreamConn& conn, RequestContext& ctx,
                                                dataconn::ServerDecision decision, bool reuse) {
    const bool keeps = dataconn::server_serves_next(true, reuse, decision, true);
    if (decision.log && Logger::enabled(decision.log->level))
        ctx.log.write(decision.log->level, decision.log->text);
    Result<void> r;
    if (auto* ok = std::get_if<dataconn::server_action::RespondOk>(&decision.action)) {
        r = co_await conn.write_message(frame_type::res_header, dataconn::kHandlerOk);
        if (r) r = co_await conn.write_message(frame_type::res_structured, ok->structured);
        if (!r) ctx.log.warn("writing response: {}", r.error().message());
    } else if (auto* err = std::get_if<dataconn::server_action::RespondError>(&decision.action)) {
        const Error told = dataconn::error_for_client(err->error, stopping_);
        ctx.log.warn("request failed: {}", told.message());
        std::string text = dataconn::error_header(told, ctx.zferry_peer);
        (void)co_await conn.write_message(frame_type::res_header, text);
    } else if (auto* trailer = std::get_if<dataconn::server_action::WriteErrorTrailer>(&decision.action)) {
        (void)co_await conn.write_error_trailer(trailer->text);
    } else if (std::holds_alternative<dataconn::server_action::WriteEnd>(decision.action)) {
        r = co_await conn.write_end();
    }
    co_return keeps&& static_cast<bool>(r);
}

// ---------------------------------------------------------------------------- client

DataconnClient::DataconnClient(asio::io_context& ctx, IoEngine& engine, asio::ip::tcp::endpoint server,
                               DataconnOptions options, Logger log)
    : DataconnClient(ctx, engine, std::make_shared<TcpWireConnector>(server), options, std::move(log)) {}

DataconnClient::DataconnClient(asio::io_context& ctx, IoEngine& engine,
                               std::shared_ptr<WireConnector> connector, DataconnOptions options, Logger log)
    : ctx_(ctx),
      engine_(engine),
      connector_(std::move(connector)),
      options_(options),
      log_(std::move(log)),
      idle_(options.reuse.client_max_idle, options.reuse.client_idle_timeout),
      reap_timer_(ctx),
      reaper_(ctx.get_executor()) {}

asio::awaitable<Result<DataconnClient::Leased>> DataconnClient::connect() {
    HandshakeOutcome outcome;
    auto conn = co_await connect_labelled(engine_, *connector_, MuxLabel::zrepl_data, options_.conn,
                                          options_.handshake_timeout, banner_for(options_.advertise_zferry),
                                          &outcome);
    if (!conn) co_return conn.error();
    ++connections_opened_;
    auto frames = std::make_unique<FrameConn>(std::move(*conn), pool_, options_.frames);
    auto hb = std::make_unique<HeartbeatConn>(std::move(frames), options_.heartbeat);
    Leased out;
    out.conn = std::make_unique<StreamConn>(std::move(hb), pool_, options_.stream);
    out.zferry = outcome.zferry_extensions;
    co_return out;
}

namespace {

// A kept connection is taken only while the server has said nothing on it: after a clean
// request the server writes nothing until the next one (its first heartbeat comes after the
// heartbeat interval, longer than a connection stays idle here), so readable means it closed
// the connection (EOF, RST) or is in a state we do not know. Either way it is not reused.
bool quiet_and_open(StreamConn& c) {
    auto& tcp = c.heartbeat().frames().conn();
    if (!tcp.is_open() || !c.usable() || tcp.has_buffered_input()) return false;
    pollfd p{tcp.native_handle(), POLLIN, 0};
    const int n = ::poll(&p, 1, 0);
    return n == 0;
}

}  // namespace

asio::awaitable<Result<DataconnClient::Leased>> DataconnClient::lease() {
    for (;;) {
        auto taken = idle_.take(Clock::now());
        for (auto& old : taken.expired) co_await old.conn->close();
        if (!taken.conn) break;
        Leased c = std::move(*taken.conn);
        if (quiet_and_open(*c.conn)) {
            c.reused = true;
            co_return c;
        }
        log_.debug("dataconn: the server closed a kept connection; not reusing it");
        co_await c.conn->close();
    }
    co_return co_await connect();
}

asio::awaitable<void> DataconnClient::finish(Leased c, bool clean) {
    if (!closed_ && dataconn::client_keeps(c.zferry, options_.reuse.client_max_idle > 0, clean) &&
        c.conn->usable()) {
        for (auto& evicted : idle_.put(std::move(c), Clock::now())) co_await evicted.conn->close();
        if (!reaper_.running() && idle_.size() > 0) reaper_.start(reap_idle());
        co_return;
    }
    co_await c.conn->close();
}

asio::awaitable<void> DataconnClient::reap_idle() {
    while (!closed_) {
        const auto next = idle_.next_expiry();
        if (!next) co_return;
        reap_timer_.expires_at(*next);
        co_await reap_timer_.async_wait(use_ec);  // close() cancels the wait
        if (closed_) co_return;
        for (auto& c : idle_.expire(Clock::now())) co_await c.conn->close();
    }
}

asio::awaitable<void> DataconnClient::close() {
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    closed_ = true;
    reap_timer_.cancel();
    co_await reaper_.join();
    for (auto& c : idle_.drain()) co_await c.conn->close();
    co_await asio::this_coro::throw_if_cancelled(throw_before);
}

asio::awaitable<Result<DataconnClient::Leased>> DataconnClient::start_request(std::string_view endpoint,
                                                                              const std::string& request) {
    for (;;) {
        auto c = co_await lease();
        if (!c) co_return c.error();
        // The header frame is the request's first byte: when writing it fails on a kept
        // connection (the server closed it just now), nothing of the request reached the
        // server and a new connection carries it instead.
        auto w = co_await c->conn->write_message(frame_type::req_header, endpoint);
        if (!w && c->reused) {
            log_.debug("dataconn: a kept connection failed before the request: {}; connecting anew",
                       w.error().message());
            co_await c->conn->close();
            continue;
        }
        if (w) w = co_await c->conn->write_message(frame_type::req_structured, request);
        if (!w) {
            co_await c->conn->close();
            co_return w.error();
        }
        if (c->reused) ++reused_requests_;
        co_return std::move(*c);
    }
}

asio::awaitable<Result<std::string>> DataconnClient::ping(std::string request) {
    co_return co_await errors_on_cancel(ping_request(std::move(request)));
}

asio::awaitable<Result<std::string>> DataconnClient::send(
    std::string request, int sink, std::uint64_t* bytes,
    std::function<void(const std::string&)> on_response) {
    co_return co_await errors_on_cancel(
        send_request(std::move(request), sink, bytes, std::move(on_response)));
}

asio::awaitable<Result<std::string>> DataconnClient::recv(std::string request, int source,
                                                          std::uint64_t* bytes) {
    co_return co_await errors_on_cancel(recv_request(std::move(request), source, bytes));
}

namespace {

// A request that ended with nothing left to read and no cancellation pending.
asio::awaitable<bool> ended_cleanly(bool ok) {
    auto cs = co_await asio::this_coro::cancellation_state;
    co_return ok&& cs.cancelled() == asio::cancellation_type::none;
}

}  // namespace

asio::awaitable<Result<std::string>> DataconnClient::ping_request(std::string request) {
    auto c = co_await start_request(kEndpointPing, request);
    if (!c) co_return c.error();
    auto out = co_await read_response(*c->conn, c->zferry);
    const bool clean = co_await ended_cleanly(static_cast<bool>(out));
    co_await finish(std::move(*c), clean);
    co_return out;
}

asio::awaitable<Result<std::string>> DataconnClient::send_request(
    std::string request, int sink, std::uint64_t* bytes,
    std::function<void(const std::string&)> on_response) {
    if (auto ec = set_nonblocking(sink)) co_return Error(ec, "send: sink pipe");
    auto c = co_await start_request(kEndpointSend, request);
    if (!c) co_return c.error();
    auto& conn = *c->conn;
    auto out = co_await read_response(conn, c->zferry);
    if (out) {
        if (on_response) on_response(*out);
        auto pipe = engine_.attach(sink);
        auto n = co_await conn.read_stream(frame_type::zfs_stream, *pipe);
        if (!n)
            out = n.error();
        else {
            if (bytes) *bytes = *n;
            if (options_.on_stream_bytes) options_.on_stream_bytes(kEndpointSend, false, *n);
        }
    }
    // Clean only when the stream was read to its End (an error trailer, a full sink or a
    // cancellation leaves the connection closed).
    const bool clean = co_await ended_cleanly(static_cast<bool>(out));
    co_await finish(std::move(*c), clean);
    co_return out;
}

asio::awaitable<Result<std::string>> DataconnClient::recv_request(std::string request, int source,
                                                                  std::uint64_t* bytes) {
    if (auto ec = set_nonblocking(source)) co_return Error(ec, "recv: source pipe");
    auto c = co_await start_request(kEndpointRecv, request);
    if (!c) co_return c.error();
    auto& conn = *c->conn;
    auto pipe = engine_.attach(source);
    auto ex = co_await asio::this_coro::executor;
    // Both halves always finish before the group completes, even when we are cancelled.
    auto [order, stream_exception, sent, response_exception, out] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(ex, write_recv_stream(conn, *pipe), asio::deferred),
            asio::co_spawn(ex, read_recv_response(conn, c->zferry), asio::deferred))
            .async_wait(StopStreamOnResponse{}, asio::use_awaitable);
    pipe.reset();
    if (stream_exception || response_exception) {
        co_await conn.close();
        std::rethrow_exception(stream_exception ? stream_exception : response_exception);
    }
    switch (dataconn::recv_report(static_cast<bool>(sent), order[0] == 1, out)) {
        case dataconn::RecvReport::response: break;
        case dataconn::RecvReport::stream_error: out = sent.error(); break;
        case dataconn::RecvReport::premature_success:
            out = Error(Errc::protocol_error, "server answered /v1/recv before the end of the stream");
            break;
    }
    if (out && bytes) *bytes = *sent;
    if (out && options_.on_stream_bytes) options_.on_stream_bytes(kEndpointRecv, true, *sent);
    // Clean only when our stream ended with End and the server's OK was read after it.
    const bool clean =
        co_await ended_cleanly(static_cast<bool>(out) && static_cast<bool>(sent) && order[0] == 0);
    co_await finish(std::move(*c), clean);
    co_return out;
}

}  // namespace zferry::transport
