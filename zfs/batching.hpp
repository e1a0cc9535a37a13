// Argument batching for `zfs destroy fs@a,b,c` and `zfs release TAG snap...`: as many
// snapshots per command as fit in an argument byte budget (zrepl: 12 × page size, halved
// when exec fails with E2BIG).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

constexpr std::size_t kDefaultArgBudget = 12 * 4096;

// Destroy arguments "fs@a,b,c" for the snapshots (short names) of one filesystem, names
// sorted and deduplicated, each argument at most `max_bytes` long unless a single name is
// longer (it then gets an argument of its own). max_count > 0 also caps names per batch.
std::vector<std::string> destroy_batches(std::string_view filesystem, std::vector<std::string> snapshots,
                                         std::size_t max_bytes = kDefaultArgBudget,
                                         std::size_t max_count = 0);

// Full argv lists `release TAG snap1 snap2 ...`, each with a total size (bytes of every
// argument plus its NUL) of at most `max_bytes`, at least one snapshot per command.
std::vector<std::vector<std::string>> release_batches(std::string_view tag,
                                                      const std::vector<std::string>& snapshots,
                                                      std::size_t max_bytes = kDefaultArgBudget);

}  // namespace zferry::zfs
