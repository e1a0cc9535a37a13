#include "daemon/pruning/keep_rule.hpp"

#include "core/overloaded.hpp"

#include <algorithm>
#include <numeric>

namespace zferry::pruning {
Result<KeepRule> KeepRule::make(const KeepRuleConfig& config) {
    return std::visit(
        Overloaded{
            [](const NotReplicatedConfig& c) -> Result<KeepRule> {
                return KeepRule(NotReplicated{c.keep_snapshot_at_cursor},
                                c.keep_snapshot_at_cursor ? "not_replicated"
                                                          : "not_replicated(keep_snapshot_at_cursor=false)");
            },
            [](const LastNConfig& c) -> Result<KeepRule> {
                if (c.count <= 0)
                    return Error(Errc::invalid_argument, "keep rule last_n: count must be positive, got " +
                                                             std::to_string(c.count) +
                                                             " (expected e.g. count: 10)");
                auto re = Re2Regex::compile(c.regex, "keep rule last_n: regex");
                if (!re) return re.error();
                std::string d = "last_n(count=" + std::to_string(c.count);
                if (!c.regex.empty()) d += ", regex=" + c.regex;
                d += ")";
                return KeepRule(LastN{static_cast<std::size_t>(c.count), std::move(*re)}, std::move(d));
            },
            [](const RegexConfig& c) -> Result<KeepRule> {
                auto re = Re2Regex::compile(c.regex, "keep rule regex: regex");
                if (!re) return re.error();
                return KeepRule(Regex{std::move(*re), c.negate},
                                std::string(c.negate ? "regex(not " : "regex(") + c.regex + ")");
            },
            [](const GridConfig& c) -> Result<KeepRule> {
                if (c.regex.empty())
                    return Error(Errc::invalid_argument,
                                 "keep rule grid: regex is required (expected the snapshot name pattern the "
                                 "grid applies to, e.g. regex: '^zrepl_')");
                auto re = Re2Regex::compile(c.regex, "keep rule grid: regex");
                if (!re) return re.error();
                auto spec = parse_grid_spec(c.grid);
                if (!spec) return Error(spec.error()).wrap("keep rule grid");
                auto intervals = expand_grid(*spec);
                if (!intervals) return Error(intervals.error()).wrap("keep rule grid");
                return KeepRule(Grid{std::move(*intervals), std::move(*re)},
                                "grid(" + to_string(*spec) + ", regex=" + c.regex + ")");
            },
        },
        config);
}

bool KeepRule::treats_cursor_as_replicated() const noexcept {
    auto* nr = std::get_if<NotReplicated>(&rule_);
    return nr && !nr->keep_snapshot_at_cursor;
}

std::vector<bool> KeepRule::keeps(std::span<const PruneSnapshot> snaps) const {
    std::vector<bool> keep(snaps.size(), false);
    std::visit(Overloaded{
                   [&](const NotReplicated&) {
                       for (std::size_t i = 0; i < snaps.size(); ++i) keep[i] = !snaps[i].replicated;
                   },
                   [&](const LastN& r) {
                       std::vector<std::size_t> matching;
                       for (std::size_t i = 0; i < snaps.size(); ++i)
                           if (r.regex.search(snaps[i].name)) matching.push_back(i);
                       if (matching.size() > r.count) {
                           // Newest first, then name descending; only the first `count` matter.
                           std::partial_sort(matching.begin(),
                                             matching.begin() + static_cast<std::ptrdiff_t>(r.count),
                                             matching.end(), [&](std::size_t a, std::size_t b) {
                                                 if (snaps[a].creation != snaps[b].creation)
                                                     return snaps[a].creation > snaps[b].creation;
                                                 return snaps[a].name > snaps[b].name;
                                             });
                           matching.resize(r.count);
                       }
                       for (auto i : matching) keep[i] = true;
                   },
                   [&](const Regex& r) {
                       for (std::size_t i = 0; i < snaps.size(); ++i)
                           keep[i] = r.regex.search(snaps[i].name) != r.negate;
                   },
                   [&](const Grid& r) {
                       std::vector<GridEntry> entries;
                       for (std::size_t i = 0; i < snaps.size(); ++i)
                           if (r.regex.search(snaps[i].name))
                               entries.push_back(GridEntry{snaps[i].creation.time_since_epoch().count(), i});
                       for (auto i : fit_grid(r.intervals, std::move(entries)).keep) keep[i] = true;
                   },
               },
               rule_);
    return keep;
}

Result<void> reject_not_replicated(std::span<const KeepRuleConfig> rules, std::string_view key) {
    for (const auto& r : rules)
        if (std::holds_alternative<NotReplicatedConfig>(r))
            return Error(
                Errc::invalid_argument,
                std::string(key) +
                    ": keep rule not_replicated is not allowed here (there is no replication to wait "
                    "for; expected last_n, regex or grid rules)");
    return {};
}

}  // namespace zferry::pruning
