#include "replication/remote/remote_endpoint.hpp"

#include "replication/control/pdu_convert.hpp"
#include "replication/pdu/pdu.pb.h"
#include "transport/handshake_io.hpp"

#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace zferry::replication::remote {

namespace asio = boost::asio;
namespace grpc = transport::grpc;

namespace {

// What a stream's transfer task and the endpoint that started it share. `ready` is signalled
// when the server's response arrived (a send's, before its stream) and when the task ended.
struct TransferState {
    explicit TransferState(asio::any_io_executor ex) : ready(ex, 2) {}
    asio::experimental::channel<void(error_code)> ready;
    bool responded = false;
    std::string response;
    std::optional<Result<std::string>> outcome;
    std::uint64_t bytes = 0;
    void signal() {
        error_code ok;
        (void)ready.try_send(ok);
    }
};

// The transfer tasks own everything they touch (the pipe end by value, the state shared);
// only the dataconn client is borrowed, and it belongs to the endpoint, which outlives its
// streams.
asio::awaitable<void> run_send(transport::DataconnClient* data, std::string request, UniqueFd sink,
                               std::shared_ptr<TransferState> st) {
    std::function<void(const std::string&)> on_response = [st](const std::string& res) {
        st->responded = true;
        st->response = res;
        st->signal();
    };
    auto r = co_await data->send(std::move(request), sink.get(), &st->bytes, std::move(on_response));
    sink.reset();  // end of stream for the step's reader
    st->outcome = std::move(r);
    st->signal();
}

asio::awaitable<void> run_recv(transport::DataconnClient* data, std::string request, UniqueFd source,
                               std::shared_ptr<TransferState> st) {
    auto r = co_await data->recv(std::move(request), source.get(), &st->bytes);
    source.reset();  // a writer still writing gets EPIPE
    st->outcome = std::move(r);
    st->signal();
}

// The other end of a remote stream's pipe: the dataconn request's task.
class DataconnStreamPeer final : public zfs::StreamPeer {
public:
    DataconnStreamPeer(asio::any_io_executor ex, std::shared_ptr<TransferState> st, std::string what)
        : task_(ex), st_(std::move(st)), what_(std::move(what)) {}
    // Unjoined only when the stream was dropped without finish() or abort(): the task owns
    // what it uses, so cancelling it is enough.
    ~DataconnStreamPeer() override { task_.cancel(); }

    OwnedTask& task() noexcept { return task_; }

    asio::awaitable<Result<void>> finish() override {
        co_await task_.join();
        if (!st_->outcome) co_return Error(Errc::internal, what_ + ": the transfer ended without an outcome");
        if (!*st_->outcome) co_return Error(st_->outcome->error()).wrap(what_);
        co_return Result<void>{};
    }
    asio::awaitable<void> abort() override {
        const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
        co_await asio::this_coro::throw_if_cancelled(false);
        task_.cancel();
        co_await task_.join();
        co_await asio::this_coro::throw_if_cancelled(throw_before);
    }

private:
    OwnedTask task_;
    std::shared_ptr<TransferState> st_;
    std::string what_;
};

// A call on the control client. A call that was never sent because its connection was going
// away (the server closed it, idle, with GOAWAY: its limit on control connections, or its
// shutdown) is made once more, on a new connection: the server never saw it.
template <class T>
asio::awaitable<Result<T>> on_control(
    RemoteConnection* conn, std::function<asio::awaitable<Result<T>>(control::ControlClient*)> call) {
    for (int attempt = 0;; ++attempt) {
        auto c = co_await conn->control();
        if (!c) co_return c.error();
        Result<T> r = co_await call(*c);
        if (r || attempt > 0 || !control::ControlClient::unsent(r.error())) co_return r;
        conn->log().debug("control call again on a new connection: {}", r.error().message());
    }
}

// The Endpoint methods both remote sides share, on the control channel.
asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems_of(RemoteConnection* conn) {
    std::function<asio::awaitable<Result<std::vector<FilesystemInfo>>>(control::ControlClient*)> call =
        [](control::ControlClient* c) { return c->list_filesystems(); };
    co_return co_await on_control(conn, std::move(call));
}

asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions_of(RemoteConnection* conn,
                                                                              std::string fs) {
    std::function<asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>>(control::ControlClient*)>
        call = [fs](control::ControlClient* c) { return c->list_versions(fs); };
    co_return co_await on_control(conn, std::move(call));
}

asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots_on(
    RemoteConnection* conn, std::string fs, std::vector<zfs::FilesystemVersion> snapshots) {
    std::function<asio::awaitable<Result<std::vector<DestroySnapshotResult>>>(control::ControlClient*)> call =
        [fs, snapshots](control::ControlClient* c) { return c->destroy_snapshots(fs, snapshots); };
    co_return co_await on_control(conn, std::move(call));
}

std::string step_name(const std::string& fs, const zfs::FilesystemVersion& to) { return fs + "@" + to.name; }

}  // namespace

// ---------------------------------------------------------------------------- connection

