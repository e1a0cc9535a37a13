// zferry's zfs layer against a real ZFS: zfs-fuse (pool v23) with the two file-backed pools
// that zfs_fuse_up.sh created (ctest fixture; the pools are named in $ZFERRY_PLATFORM_ENV).
// Every test works under datasets of its own (named after the test and the process), so the
// tests share the one daemon and may run in parallel.
#include "zfs/capabilities.hpp"
#include "zfs/command_errors.hpp"
#include "zfs/filesystem_listing.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/properties.hpp"
#include "zfs/send_command.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace zferry::zfs;

struct Env {
    std::string dir, src, dst;
};

// The pools of the running fixture; empty fields when the fixture did not run.
Env load_env() {
    Env e;
    const char* path = std::getenv("ZFERRY_PLATFORM_ENV");
    if (!path) return e;
    std::ifstream f(path);
    for (std::string line; std::getline(f, line);) {
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        auto key = line.substr(0, eq), value = line.substr(eq + 1);
        if (key == "ZF_DIR") e.dir = value;
        if (key == "ZF_SRC_POOL") e.src = value;
        if (key == "ZF_DST_POOL") e.dst = value;
    }
    return e;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

// A finished zfs invocation.
struct Out {
    std::vector<std::string> args;
    int rc = -1;
    std::string out, err;
    bool ok() const { return rc == 0; }
    std::string describe() const {
        std::string s = "zfs";
        for (const auto& a : args) s += " " + a;
        return s + ": exit " + std::to_string(rc) + ": " + err;
    }
};

// A started child: argv[0] looked up in PATH; -1 fds mean /dev/null.
pid_t spawn(const std::vector<std::string>& argv, int in_fd, int out_fd, int err_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (err_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    else
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

int wait_exit(pid_t pid) {
    int st = 0;
    if (pid < 0 || ::waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

class ZfsFuse : public ::testing::Test {
protected:
    void SetUp() override {
        env_ = load_env();
        ASSERT_FALSE(env_.src.empty() || env_.dst.empty() || env_.dir.empty())
            << "no zfs-fuse fixture: run these tests through ctest (-L platform), which starts zfs-fuse "
               "with tests/platform/zfs_fuse_up.sh and names its pools in $ZFERRY_PLATFORM_ENV";
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        name_ = std::string(info->name()) + "_" + std::to_string(::getpid());
        tmp_ = fs::path(env_.dir) / ("t_" + name_);
        fs::create_directories(tmp_);
    }

    void TearDown() override {
        for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
            zfs({"umount", *it});  // a mounted fs refuses destroy (busy) on zfs-fuse
            Out r = zfs({"destroy", "-r", *it});
            EXPECT_TRUE(r.ok() || is_dataset_not_found(r.err, *it)) << r.describe();
        }
        std::error_code ec;
        fs::remove_all(tmp_, ec);
    }

    Out zfs(std::vector<std::string> args) {
        Out o;
        o.args = args;
        auto out_path = tmp_ / "out", err_path = tmp_ / "err";
        int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        args.insert(args.begin(), "zfs");
        o.rc = wait_exit(spawn(args, -1, out_fd, err_fd));
        ::close(out_fd);
        ::close(err_fd);
        o.out = slurp(out_path);
        o.err = slurp(err_path);
        return o;
    }
    // zfs that must succeed.
    std::string ok(std::vector<std::string> args) {
        Out r = zfs(std::move(args));
        EXPECT_TRUE(r.ok()) << r.describe();
        return r.out;
    }

    // A new filesystem for this test on the source (or target) pool; destroyed at the end.
    std::string src_fs(const std::string& leaf) { return env_.src + "/" + name_ + "_" + leaf; }
    std::string dst_fs(const std::string& leaf) { return env_.dst + "/" + name_ + "_" + leaf; }
    std::string create(const std::string& fs, std::vector<std::string> opts = {}) {
        std::vector<std::string> args{"create"};
        for (auto& o : opts) args.insert(args.end(), {"-o", o});
        args.push_back(fs);
        ok(args);
        created_.push_back(fs);
        return fs;
    }
    // Receive targets are created by the receive; register them for cleanup.
    void owns(const std::string& fs) { created_.push_back(fs); }

    // Writes files into `fs` through a temporary mount (gotcha: mounted datasets refuse destroy
    // and rename, so the fs ends unmounted again with mountpoint=none).
    void write_files(const std::string& fs, const std::map<std::string, std::string>& files) {
        auto mnt = tmp_ / "mnt";
        ok({"set", "mountpoint=" + mnt.string(), fs});
        ASSERT_TRUE(is_mounted(mnt)) << fs << " did not mount at " << mnt;
        for (const auto& [name, data] : files) {
            int fd = ::open((mnt / name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            ASSERT_GE(fd, 0) << mnt / name;
            ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
            ASSERT_EQ(::fsync(fd), 0);
            ::close(fd);
        }
        ok({"umount", fs});
        ok({"set", "mountpoint=none", fs});
    }

    // The files of a snapshot, read through a clone on the target pool (the snapshot's own
    // filesystem is not mounted, so nothing can dirty it for the next incremental).
    std::map<std::string, std::string> read_snapshot(const std::string& snapshot) {
        std::map<std::string, std::string> files;
        auto mnt = tmp_ / "check";
        std::string clone = env_.dst + "/" + name_ + "_check";
        Out r = zfs({"clone", "-o", "mountpoint=" + mnt.string(), snapshot, clone});
        EXPECT_TRUE(r.ok()) << r.describe();
        if (!r.ok()) return files;
        EXPECT_TRUE(is_mounted(mnt)) << clone;
        for (const auto& e : fs::directory_iterator(mnt))
            files[e.path().filename().string()] = slurp(e.path());
        ok({"umount", clone});
        ok({"destroy", clone});
        return files;
    }

    static bool is_mounted(const fs::path& mnt) {
        std::string mounts = slurp("/proc/mounts");
        return mounts.find(" " + mnt.string() + " fuse.zfs ") != std::string::npos;
    }

    // Snapshots of fs through the zfs-fuse listing zferry uses (zfs get -Hp; no list -p).
    std::vector<FilesystemVersion> versions(const std::string& fs) {
        Out r = zfs(get_versions_argv(fs));
        EXPECT_TRUE(r.ok()) << r.describe();
        auto v = parse_versions_get_listing(r.out);
        EXPECT_TRUE(v.has_value()) << (v ? "" : v.error().message()) << "\n" << r.out;
        return v ? *v : std::vector<FilesystemVersion>{};
    }
    std::vector<std::string> names(const std::vector<FilesystemVersion>& vs) {
        std::vector<std::string> n;
        for (const auto& v : vs) n.push_back(v.name);
        return n;
    }
    std::string prop(const std::string& ds, const std::string& p) {
        std::vector<std::string> props{p};
        Out r = zfs(get_properties_argv(props, ds));
        EXPECT_TRUE(r.ok()) << r.describe();
        auto parsed = parse_properties(r.out, props);
        EXPECT_TRUE(parsed.has_value() && parsed->size() == 1) << r.out;
        if (!parsed || parsed->size() != 1) return {};
        const auto* v = (*parsed)[0].find(p);
        return v ? v->value : std::string{};
    }

    Env env_;
    std::string name_;
    fs::path tmp_;
    std::vector<std::string> created_;
};

// Random bytes that compression cannot shrink, so streams are as large as the data.
std::string random_data(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i += 8) {
        std::uint64_t w = rng();
        std::memcpy(s.data() + i, &w, std::min<std::size_t>(8, n - i));
    }
    return s;
}

// `zfs send ARGS | zfs recv ARGS`, optionally cut after `cut_after` bytes: the stream then
// passes through this process, which closes both pipe ends mid-stream (as a dropped
// connection would). On zfs-fuse, killing a zfs client does not stop the daemon's transfer;
// closing the pipe does.
struct Transfer {
    Out send, recv;
    std::uint64_t bytes = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Capabilities

TEST_F(ZfsFuse, CapabilityProbesFindTheZfsFuseFeatureSet) {
    CapabilityProbes probes;
    auto run_probe = [&](Probe p, ProbeResult& into) {
        Out r = zfs(probe_argv(p));
        into.exit_code = r.rc;
        into.output = r.out + r.err;
        EXPECT_FALSE(probe_failure(into).has_value()) << *probe_failure(into);
    };
    run_probe(Probe::send, probes.send);
    run_probe(Probe::receive, probes.receive);
    run_probe(Probe::destroy, probes.destroy);
    run_probe(Probe::list, probes.list);
    run_probe(Probe::bookmark, probes.bookmark);
    run_probe(Probe::holds, probes.holds);
    Capabilities c = derive_capabilities(probes);
    EXPECT_FALSE(c.bookmarks);
    EXPECT_FALSE(c.resumable_send);
    EXPECT_FALSE(c.resumable_recv);
    EXPECT_FALSE(c.list_parsable);
    EXPECT_FALSE(c.holds_listing);
    EXPECT_FALSE(c.destroy_comma_list);
    EXPECT_FALSE(c.send_size_estimate);
    EXPECT_FALSE(c.raw_send);
    // zfs-fuse has none of the probed features (nor -L -c -e -b -S, recv -o/-x).
    EXPECT_EQ(c, Capabilities{});
    EXPECT_FALSE(describe_missing(c).empty());
}
