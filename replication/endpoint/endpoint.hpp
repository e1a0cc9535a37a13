// The two sides of a replication, as the planner and driver see them (zrepl's Endpoint,
// Sender and Receiver, reference §3.2): listings, the send of one step, its confirmation, the
// replication cursor. Either side is local (on a ZfsRunner of this host) or remote (the
// control channel and dataconn, later); the semantics are the same. Filesystem names are the
// sender's names on both sides (a receiver hides its root_fs prefix).
#pragma once

#include "core/error.hpp"
#include "replication/logic/guarantees.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/send_recv.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace zferry {
class Throttle;  // core/throttle.hpp: a bandwidth limit
}

namespace zferry::replication {

struct FilesystemInfo {
    std::string path;
    bool is_placeholder = false;
    std::string resume_token;  // receivers only: the partial receive's token
    friend bool operator==(const FilesystemInfo&, const FilesystemInfo&) = default;
};

// One step (zrepl's SendReq): from (absent: full) .. to, or a resume token.
struct StepRequest {
    std::string filesystem;
    std::optional<zfs::FilesystemVersion> from;
    zfs::FilesystemVersion to;  // a snapshot
    std::string resume_token;   // may be used; the reply says whether it was
    Protection protection;
    bool intermediates = false;  // a coalesced step: `send -I`
};

struct SendReply {
    bool used_resume_token = false;
    zfs::SendStream stream;  // read it to the end, then finish() it
};

// zrepl's DestroySnapshotRes: one per requested snapshot, in the request's order.
struct DestroySnapshotResult {
    zfs::FilesystemVersion snapshot;  // as requested
    std::string error;                // empty: it is gone (destroyed, or it was already absent)
    friend bool operator==(const DestroySnapshotResult&, const DestroySnapshotResult&) = default;
};

class Endpoint {
public:
    virtual ~Endpoint() = default;
    virtual boost::asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems() = 0;
    virtual boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) = 0;
    // zrepl's DestroySnapshots: snapshots of `fs` (the sender's name) by their short names,
    // checked like every other request (a sender's filter, a receiver's mapping below its
    // client root). Only snapshots: a bookmark (or a bad name) refuses the whole request and
    // nothing is destroyed. A snapshot zfs refuses (held, in use) gets zfs's reason in its
    // result and does not stop the others.
    virtual boost::asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots(
        std::string fs, std::vector<zfs::FilesystemVersion> snapshots) = 0;
    // zrepl's WaitForConnectivity: succeeds once the endpoint answers (a remote one pings its
    // control and data channels). A local endpoint is always reachable.
    virtual boost::asio::awaitable<Result<void>> wait_for_connectivity() { co_return Result<void>{}; }
};

class Sender : public Endpoint {
public:
    // Validates the request against the live dataset, applies the step's guarantee (holds or
    // tentative cursors), starts `zfs send`, and cleans up what earlier steps left.
    virtual boost::asio::awaitable<Result<SendReply>> send(StepRequest req) = 0;
    // The receiver has the step: the cursor moves to `to`, the step's abstractions go.
    // Idempotent: a repeated confirmation changes nothing.
    virtual boost::asio::awaitable<Result<void>> send_completed(StepRequest req) = 0;
    // zrepl's SendDry: the stream size the step would have; nullopt: this ZFS cannot say.
    virtual boost::asio::awaitable<Result<std::optional<std::uint64_t>>> send_dry(StepRequest req) = 0;
    // SendDry for each of one filesystem's planned steps, in order; the results stop after the
    // first error. A sender may answer consecutive single-snapshot steps with one dry run
    // (LocalSender does); this one asks send_dry for each, as zrepl's protocol does.
    virtual boost::asio::awaitable<std::vector<Result<std::optional<std::uint64_t>>>> send_dry_steps(
        std::vector<StepRequest> reqs) {
        std::vector<Result<std::optional<std::uint64_t>>> out;
        for (auto& r : reqs) {
            out.push_back(co_await send_dry(std::move(r)));
            if (!out.back()) break;
        }
        co_return out;
    }
    // The GUID the job's newest cursor v2 bookmarks; nullopt: none.
    virtual boost::asio::awaitable<Result<std::optional<std::uint64_t>>> replication_cursor(
        std::string fs) = 0;
    // Whether send() takes coalesced steps (`intermediates`, a `send -I`). A sender across
    // zrepl's protocol cannot (its SendReq has no field for it); the driver then plans one
    // step per snapshot.
    virtual bool sends_coalesced_steps() const noexcept { return true; }
    // The job's `send.bandwidth_limit` where this side moves the stream (null: none). A
    // remote sender limits on its own host, so it has none here.
    virtual Throttle* send_bandwidth_limit() noexcept { return nullptr; }
};

// zrepl's ReceiveReq: the step's target snapshot, whether a stale partial receive must be
// discarded first (the sender did not use the resume token), and the guarantee.
struct ReceiveRequest {
    std::string filesystem;  // the sender's name
    zfs::FilesystemVersion to;
    bool clear_resume_token = false;
    Protection protection;
    bool incremental = false;  // the step has a `from` (selects protection.incremental)
};

// A receive in progress: write the stream into `stream` (its fd), then finish_receive.
struct ReceiveSession {
    ReceiveRequest request;
    std::string target;  // the receiver's own name of the filesystem
    zfs::RecvStream stream;
    bool into_placeholder = false;  // the target was a placeholder before this receive
};

class Receiver : public Endpoint {
public:
    // Maps the name, creates missing parents as placeholders, discards a stale partial
    // receive if asked, and starts `zfs recv`.
    virtual boost::asio::awaitable<Result<ReceiveSession>> receive(ReceiveRequest req) = 0;
    // After the whole stream was written: waits for `zfs recv`, checks that the received
    // snapshot has the requested GUID, and applies the guarantee (last-received hold).
    virtual boost::asio::awaitable<Result<void>> finish_receive(ReceiveSession& session) = 0;
    // The job's `recv.bandwidth_limit` where this side moves the stream (null: none).
    virtual Throttle* recv_bandwidth_limit() noexcept { return nullptr; }
};

}  // namespace zferry::replication
