// A job's `filesystems:` filter (reference §6.2): patterns mapped to accept ("ok", YAML
// true) or reject ("!", YAML false). "pool/a" matches that dataset only, "pool/a<" the
// dataset and its whole subtree, "<" alone every dataset. The most specific entry decides:
// an exact entry beats any subtree entry, a longer subtree beats a shorter one; a dataset
// no entry matches is excluded. The sender checks every request against it, so a client
// never reaches a dataset outside the filter.
#pragma once

#include "core/error.hpp"
#include "zfs/dataset_path.hpp"

#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zferry::replication {

class FilesystemFilter {
public:
    struct Entry {
        zfs::DatasetPath path;
        bool subtree = false;  // pattern ended in '<'
        bool accept = false;
        friend bool operator==(const Entry&, const Entry&) = default;
    };

    // The filter that excludes everything (no entries).
    FilesystemFilter() = default;

    // From the configuration: pattern -> true (accept) / false (reject).
    static Result<FilesystemFilter> from_config(std::span<const std::pair<std::string, bool>> entries);
    // From pattern -> result, result "ok" or "!" in any letter case, as zrepl spells it.
    static Result<FilesystemFilter> from_results(
        std::span<const std::pair<std::string, std::string>> entries);
    // The command-line form "<pattern>:<ok|!>,<pattern>:<ok|!>,..." (zrepl's --fs flag).
    static Result<FilesystemFilter> parse_spec(std::string_view spec);

    // Adds one pattern. Fails on more than one '<' or a '<' elsewhere than at the end, on a
    // pattern that is no dataset path, and on a pattern given twice (its meaning would
    // depend on the order of a YAML map).
    Result<void> add(std::string_view pattern, bool accept);

    bool passes(const zfs::DatasetPath& dataset) const noexcept;
    // Parses the dataset name first; an invalid name is an error, not a rejection.
    Result<bool> passes(std::string_view dataset) const;

    const std::vector<Entry>& entries() const noexcept { return entries_; }

    // How many entries name a dataset that is not in `listed` (every dataset of a listing):
    // rules that have no effect, zrepl_zfs_list_unmatched_user_specified_dataset_count. The
    // entry "<" names no dataset (it stands for all of them) and is never counted.
    std::size_t unmatched_entries(std::span<const std::string> listed) const;

    friend bool operator==(const FilesystemFilter&, const FilesystemFilter&) = default;

private:
    std::vector<Entry> entries_;
};

// "{tank<: ok, tank/tmp<: !}" in insertion order.
std::ostream& operator<<(std::ostream& os, const FilesystemFilter& f);

}  // namespace zferry::replication
