// Planning the replication of one filesystem, without I/O (zrepl's Filesystem.doPlanning,
// reference §3.2, plus coalescing): from both sides' versions, the receiver's resume token
// and the job's policy, the steps to run, or why there are none.
#pragma once

#include "replication/logic/conflict.hpp"
#include "replication/logic/step.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/resume_token.hpp"

#include <optional>
#include <ostream>
#include <regex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace zferry::replication {

// `conflict_resolution.initial_replication`: what to send to a receiver that has nothing.
enum class InitialReplicationPolicy {
    most_recent,  // a full send of the newest snapshot (zrepl's default)
    all,          // a full send of the oldest snapshot, then every later one
    fail,         // refuse; the operator seeds the receiver by hand
};
std::string_view to_string(InitialReplicationPolicy p) noexcept;
std::optional<InitialReplicationPolicy> parse_initial_replication_policy(std::string_view s) noexcept;
std::ostream& operator<<(std::ostream& os, InitialReplicationPolicy p);

enum class ReceiverState {
    absent,       // the filesystem does not exist on the receiver
    placeholder,  // it exists as a placeholder (zrepl:placeholder=on): treated as empty
    present,
};

struct PlanInput {
    bool sender_is_placeholder = false;
    std::vector<zfs::FilesystemVersion> sender_versions;
    ReceiverState receiver = ReceiverState::absent;
    std::vector<zfs::FilesystemVersion> receiver_versions;  // read only when present
    // The receiver's receive_resume_token, raw (passed on to the sender) and decoded.
    std::string resume_token_raw;
    std::optional<zfs::ResumeToken> resume_token;
    InitialReplicationPolicy initial = InitialReplicationPolicy::most_recent;
    // Only snapshots whose name this matches (std::regex_search) are replicated; the others
    // are skipped with `send -i` across them, never carried by a `send -I`.
    std::optional<std::regex> snapshot_filter;
    // Send runs of consecutive pending snapshots as one `zfs send -I` step.
    bool coalesce = true;
    // A retried attempt finishes what the failed one planned and no more: no step goes past
    // the sender snapshot with this GUID (the previous attempt's last target). Without it a
    // retry would chase snapshots taken meanwhile, and a filesystem that keeps failing could
    // hold the job forever. A limit the sender no longer has (pruned meanwhile) is ignored:
    // the previous target is unreachable, so the attempt plans as if it were the first.
    std::optional<std::uint64_t> limit_to_guid;
};

// The receiver's partial state names versions the sender no longer has (destroyed or
// rolled back): it can never be resumed. The driver clears it (`zfs recv -A`) and plans
// again without the token.
struct ClearStaleResumeToken {
    std::string reason;
    friend bool operator==(const ClearStaleResumeToken&, const ClearStaleResumeToken&) = default;
};

// Planning failed for a reason other than a conflict of the version histories.
struct PlanError {
    std::string message;
    friend bool operator==(const PlanError&, const PlanError&) = default;
};

struct Plan {
    // Steps in order (empty: the receiver is up to date, or there is nothing to send), or
    // the conflict of the two histories, or an error, or the stale resume token to clear.
    std::variant<std::vector<Step>, Conflict, PlanError, ClearStaleResumeToken> outcome;

    const std::vector<Step>* steps() const noexcept { return std::get_if<std::vector<Step>>(&outcome); }
    friend bool operator==(const Plan&, const Plan&) = default;
};

std::ostream& operator<<(std::ostream& os, const Plan& p);

Plan plan_filesystem(const PlanInput& in);

}  // namespace zferry::replication
