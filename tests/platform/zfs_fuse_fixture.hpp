// The fixture of the platform tests: zferry's zfs layer against a real ZFS, zfs-fuse (pool
// v23), with the two file-backed pools that zfs_fuse_up.sh created (ctest fixture; the pools
// are named in $ZFERRY_PLATFORM_ENV). Every test works under datasets of its own, named after
// the test and the process, so the tests share the one daemon and may run in parallel.
#pragma once

#include "zfs/command_errors.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/send_command.hpp"
#include "zfs/send_recv.hpp"
#include "zfs/zfs_runner.hpp"

#include "tests/integration/test_support.hpp"

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zferry::platform {

// What zfs_fuse_up.sh wrote; empty fields when the fixture did not run.
struct PlatformEnv {
    std::string dir, src, dst;
};
PlatformEnv load_platform_env();

// Random bytes that compression cannot shrink, so streams are as large as the data.
std::string incompressible(std::size_t n, std::uint64_t seed);

// A finished zfs invocation (exit code 128+N for signal N, -1 when zfs could not run).
struct Out {
    std::vector<std::string> args;
    int rc = -1;
    std::string out, err;
    bool ok() const { return rc == 0; }
    std::string describe() const;  // "zfs ARGS: exit N: STDERR"
};

// `zfs send | zfs recv` with raw argument lists, the stream passing through the test.
struct RawTransfer {
    Out send, recv;
    std::uint64_t bytes = 0;  // copied from send to recv
};

// One `zfs send | zfs recv` through zferry's send/recv pipes (start_send, start_recv, finish).
struct TransferResult {
    Result<void> send;  // start or finish of `zfs send`
    Result<void> recv;  // start or finish of `zfs recv`
    zfs::RecvFailure failure;
    std::uint64_t bytes = 0;               // copied from send to recv
    std::chrono::milliseconds end_took{};  // finishing (or aborting) both sides
};

// How transfer() ends both sides once the copy stopped.
enum class TransferEnd { finish, abort };

// Copies in_fd to out_fd (both non-blocking or not) until end of file, an error, or `limit`
// bytes; closes both when close_fds, else leaves them to their owners. Returns the bytes copied.
boost::asio::awaitable<std::uint64_t> pump(int in_fd, int out_fd, std::optional<std::uint64_t> limit,
                                           bool close_fds);

class ZfsFuse : public ::testing::Test {
protected:
    static void SetUpTestSuite();
    void SetUp() override;
    void TearDown() override;

    template <class T>
    T await(boost::asio::awaitable<T> a) {
        return zferry::test::run(ctx_, std::move(a));
    }

    // `zfs ARGS` through the runner (any exit status).
    Out zfs(std::vector<std::string> args);
    // `zfs ARGS` that must succeed; returns stdout.
    std::string ok(std::vector<std::string> args);
    // `zfs ARGS` (a destroy or rename) retried for up to 10 s while zfs says "dataset is busy":
    // zfs-fuse unmounts asynchronously, so a dataset just unmounted may still be busy.
    Out zfs_when_unmounted(std::vector<std::string> args);

    // Filesystem names of this test on the source and the target pool.
    std::string src_fs(const std::string& leaf) const { return env_.src + "/" + name_ + "_" + leaf; }
    std::string dst_fs(const std::string& leaf) const { return env_.dst + "/" + name_ + "_" + leaf; }
    // Creates (and later destroys) a filesystem.
    std::string create(const std::string& fs, std::vector<std::string> opts = {});
    // Destroys `fs` at the end of the test (for datasets a receive creates).
    void owns(const std::string& fs) { created_.push_back(fs); }

    // Writes files into `fs` through a temporary mount; the fs ends unmounted with
    // mountpoint=none again (zfs-fuse refuses destroy and rename of mounted datasets).
    void write_files(const std::string& fs, const std::map<std::string, std::string>& files);
    // Writes `files` and takes fs@snap.
    void snapshot_with(const std::string& fs, const std::string& snap,
                       const std::map<std::string, std::string>& files);
    // The files of a snapshot, read through a clone on the target pool (the snapshot's own
    // filesystem stays unmounted, so nothing dirties it before the next incremental).
    std::map<std::string, std::string> read_snapshot(const std::string& snapshot);

    // Versions through zferry's listing (list_versions); fails the test on an error.
    std::vector<zfs::FilesystemVersion> versions(const std::string& fs);
    static std::vector<std::string> names(const std::vector<zfs::FilesystemVersion>& vs);
    // One property's value through get_property; fails the test on an error.
    std::string prop(const std::string& ds, const std::string& p);

    // `zfs send SEND_ARGS | zfs recv RECV_ARGS`, optionally cut after `cut_after` bytes: the
    // test stops copying there and closes both pipes, as a dropped connection would (on
    // zfs-fuse, killing a zfs client does not stop the daemon's transfer; closing the pipe does).
    RawTransfer raw_transfer(std::vector<std::string> send_args, std::vector<std::string> recv_args,
                             std::optional<std::uint64_t> cut_after = std::nullopt);
    // A raw transfer that must succeed.
    void raw_replicate(std::vector<std::string> send_args, std::vector<std::string> recv_args);

    // Through zferry's send/recv pipes, optionally cut after `cut_after` bytes: the test stops
    // copying there and finishes both sides (the receiver first), as a dropped connection would,
    // or aborts both (send and recv results then stay success).
    TransferResult transfer(zfs::SendSpec spec, zfs::RecvOptions opts, std::string target,
                            std::optional<std::uint64_t> cut_after = std::nullopt,
                            TransferEnd end = TransferEnd::finish);
    // The same, as a coroutine (for tests that run something alongside it).
    boost::asio::awaitable<TransferResult> transfer_async(
        zfs::SendSpec spec, zfs::RecvOptions opts, std::string target,
        std::optional<std::uint64_t> cut_after = std::nullopt, TransferEnd end = TransferEnd::finish);
    // A transfer that must succeed.
    void replicate(zfs::SendSpec spec, std::string target, zfs::RecvOptions opts = unmounted());
    static zfs::RecvOptions unmounted() {
        zfs::RecvOptions o;
        o.unmounted = true;
        return o;
    }

    boost::asio::io_context ctx_;
    std::unique_ptr<zfs::ZfsRunner> runner_;
    PlatformEnv env_;
    std::string name_;
    std::filesystem::path tmp_;
    std::vector<std::string> created_;
};

}  // namespace zferry::platform
