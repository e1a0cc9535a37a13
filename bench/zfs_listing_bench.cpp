// How many zfs invocations (and how much time) listing a large tree costs: builds FS
// filesystems × SNAPS snapshots in a fresh zfs-sim state, then lists every filesystem with a
// property and every version of the tree through zferry's operations, and prints the number
// of zfs processes ZfsRunner started for it. A per-dataset design would need FS+1 of them.
//
//   zfs_listing_bench [FILESYSTEMS [SNAPSHOTS]]     (default 1000 100)
#include "zfs/listing_ops.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace zferry;
using namespace zferry::zfs;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

asio::awaitable<bool> must(ZfsRunner& runner, std::vector<std::string> argv) {
    auto out = co_await runner.run(argv);
    if (!out || !out->ok()) {
        std::fprintf(stderr, "zfs-sim %s failed: %s\n", argv.at(0).c_str(),
                     out ? out->result.err.c_str() : out.error().message().c_str());
        co_return false;
    }
    co_return true;
}

// Creates big/fs<i> for i = next..fs, shared by a few workers (zfs-sim serialises on its lock;
// the workers overlap process start-up).
asio::awaitable<bool> create_worker(ZfsRunner& runner, unsigned& next, unsigned fs) {
    while (next <= fs) {
        const unsigned i = next++;
        std::vector<std::string> argv{"create", "big/fs" + std::to_string(i)};
        if (!co_await must(runner, std::move(argv))) co_return false;
    }
    co_return true;
}

asio::awaitable<int> bench(ZfsRunner& runner, unsigned fs, unsigned snaps) {
    using namespace asio::experimental::awaitable_operators;
    auto t0 = Clock::now();
    std::vector<std::string> pool{"sim-create-pool", "big"};
    if (!co_await must(runner, std::move(pool))) co_return 1;
    unsigned next = 1;
    auto [a, b, c, d] = co_await (create_worker(runner, next, fs) && create_worker(runner, next, fs) &&
                                  create_worker(runner, next, fs) && create_worker(runner, next, fs));
    if (!(a && b && c && d)) co_return 1;
    // One `snapshot -r` with every snapshot name: FS × SNAPS snapshots in one call.
    std::vector<std::string> argv = {"snapshot", "-r"};
    for (unsigned j = 1; j <= snaps; ++j) argv.push_back("big@s" + std::to_string(j));
    if (!co_await must(runner, argv)) co_return 1;
    std::printf("populated zfs-sim with %u filesystems x %u snapshots in %.1f s (%zu zfs-sim calls)\n", fs, snaps,
                seconds_since(t0), runner.invocations());

    auto caps = co_await runner.capabilities();
    if (!caps) {
        std::fprintf(stderr, "capabilities: %s\n", caps.error().message().c_str());
        co_return 1;
    }
    const auto before = runner.invocations();
    t0 = Clock::now();
    std::vector<std::string> props{"zrepl:placeholder"};
    auto filesystems = co_await list_filesystems(runner, "big", std::move(props));
    const double t_fs = seconds_since(t0);
    auto t1 = Clock::now();
    auto versions = co_await list_versions(runner, "big", {.recursive = true});
    const double t_versions = seconds_since(t1);
    const double total = seconds_since(t0);
    const auto calls = runner.invocations() - before;
    if (!filesystems || !versions) {
        std::fprintf(stderr, "listing failed: %s\n",
                     (!filesystems ? filesystems.error() : versions.error()).message().c_str());
        co_return 1;
    }
    std::printf("list_filesystems: %zu filesystems in %.3f s\n", filesystems->size(), t_fs);
    std::printf("list_versions (recursive): %zu versions of %zu filesystems in %.3f s\n", versions->size(),
                group_by_filesystem(*versions).size(), t_versions);
    std::printf("zfs invocations for the whole listing: %zu (wall %.3f s)\n", calls, total);

    // For comparison: what one per-filesystem listing costs, times the filesystems.
    t1 = Clock::now();
    auto one = co_await list_versions(runner, "big/fs1");
    const double t_one = seconds_since(t1);
    if (one)
        std::printf("per-filesystem listing would take %zu invocations, about %.1f s (%.3f s each)\n",
                    filesystems->size(), t_one * static_cast<double>(filesystems->size()), t_one);
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const unsigned fs = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 1000;
    const unsigned snaps = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 100;
    char tmpl[] = "/tmp/zfs-listing-bench-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(tmpl);

    asio::io_context ctx;
    ZfsRunnerOptions opts;
    opts.binary = ZFS_SIM_BIN;
    opts.env = {{"ZFS_SIM_STATE", (dir / "state").string()}};
    ZfsRunner runner(ctx.get_executor(), opts);
    int rc = 1;
    asio::co_spawn(ctx, bench(runner, fs, snaps), [&](std::exception_ptr e, int r) {
        rc = e ? 1 : r;
        if (e) std::fprintf(stderr, "bench failed with an exception\n");
    });
    ctx.run();
    std::filesystem::remove_all(dir);
    return rc;
}
