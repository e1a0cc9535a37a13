// zrepl's retention grid: "1x1h(keep=all) | 24x1h | 14x1d" is one bucket of an hour that
// keeps everything, then 24 hourly and 14 daily buckets that keep their oldest snapshot.
#pragma once

#include "core/error.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::pruning {

inline constexpr int kKeepAll = -1;

// One "<count>x<length>(keep=<keep>)" element of a grid spec.
struct GridSpecElement {
    std::int64_t count = 0;
    std::chrono::seconds length{0};
    int keep = 1;  // kKeepAll or >= 0

    friend bool operator==(const GridSpecElement&, const GridSpecElement&) = default;
};

// One bucket of the expanded grid (a spec element of count N gives N buckets).
struct GridInterval {
    std::chrono::seconds length{0};
    int keep = 1;
};

// Parses a spec as zrepl's config does: elements separated by '|', each matching
// `^\s*(\d+)\s*x\s*([^\(]+)\s*(\((.*)\))?\s*$`, count > 0, a positive duration, and the only
// parameter keep=<n>|all. Errors name the key `grid`, the element and what is expected.
Result<std::vector<GridSpecElement>> parse_grid_spec(std::string_view spec);

// The spec's buckets, youngest first; an error (key `grid`) if a bucket is shorter than
// the one before, unless every bucket before it keeps all (as zrepl's NewKeepGrid).
// Expansion is capped so a spec like "999999999x1s" is an error, not an allocation.
Result<std::vector<GridInterval>> expand_grid(std::span<const GridSpecElement> spec);

std::string to_string(std::span<const GridSpecElement> spec);

struct GridEntry {
    std::int64_t time = 0;  // Unix seconds
    std::size_t index = 0;  // the caller's handle
};

struct GridFit {
    std::vector<std::size_t> keep;  // entry indexes
    std::vector<std::size_t> remove;
};

// The grid algorithm: `now` (the youngest entry if nullopt) is the young edge of bucket 0;
// buckets are laid back to back into the past, bucket i covering (edge_i - length_i,
// edge_i]. Entries younger than now are kept, entries older than the last bucket removed,
// and each bucket keeps its `keep` oldest entries (ties in entry order).
GridFit fit_grid(std::span<const GridInterval> grid, std::vector<GridEntry> entries,
                 std::optional<std::int64_t> now = std::nullopt);

}  // namespace zferry::pruning
