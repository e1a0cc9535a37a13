#include "replication/remote/endpoint_server.hpp"

#include "core/async.hpp"
#include "replication/control/pdu_convert.hpp"
#include "replication/control/replication_service.hpp"
#include "replication/pdu/pdu.pb.h"
#include "transport/handshake_io.hpp"
#include "zfs/dataset_path.hpp"

#include <boost/asio/this_coro.hpp>

#include <fcntl.h>

namespace zferry::replication::remote {

namespace asio = boost::asio;
namespace grpc = transport::grpc;

namespace {

// The transport keeps its own descriptor of the stream's pipe end and closes it when it is
// done; the stream object keeps the original for finish()/abort().
Result<UniqueFd> duplicate(int fd, const std::string& what) {
    int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0)
        return Error(error_code(errno, boost::system::system_category()), "duplicating the pipe of " + what);
    return UniqueFd(d);
}

asio::awaitable<Result<void>> finish_send(std::shared_ptr<Sender> sender,
                                          std::shared_ptr<zfs::SendStream> stream) {
    (void)sender;  // kept alive until its stream is finished
    co_return co_await stream->finish();
}

// The client left: the rest of the stream has nowhere to go; the zfs send child is stopped
// and reaped (a stalled one would never exit by itself).
asio::awaitable<void> abort_send(std::shared_ptr<Sender> sender, std::shared_ptr<zfs::SendStream> stream) {
    (void)sender;
    co_await stream->abort();
}

asio::awaitable<Result<std::string>> finish_recv(std::shared_ptr<Receiver> receiver,
                                                 std::shared_ptr<ReceiveSession> session,
                                                 Result<std::uint64_t> transfer) {
    if (!transfer) {
        // EPIPE: zfs recv stopped reading (exited). Its own verdict says why ("out of space",
        // a refused stream) and is what the client must hear, not the broken pipe; finish()
        // only collects it, the process is gone or going. Any other failure of the transfer
        // (the client went away, a timeout) stops the receive, which keeps its resumable state.
        if (transfer.error().code() == boost::system::errc::broken_pipe) {
            if (auto r = co_await session->stream.finish(); !r) co_return r.error();
            co_return transfer.error();
        }
        co_await session->stream.abort();
        co_return transfer.error();
    }
    auto done = co_await receiver->finish_receive(*session);
    if (!done) co_return done.error();
    co_return ReceiveRes().SerializeAsString();
}

// The Replication methods a server serves: a source the sender's, a sink the endpoint's, a
// server serving neither only Ping.
std::vector<std::string_view> control_methods(const ServedEndpoint& served) {
    std::vector<std::string_view> out;
    out.push_back(control::kPingMethod);
    if (!served.sender && !served.receiver) return out;
    out.push_back(control::kListFilesystemsMethod);
    out.push_back(control::kListFilesystemVersionsMethod);
    out.push_back(control::kDestroySnapshotsMethod);
    if (served.sender) {
        out.push_back(control::kReplicationCursorMethod);
        out.push_back(control::kSendDryMethod);
        out.push_back(control::kSendCompletedMethod);
    }
    return out;
}

// One control call on an endpoint made for it with the call's logger (client and method).
asio::awaitable<grpc::UnaryReply> serve_control_call(const ServedEndpoint* served, std::string identity,
                                                     grpc::CallContext ctx, std::string request) {
    grpc::ServiceDispatch one;
    std::unique_ptr<Sender> sender;
    std::unique_ptr<Receiver> receiver;
    if (served->sender) {
        auto made = served->sender(identity, ctx.log);
        if (!made)
            co_return grpc::UnaryReply::error(grpc::StatusCode::permission_denied, made.error().message());
        sender = std::move(*made);
        control::add_sender_methods(one, *sender);
    } else if (served->receiver) {
        auto made = served->receiver(identity, ctx.log);
        if (!made)
            co_return grpc::UnaryReply::error(grpc::StatusCode::permission_denied, made.error().message());
        receiver = std::move(*made);
        control::add_endpoint_methods(one, *receiver);
    } else {
        control::add_ping(one);
    }
    const grpc::UnaryHandler* handler = one.find(ctx.method);
    if (!handler) co_return grpc::UnaryReply{one.unknown_method(ctx.method), std::string()};
    co_return co_await (*handler)(std::move(ctx), std::move(request));
}

Error parse_failure(std::string_view what) {
    return Error(Errc::protocol_error, "the request is not a " + std::string(what));
}

}  // namespace

