#include "zfs/batching.hpp"

#include <algorithm>

namespace zferry::zfs {

std::vector<std::string> destroy_batches(std::string_view filesystem, std::vector<std::string> snapshots,
                                         std::size_t max_bytes, std::size_t max_count) {
    std::sort(snapshots.begin(), snapshots.end());
    snapshots.erase(std::unique(snapshots.begin(), snapshots.end()), snapshots.end());
    std::vector<std::string> out;
    std::string cur;
    std::size_t count = 0;
    for (const auto& s : snapshots) {
        const bool fits =
            !cur.empty() && cur.size() + 1 + s.size() <= max_bytes && (max_count == 0 || count < max_count);
        if (fits) {
            cur += ',';
            cur += s;
            ++count;
            continue;
        }
        if (!cur.empty()) out.push_back(std::move(cur));
        cur = std::string(filesystem) + "@" + s;
        count = 1;
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::vector<std::vector<std::string>> release_batches(std::string_view tag,
                                                      const std::vector<std::string>& snapshots,
                                                      std::size_t max_bytes) {
    std::vector<std::vector<std::string>> out;
    const std::size_t base = sizeof("release") + sizeof("--") + tag.size() + 1;
    std::vector<std::string> cur;
    std::size_t size = base;
    for (const auto& s : snapshots) {
        if (!cur.empty() && size + s.size() + 1 > max_bytes) {
            out.push_back(std::move(cur));
            cur.clear();
            size = base;
        }
        if (cur.empty()) {
            cur.emplace_back("release");
            cur.emplace_back("--");
            cur.emplace_back(tag);
        }
        cur.push_back(s);
        size += s.size() + 1;
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

}  // namespace zferry::zfs
