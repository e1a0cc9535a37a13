// zrepl's gRPC service `Replication` (no proto package, so paths are /Replication/<Method>)
// on zferry's gRPC server, served by a replication endpoint of this host: a source or push
// side serves its Sender (Ping, ListFilesystems, ListFilesystemVersions, DestroySnapshots,
// ReplicationCursor, SendDry, SendCompleted), a sink its Receiver (Ping, the two listings and
// DestroySnapshots). Paths without a handler are answered UNIMPLEMENTED by the dispatch.
//
// The endpoint does the access checks (the sender's filesystem filter, the receiver's
// root_fs[/identity] mapping): a handler only converts messages (pdu_convert.hpp) and maps
// the endpoint's errors to statuses. A request that does not parse is INTERNAL
// "grpc: error unmarshalling request: ..." as grpc-go answers; one whose fields are invalid
// (a bad Creation, a missing To) INVALID_ARGUMENT. The endpoint must outlive the dispatch's
// calls.
#pragma once

#include "replication/endpoint/endpoint.hpp"
#include "transport/grpc/grpc_server.hpp"

#include <string_view>

namespace zferry::replication::control {

inline constexpr std::string_view kPingMethod = "/Replication/Ping";
inline constexpr std::string_view kListFilesystemsMethod = "/Replication/ListFilesystems";
inline constexpr std::string_view kListFilesystemVersionsMethod = "/Replication/ListFilesystemVersions";
inline constexpr std::string_view kDestroySnapshotsMethod = "/Replication/DestroySnapshots";
inline constexpr std::string_view kReplicationCursorMethod = "/Replication/ReplicationCursor";
inline constexpr std::string_view kSendDryMethod = "/Replication/SendDry";
inline constexpr std::string_view kSendCompletedMethod = "/Replication/SendCompleted";

// /Replication/Ping: PingRes.Echo = PingReq.Message (zrepl's Ping handler).
void add_ping(transport::grpc::ServiceDispatch& dispatch);

// Ping, ListFilesystems, ListFilesystemVersions and DestroySnapshots on `endpoint`.
void add_endpoint_methods(transport::grpc::ServiceDispatch& dispatch, Endpoint& endpoint);

// The endpoint's methods plus ReplicationCursor, SendDry (SendRes.UsedResumeToken is true
// when the request carries a token, which the sender validated; ExpectedSize 0 when the
// sender cannot estimate) and SendCompleted.
void add_sender_methods(transport::grpc::ServiceDispatch& dispatch, Sender& sender);

}  // namespace zferry::replication::control
