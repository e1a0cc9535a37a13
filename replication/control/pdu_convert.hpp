// zferry's endpoint structs <-> zrepl's pdu messages (reference §3.1), and endpoint errors <->
// gRPC statuses. Pure: no I/O, table-tested.
//
// What travels: FilesystemVersion as zrepl sends it (Type, the short Name, Guid, CreateTXG,
// Creation as RFC 3339 with second precision; zferry writes UTC "Z", reads any offset and
// fractional seconds as Go's time.Parse(time.RFC3339) does, and refuses anything else).
// A SendReq needs `To` and a ReplicationConfig whose protection kinds are valid (zrepl refuses
// GuaranteeInvalid too). zferry's `StepRequest::intermediates` (a coalesced `send -I` step)
// travels in zferry's own field `ZferryIntermediates` (1000), set only when true, so a plain
// step's bytes are zrepl's; the remote sender sends a coalesced step only to a peer that
// negotiated zferry/1 (a zrepl peer would ignore the field and send `-i`).
//
// Errors: a temporary endpoint error becomes UNAVAILABLE; a permanent one the closest code
// (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, INTERNAL), its message
// the error's whole text. The client side turns a status back into an Error in
// `remote_status_category()`, where UNAVAILABLE and DEADLINE_EXCEEDED are temporary (what
// grpc-go reports for a connection that went away or a peer that did not answer in time) and
// every other code is permanent, so Error::temporary() keeps its meaning across the wire.
#pragma once

#include "core/error.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "replication/pdu/pdu.pb.h"
#include "transport/grpc/grpc_codec.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::replication::control {

// "2026-11-30T12:56:00Z" for unix seconds (UTC; years 0..9999).
std::string format_rfc3339(std::int64_t unix_seconds);
// Go's RFC 3339 layout: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), fields in range.
// The fraction is dropped (versions have second precision). Errc::parse_error otherwise.
Result<std::int64_t> parse_rfc3339(std::string_view text);

::FilesystemVersion to_pdu(const zfs::FilesystemVersion& v);
// `filesystem` is the request's filesystem (the pdu version does not carry it). Refuses an
// unknown type, an empty name or one with '@', '#' or '/', and a bad Creation.
Result<zfs::FilesystemVersion> from_pdu(const ::FilesystemVersion& v, const std::string& filesystem);

::Filesystem to_pdu(const FilesystemInfo& f);
FilesystemInfo from_pdu(const ::Filesystem& f);

::ReplicationGuaranteeKind to_pdu(GuaranteeKind k);
Result<GuaranteeKind> from_pdu(::ReplicationGuaranteeKind k);

::SendReq to_pdu(const StepRequest& r);
// Errc::invalid_argument for a missing filesystem or To, a bad version, a missing or invalid
// protection.
Result<StepRequest> from_pdu(const ::SendReq& r);

// zrepl's ReceiveReq (the dataconn /v1/recv request). `incremental` does not travel (zrepl's
// message has no field for it): the receiving host decides it from its own state.
::ReceiveReq to_pdu(const ReceiveRequest& r);
// Errc::invalid_argument for a missing filesystem or To, a To that is no snapshot, a missing
// or invalid protection. `incremental` is false.
Result<ReceiveRequest> from_pdu(const ::ReceiveReq& r);

::ReplicationCursorRes cursor_to_pdu(std::optional<std::uint64_t> guid);
// Errc::protocol_error when neither Guid nor Notexist is set.
Result<std::optional<std::uint64_t>> cursor_from_pdu(const ::ReplicationCursorRes& r);

// DestroySnapshots: the request's versions (each with `fs` as its filesystem) and the results.
::DestroySnapshotsReq destroy_request_to_pdu(const std::string& fs,
                                             const std::vector<zfs::FilesystemVersion>& snapshots);
// Errc::invalid_argument for a missing filesystem or a bad version.
Result<std::vector<zfs::FilesystemVersion>> destroy_request_from_pdu(const ::DestroySnapshotsReq& r);
::DestroySnapshotsRes destroy_results_to_pdu(const std::vector<DestroySnapshotResult>& results);
// Errc::protocol_error for a result without its Snapshot or with a bad one.
Result<std::vector<DestroySnapshotResult>> destroy_results_from_pdu(const ::DestroySnapshotsRes& r,
                                                                    const std::string& fs);

// The error category of statuses a remote endpoint answered with (value: the status code).
const boost::system::error_category& remote_status_category() noexcept;

// The status a server answers for an endpoint error.
transport::grpc::Status status_of(const Error& e);
// The Error a client reports for a non-OK status of `method` ("/Replication/SendDry"):
// the status code in remote_status_category, the context "METHOD: CODE: message".
Error error_of(const transport::grpc::Status& s, std::string_view method);

}  // namespace zferry::replication::control
