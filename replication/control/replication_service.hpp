// zrepl's gRPC service `Replication` (no proto package, so paths are /Replication/<Method>)
// on zferry's gRPC server. Ping is served here; the other methods need the replication
// endpoint on the server side and are answered UNIMPLEMENTED until they are added.
#pragma once

#include "transport/grpc/grpc_server.hpp"

namespace zferry::replication::control {

inline constexpr std::string_view kPingMethod = "/Replication/Ping";

// /Replication/Ping: PingRes.Echo = PingReq.Message (zrepl's Ping handler).
void add_ping(transport::grpc::ServiceDispatch& dispatch);

}  // namespace zferry::replication::control
