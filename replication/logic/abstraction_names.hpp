// Names of the ZFS abstractions replication creates (reference §4.1): step holds,
// last-received holds, replication cursors (v2, and the legacy v1 name) and tentative
// cursors. The formats are zrepl's, byte for byte, so an existing zrepl installation's
// holds and bookmarks keep working and `zfs-abstraction list` finds both kinds.
#pragma once

#include "core/error.hpp"
#include "replication/logic/job_id.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>

namespace zferry::replication {

// "#zrepl_CURSOR_G_<guid %016x>_J_<job>"
inline constexpr std::string_view kReplicationCursorPrefix = "zrepl_CURSOR";
// zrepl's constant ends in '_' and the format adds "_G_", hence the double underscore in
// "#zrepl_CURSORTENTATIVE__G_<guid>_J_<job>".
inline constexpr std::string_view kTentativeReplicationCursorPrefix = "zrepl_CURSORTENTATIVE_";
inline constexpr std::string_view kStepHoldTagPrefix = "zrepl_STEP_J_";
inline constexpr std::string_view kLastReceivedHoldTagPrefix = "zrepl_last_received_J_";
// The v1 cursor had neither GUID nor job; zferry only recognises it (for migration).
inline constexpr std::string_view kV1ReplicationCursorName = "zrepl_replication_cursor";
// OpenZFS's hold tag limit (MAXNAMELEN - 1, dsl_userhold.c).
inline constexpr std::size_t kMaxHoldTagLen = 255;

enum class AbstractionType {
    step_hold,
    last_received_hold,
    tentative_replication_cursor_bookmark_v2,
    replication_cursor_bookmark_v1,
    replication_cursor_bookmark_v2,
};

// zrepl's type strings: "step-hold", "last-received-hold",
// "tentative-replication-cursor-bookmark-v2", "replication-cursor-bookmark-v1",
// "replication-cursor-bookmark-v2" (the CLI's --type and the JSON "Type" field).
std::string_view to_string(AbstractionType t) noexcept;
std::optional<AbstractionType> parse_abstraction_type(std::string_view s) noexcept;
std::ostream& operator<<(std::ostream& os, AbstractionType t);

struct JobAndGuid {
    std::uint64_t guid = 0;
    JobId job;
    friend bool operator==(const JobAndGuid&, const JobAndGuid&) = default;
};
std::ostream& operator<<(std::ostream& os, const JobAndGuid& j);

// The short bookmark name "<prefix>_G_<guid %016x>_J_<jobid>"; fails when "fs#<name>" is not
// a valid bookmark name (too long for ZFS, or fs itself invalid).
Result<std::string> make_job_and_guid_bookmark_name(std::string_view prefix, std::string_view fs,
                                                    std::uint64_t guid, std::string_view jobid);
Result<std::string> replication_cursor_bookmark_name(std::string_view fs, std::uint64_t guid,
                                                     const JobId& job);
Result<std::string> tentative_replication_cursor_bookmark_name(std::string_view fs, std::uint64_t guid,
                                                               const JobId& job);

// Parses a full bookmark name "fs#<prefix>_G_<16 lowercase hex>_J_<jobid>". As zrepl's
// regex (.+)_G_([0-9a-f]{16})_J_(.+)$ does, the prefix is the longest head after which such
// a tail follows, and it must equal `prefix` exactly; the job id must pass JobId::make.
Result<JobAndGuid> parse_job_and_guid_bookmark_name(std::string_view fullname, std::string_view prefix);

// Whether a bookmark name made with this job id parses back to it. It does not when the job
// id contains "_G_<16 hex>_J_" followed by more (or starts with "G_<16 hex>_J_" and more):
// the greedy split then happens inside the job id. zrepl accepts such ids and then cannot
// find its own cursors; JobId::make refuses them.
bool job_and_guid_name_reads_back(std::string_view jobid);

// The legacy "#zrepl_replication_cursor": a cursor without GUID or job in its name.
struct ReplicationCursorV1 {
    friend bool operator==(const ReplicationCursorV1&, const ReplicationCursorV1&) = default;
};
using ReplicationCursorName = std::variant<JobAndGuid, ReplicationCursorV1>;

// A full bookmark name that is a replication cursor: v2 (GUID and job) or the v1 name.
Result<ReplicationCursorName> parse_replication_cursor_bookmark_name(std::string_view fullname);
Result<JobAndGuid> parse_tentative_replication_cursor_bookmark_name(std::string_view fullname);

// Hold tags. A JobId guarantees they fit the hold tag limit, so formatting cannot fail.
std::string step_hold_tag(const JobId& job);
std::string last_received_hold_tag(const JobId& job);
// "zrepl_STEP_J_<job>" / "zrepl_last_received_J_<job>" with a valid job id after the prefix.
Result<JobId> parse_step_hold_tag(std::string_view tag);

// zferry's replication cursor where ZFS has no bookmarks (zfs-fuse, pool v23; zrepl does not
// run there): the cursor snapshot is held with this tag, so the next incremental's source
// cannot be destroyed, and its GUID is kept in this user property of the filesystem, so the
// pruner knows what was replicated (zfs-fuse cannot list hold tags). The property name is
// "zferry:cursor:<job>" when the job name is made of what ZFS allows in user property names
// (lowercase letters, digits, - _ . :), else "zferry:cursor:x<hex of the name>".
std::string cursor_hold_tag(const JobId& job);
std::string cursor_property_name(const JobId& job);
Result<JobId> parse_last_received_hold_tag(std::string_view tag);

}  // namespace zferry::replication
