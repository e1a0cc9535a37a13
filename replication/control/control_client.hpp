// The client half of zrepl's control channel: the Replication service's unary methods over a
// GrpcClientConnection, as the remote Endpoint/Sender will use them. The remote endpoint adds
// the dataconn (send, receive, the data ping) on top; this class has exactly the control
// methods and no stream.
//
// Errors: a non-OK status becomes an Error in remote_status_category() (pdu_convert.hpp):
// UNAVAILABLE (a temporary error on the server, or the connection went away) and
// DEADLINE_EXCEEDED are temporary, everything else permanent, so the replication driver
// retries exactly what the server would have retried locally. A response that does not parse
// or contradicts the protocol is Errc::protocol_error (permanent).
//
// Calls may run concurrently from coroutines on the connection's executor; the connection
// must outlive the client's calls.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "transport/grpc/grpc_client.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zferry::replication::control {

struct ControlClientOptions {
    // The deadline sent with every call (grpc-timeout); none: the keepalive alone detects a
    // dead peer, as zrepl's client does.
    std::optional<transport::grpc::Duration> call_timeout;
};

class ControlClient {
public:
    ControlClient(transport::grpc::GrpcClientConnection& conn, ControlClientOptions options, Logger log);

    // /Replication/ListFilesystems: the peer's filesystems (a receiver's with its prefix hidden).
    boost::asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems();
    // /Replication/ListFilesystemVersions; each version's `filesystem` is `fs`.
    boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(std::string fs);
    // /Replication/DestroySnapshots: one result per snapshot the peer reports.
    boost::asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots(
        std::string fs, std::vector<zfs::FilesystemVersion> snapshots);
    // /Replication/ReplicationCursor: the cursor's GUID, nullopt for Notexist.
    boost::asio::awaitable<Result<std::optional<std::uint64_t>>> replication_cursor(std::string fs);
    // /Replication/SendDry: the expected size, nullopt when the sender cannot say (0 on the
    // wire). `req.intermediates` travels in zferry's own SendReq field (pdu_convert.hpp).
    boost::asio::awaitable<Result<std::optional<std::uint64_t>>> send_dry(StepRequest req);
    // /Replication/SendCompleted with the step as OriginalReq.
    boost::asio::awaitable<Result<void>> send_completed(StepRequest req);
    // /Replication/Ping: succeeds when the echo equals `message`.
    boost::asio::awaitable<Result<void>> ping(std::string message);
    // zrepl's WaitForConnectivity for the control channel: one Ping.
    boost::asio::awaitable<Result<void>> wait_for_connectivity();

    // The call was never sent, or the server refused it unprocessed, and its connection takes no
    // new calls any more (the server said GOAWAY, e.g. closing an idle connection, or the
    // connection ended). Errc::connection_closed (temporary); the owner may make the same call
    // again on a new connection.
    static bool unsent(const Error& e) noexcept;

private:
    // One call: the response bytes, or the status as an Error.
    boost::asio::awaitable<Result<std::string>> call(std::string method, std::string request);

    transport::grpc::GrpcClientConnection& conn_;
    ControlClientOptions options_;
    Logger log_;
};

}  // namespace zferry::replication::control