// Dataconn requests on an endpoint made for the request's client identity.
class EndpointServer::DataHandler final : public transport::DataconnHandler {
public:
    explicit DataHandler(const ServedEndpoint& served) : served_(served) {}

    asio::awaitable<Result<std::string>> ping(transport::RequestContext& ctx, std::string request) override {
        PingReq req;
        if (!req.ParseFromString(request)) co_return parse_failure("PingReq");
        ctx.log.debug("data ping");
        PingRes res;
        res.set_echo(req.message());
        co_return res.SerializeAsString();
    }

    asio::awaitable<Result<transport::SendReply>> send(transport::RequestContext& ctx,
                                                       std::string request) override {
        if (!served_.sender)
            co_return Error(Errc::invalid_argument, "this server receives and does not send (no /v1/send)");
        SendReq pdu;
        if (!pdu.ParseFromString(request)) co_return parse_failure("SendReq");
        auto step = control::from_pdu(pdu);
        if (!step) co_return step.error();
        auto made = served_.sender(ctx.client_identity, ctx.log);
        if (!made) co_return made.error();
        std::shared_ptr<Sender> sender = std::move(*made);
        auto sent = co_await sender->send(std::move(*step));
        if (!sent) co_return sent.error();
        auto stream = std::make_shared<zfs::SendStream>(std::move(sent->stream));
        auto fd = duplicate(stream->fd(), "the send stream");
        if (!fd) {
            co_await stream->abort();
            co_return fd.error();
        }
        SendRes res;
        res.set_usedresumetoken(sent->used_resume_token);
        transport::SendReply reply;
        reply.structured = res.SerializeAsString();
        reply.stream = std::move(*fd);
        reply.limit = sender->send_bandwidth_limit();  // the job's own, shared by its clients
        reply.wait_source = [sender, stream] { return finish_send(sender, stream); };
        reply.abort_source = [sender, stream] { return abort_send(sender, stream); };
        co_return reply;
    }

    asio::awaitable<Result<transport::RecvSession>> recv(transport::RequestContext& ctx,
                                                         std::string request) override {
        if (!served_.receiver)
            co_return Error(Errc::invalid_argument, "this server sends and does not receive (no /v1/recv)");
        ReceiveReq pdu;
        if (!pdu.ParseFromString(request)) co_return parse_failure("ReceiveReq");
        auto req = control::from_pdu(pdu);
        if (!req) co_return req.error();
        auto made = served_.receiver(ctx.client_identity, ctx.log);
        if (!made) co_return made.error();
        std::shared_ptr<Receiver> receiver = std::move(*made);
        // zrepl's ReceiveReq does not say whether the step is incremental; it is when the
        // filesystem already has a snapshot here (the stream would not apply otherwise).
        auto versions = co_await receiver->list_versions(req->filesystem);
        if (versions)
            for (const auto& v : *versions) req->incremental |= v.type == zfs::VersionType::snapshot;
        auto started = co_await receiver->receive(std::move(*req));
        if (!started) co_return started.error();
        auto session = std::make_shared<ReceiveSession>(std::move(*started));
        auto fd = duplicate(session->stream.fd(), "the receive stream");
        if (!fd) {
            co_await session->stream.abort();
            co_return fd.error();
        }
        transport::RecvSession out;
        out.stream = std::move(*fd);
        out.limit = receiver->recv_bandwidth_limit();
        out.finish = [receiver, session](Result<std::uint64_t> transfer) {
            return finish_recv(receiver, session, std::move(transfer));
        };
        co_return out;
    }

private:
    const ServedEndpoint& served_;
};

EndpointServer::EndpointServer(asio::io_context& ctx, IoEngine& engine,
                               std::unique_ptr<transport::WireListener> listener, ServedEndpoint served,
                               EndpointServerOptions options, Logger log)
    : ctx_(ctx),
      engine_(engine),
      served_(std::move(served)),
      options_(std::move(options)),
      log_(std::move(log)),
      handler_(std::make_unique<DataHandler>(served_)),
      data_(std::make_unique<transport::DataconnServer>(ctx, engine, *handler_, options_.data, log_)),
      listener_(std::move(listener)),
      accept_task_(ctx.get_executor()),
      pending_(options_.pending),
      control_(options_.control_limits) {}

