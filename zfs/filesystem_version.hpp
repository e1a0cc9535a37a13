// Snapshots and bookmarks of one filesystem, as `zfs list` (OpenZFS) or `zfs get` (zfs-fuse,
// which has no `list -p` and humanizes guid in `list`) print them.
#pragma once

#include "core/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

enum class VersionType { snapshot, bookmark };

struct FilesystemVersion {
    VersionType type = VersionType::snapshot;
    std::string filesystem;  // "pool/fs"
    std::string name;        // short name, without '@' or '#'
    std::uint64_t guid = 0;
    std::uint64_t createtxg = 0;
    std::int64_t creation = 0;              // unix seconds
    std::optional<std::uint64_t> userrefs;  // holds count; absent for bookmarks

    char delimiter() const noexcept { return type == VersionType::snapshot ? '@' : '#'; }
    std::string relative_name() const { return delimiter() + name; }        // "@snap"
    std::string full_name() const { return filesystem + relative_name(); }  // "pool/fs@snap"

    // zrepl's FilesystemVersionEqualIdentity: the name is mutable, these are not.
    bool same_identity(const FilesystemVersion& o) const noexcept {
        return guid == o.guid && createtxg == o.createtxg && creation == o.creation;
    }
    friend bool operator==(const FilesystemVersion&, const FilesystemVersion&) = default;
};

// argv (without the binary) of the OpenZFS listing parse_versions_listing understands.
std::vector<std::string> list_versions_argv(std::string_view filesystem, bool with_bookmarks = true);
// argv of the zfs-fuse fallback parse_versions_get_listing understands.
std::vector<std::string> get_versions_argv(std::string_view filesystem);

// Parses `zfs list -H -p -o name,guid,createtxg,creation,userrefs -r -d 1
// -t bookmark,snapshot -s createtxg FS`. Order is kept (zfs sorts by createtxg).
Result<std::vector<FilesystemVersion>> parse_versions_listing(std::string_view text);

// Parses `zfs get -H -p -o name,property,value guid,createtxg,creation,userrefs -r -d 1 FS`:
// one line per (dataset, property); only names containing '@' are versions (the filesystem
// itself and its children are skipped). Each snapshot needs all four properties exactly
// once. The result is sorted by createtxg (zfs get sorts by name).
Result<std::vector<FilesystemVersion>> parse_versions_get_listing(std::string_view text);

}  // namespace zferry::zfs
