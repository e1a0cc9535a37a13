// Snapshot names as zrepl's snapper makes them: prefix + timestamp, checked once at
// configuration time so a bad prefix or layout fails the configuration, not every snapshot.
#pragma once

#include "core/error.hpp"
#include "daemon/snapshotting/timestamp_format.hpp"

#include <string>
#include <string_view>

namespace zferry::snapshotting {

class SnapshotNaming {
public:
    // Checks the prefix (key `prefix`: not empty, valid in a ZFS name) and then names made
    // at two probe instants (2020-06-01 and 2020-12-01 UTC, which straddle daylight saving
    // in most zones) with zfs's component name check, as zrepl does.
    static Result<SnapshotNaming> make(std::string_view prefix, TimestampFormat format);

    // The snapshot name (the part after '@') for a snapshot taken at `t`.
    std::string name_at(Instant t) const { return prefix_ + format_.format(t); }

    const std::string& prefix() const noexcept { return prefix_; }
    const TimestampFormat& timestamp_format() const noexcept { return format_; }

private:
    SnapshotNaming(std::string prefix, TimestampFormat format)
        : prefix_(std::move(prefix)), format_(std::move(format)) {}
    std::string prefix_;
    TimestampFormat format_;
};

// The full name `filesystem@snapshot_name` through zfs's entity name check (length limit of
// 255 bytes included); the error names both parts.
Result<void> check_snapshot_name(std::string_view filesystem, std::string_view snapshot_name);

}  // namespace zferry::snapshotting
