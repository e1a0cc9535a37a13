// zrepl's keep rules (pruning.keep, keep_sender, keep_receiver): each says which of a
// filesystem's snapshots it keeps; prune_plan.hpp combines them.
#pragma once

#include "core/error.hpp"
#include "daemon/pruning/prune_snapshot.hpp"
#include "daemon/pruning/re2_regex.hpp"
#include "daemon/pruning/retention_grid.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace zferry::pruning {

// Rule configurations as the YAML gives them.
struct NotReplicatedConfig {
    bool keep_snapshot_at_cursor = true;
};
struct LastNConfig {
    std::int64_t count = 0;
    std::string regex;  // empty: all snapshots
};
struct RegexConfig {
    std::string regex;
    bool negate = false;
};
struct GridConfig {
    std::string grid;
    std::string regex;  // required
};
using KeepRuleConfig = std::variant<NotReplicatedConfig, LastNConfig, RegexConfig, GridConfig>;

class KeepRule {
public:
    // Validates as zrepl does: last_n count > 0; grid regex non-empty and the grid valid;
    // every regex RE2-compatible. Errors name the rule type and the key.
    static Result<KeepRule> make(const KeepRuleConfig& config);

    // keep[i] is true if this rule keeps snapshots[i].
    // not_replicated: keeps the snapshots not marked replicated.
    // last_n: of the snapshots matching the regex, the `count` newest by creation (ties:
    //   name descending); non-matching snapshots are never kept by it (zrepl v0.7).
    // regex: keeps the matching snapshots (non-matching if negate).
    // grid: fits the matching snapshots into the grid, "now" being the newest of them;
    //   non-matching snapshots are not kept by it.
    std::vector<bool> keeps(std::span<const PruneSnapshot> snapshots) const;

    // "last_n(count=10, regex=^zrepl_)" and so on, for plans and logs.
    const std::string& description() const noexcept { return description_; }

    // For mark_replicated_by_cursor: a not_replicated rule with keep_snapshot_at_cursor off.
    bool treats_cursor_as_replicated() const noexcept;

private:
    struct NotReplicated {
        bool keep_snapshot_at_cursor;
    };
    struct LastN {
        std::size_t count;
        Re2Regex regex;
    };
    struct Regex {
        Re2Regex regex;
        bool negate;
    };
    struct Grid {
        std::vector<GridInterval> intervals;
        Re2Regex regex;
    };
    using Rule = std::variant<NotReplicated, LastN, Regex, Grid>;
    KeepRule(Rule r, std::string description) : rule_(std::move(r)), description_(std::move(description)) {}
    Rule rule_;
    std::string description_;
};

// The not_replicated rule is meaningless without a replication partner (a snap job): the
// configuration layer calls this for `pruning.keep` of snap jobs.
Result<void> reject_not_replicated(std::span<const KeepRuleConfig> rules, std::string_view key);

}  // namespace zferry::pruning
