#include "replication/control/control_client.hpp"

#include "replication/control/pdu_convert.hpp"
#include "replication/control/replication_service.hpp"
#include "replication/pdu/pdu.pb.h"

namespace zferry::replication::control {

namespace asio = boost::asio;

namespace {
Error bad_response(std::string_view method, std::string_view what) {
    return Error(Errc::protocol_error, std::string(method) + ": " + std::string(what));
}
}  // namespace

bool ControlClient::unsent(const Error& e) noexcept {
    return e.code() == make_error_code(Errc::connection_closed);
}

ControlClient::ControlClient(transport::grpc::GrpcClientConnection& conn, ControlClientOptions options,
                             Logger log)
    : conn_(conn), options_(options), log_(std::move(log)) {}

asio::awaitable<Result<std::string>> ControlClient::call(std::string method, std::string request) {
    auto r = co_await conn_.call(method, std::move(request), options_.call_timeout);
    if (r.unsent)
        co_return Error(Errc::connection_closed,
                        method + (r.refused ? ": refused unprocessed by the server" : ": not sent") +
                            ", the control connection takes no new calls (" + r.status.message + ")");
    if (!r.status.ok()) {
        auto e = error_of(r.status, method);
        log_.debug("{}", e.message());
        co_return e;
    }
    co_return std::move(r.message);
}

asio::awaitable<Result<std::vector<FilesystemInfo>>> ControlClient::list_filesystems() {
    const std::string method(kListFilesystemsMethod);
    auto bytes = co_await call(method, ListFilesystemReq().SerializeAsString());
    if (!bytes) co_return bytes.error();
    ListFilesystemRes res;
    if (!res.ParseFromString(*bytes)) co_return bad_response(method, "not a ListFilesystemRes");
    std::vector<FilesystemInfo> out;
    out.reserve(res.filesystems_size());
    for (const auto& f : res.filesystems()) out.push_back(from_pdu(f));
    co_return out;
}

asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> ControlClient::list_versions(std::string fs) {
    const std::string method(kListFilesystemVersionsMethod);
    ListFilesystemVersionsReq req;
    req.set_filesystem(fs);
    auto bytes = co_await call(method, req.SerializeAsString());
    if (!bytes) co_return bytes.error();
    ListFilesystemVersionsRes res;
    if (!res.ParseFromString(*bytes)) co_return bad_response(method, "not a ListFilesystemVersionsRes");
    std::vector<zfs::FilesystemVersion> out;
    out.reserve(res.versions_size());
    for (const auto& v : res.versions()) {
        auto conv = from_pdu(v, fs);
        if (!conv) {
            auto e = bad_response(method, conv.error().message());
            co_return e;
        }
        out.push_back(std::move(*conv));
    }
    co_return out;
}

asio::awaitable<Result<std::vector<DestroySnapshotResult>>> ControlClient::destroy_snapshots(
    std::string fs, std::vector<zfs::FilesystemVersion> snapshots) {
    const std::string method(kDestroySnapshotsMethod);
    auto bytes = co_await call(method, destroy_request_to_pdu(fs, snapshots).SerializeAsString());
    if (!bytes) co_return bytes.error();
    DestroySnapshotsRes res;
    if (!res.ParseFromString(*bytes)) co_return bad_response(method, "not a DestroySnapshotsRes");
    auto results = destroy_results_from_pdu(res, fs);
    if (!results) {
        auto e = results.error();
        co_return e.wrap(method);
    }
    co_return std::move(*results);
}

asio::awaitable<Result<std::optional<std::uint64_t>>> ControlClient::replication_cursor(std::string fs) {
    const std::string method(kReplicationCursorMethod);
    ReplicationCursorReq req;
    req.set_filesystem(fs);
    auto bytes = co_await call(method, req.SerializeAsString());
    if (!bytes) co_return bytes.error();
    ReplicationCursorRes res;
    if (!res.ParseFromString(*bytes)) co_return bad_response(method, "not a ReplicationCursorRes");
    auto cursor = cursor_from_pdu(res);
    if (!cursor) {
        auto e = cursor.error();
        co_return e.wrap(method);
    }
    co_return *cursor;
}

asio::awaitable<Result<std::optional<std::uint64_t>>> ControlClient::send_dry(StepRequest req) {
    const std::string method(kSendDryMethod);
    const bool token = !req.resume_token.empty();
    auto bytes = co_await call(method, to_pdu(req).SerializeAsString());
    if (!bytes) co_return bytes.error();
    SendRes res;
    if (!res.ParseFromString(*bytes)) co_return bad_response(method, "not a SendRes");
    if (res.usedresumetoken() && !token)
        co_return bad_response(method, "the sender used a resume token the request did not carry");
    std::optional<std::uint64_t> size;
    if (res.expectedsize() != 0) size = res.expectedsize();
    co_return size;
}

asio::awaitable<Result<void>> ControlClient::send_completed(StepRequest req) {
    const std::string method(kSendCompletedMethod);
    SendCompletedReq r;
    *r.mutable_originalreq() = to_pdu(req);
    auto bytes = co_await call(method, r.SerializeAsString());
    if (!bytes) co_return bytes.error();
    SendCompletedRes res;
    if (!res.ParseFromString(*bytes)) co_return bad_response(method, "not a SendCompletedRes");
    co_return Result<void>{};
}

asio::awaitable<Result<void>> ControlClient::ping(std::string message) {
    const std::string method(kPingMethod);
    PingReq req;
    req.set_message(message);
    auto bytes = co_await call(method, req.SerializeAsString());
    if (!bytes) co_return bytes.error();
    PingRes res;
    if (!res.ParseFromString(*bytes)) co_return bad_response(method, "not a PingRes");
    if (res.echo() != message) co_return bad_response(method, "the echo differs from the message");
    co_return Result<void>{};
}

asio::awaitable<Result<void>> ControlClient::wait_for_connectivity() {
    co_return co_await ping(std::string("wait for connectivity"));
}

}  // namespace zferry::replication::control
