#include "daemon/snapshotting/snapshot_naming.hpp"

#include "daemon/snapshotting/civil_time.hpp"
#include "zfs/dataset_path.hpp"

namespace zferry::snapshotting {

Result<SnapshotNaming> SnapshotNaming::make(std::string_view prefix, TimestampFormat format) {
    if (prefix.empty())
        return Error(Errc::invalid_argument,
                     "snapshotting prefix is empty (expected a name prefix such as 'zrepl_'; pruning rules "
                     "and the periodic sync-up find the job's snapshots by it)");
    for (char c : prefix) {
        if (c == '@' || c == '#' || c == '/' || c == '%')
            return Error(Errc::invalid_argument, "snapshotting prefix '" + std::string(prefix) +
                                                     "' contains '" + std::string(1, c) +
                                                     "' (expected characters valid in a ZFS snapshot name: "
                                                     "0-9 a-z A-Z - _ . : and space)");
    }
    SnapshotNaming naming(std::string(prefix), std::move(format));
    for (auto probe : {seconds_from_civil(2020, 6, 1, 0, 0, 0), seconds_from_civil(2020, 12, 1, 0, 0, 0)}) {
        const std::string name = naming.name_at(Instant(std::chrono::seconds(probe)));
        if (auto r = zfs::component_namecheck(name); !r) {
            Error e = r.error();
            e.wrap("snapshotting prefix '" + std::string(prefix) +
                   "' with timestamp_format would create the invalid snapshot name '" + name + "'");
            return e;
        }
    }
    return naming;
}

Result<void> check_snapshot_name(std::string_view filesystem, std::string_view snapshot_name) {
    const std::string full = std::string(filesystem) + "@" + std::string(snapshot_name);
    if (auto r = zfs::entity_namecheck(full, zfs::EntityType::snapshot); !r) {
        Error e = r.error();
        e.wrap("snapshot '" + std::string(snapshot_name) + "' of filesystem '" + std::string(filesystem) +
               "' would have an invalid name");
        return e;
    }
    return {};
}

}  // namespace zferry::snapshotting
