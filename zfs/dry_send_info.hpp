// Size estimates from `zfs send -n -v -P ...` (OpenZFS; zfs-fuse has no -n/-P).
#pragma once

#include "core/error.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

struct DrySendInfo {
    enum class Type { full, incremental };
    Type type = Type::full;
    std::string filesystem;  // part of `to` before '@'
    std::string from;        // as printed; may be a bare short name ("1") on old ZoL
    std::string to;          // "pool/fs@snap"
    std::uint64_t size_estimate = 0;
    friend bool operator==(const DrySendInfo&, const DrySendInfo&) = default;
};

// OpenZFS sometimes reports absurd estimates (openzfs#12265); estimates at or above the
// threshold are reported as 0 ("unknown"), as zrepl does.
constexpr std::uint64_t kDefaultIncorrectEstimateThreshold = std::numeric_limits<std::int64_t>::max();

// The first line "full\t<to>[\t<size>]" or "incremental\t<from>\t<to>[\t<size>]" (<to>
// containing '@', no TABs in names) decides; a missing size (ZoL < 0.7.12) is 0. Other lines
// (the "resume token contents" block, "size\t...") are skipped. No such line: parse_error.
Result<DrySendInfo> parse_dry_send_info(
    std::string_view text, std::uint64_t incorrect_threshold = kDefaultIncorrectEstimateThreshold);

// Every "full" / "incremental" line, in order: a dry run of `send -I` prints one per snapshot
// of the package, each estimated from the one before. No such line: parse_error.
Result<std::vector<DrySendInfo>> parse_dry_send_infos(
    std::string_view text, std::uint64_t incorrect_threshold = kDefaultIncorrectEstimateThreshold);

}  // namespace zferry::zfs
