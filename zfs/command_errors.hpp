// What OpenZFS (and zfs-fuse) print when a command fails, classified so that hold, release,
// destroy, bookmark and `recv -A` can be idempotent and recv failures actionable
// (reference §5.5). Input is the command's combined stderr/stdout text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

// `zfs hold TAG SNAP` failed only because the tag is already there.
bool is_hold_tag_exists(std::string_view output);

// `zfs release TAG SNAP...`: the lines that are real errors, i.e. not
// "no such tag on this dataset" (a release of a missing tag is a success). Empty ⇒ success.
std::vector<std::string> release_unexpected_lines(std::string_view output);

// `cannot open 'X': dataset does not exist|no such pool or dataset` on any line; returns X.
std::optional<std::string> dataset_not_found_path(std::string_view output);
// The same, only if X is `expected_path` (so a missing parent is not mistaken for success).
bool is_dataset_not_found(std::string_view output, std::string_view expected_path);

struct UndestroyableSnapshot {
    std::string name;    // short snapshot name
    std::string reason;  // as printed
    bool held = false;   // "dataset is busy" (ZFS < 2.4, zfs-fuse) or "it's being held" (≥ 2.4)
    friend bool operator==(const UndestroyableSnapshot&, const UndestroyableSnapshot&) = default;
};

struct DestroyFailure {
    enum class Kind {
        not_exists,     // nothing to destroy: idempotent destroy treats this as success
        undestroyable,  // specific snapshots refused; `snapshots` says which and why
        other,
    };
    Kind kind = Kind::other;
    std::vector<UndestroyableSnapshot> snapshots;
};

// `arg` is the destroy argument ("fs@a,b,c", "fs#bm", "fs@snap"). Undestroyable is only
// reported when every line is a "cannot destroy snapshot fs@x: reason" line for the same
// filesystem (anything unexpected is `other`: be conservative).
DestroyFailure classify_destroy_failure(std::string_view arg, std::string_view output);

// `zfs bookmark` failed because a bookmark of that name exists (the caller compares GUIDs).
bool is_bookmark_exists(std::string_view output);

// `zfs recv -A FS` had nothing to abort.
bool is_recv_abort_nothing_to_abort(std::string_view output);

struct RecvFailure {
    enum class Kind {
        resumable,                    // partial state saved; resume with `zfs send -t token`
        encrypted_overwrite_refused,  // -F cannot destroy/overwrite encrypted filesystems
        stream_read_failed,           // the stream broke: report the transport's error instead
        dataset_busy,  // "dataset is busy": zfs still tears down an earlier receive or unmounts (temporary)
        out_of_space,  // "...stream: out of space" (ENOSPC): the receiving pool is full
        other,
    };
    Kind kind = Kind::other;
    std::string resume_token;  // for `resumable`
};
RecvFailure classify_recv_failure(std::string_view output);

// zfs-fuse style refusals of unknown options/commands (rc=2 plus usage text).
std::optional<std::string> invalid_option(std::string_view output);        // "p" of "invalid option 'p'"
std::optional<std::string> unrecognized_command(std::string_view output);  // "bookmark"
// "bad property list: invalid property 'encryption'" (zfs-fuse lacks encryption,
// receive_resume_token, written): the property does not exist on this ZFS.
std::optional<std::string> invalid_property(std::string_view output);

}  // namespace zferry::zfs
