#include "tests/platform/zfs_fuse_fixture.hpp"

#include "zfs/listing_ops.hpp"
#include "zfs/property_ops.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

namespace zferry::platform {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

bool is_mounted(const fs::path& mnt) {
    return slurp("/proc/mounts").find(" " + mnt.string() + " fuse.zfs ") != std::string::npos;
}

Out to_out(std::vector<std::string> args, const Result<zfs::ZfsOutput>& r) {
    Out o;
    o.args = std::move(args);
    if (!r) {
        o.err = "zfs could not run: " + r.error().message();
        return o;
    }
    o.rc = r->result.signal ? 128 + r->result.signal : r->result.exit_code;
    o.out = r->result.out;
    o.err = r->result.err;
    return o;
}

// Copies from `in_fd` to `out_fd` until end of stream, an error, or `limit` bytes. Closes both
// fds when `close_fds`, else leaves them open (finish() closes zferry's pipe ends).
asio::awaitable<RawTransfer> raw_transfer_co(zfs::ZfsRunner& runner, std::vector<std::string> send_args,
                                             std::vector<std::string> recv_args,
                                             std::optional<std::uint64_t> limit) {
    RawTransfer t;
    int a[2], b[2];
    if (::pipe2(a, O_CLOEXEC) != 0) co_return t;
    if (::pipe2(b, O_CLOEXEC) != 0) {
        ::close(a[0]);
        ::close(a[1]);
        co_return t;
    }
    auto send = co_await runner.start(send_args, -1, a[1]);
    ::close(a[1]);
    auto recv = co_await runner.start(recv_args, b[0], -1);
    ::close(b[0]);
    if (!send || !recv) {
        ::close(a[0]);
        ::close(b[1]);
        if (!send) t.send.err = "zfs send could not start: " + send.error().message();
        if (!recv) t.recv.err = "zfs recv could not start: " + recv.error().message();
        co_return t;
    }
    t.bytes = co_await pump(a[0], b[1], limit, true);
    t.recv = to_out(recv_args, co_await recv->wait());
    t.send = to_out(send_args, co_await send->wait());
    co_return t;
}

asio::awaitable<TransferResult> transfer_co(zfs::ZfsRunner& runner, zfs::SendSpec spec, zfs::RecvOptions opts,
                                            std::string target, std::optional<std::uint64_t> cut_after,
                                            TransferEnd end) {
    TransferResult t;
    auto send = co_await zfs::start_send(runner, zfs::SendPolicy{}, spec);
    if (!send) {
        t.send = send.error();
        co_return t;
    }
    auto recv = co_await zfs::start_recv(runner, opts, target);
    if (!recv) {
        t.recv = recv.error();
        co_await send->abort();
        co_return t;
    }
    t.bytes = co_await pump(send->fd(), recv->fd(), cut_after, false);
    const auto ending = std::chrono::steady_clock::now();
    if (end == TransferEnd::abort) {
        co_await recv->abort();
        co_await send->abort();
    } else {
        // The receiver first: it says why a transfer broke; the sender's read end closes after.
        t.recv = co_await recv->finish();
        t.failure = recv->failure();
        t.send = co_await send->finish();
    }
    t.end_took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - ending);
    co_return t;
}

}  // namespace

asio::awaitable<std::uint64_t> pump(int in_fd, int out_fd, std::optional<std::uint64_t> limit,
                                    bool close_fds) {
    auto ex = co_await asio::this_coro::executor;
    asio::posix::stream_descriptor in(ex, in_fd), out(ex, out_fd);
    std::vector<char> buf(256 << 10);
    std::uint64_t total = 0;
    for (;;) {
        std::size_t want = buf.size();
        if (limit) want = static_cast<std::size_t>(std::min<std::uint64_t>(want, *limit - total));
        if (want == 0) break;
        auto [rec, n] =
            co_await in.async_read_some(asio::buffer(buf.data(), want), asio::as_tuple(asio::use_awaitable));
        if (rec) break;
        auto [wec, m] =
            co_await asio::async_write(out, asio::buffer(buf.data(), n), asio::as_tuple(asio::use_awaitable));
        total += m;
        if (wec) break;
    }
    if (!close_fds) {
        in.release();
        out.release();
    }
    co_return total;
}

boost::asio::awaitable<TransferResult> ZfsFuse::transfer_async(zfs::SendSpec spec, zfs::RecvOptions opts,
                                                               std::string target,
                                                               std::optional<std::uint64_t> cut_after,
                                                               TransferEnd end) {
    return transfer_co(*runner_, std::move(spec), std::move(opts), std::move(target), cut_after, end);
}

PlatformEnv load_platform_env() {
    PlatformEnv e;
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

std::string Out::describe() const {
    std::string s = "zfs";
    for (const auto& a : args) s += " " + a;
    return s + ": exit " + std::to_string(rc) + ": " + err;
}

std::string incompressible(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i += 8) {
        std::uint64_t w = rng();
        std::memcpy(s.data() + i, &w, std::min<std::size_t>(8, n - i));
    }
    return s;
}

void ZfsFuse::SetUpTestSuite() {
    // The test copies streams itself; a receiver that quit must not kill it.
    std::signal(SIGPIPE, SIG_IGN);
}

void ZfsFuse::SetUp() {
    env_ = load_platform_env();
    ASSERT_FALSE(env_.src.empty() || env_.dst.empty() || env_.dir.empty())
        << "no zfs-fuse fixture: run these tests through ctest (-L platform), which starts zfs-fuse with "
           "tests/platform/zfs_fuse_up.sh and names its pools in $ZFERRY_PLATFORM_ENV";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    name_ = std::string(info->name()) + "_" + std::to_string(::getpid());
    tmp_ = fs::path(env_.dir) / ("t_" + name_);
    fs::create_directories(tmp_);
    runner_ = std::make_unique<zfs::ZfsRunner>(ctx_.get_executor(), zfs::ZfsRunnerOptions{});
}

