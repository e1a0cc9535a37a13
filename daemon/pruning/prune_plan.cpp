#include "daemon/pruning/prune_plan.hpp"

#include "daemon/snapshotting/civil_time.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <ostream>
#include <unordered_map>

namespace zferry::pruning {
namespace {

std::string rfc3339(std::chrono::sys_seconds t) {
    const auto c = snapshotting::civil_from_seconds(t.time_since_epoch().count());
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02dZ", static_cast<long long>(c.year),
                  c.month, c.day, c.hour, c.minute, c.second);
    return buf;
}

}  // namespace

std::vector<std::string> PrunePlan::destroy_names() const {
    std::vector<std::string> out;
    for (const auto& d : decisions)
        if (d.destroy) out.push_back(d.snapshot);
    return out;
}

std::size_t PrunePlan::destroy_count() const {
    return static_cast<std::size_t>(
        std::count_if(decisions.begin(), decisions.end(), [](const PruneDecision& d) { return d.destroy; }));
}

PrunePlan plan_pruning(std::string filesystem, std::span<const PruneSnapshot> snapshots,
                       std::span<const KeepRule> rules,
                       std::span<const ProtectedSnapshot> protected_snapshots) {
    PrunePlan plan;
    plan.filesystem = std::move(filesystem);
    std::vector<std::vector<bool>> keeps;
    keeps.reserve(rules.size());
    for (const auto& r : rules) keeps.push_back(r.keeps(snapshots));

    std::unordered_map<std::string_view, std::string_view> protect;
    for (const auto& p : protected_snapshots) protect.emplace(p.name, p.reason);

    std::vector<std::size_t> order(snapshots.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (snapshots[a].createtxg != snapshots[b].createtxg)
            return snapshots[a].createtxg < snapshots[b].createtxg;
        return snapshots[a].creation < snapshots[b].creation;
    });
    plan.decisions.reserve(snapshots.size());
    for (auto i : order) {
        const auto& s = snapshots[i];
        PruneDecision d{s.name, s.creation, s.createtxg, false, {}, {}};
        for (std::size_t r = 0; r < rules.size(); ++r)
            if (keeps[r][i]) d.kept_by.push_back(rules[r].description());
        if (auto it = protect.find(s.name); it != protect.end()) {
            d.protected_reason = it->second.empty() ? std::string("protected") : std::string(it->second);
        }
        // Zero rules destroy nothing; otherwise a snapshot goes only if every rule lets it go.
        d.destroy = !rules.empty() && d.kept_by.empty() && d.protected_reason.empty();
        plan.decisions.push_back(std::move(d));
    }
    return plan;
}

namespace {

std::ostream& write_decision(std::ostream& os, std::string_view filesystem, const PruneDecision& d) {
    os << (d.destroy ? "destroy " : "keep ") << filesystem << "@" << d.snapshot << " (created "
       << rfc3339(d.creation) << ")";
    if (d.destroy) return os << ": no rule keeps it";
    if (!d.protected_reason.empty()) {
        os << ": protected: " << d.protected_reason;
        if (d.kept_by.empty()) return os;
        os << "; also";
    } else {
        os << ":";
        if (d.kept_by.empty()) return os << " no keep rules configured";
    }
    os << " kept by ";
    for (std::size_t i = 0; i < d.kept_by.size(); ++i) os << (i ? ", " : "") << d.kept_by[i];
    return os;
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const PruneDecision& d) { return write_decision(os, "", d); }

std::ostream& operator<<(std::ostream& os, const PrunePlan& p) {
    os << p.filesystem << ": destroy " << p.destroy_count() << " of " << p.decisions.size() << " snapshots\n";
    for (const auto& d : p.decisions) write_decision(os << "  ", p.filesystem, d) << "\n";
    return os;
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const PruneDecision& d) {
    boost::json::object o;
    o["snapshot"] = d.snapshot;
    o["creation_unix"] = d.creation.time_since_epoch().count();
    o["createtxg"] = d.createtxg;
    o["action"] = d.destroy ? "destroy" : "keep";
    boost::json::array kept;
    for (const auto& k : d.kept_by) kept.emplace_back(k);
    o["kept_by"] = std::move(kept);
    if (d.protected_reason.empty())
        o["protected"] = nullptr;
    else
        o["protected"] = d.protected_reason;
    jv = std::move(o);
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const PrunePlan& p) {
    boost::json::object o;
    o["filesystem"] = p.filesystem;
    o["destroy_count"] = p.destroy_count();
    boost::json::array decisions;
    decisions.reserve(p.decisions.size());
    for (const auto& d : p.decisions) decisions.push_back(boost::json::value_from(d));
    o["decisions"] = std::move(decisions);
    jv = std::move(o);
}

}  // namespace zferry::pruning
