// What planning costs beyond the listing: FS filesystems × SNAPS snapshots, the receiver
// holding all but the newest PENDING of each, planned with zferry's planner (coalescing on)
// and then pushed through the step queue as the driver does (every step started and
// finished), all in memory. The listing itself (one `zfs list` per side) is
// zfs_listing_bench's figure; this is the rest, with the peak RSS it needs.
//
//   replication_planning_bench [FILESYSTEMS [SNAPSHOTS [PENDING]]]   (default 10000 100 10)
#include "replication/logic/planner.hpp"
#include "replication/logic/step_queue.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace zferry;
using namespace zferry::replication;
using Clock = std::chrono::steady_clock;

long max_rss_kib() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
    const unsigned fss = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 10000;
    const unsigned snaps = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 100;
    const unsigned pending = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 10;
    const long rss0 = max_rss_kib();

    // The listings as the parsers return them (not timed: that is the listing's cost).
    std::vector<PlanInput> inputs(fss);
    std::uint64_t guid = 1;
    for (unsigned f = 0; f < fss; ++f) {
        auto& in = inputs[f];
        const std::string name = "pool/data/fs" + std::to_string(f);
        for (unsigned s = 0; s < snaps; ++s) {
            zfs::FilesystemVersion v;
            v.type = zfs::VersionType::snapshot;
            v.filesystem = name;
            v.name = "zrepl_" + std::to_string(1'700'000'000 + s);
            v.guid = guid++;
            v.createtxg = 1000 + s;
            v.creation = 1'700'000'000 + static_cast<std::int64_t>(s) * 600;
            in.sender_versions.push_back(v);
            if (s + pending < snaps) in.receiver_versions.push_back(v);
        }
        in.receiver = ReceiverState::present;
    }
    const long rss_listed = max_rss_kib();

    const auto t0 = Clock::now();
    std::vector<Plan> plans;
    plans.reserve(fss);
    std::size_t steps = 0;
    for (const auto& in : inputs) {
        plans.push_back(plan_filesystem(in));
        if (const auto* s = plans.back().steps()) steps += s->size();
    }
    const double plan_s = since(t0);

    const auto t1 = Clock::now();
    StepQueue queue(1);
    for (unsigned f = 0; f < fss; ++f) {
        std::vector<std::int64_t> dates;
        if (const auto* s = plans[f].steps())
            for (const auto& st : *s) dates.push_back(st.to.creation);
        queue.add_filesystem(inputs[f].sender_versions.front().filesystem, std::move(dates), true);
    }
    std::size_t started = 0;
    for (;;) {
        auto actions = queue.next();
        if (actions.empty()) break;
        for (const auto& a : actions)
            if (const auto* s = std::get_if<StartStep>(&a)) {
                ++started;
                queue.step_done(s->filesystem, true);
            }
    }
    const double queue_s = since(t1);

    std::printf(
        "%u filesystems x %u snapshots (%u pending each): %zu steps planned in %.3f s, "
        "queued and run through the step queue in %.3f s; %.3f s beyond the listing\n",
        fss, snaps, pending, steps, plan_s, queue_s, plan_s + queue_s);
    std::printf(
        "peak RSS: %ld MiB with the listings in memory (%ld MiB before them), %ld MiB after planning\n",
        rss_listed / 1024, rss0 / 1024, max_rss_kib() / 1024);
    return started == steps && queue.finished() ? 0 : 1;
}
