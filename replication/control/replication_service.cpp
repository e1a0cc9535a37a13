#include "replication/control/replication_service.hpp"

#include "replication/control/pdu_convert.hpp"
#include "replication/pdu/pdu.pb.h"

namespace zferry::replication::control {

namespace grpc = transport::grpc;
namespace asio = boost::asio;

namespace {

grpc::UnaryReply unmarshal_error(std::string_view type) {
    return grpc::UnaryReply::error(grpc::StatusCode::internal,
                                   "grpc: error unmarshalling request: not a " + std::string(type));
}

// The endpoint's error as the reply, logged with the call's context (method, client).
grpc::UnaryReply failed(const grpc::CallContext& ctx, const Error& e) {
    auto s = status_of(e);
    ctx.log.info("answering {}: {}", grpc::status_code_name(s.code), s.message);
    return grpc::UnaryReply{std::move(s), std::string()};
}

// Handlers are plain coroutines with everything by value (the endpoint by pointer): the
// lambdas registered below only forward to them.

asio::awaitable<grpc::UnaryReply> ping(grpc::CallContext ctx, std::string request) {
    PingReq req;
    if (!req.ParseFromString(request)) co_return unmarshal_error("PingReq");
    ctx.log.debug("ping: {} bytes", req.message().size());
    PingRes res;
    res.set_echo(req.message());
    co_return grpc::UnaryReply::ok(res.SerializeAsString());
}

asio::awaitable<grpc::UnaryReply> list_filesystems(Endpoint* ep, grpc::CallContext ctx, std::string request) {
    ListFilesystemReq req;
    if (!req.ParseFromString(request)) co_return unmarshal_error("ListFilesystemReq");
    auto listed = co_await ep->list_filesystems();
    if (!listed) co_return failed(ctx, listed.error());
    ListFilesystemRes res;
    for (const auto& f : *listed) *res.add_filesystems() = to_pdu(f);
    ctx.log.debug("listed {} filesystems", listed->size());
    co_return grpc::UnaryReply::ok(res.SerializeAsString());
}

asio::awaitable<grpc::UnaryReply> list_versions(Endpoint* ep, grpc::CallContext ctx, std::string request) {
    ListFilesystemVersionsReq req;
    if (!req.ParseFromString(request)) co_return unmarshal_error("ListFilesystemVersionsReq");
    auto listed = co_await ep->list_versions(req.filesystem());
    if (!listed) co_return failed(ctx, listed.error());
    ListFilesystemVersionsRes res;
    for (const auto& v : *listed) *res.add_versions() = to_pdu(v);
    co_return grpc::UnaryReply::ok(res.SerializeAsString());
}

asio::awaitable<grpc::UnaryReply> destroy_snapshots(Endpoint* ep, grpc::CallContext ctx,
                                                    std::string request) {
    DestroySnapshotsReq req;
    if (!req.ParseFromString(request)) co_return unmarshal_error("DestroySnapshotsReq");
    auto snapshots = destroy_request_from_pdu(req);
    if (!snapshots) co_return failed(ctx, snapshots.error());
    auto results = co_await ep->destroy_snapshots(req.filesystem(), std::move(*snapshots));
    if (!results) co_return failed(ctx, results.error());
    for (const auto& r : *results)
        if (!r.error.empty()) ctx.log.info("not destroyed: {}: {}", r.snapshot.full_name(), r.error);
    co_return grpc::UnaryReply::ok(destroy_results_to_pdu(*results).SerializeAsString());
}

asio::awaitable<grpc::UnaryReply> replication_cursor(Sender* s, grpc::CallContext ctx, std::string request) {
    ReplicationCursorReq req;
    if (!req.ParseFromString(request)) co_return unmarshal_error("ReplicationCursorReq");
    auto cursor = co_await s->replication_cursor(req.filesystem());
    if (!cursor) co_return failed(ctx, cursor.error());
    co_return grpc::UnaryReply::ok(cursor_to_pdu(*cursor).SerializeAsString());
}

asio::awaitable<grpc::UnaryReply> send_dry(Sender* s, grpc::CallContext ctx, std::string request) {
    SendReq req;
    if (!req.ParseFromString(request)) co_return unmarshal_error("SendReq");
    auto step = from_pdu(req);
    if (!step) co_return failed(ctx, step.error());
    const bool token = !step->resume_token.empty();
    auto size = co_await s->send_dry(std::move(*step));
    if (!size) co_return failed(ctx, size.error());
    SendRes res;
    res.set_usedresumetoken(token);
    res.set_expectedsize(size->value_or(0));
    co_return grpc::UnaryReply::ok(res.SerializeAsString());
}

asio::awaitable<grpc::UnaryReply> send_completed(Sender* s, grpc::CallContext ctx, std::string request) {
    SendCompletedReq req;
    if (!req.ParseFromString(request)) co_return unmarshal_error("SendCompletedReq");
    if (!req.has_originalreq()) {
        const Error missing(Errc::invalid_argument,
                            std::string("send completed request without OriginalReq"));
        co_return failed(ctx, missing);
    }
    auto step = from_pdu(req.originalreq());
    if (!step) co_return failed(ctx, step.error());
    auto done = co_await s->send_completed(std::move(*step));
    if (!done) co_return failed(ctx, done.error());
    co_return grpc::UnaryReply::ok(SendCompletedRes().SerializeAsString());
}

}  // namespace

void add_ping(grpc::ServiceDispatch& dispatch) {
    dispatch.add(std::string(kPingMethod), [](grpc::CallContext ctx, std::string request) {
        return ping(std::move(ctx), std::move(request));
    });
}

void add_endpoint_methods(grpc::ServiceDispatch& dispatch, Endpoint& endpoint) {
    add_ping(dispatch);
    Endpoint* ep = &endpoint;
    dispatch.add(std::string(kListFilesystemsMethod), [ep](grpc::CallContext ctx, std::string request) {
        return list_filesystems(ep, std::move(ctx), std::move(request));
    });
    dispatch.add(std::string(kListFilesystemVersionsMethod),
                 [ep](grpc::CallContext ctx, std::string request) {
                     return list_versions(ep, std::move(ctx), std::move(request));
                 });
    dispatch.add(std::string(kDestroySnapshotsMethod), [ep](grpc::CallContext ctx, std::string request) {
        return destroy_snapshots(ep, std::move(ctx), std::move(request));
    });
}

void add_sender_methods(grpc::ServiceDispatch& dispatch, Sender& sender) {
    add_endpoint_methods(dispatch, sender);
    Sender* s = &sender;
    dispatch.add(std::string(kReplicationCursorMethod), [s](grpc::CallContext ctx, std::string request) {
        return replication_cursor(s, std::move(ctx), std::move(request));
    });
    dispatch.add(std::string(kSendDryMethod), [s](grpc::CallContext ctx, std::string request) {
        return send_dry(s, std::move(ctx), std::move(request));
    });
    dispatch.add(std::string(kSendCompletedMethod), [s](grpc::CallContext ctx, std::string request) {
        return send_completed(s, std::move(ctx), std::move(request));
    });
}

}  // namespace zferry::replication::control
