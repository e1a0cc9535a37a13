// `zfs list -H -p -o name[,props...] -r -t filesystem,volume`: datasets for filters.
#pragma once

#include "core/error.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

struct FilesystemListEntry {
    std::string name;
    std::vector<std::string> values;  // one per requested property, in request order
    friend bool operator==(const FilesystemListEntry&, const FilesystemListEntry&) = default;
};

// argv (without the binary); `root` empty lists every pool. `parsable` false leaves out -p
// for zfs-fuse, which refuses it (values are then humanized: only use it for names and
// string properties).
std::vector<std::string> list_filesystems_argv(std::span<const std::string> props, std::string_view root = {},
                                               bool parsable = true);

// Every line must have 1 + props.size() TAB-separated fields and a non-empty name.
Result<std::vector<FilesystemListEntry>> parse_filesystem_listing(std::string_view text, std::size_t nprops);

}  // namespace zferry::zfs
