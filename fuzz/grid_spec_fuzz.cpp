// Retention grid specs: the parser never crashes or allocates without bound; an accepted
// spec prints to a spec that parses to the same elements; the expanded grid fits any
// entries into keep + remove without losing or duplicating one.
#include "daemon/pruning/retention_grid.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace zferry::pruning;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    auto spec = parse_grid_spec(s);
    if (!spec) return 0;
    auto again = parse_grid_spec(to_string(*spec));
    if (!again || *again != *spec) std::abort();
    auto grid = expand_grid(*spec);
    if (!grid) return 0;
    std::vector<GridEntry> entries;
    for (std::size_t i = 0; i < size && i < 64; ++i)
        entries.push_back(GridEntry{static_cast<std::int64_t>(data[i]) * 97 - 5000, i});
    const auto fit = fit_grid(*grid, entries);
    if (fit.keep.size() + fit.remove.size() != entries.size()) std::abort();
    std::vector<bool> seen(entries.size(), false);
    for (auto v : {&fit.keep, &fit.remove})
        for (auto i : *v) {
            if (i >= seen.size() || seen[i]) std::abort();
            seen[i] = true;
        }
    // The youngest entry is "now" and always lands in bucket 0 or is kept as future.
    if (!entries.empty() && fit.keep.empty() && (*grid)[0].keep != 0) std::abort();
    return 0;
}
