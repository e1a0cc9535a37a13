// One replication step of one filesystem, as data: what the driver asks the sender to send
// and the receiver to receive. A step may carry a resume token (finish a partial receive),
// or cover several snapshots at once as one `zfs send -I` (coalescing).
#pragma once

#include "zfs/filesystem_version.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace zferry::replication {

struct Step {
    // Unset for a full send of `to`; a snapshot or a bookmark otherwise.
    std::optional<zfs::FilesystemVersion> from;
    zfs::FilesystemVersion to;
    // The snapshots strictly between `from` and `to` that the same `zfs send -I` stream
    // carries. Empty: a plain `-i` (or full) send. Holds, the cursor and the last-received
    // hold go on `from` and `to` only, exactly as for a single step.
    std::vector<zfs::FilesystemVersion> intermediates;
    // Non-empty: the receiver's receive_resume_token; the sender resumes with `send -t`.
    std::string resume_token;

    bool is_full() const noexcept { return !from.has_value(); }
    bool is_compound() const noexcept { return !intermediates.empty(); }
    bool is_resumed() const noexcept { return !resume_token.empty(); }
    // The snapshots this step leaves on the receiver, oldest first.
    std::vector<zfs::FilesystemVersion> delivered() const;

    friend bool operator==(const Step&, const Step&) = default;
};

// "full send of @a", "@a -> @b", "@a -> @d with -I (also @b, @c)", "... resuming with token"
std::ostream& operator<<(std::ostream& os, const Step& s);

}  // namespace zferry::replication
