// `zfs holds -H SNAPSHOT...`: the user holds (tags) on snapshots. OpenZFS only; zfs-fuse
// fails with "pyzfs.py not found" and only exposes the count (userrefs).
#pragma once

#include "core/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

struct Hold {
    std::string snapshot;  // "pool/fs@snap"
    std::string tag;
    std::string timestamp;  // as printed: "Tue Nov 24 02:09 2026", or unix seconds with -p
    friend bool operator==(const Hold&, const Hold&) = default;
};

std::vector<std::string> holds_argv(std::string_view snapshot);

Result<std::vector<Hold>> parse_holds(std::string_view text);

}  // namespace zferry::zfs