RemoteConnection::RemoteConnection(asio::io_context& ctx, IoEngine& engine, RemoteOptions options, Logger log)
    : ctx_(ctx),
      engine_(engine),
      options_(std::move(options)),
      log_(log.with("server", options_.connector->describe())),
      data_(
          ctx, engine, options_.connector,
          [&] {
              auto d = options_.data;
              d.advertise_zferry = options_.advertise_zferry;
              return d;
          }(),
          log_),
      connecting_(ctx.get_executor(), 1) {}

RemoteConnection::~RemoteConnection() {
    if (run_task_) run_task_->cancel();
}

asio::awaitable<void> RemoteConnection::drive(grpc::GrpcClientConnection* conn) {
    auto r = co_await conn->run();
    if (!r) log_.info("control connection ended: {}", r.error().message());
}

asio::awaitable<Result<control::ControlClient*>> RemoteConnection::control() {
    auto [ec, permit] = co_await connecting_.acquire();
    if (ec) co_return Error(ec, "waiting for the control connection");
    if (client_ && run_task_ && run_task_->running() && grpc_->accepting_calls()) co_return client_.get();
    if (run_task_) {
        // The old connection ended, or takes no new calls (the server said GOAWAY: it ends once
        // its calls are answered). The objects stay until close(), which joins the task: a
        // caller may still be resuming from one of them.
        if (run_task_->running()) log_.debug("the control connection is going away; connecting again");
        retired_.push_back(Retired{std::move(grpc_), std::move(client_), std::move(run_task_)});
    }
    transport::HandshakeOutcome outcome;
    auto conn = co_await transport::connect_labelled(
        engine_, *options_.connector, transport::MuxLabel::zrepl_control, options_.control_conn,
        options_.connect_timeout, transport::banner_for(options_.advertise_zferry), &outcome);
    if (!conn) co_return Error(conn.error()).wrap("control connection");
    zferry_peer_ = outcome.zferry_extensions;
    auto socket = (*conn)->release_socket();
    if (!socket) co_return Error(socket.error()).wrap("control connection");
    grpc_ = std::make_unique<grpc::GrpcClientConnection>(std::move(*socket), options_.control, log_);
    client_ = std::make_unique<control::ControlClient>(*grpc_, options_.calls, log_);
    run_task_ = std::make_unique<OwnedTask>(ctx_.get_executor());
    run_task_->start(drive(grpc_.get()));
    co_return client_.get();
}

asio::awaitable<Result<void>> RemoteConnection::ping_both() {
    std::function<asio::awaitable<Result<void>>(control::ControlClient*)> control_ping =
        [](control::ControlClient* c) { return c->wait_for_connectivity(); };
    if (auto p = co_await on_control(this, std::move(control_ping)); !p) co_return p;
    PingReq req;
    req.set_message("zferry data ping");
    const std::string request = req.SerializeAsString();
    Result<std::string> answer = Error(Errc::internal, "no data ping attempted");
    for (int attempt = 0; attempt < std::max(1, options_.ping_attempts); ++attempt) {
        if (attempt > 0) {
            // A failing ping must not spin: the caller may loop on wait_for_connectivity.
            asio::steady_timer pause(ctx_, options_.ping_retry_pause);
            auto [werr] = co_await pause.async_wait(use_ec);
            if (werr) co_return Error(werr, "data ping");
        }
        answer = co_await data_.ping(request);
        if (answer) break;
        log_.info("data ping failed: {}", answer.error().message());
    }
    if (!answer) co_return Error(answer.error()).wrap("data ping");
    PingRes res;
    if (!res.ParseFromString(*answer) || res.echo() != req.message())
        co_return Error(Errc::protocol_error, "data ping: the server's answer does not echo the request");
    co_return Result<void>{};
}

asio::awaitable<void> RemoteConnection::close() {
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    if (grpc_) grpc_->close();
    for (auto& r : retired_)
        if (r.grpc) r.grpc->close();
    if (run_task_) co_await run_task_->join();
    for (auto& r : retired_) co_await r.task->join();
    retired_.clear();
    co_await data_.close();
    co_await asio::this_coro::throw_if_cancelled(throw_before);
}

// ---------------------------------------------------------------------------- sender

RemoteSender::RemoteSender(asio::io_context& ctx, IoEngine& engine, RemoteOptions options, Logger log)
    : conn_(ctx, engine, std::move(options), std::move(log)) {}

asio::awaitable<Result<std::vector<FilesystemInfo>>> RemoteSender::list_filesystems() {
    co_return co_await list_filesystems_of(&conn_);
}

asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> RemoteSender::list_versions(std::string fs) {
    co_return co_await list_versions_of(&conn_, std::move(fs));
}

asio::awaitable<Result<std::vector<DestroySnapshotResult>>> RemoteSender::destroy_snapshots(
    std::string fs, std::vector<zfs::FilesystemVersion> snapshots) {
    co_return co_await destroy_snapshots_on(&conn_, std::move(fs), std::move(snapshots));
}

asio::awaitable<Result<void>> RemoteSender::wait_for_connectivity() { co_return co_await conn_.ping_both(); }