void ZfsFuse::TearDown() {
    if (!runner_) return;
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
        zfs({"umount", *it});  // a mounted fs refuses destroy (busy) on zfs-fuse
        auto r = zfs_when_unmounted({"destroy", "-r", *it});
        EXPECT_TRUE(r.ok() || zfs::is_dataset_not_found(r.err, *it)) << r.describe();
    }
    runner_.reset();
    std::error_code ec;
    fs::remove_all(tmp_, ec);
}

Out ZfsFuse::zfs(std::vector<std::string> args) { return to_out(args, await(runner_->run(args))); }

Out ZfsFuse::zfs_when_unmounted(std::vector<std::string> args) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        auto r = zfs(args);
        if (r.ok() || r.err.find("dataset is busy") == std::string::npos ||
            std::chrono::steady_clock::now() >= until)
            return r;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

std::string ZfsFuse::ok(std::vector<std::string> args) {
    auto r = zfs(std::move(args));
    EXPECT_TRUE(r.ok()) << r.describe();
    return r.out;
}

std::string ZfsFuse::create(const std::string& fs, std::vector<std::string> opts) {
    std::vector<std::string> args{"create"};
    for (auto& o : opts) args.insert(args.end(), {"-o", o});
    args.push_back(fs);
    ok(args);
    created_.push_back(fs);
    return fs;
}

void ZfsFuse::write_files(const std::string& fs, const std::map<std::string, std::string>& files) {
    auto mnt = tmp_ / "mnt";
    ok({"set", "mountpoint=" + mnt.string(), fs});
    ASSERT_TRUE(is_mounted(mnt)) << fs << " did not mount at " << mnt;
    for (const auto& [name, data] : files) {
        int fd = ::open((mnt / name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_GE(fd, 0) << mnt / name;
        EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
        EXPECT_EQ(::fsync(fd), 0);
        ::close(fd);
    }
    ok({"umount", fs});
    ok({"set", "mountpoint=none", fs});
}

void ZfsFuse::snapshot_with(const std::string& fs, const std::string& snap,
                            const std::map<std::string, std::string>& files) {
    write_files(fs, files);
    ok({"snapshot", fs + "@" + snap});
}

std::map<std::string, std::string> ZfsFuse::read_snapshot(const std::string& snapshot) {
    std::map<std::string, std::string> files;
    auto mnt = tmp_ / "check";
    std::string clone = env_.dst + "/" + name_ + "_check";
    auto r = zfs({"clone", "-o", "mountpoint=" + mnt.string(), snapshot, clone});
    EXPECT_TRUE(r.ok()) << r.describe();
    if (!r.ok()) return files;
    EXPECT_TRUE(is_mounted(mnt)) << clone;
    for (const auto& e : fs::directory_iterator(mnt)) files[e.path().filename().string()] = slurp(e.path());
    ok({"umount", clone});
    r = zfs_when_unmounted({"destroy", clone});
    EXPECT_TRUE(r.ok()) << r.describe();
    return files;
}

std::vector<zfs::FilesystemVersion> ZfsFuse::versions(const std::string& fs) {
    auto v = await(zfs::list_versions(*runner_, fs));
    EXPECT_TRUE(v.has_value()) << (v ? "" : v.error().message());
    return v ? *v : std::vector<zfs::FilesystemVersion>{};
}

std::vector<std::string> ZfsFuse::names(const std::vector<zfs::FilesystemVersion>& vs) {
    std::vector<std::string> n;
    for (const auto& v : vs) n.push_back(v.name);
    return n;
}

std::string ZfsFuse::prop(const std::string& ds, const std::string& p) {
    auto v = await(zfs::get_property(*runner_, ds, p));
    EXPECT_TRUE(v.has_value()) << ds << " " << p << ": " << (v ? "" : v.error().message());
    return v ? v->value : std::string{};
}

RawTransfer ZfsFuse::raw_transfer(std::vector<std::string> send_args, std::vector<std::string> recv_args,
                                  std::optional<std::uint64_t> cut_after) {
    return await(raw_transfer_co(*runner_, std::move(send_args), std::move(recv_args), cut_after));
}

void ZfsFuse::raw_replicate(std::vector<std::string> send_args, std::vector<std::string> recv_args) {
    auto t = raw_transfer(std::move(send_args), std::move(recv_args));
    EXPECT_TRUE(t.send.ok()) << t.send.describe();
    EXPECT_TRUE(t.recv.ok()) << t.recv.describe();
}

TransferResult ZfsFuse::transfer(zfs::SendSpec spec, zfs::RecvOptions opts, std::string target,
                                 std::optional<std::uint64_t> cut_after, TransferEnd end) {
    return await(transfer_co(*runner_, std::move(spec), std::move(opts), std::move(target), cut_after, end));
}

void ZfsFuse::replicate(zfs::SendSpec spec, std::string target, zfs::RecvOptions opts) {
    std::string what = spec.filesystem + spec.from + " -> " + spec.to + " into " + target;
    auto t = transfer(std::move(spec), std::move(opts), std::move(target));
    EXPECT_TRUE(t.send.has_value()) << what << ": send: " << t.send.error().message();
    EXPECT_TRUE(t.recv.has_value()) << what << ": recv: " << t.recv.error().message();
}

}  // namespace zferry::platform
