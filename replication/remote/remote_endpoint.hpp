// The replication endpoints of another host (zrepl's remote endpoint, reference §1): the
// Endpoint/Sender/Receiver interfaces over the control channel (zrepl's Replication gRPC
// service on a `zrepl_control` connection) and dataconn (`zrepl_data` connections, one
// request each: /v1/send, /v1/recv, /v1/ping). Every connection starts with the version
// handshake and its mux label.
//
// Streams: a remote send hands the step runner the read end of a pipe that a dataconn
// /v1/send task fills; a remote receive hands it the write end of a pipe that a /v1/recv task
// drains. The tasks belong to the stream objects (zfs::StreamPeer): finish() joins them and
// reports the transfer's outcome, abort() cancels and joins them.
//
// Errors keep their meaning across the wire: a status from the control channel as
// control::error_of says (UNAVAILABLE and DEADLINE_EXCEEDED temporary), connection failures
// temporary, a handshake mismatch permanent, and a server's refusal ("HANDLER ERROR") as a
// zferry server classified it (its class line; a zrepl server's refusal is permanent).
//
// The control connection is opened again when it ended or the server said GOAWAY (e.g. it
// closed the connection, idle, for its limit on control connections); a call that the
// connection no longer took is made once more on the new one.
//
// Between two zferry peers (both banners advertise zferry/1; learned from the control
// connection's handshake): a coalesced step (`StepRequest::intermediates`, `send -I`) travels
// in zferry's own SendReq field, and data connections whose request completed cleanly are kept
// (a few per server, briefly) for the next request. Towards a zrepl peer nothing of this:
// RemoteSender::sends_coalesced_steps() is false (the driver plans one step per snapshot, a
// coalesced step that comes anyway is refused before anything is sent) and every dataconn
// request has a connection of its own, as zrepl does.
#pragma once

#include "core/async.hpp"
#include "core/io_engine.hpp"
#include "core/log.hpp"
#include "core/owned_task.hpp"
#include "replication/control/control_client.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "transport/dataconn.hpp"
#include "transport/grpc/grpc_client.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>

namespace zferry::replication::remote {

struct RemoteOptions {
    static transport::DataconnOptions default_data_options() {
        transport::DataconnOptions o;
        o.reuse.client_max_idle = 4;
        return o;
    }

    // The transport to the server (tcp: transport::TcpWireConnector), for every connection.
    std::shared_ptr<transport::WireConnector> connector;
    // Connect, handshake and label, each (control and data).
    std::chrono::milliseconds connect_timeout{10000};
    transport::ConnOptions control_conn;
    transport::grpc::ClientSessionOptions control;
    control::ControlClientOptions calls;
    // Idle data connections kept per server (zferry/1 peers only): 4, each for at most 3 s.
    transport::DataconnOptions data = default_data_options();
    // Whether our banners advertise zferry/1; false: we look like zrepl to the server.
    bool advertise_zferry = true;
    // A failing data ping in wait_for_connectivity is retried after this pause, at most
    // `ping_attempts` times, so that a dead server does not make the caller spin.
    std::chrono::milliseconds ping_retry_pause{1000};
    int ping_attempts = 1;
};

// The client's connections to one endpoint server: the control connection (opened on first
// use, opened again after it ended) and a dataconn client. close() ends the control connection
// and joins its task; the owner awaits it before the object goes.
class RemoteConnection {
public:
    RemoteConnection(boost::asio::io_context& ctx, IoEngine& engine, RemoteOptions options, Logger log);
    ~RemoteConnection();
    RemoteConnection(const RemoteConnection&) = delete;
    RemoteConnection& operator=(const RemoteConnection&) = delete;

    // The control client on a live connection (connects first if needed).
    boost::asio::awaitable<Result<control::ControlClient*>> control();
    transport::DataconnClient& data() noexcept { return data_; }
    // zrepl's WaitForConnectivity: a control Ping and a data ping (/v1/ping).
    boost::asio::awaitable<Result<void>> ping_both();
    boost::asio::awaitable<void> close();
    // The server advertised zferry/1 on the last control connection (false before the first).
    bool zferry_peer() const noexcept { return zferry_peer_; }

    boost::asio::io_context& context() noexcept { return ctx_; }
    const Logger& log() const noexcept { return log_; }
    const RemoteOptions& options() const noexcept { return options_; }

private:
    boost::asio::awaitable<void> drive(transport::grpc::GrpcClientConnection* conn);

    boost::asio::io_context& ctx_;
    IoEngine& engine_;
    RemoteOptions options_;
    Logger log_;
    transport::DataconnClient data_;
    AsyncSemaphore connecting_;
    std::unique_ptr<transport::grpc::GrpcClientConnection> grpc_;
    std::unique_ptr<control::ControlClient> client_;
    std::unique_ptr<OwnedTask> run_task_;
    // Connections that ended, kept (their tasks finished) until close().
    struct Retired {
        std::unique_ptr<transport::grpc::GrpcClientConnection> grpc;
        std::unique_ptr<control::ControlClient> client;
        std::unique_ptr<OwnedTask> task;
    };
    std::vector<Retired> retired_;
    bool zferry_peer_ = false;
};

class RemoteSender final : public Sender {
public:
    RemoteSender(boost::asio::io_context& ctx, IoEngine& engine, RemoteOptions options, Logger log);

    boost::asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems() override;
    boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) override;
    boost::asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots(
        std::string fs, std::vector<zfs::FilesystemVersion> snapshots) override;
    boost::asio::awaitable<Result<void>> wait_for_connectivity() override;
    // Returns once the server answered the /v1/send request (a refusal is the error here);
    // the stream follows in the reply's pipe.
    boost::asio::awaitable<Result<SendReply>> send(StepRequest req) override;
    boost::asio::awaitable<Result<void>> send_completed(StepRequest req) override;
    boost::asio::awaitable<Result<std::optional<std::uint64_t>>> send_dry(StepRequest req) override;
    boost::asio::awaitable<Result<std::optional<std::uint64_t>>> replication_cursor(std::string fs) override;
    // Only a zferry/1 server takes a coalesced step; asked after the listings, so the control
    // connection's handshake has told.
    bool sends_coalesced_steps() const noexcept override { return conn_.zferry_peer(); }
    RemoteConnection& connection() noexcept { return conn_; }

    boost::asio::awaitable<void> close() { co_await conn_.close(); }

private:
    RemoteConnection conn_;
};

class RemoteReceiver final : public Receiver {
public:
    RemoteReceiver(boost::asio::io_context& ctx, IoEngine& engine, RemoteOptions options, Logger log);

    boost::asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems() override;
    boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) override;
    boost::asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots(
        std::string fs, std::vector<zfs::FilesystemVersion> snapshots) override;
    boost::asio::awaitable<Result<void>> wait_for_connectivity() override;
    // Starts the /v1/recv request; the session's stream is the pipe the request reads.
    // session.target is the sender's name (the server maps it).
    boost::asio::awaitable<Result<ReceiveSession>> receive(ReceiveRequest req) override;
    // Closes the pipe and waits for the server's answer (its `zfs recv` and checks).
    boost::asio::awaitable<Result<void>> finish_receive(ReceiveSession& session) override;

    boost::asio::awaitable<void> close() { co_await conn_.close(); }
    RemoteConnection& connection() noexcept { return conn_; }

private:
    RemoteConnection conn_;
};

}  // namespace zferry::replication::remote
