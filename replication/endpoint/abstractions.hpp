// The replication abstractions on a pool (reference §4.3): step holds, last-received holds,
// replication cursors (v2, tentative, legacy v1), found by listing snapshots, bookmarks and
// hold tags, and released: everything a query selects, or only what is stale. zrepl's names,
// so holds and cursors that zrepl made are found and released the same way. Used by
// `zferry zfs-abstraction` on a pool directly, and by the endpoint's cleanup.
#pragma once

#include "core/error.hpp"
#include "replication/logic/abstraction_names.hpp"
#include "replication/logic/create_txg_range.hpp"
#include "replication/logic/filesystem_filter.hpp"
#include "replication/logic/guarantees.hpp"
#include "replication/logic/job_id.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>

#include <optional>
#include <string>
#include <vector>

namespace zferry::replication {

struct AbstractionQuery {
    std::optional<FilesystemFilter> filesystems;  // none: every filesystem
    std::optional<JobId> job;                     // none: every job (and the v1 cursor)
    std::vector<AbstractionType> types;           // empty: every type
    CreateTxgRange createtxg;                     // unbounded by default
};

struct ListedAbstraction {
    std::string filesystem;
    Abstraction abstraction;   // type, the snapshot or bookmark, the hold tag
    std::optional<JobId> job;  // none for the v1 cursor

    // "pool/fs@snap" for a hold, "pool/fs#bookmark" for a cursor.
    std::string full_path() const { return abstraction.version.full_name(); }
    // zrepl's one-line form: "step-hold: pool/fs@snap (tag zrepl_STEP_J_job, createtxg 42)".
    std::string describe() const;
    friend bool operator==(const ListedAbstraction&, const ListedAbstraction&) = default;
};

// zrepl's JSON fields: Type, FS, Name, FullPath, JobID, CreateTXG, FilesystemVersion, String.
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const ListedAbstraction& a);

struct AbstractionListing {
    std::vector<ListedAbstraction> found;
    // Bookmarks named like a cursor whose GUID is not the bookmark's own: ignored, as zrepl
    // does ("possibly tinkered-with"), and said here.
    std::vector<std::string> ignored;
    // Snapshots with holds whose tags this zfs cannot list (zfs-fuse: `zfs holds` missing);
    // their holds cannot be told apart and are not listed.
    std::vector<std::string> holds_unknown;
};

// One listing of versions per pool, one `zfs holds` per batch of held snapshots.
// Errors: the listing failed, an invalid query (a bad CreateTXG range).
boost::asio::awaitable<Result<AbstractionListing>> list_abstractions(zfs::ZfsRunner& runner,
                                                                     const AbstractionQuery& query);

// The abstractions of one job on one filesystem, as the guarantees take them: one version
// listing of the filesystem and one `zfs holds` for its held snapshots.
boost::asio::awaitable<Result<std::vector<Abstraction>>> list_abstractions_of(zfs::ZfsRunner& runner,
                                                                              const std::string& filesystem,
                                                                              const JobId& job);
// The same from a versions listing the caller already has, without asking zfs for the hold
// tags of `skip_holds_of` (full snapshot names whose holds the caller handles itself: a step's
// own from and to). Saves the `zfs holds` call in a replication step's steady state.
boost::asio::awaitable<Result<std::vector<Abstraction>>> abstractions_of_listing(
    zfs::ZfsRunner& runner, const std::vector<zfs::FilesystemVersion>& versions, const JobId& job,
    const std::vector<std::string>& skip_holds_of);

// Of a listing, what release-stale releases: per filesystem and job, stale_abstractions().
std::vector<ListedAbstraction> stale_of(const std::vector<ListedAbstraction>& listed);

// Releases the holds (one `zfs release` per tag) and destroys the bookmarks; with dry_run
// only plans. Returns the actions (done or planned), printable.
boost::asio::awaitable<Result<std::vector<AbstractionAction>>> release_abstractions(
    zfs::ZfsRunner& runner, const std::vector<ListedAbstraction>& what, bool dry_run);

// `migrate replication-cursor:v1-v2`, per filesystem that has the legacy v1 cursor
// (`#zrepl_replication_cursor`, which names no job): it may go once the owning job has a v2
// cursor at the same or a newer createtxg, since that cursor then protects at least as much.
// As zrepl, nothing is converted: the v1 cursor is destroyed or the filesystem is skipped
// with the reason (no v2 cursor yet, an older one, or more than one v1 candidate).
struct V1CursorMigration {
    std::string filesystem;
    std::string v1_cursor;  // full name
    bool destroy = false;
    std::string reason;
    friend bool operator==(const V1CursorMigration&, const V1CursorMigration&) = default;
};
// `listed`: a listing of the owning job's filesystems (types v1 and v2 cursors).
std::vector<V1CursorMigration> plan_v1_cursor_migration(const std::vector<ListedAbstraction>& listed,
                                                        const JobId& job);

}  // namespace zferry::replication
