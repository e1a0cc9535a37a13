// zrepl's replication guarantees (reference §4.2) as data. For one step of one filesystem:
// what the sender does before a send (step holds or tentative cursors on `from` and `to`),
// what it does once the receiver confirmed the step (SendCompleted: the replication cursor
// moves to `to`, the step's abstractions go), and what the receiver does after a receive
// (the last-received hold moves to `to`); plus which of the job's abstractions on the
// filesystem are stale at each point. The endpoint runs the actions; nothing here touches
// ZFS, so every rule is a table test. The actions come batched as zfs allows (one `zfs hold`
// for both snapshots, one `zfs destroy` for all stale bookmarks).
#pragma once

#include "core/error.hpp"
#include "replication/logic/abstraction_names.hpp"
#include "replication/logic/job_id.hpp"
#include "zfs/filesystem_version.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace zferry::replication {

// replication.protection.{initial,incremental} (pdu ReplicationGuaranteeKind without Invalid).
enum class GuaranteeKind { resumability, incremental, nothing };
// "guarantee_resumability", "guarantee_incremental", "guarantee_nothing"
std::string_view to_string(GuaranteeKind k) noexcept;
std::optional<GuaranteeKind> parse_guarantee_kind(std::string_view s) noexcept;

struct Protection {
    GuaranteeKind initial = GuaranteeKind::resumability;
    GuaranteeKind incremental = GuaranteeKind::resumability;
    // A full send (no `from`) is governed by `initial`, every other step by `incremental`.
    GuaranteeKind for_step(bool has_from) const noexcept { return has_from ? incremental : initial; }
    friend bool operator==(const Protection&, const Protection&) = default;
};

// One of a job's abstractions found on a filesystem (from a listing of holds and bookmarks).
// The functions below take the abstractions of ONE job on ONE filesystem (the listing parses
// the job from each name); holds of other tags are left alone all the same.
struct Abstraction {
    AbstractionType type = AbstractionType::step_hold;
    // The snapshot a hold is on, or the bookmark itself (its GUID and createtxg are the
    // snapshot's it was made from).
    zfs::FilesystemVersion version;
    std::string tag;  // holds: the hold tag
    friend bool operator==(const Abstraction&, const Abstraction&) = default;
};

// What to do on ZFS, batched. Names are full ("pool/fs@snap", "pool/fs#bm").
struct Hold {
    std::string tag;
    std::vector<std::string> snapshots;
    friend bool operator==(const Hold&, const Hold&) = default;
};
struct Release {
    std::string tag;
    std::vector<std::string> snapshots;
    friend bool operator==(const Release&, const Release&) = default;
};
struct CreateBookmark {
    std::string snapshot;
    std::string bookmark;
    friend bool operator==(const CreateBookmark&, const CreateBookmark&) = default;
};
struct DestroyBookmarks {
    std::vector<std::string> bookmarks;
    friend bool operator==(const DestroyBookmarks&, const DestroyBookmarks&) = default;
};
using AbstractionAction = std::variant<Hold, Release, CreateBookmark, DestroyBookmarks>;
std::ostream& operator<<(std::ostream& os, const AbstractionAction& a);

// Before `zfs send` of from..to (from absent: a full send). resumability: the step hold on
// `to` and on `from` if it is a snapshot (a bookmark cannot be held); incremental: tentative
// cursor bookmarks of the same; nothing: none. Errors: `to` is not a snapshot, a bookmark
// name too long for ZFS.
Result<std::vector<AbstractionAction>> sender_pre_send(GuaranteeKind kind, const JobId& job,
                                                       const std::optional<zfs::FilesystemVersion>& from,
                                                       const zfs::FilesystemVersion& to);

// After the send started: the job's step holds and tentative cursors on the filesystem that
// this step did not just create and that are not `from` itself are stale. A safety check
// refuses (Errc::internal) any plan that would touch `from` or `to`.
Result<std::vector<AbstractionAction>> sender_stale_after_send(
    GuaranteeKind kind, const JobId& job, const std::optional<zfs::FilesystemVersion>& from,
    const zfs::FilesystemVersion& to, const std::vector<Abstraction>& existing);

// SendCompleted: the replication cursor v2 moves to `to` (created before anything is
// released: if that fails the step holds stay, as zrepl says "keeping hold on `to` until
// successful"), then the job's step holds, tentative cursors and older cursors go.
// Nothing for guarantee `nothing` except that cleanup of what earlier steps left.
Result<std::vector<AbstractionAction>> sender_send_completed(GuaranteeKind kind, const JobId& job,
                                                             const zfs::FilesystemVersion& to,
                                                             const std::vector<Abstraction>& existing);

// After a successful receive of `to`: the last-received hold on it (resumability and
// incremental), and the job's older last-received holds released (never the one on `to`).
Result<std::vector<AbstractionAction>> receiver_post_recv(GuaranteeKind kind, const JobId& job,
                                                          const zfs::FilesystemVersion& to,
                                                          const std::vector<Abstraction>& existing);

// `zfs-abstraction release-stale` (reference §4.3), per filesystem and job: step holds on
// snapshots at or before the newest cursor v2 are stale (without a cursor, all but the newest
// step hold); of cursors v2 and last-received holds all but the newest; v1 cursors never.
std::vector<Abstraction> stale_abstractions(const std::vector<Abstraction>& of_one_job_and_fs);

}  // namespace zferry::replication
