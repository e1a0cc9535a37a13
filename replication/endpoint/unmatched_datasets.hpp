// zrepl_zfs_list_unmatched_user_specified_dataset_count: after a job applied its filesystems
// filter to a listing of every dataset, its runner (the job's) is told how many entries of the
// filter named none of them.
#pragma once

#include "replication/logic/filesystem_filter.hpp"
#include "zfs/filesystem_listing.hpp"
#include "zfs/zfs_runner.hpp"

#include <string>
#include <vector>

namespace zferry::replication {

inline void report_unmatched(const zfs::ZfsRunner& runner, const FilesystemFilter& filter,
                             const std::vector<zfs::FilesystemListEntry>& listing) {
    std::vector<std::string> names;
    names.reserve(listing.size());
    for (const auto& e : listing) names.push_back(e.name);
    runner.unmatched_datasets(filter.unmatched_entries(names));
}

}  // namespace zferry::replication