EndpointServer::~EndpointServer() { listener_->close(); }

void EndpointServer::start() {
    log_.info("replication endpoint server accepting on {}", listener_->describe());
    accept_task_.start(accept_loop());
}

std::size_t EndpointServer::active_connections() const noexcept {
    std::size_t n = 0;
    for (const auto& t : conns_) n += t->running();
    return n;
}

void EndpointServer::reap() {
    conns_.remove_if([](const std::unique_ptr<OwnedTask>& t) { return !t->running(); });
}

transport::PendingConnections::Slot EndpointServer::admit(transport::TcpConn& conn, const std::string& peer) {
    return pending_.admit(
        transport::peer_address(peer),
        [this, c = &conn, peer](std::string_view why) {
            log_.with("peer", peer)
                .warn("closing a connection in its handshake: {}; a legitimate client reconnects", why);
            // Fails the connection's pending operations at once: its task ends on its ordinary
            // error path, and the descriptor is free now.
            c->close();
        },
        transport::Clock::now());
}

asio::awaitable<void> EndpointServer::accept_loop() {
    asio::steady_timer room(ctx_);
    for (;;) {
        // Every slot taken by a connection too young to close: wait until the oldest is old
        // enough, looking again every 20 ms for slots that went (a connection through its
        // preamble, or ended).
        while (!stopping_ && pending_.full(transport::Clock::now())) {
            room.expires_at(
                std::min(*pending_.sheddable_at(), transport::Clock::now() + std::chrono::milliseconds(20)));
            co_await room.async_wait(use_ec);
        }
        if (stopping_) co_return;
        auto wire = co_await listener_->accept();
        if (stopping_) co_return;
        if (!wire) {
            if (wire.error().code() == asio::error::operation_aborted) co_return;
            // Out of descriptors: a connection still in its preamble makes room (never spin,
            // never give up on accepting).
            if (transport::is_resource_shortage(wire.error().code()) &&
                pending_.shed_oldest(nullptr, wire.error().message()))
                continue;
            log_.warn("{}; retrying in 100 ms", wire.error().message());
            asio::steady_timer t(ctx_, std::chrono::milliseconds(100));
            co_await t.async_wait(use_ec);
            continue;
        }
        reap();
        if (auto valid = zfs::component_namecheck(wire->identity); !valid) {
            log_.with("peer", wire->peer)
                .warn("refusing connection: client identity '{}' is not a valid dataset name component: {}",
                      wire->identity, valid.error().message());
            continue;  // closed before a byte is read or written
        }
        auto conn = std::make_unique<transport::TcpConn>(engine_, std::move(wire->socket), options_.conn,
                                                         std::move(wire->tls));
        // The transport's name for the peer (the address it accepted).
        if (!wire->peer.empty()) conn->set_peer(wire->peer);
        // One deadline for everything before the label: counted from the transport's accept
        // when it did work of its own first (the TLS handshake).
        const auto started = wire->accepted == std::chrono::steady_clock::time_point{}
                                 ? transport::Clock::now()
                                 : wire->accepted;
        conn->set_absolute_deadline(started + options_.preamble_timeout);
        auto slot = admit(*conn, wire->peer);
        auto task = std::make_unique<OwnedTask>(ctx_.get_executor());
        task->start(
            serve(std::move(conn), std::move(wire->identity), std::move(wire->peer), std::move(slot)));
        conns_.push_back(std::move(task));
    }
}