asio::awaitable<Result<SendReply>> RemoteSender::send(StepRequest req) {
    const std::string what = "remote send of " + step_name(req.filesystem, req.to);
    if (req.intermediates && !conn_.zferry_peer())
        co_return Error(Errc::invalid_argument,
                        what +
                            ": a coalesced step (send -I) needs a zferry server (zferry/1 in its banner); "
                            "this one speaks zrepl's protocol only, which plans one step per snapshot");
    auto pipe = zfs::make_peer_stream_pipe(true, what);
    if (!pipe) co_return pipe.error();
    auto ex = co_await asio::this_coro::executor;
    auto st = std::make_shared<TransferState>(ex);
    auto peer = std::make_unique<DataconnStreamPeer>(ex, st, what);
    peer->task().start(
        run_send(&conn_.data(), control::to_pdu(req).SerializeAsString(), std::move(pipe->write), st));
    // Cancellation must not skip the abort below: the task has to be joined.
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    auto [ec] = co_await st->ready.async_receive(use_ec);
    if (ec || !st->responded) {
        co_await peer->abort();
        co_await asio::this_coro::throw_if_cancelled(throw_before);
        if (st->outcome && !*st->outcome) co_return Error(st->outcome->error()).wrap(what);
        co_return Error(ec ? ec : make_error_code(Errc::internal), what + ": no response");
    }
    co_await asio::this_coro::throw_if_cancelled(throw_before);
    SendRes res;
    if (!res.ParseFromString(st->response)) {
        co_await peer->abort();
        co_return Error(Errc::protocol_error, what + ": the server's SendRes does not parse");
    }
    if (res.usedresumetoken() && req.resume_token.empty()) {
        co_await peer->abort();
        co_return Error(Errc::protocol_error,
                        what + ": the server says it used a resume token that was not sent");
    }
    SendReply reply;
    reply.used_resume_token = res.usedresumetoken();
    reply.stream = zfs::SendStream(std::move(pipe->read), pipe->capacity, what, std::move(peer));
    co_return reply;
}

asio::awaitable<Result<void>> RemoteSender::send_completed(StepRequest req) {
    std::function<asio::awaitable<Result<void>>(control::ControlClient*)> call =
        [req](control::ControlClient* c) { return c->send_completed(req); };
    co_return co_await on_control(&conn_, std::move(call));
}

asio::awaitable<Result<std::optional<std::uint64_t>>> RemoteSender::send_dry(StepRequest req) {
    std::function<asio::awaitable<Result<std::optional<std::uint64_t>>>(control::ControlClient*)> call =
        [req](control::ControlClient* c) { return c->send_dry(req); };
    co_return co_await on_control(&conn_, std::move(call));
}

asio::awaitable<Result<std::optional<std::uint64_t>>> RemoteSender::replication_cursor(std::string fs) {
    std::function<asio::awaitable<Result<std::optional<std::uint64_t>>>(control::ControlClient*)> call =
        [fs](control::ControlClient* c) { return c->replication_cursor(fs); };
    co_return co_await on_control(&conn_, std::move(call));
}

// ---------------------------------------------------------------------------- receiver

RemoteReceiver::RemoteReceiver(asio::io_context& ctx, IoEngine& engine, RemoteOptions options, Logger log)
    : conn_(ctx, engine, std::move(options), std::move(log)) {}

asio::awaitable<Result<std::vector<FilesystemInfo>>> RemoteReceiver::list_filesystems() {
    co_return co_await list_filesystems_of(&conn_);
}

asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> RemoteReceiver::list_versions(std::string fs) {
    co_return co_await list_versions_of(&conn_, std::move(fs));
}

asio::awaitable<Result<std::vector<DestroySnapshotResult>>> RemoteReceiver::destroy_snapshots(
    std::string fs, std::vector<zfs::FilesystemVersion> snapshots) {
    co_return co_await destroy_snapshots_on(&conn_, std::move(fs), std::move(snapshots));
}

asio::awaitable<Result<void>> RemoteReceiver::wait_for_connectivity() {
    co_return co_await conn_.ping_both();
}

asio::awaitable<Result<ReceiveSession>> RemoteReceiver::receive(ReceiveRequest req) {
    const std::string what = "remote receive of " + step_name(req.filesystem, req.to);
    auto pipe = zfs::make_peer_stream_pipe(false, what);
    if (!pipe) co_return pipe.error();
    auto ex = co_await asio::this_coro::executor;
    auto st = std::make_shared<TransferState>(ex);
    auto peer = std::make_unique<DataconnStreamPeer>(ex, st, what);
    peer->task().start(
        run_recv(&conn_.data(), control::to_pdu(req).SerializeAsString(), std::move(pipe->read), st));
    ReceiveSession session;
    session.request = req;
    session.target = req.filesystem;
    session.stream = zfs::RecvStream(std::move(pipe->write), pipe->capacity, what, std::move(peer));
    co_return session;
}

asio::awaitable<Result<void>> RemoteReceiver::finish_receive(ReceiveSession& session) {
    co_return co_await session.stream.finish();
}

}  // namespace zferry::replication::remote
