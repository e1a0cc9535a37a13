#include "replication/control/replication_service.hpp"

#include "replication/pdu/pdu.pb.h"

namespace zferry::replication::control {

namespace grpc = transport::grpc;

void add_ping(grpc::ServiceDispatch& dispatch) {
    dispatch.add(std::string(kPingMethod),
                 [](grpc::CallContext ctx, std::string request) -> boost::asio::awaitable<grpc::UnaryReply> {
                     PingReq req;
                     if (!req.ParseFromString(request))
                         co_return grpc::UnaryReply::error(
                             grpc::StatusCode::internal, "grpc: error unmarshalling request: not a PingReq");
                     ctx.log.debug("ping: {} bytes", req.message().size());
                     PingRes res;
                     res.set_echo(req.message());
                     co_return grpc::UnaryReply::ok(res.SerializeAsString());
                 });
}

}  // namespace zferry::replication::control