asio::awaitable<void> EndpointServer::serve(std::unique_ptr<transport::TcpConn> accepted,
                                            std::string identity, std::string peer,
                                            transport::PendingConnections::Slot admitted) {
    // Locals, so that the slot (whose close function points at the connection) goes first.
    auto conn = std::move(accepted);
    auto slot = std::move(admitted);
    Logger log = log_.with("peer", peer).with("client", identity);
    auto hs = co_await transport::exchange_banners_within_deadline(
        *conn, transport::banner_for(options_.advertise_zferry));
    if (!hs) {
        if (!slot.shed()) log.warn("closing connection: {}", hs.error().message());
        co_return;
    }
    auto label = co_await transport::read_label_within_deadline(*conn);
    if (!label) {
        if (!slot.shed()) log.warn("closing connection: {}", label.error().message());
        co_return;
    }
    switch (*label) {
        case transport::MuxLabel::zrepl_data:
            // Still in its preamble until its request is in: counted among the pending
            // connections (a flood of labelled, silent connections is shed like any other) and
            // under the same deadline.
            co_await data_->serve_connection(std::move(conn), std::move(identity), std::move(slot),
                                             hs->zferry_extensions);
            co_return;
        case transport::MuxLabel::zrepl_control:
            slot.release();
            conn->clear_absolute_deadline();
            co_await serve_control(std::move(conn), std::move(identity), std::move(log));
            co_return;
        default:
            log.warn("closing connection: label {} is not served here", transport::label_name(*label));
            co_return;
    }
}

asio::awaitable<void> EndpointServer::serve_control(std::unique_ptr<transport::TcpConn> conn,
                                                    std::string identity, Logger log) {
    auto socket = conn->release_socket();
    conn.reset();
    if (!socket) {
        log.warn("closing control connection: {}", socket.error().message());
        co_return;
    }
    // The client identity is checked once, for the connection: a factory that refuses it
    // closes the connection before any call.
    if (served_.sender) {
        if (auto made = served_.sender(identity, log); !made) {
            log.warn("closing control connection: {}", made.error().message());
            co_return;
        }
    } else if (served_.receiver) {
        if (auto made = served_.receiver(identity, log); !made) {
            log.warn("closing control connection: {}", made.error().message());
            co_return;
        }
    }
    // Every call gets an endpoint of its own, made with the call's logger: the endpoint's own
    // lines carry the client and the method, as the handler's do.
    grpc::ServiceDispatch dispatch;
    const ServedEndpoint* served = &served_;
    auto per_call = [served, identity](grpc::CallContext ctx, std::string request) {
        return serve_control_call(served, identity, std::move(ctx), std::move(request));
    };
    for (const auto& method : control_methods(served_)) dispatch.add(std::string(method), per_call);
    // Counted among the control connections until it ends; told to go (GOAWAY) when newer
    // ones exceed the limits, or when the server stops. Declared before the slot, whose close
    // function uses it.
    grpc::DrainSignal drain(ctx_.get_executor());
    auto calls = std::make_shared<std::size_t>(0);
    grpc::DrainSignal* to_drain = &drain;
    const bool* stopping = &stopping_;
    auto slot = control_.admit(
        identity,
        [to_drain, log, stopping](std::string_view why) {
            if (!*stopping)
                log.warn("closing control connection (GOAWAY): {}; the client connects again when it calls",
                         why);
            to_drain->drain();
        },
        [calls] { return *calls == 0; });
    if (stopping_) drain.drain();
    grpc::GrpcServerOptions o;
    o.session = options_.control;
    o.client_identity = identity;
    o.drain = &drain;
    o.shutdown_grace = options_.shutdown_grace;
    o.calls_in_flight = calls;
    auto r = co_await grpc::serve_grpc_connection(std::move(*socket), dispatch, o, log);
    if (!r) log.info("control connection ended: {}", r.error().message());
}

asio::awaitable<void> EndpointServer::stop() {
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    stopping_ = true;
    listener_->close();
    co_await accept_task_.join();
    // Control connections go away gracefully (GOAWAY; calls in flight finish); whatever still
    // runs after the grace (a transfer, a call that does not end) is cancelled.
    control_.close_all("the server is stopping");
    const auto deadline = std::chrono::steady_clock::now() + options_.shutdown_grace;
    while (active_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
        asio::steady_timer tick(ctx_, std::chrono::milliseconds(20));
        co_await tick.async_wait(use_ec);
    }
    for (auto& t : conns_) t->cancel();
    for (auto& t : conns_) co_await t->join();
    conns_.clear();
    co_await data_->stop();
    co_await listener_->shutdown();
    log_.info("replication endpoint server stopped");
    co_await asio::this_coro::throw_if_cancelled(throw_before);
}

}  // namespace zferry::replication::remote
