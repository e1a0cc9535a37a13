// Pruning plans: one filesystem with 10 000 snapshots, and 1 000 filesystems of 100, with
// the rule set of zrepl's push sample (grid + last_n + not_replicated), the replicated
// flags taken from the cursor as the active-side pruner does. Reported per snapshot.
#include "daemon/pruning/keep_rule.hpp"
#include "daemon/pruning/prune_plan.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace zferry::pruning;

constexpr std::int64_t kStart = 1'700'000'000;
constexpr std::int64_t kEvery = 600;  // a snapshot every 10 minutes
constexpr std::size_t kPending = 20;  // the newest 20 are not yet replicated

struct Filesystem {
    std::string name;
    std::vector<PruneSnapshot> snapshots;
    std::uint64_t cursor_guid;
};

Filesystem make_filesystem(std::size_t fs_index, std::size_t n) {
    Filesystem fs{"pool/backups/host" + std::to_string(fs_index), {}, 0};
    fs.snapshots.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t t = kStart + static_cast<std::int64_t>(i) * kEvery;
        char name[40];
        std::snprintf(name, sizeof name, "zrepl_%lld_000", static_cast<long long>(t));
        fs.snapshots.push_back(PruneSnapshot{name, std::chrono::sys_seconds(std::chrono::seconds(t)),
                                             1000 + i, 0x9e3779b97f4a7c15ull * (fs_index * 1'000'003 + i + 1),
                                             false});
    }
    // The cursor sits on the newest replicated snapshot, which is also kept by the rule
    // (keep_snapshot_at_cursor) and protected as the newest common snapshot.
    fs.cursor_guid = fs.snapshots[n - kPending - 1].guid;
    return fs;
}

std::vector<KeepRule> rules() {
    std::vector<KeepRule> out;
    for (const KeepRuleConfig& c :
         {KeepRuleConfig{NotReplicatedConfig{}}, KeepRuleConfig{LastNConfig{10, "^zrepl_"}},
          KeepRuleConfig{GridConfig{"1x1h(keep=all) | 24x1h | 14x1d", "^zrepl_"}}}) {
        auto r = KeepRule::make(c);
        if (!r) std::abort();
        out.push_back(std::move(*r));
    }
    return out;
}

PrunePlan plan_one(Filesystem& fs, const std::vector<KeepRule>& rs) {
    if (!mark_replicated_by_cursor(fs.snapshots, fs.cursor_guid, false)) std::abort();
    const ProtectedSnapshot prot[] = {
        {fs.snapshots[fs.snapshots.size() - kPending - 1].name, "newest common"}};
    return plan_pruning(fs.name, fs.snapshots, rs, prot);
}

// Kept, derived from the spacing: the grid keeps 6 in its first hour, one per hourly bucket
// (24, or as many as the history covers) and one per day (14); not_replicated keeps the
// newest 20 plus the cursor snapshot (21), of which 8 the grid keeps already (the 6 of the
// first hour and the oldest of hours 2 and 3); last_n's 10 are among them.
std::size_t expected_kept(std::size_t n) {
    const std::size_t history_hours = (n - 1) * kEvery / 3600;  // complete hours before "now"
    const std::size_t hourly = std::min<std::size_t>(24, history_hours);
    const std::size_t daily = n * kEvery > 25 * 3600 + 14 * 86400 ? 14 : 0;
    return 6 + hourly + daily + (kPending + 1) - 8;
}

void check(const PrunePlan& plan, std::size_t n) {
    const std::size_t kept = plan.decisions.size() - plan.destroy_count();
    if (plan.decisions.size() != n || kept != expected_kept(n) || plan.decisions.back().destroy) {
        std::fprintf(stderr, "pruning_bench: unexpected plan for %zu snapshots: %zu kept, expected %zu\n", n,
                     kept, expected_kept(n));
        std::abort();
    }
}

void BM_PlanOneFilesystem(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    auto fs = make_filesystem(0, n);
    const auto rs = rules();
    check(plan_one(fs, rs), n);
    for (auto _ : state) benchmark::DoNotOptimize(plan_one(fs, rs));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
    state.counters["time_per_snapshot"] = benchmark::Counter(
        static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PlanOneFilesystem)->Arg(10'000)->Unit(benchmark::kMillisecond);

void BM_PlanManyFilesystems(benchmark::State& state) {
    const auto n_fs = static_cast<std::size_t>(state.range(0));
    const auto n = static_cast<std::size_t>(state.range(1));
    std::vector<Filesystem> fss;
    for (std::size_t i = 0; i < n_fs; ++i) fss.push_back(make_filesystem(i, n));
    const auto rs = rules();
    for (auto& fs : fss) check(plan_one(fs, rs), n);
    for (auto _ : state)
        for (auto& fs : fss) benchmark::DoNotOptimize(plan_one(fs, rs));
    const double total = static_cast<double>(n_fs * n);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n_fs * n));
    state.counters["time_per_snapshot"] = benchmark::Counter(
        total, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PlanManyFilesystems)->Args({1'000, 100})->Unit(benchmark::kMillisecond);

}  // namespace
