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
#include "zfs/zfs_runner.hpp"

#include "tests/integration/test_support.hpp"

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
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

// A finished zfs invocation (exit code 128+N for signal N, -1 when zfs could not run).
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

// Random bytes that compression cannot shrink, so streams are as large as the data.
std::string incompressible(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i += 8) {
        std::uint64_t w = rng();
        std::memcpy(s.data() + i, &w, std::min<std::size_t>(8, n - i));
    }
    return s;
}

struct Transfer {
    Out send, recv;
    std::uint64_t bytes = 0;  // passed on before the cut
};

Out to_out(std::vector<std::string> args, const zferry::Result<ZfsOutput>& r) {
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

// Copies from `in` to `out` until end of stream, an error, or `limit` bytes; closes both.
asio::awaitable<std::uint64_t> pump(int in_fd, int out_fd, std::optional<std::uint64_t> limit) {
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
    co_return total;
}

// `zfs send SEND_ARGS | zfs recv RECV_ARGS` with the stream passing through this process, which
// stops after `limit` bytes and closes both pipes, as a dropped connection would (on zfs-fuse,
// killing a zfs client does not stop the daemon's transfer; closing the pipe does).
asio::awaitable<Transfer> transfer_co(ZfsRunner& runner, std::vector<std::string> send_args,
                                      std::vector<std::string> recv_args,
                                      std::optional<std::uint64_t> limit) {
    Transfer t;
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
    t.bytes = co_await pump(a[0], b[1], limit);
    t.recv = to_out(recv_args, co_await recv->wait());
    t.send = to_out(send_args, co_await send->wait());
    co_return t;
}

class ZfsFuse : public ::testing::Test {
protected:
    // The test copies streams itself; a receiver that quit must not kill it.
    static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

    void SetUp() override {
        env_ = load_env();
        ASSERT_FALSE(env_.src.empty() || env_.dst.empty() || env_.dir.empty())
            << "no zfs-fuse fixture: run these tests through ctest (-L platform), which starts zfs-fuse "
               "with tests/platform/zfs_fuse_up.sh and names its pools in $ZFERRY_PLATFORM_ENV";
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        name_ = std::string(info->name()) + "_" + std::to_string(::getpid());
        tmp_ = fs::path(env_.dir) / ("t_" + name_);
        fs::create_directories(tmp_);
        runner_ = std::make_unique<ZfsRunner>(ctx_.get_executor(), ZfsRunnerOptions{});
    }

    void TearDown() override {
        if (!runner_) return;
        for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
            zfs({"umount", *it});  // a mounted fs refuses destroy (busy) on zfs-fuse
            Out r = zfs({"destroy", "-r", *it});
            EXPECT_TRUE(r.ok() || is_dataset_not_found(r.err, *it)) << r.describe();
        }
        std::error_code ec;
        fs::remove_all(tmp_, ec);
    }

    Out zfs(std::vector<std::string> args) {
        return to_out(args, zferry::test::run(ctx_, runner_->run(args)));
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

    Transfer transfer(std::vector<std::string> send_args, std::vector<std::string> recv_args,
                      std::optional<std::uint64_t> cut_after = std::nullopt) {
        return zferry::test::run(
            ctx_, transfer_co(*runner_, std::move(send_args), std::move(recv_args), cut_after));
    }
    void replicate(std::vector<std::string> send_args, std::vector<std::string> recv_args) {
        Transfer t = transfer(std::move(send_args), std::move(recv_args));
        EXPECT_TRUE(t.send.ok()) << t.send.describe();
        EXPECT_TRUE(t.recv.ok()) << t.recv.describe();
    }

    asio::io_context ctx_;
    std::unique_ptr<ZfsRunner> runner_;
    Env env_;
    std::string name_;
    fs::path tmp_;
    std::vector<std::string> created_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Capabilities

TEST_F(ZfsFuse, CapabilitiesAreTheZfsFuseSetAndProbedOnce) {
    auto caps = zferry::test::run(ctx_, runner_->capabilities());
    ASSERT_TRUE(caps.has_value()) << caps.error().message();
    EXPECT_FALSE(caps->bookmarks);
    EXPECT_FALSE(caps->resumable_send);
    EXPECT_FALSE(caps->resumable_recv);
    EXPECT_FALSE(caps->list_parsable);
    EXPECT_FALSE(caps->holds_listing);
    EXPECT_FALSE(caps->destroy_comma_list);
    EXPECT_FALSE(caps->send_size_estimate);
    EXPECT_FALSE(caps->raw_send);
    // Nor -L -c -e -b -S, nor recv -o/-x: zfs-fuse has none of the probed features.
    EXPECT_EQ(*caps, Capabilities{});
    EXPECT_FALSE(describe_missing(*caps).empty());

    const auto probes = runner_->invocations();
    EXPECT_GT(probes, 0u);
    auto again = zferry::test::run(ctx_, runner_->capabilities());
    ASSERT_TRUE(again.has_value()) << again.error().message();
    EXPECT_EQ(*again, *caps);
    EXPECT_EQ(runner_->invocations(), probes) << "capabilities are cached per runner";
}

// ---------------------------------------------------------------------------------------------
// Listings and properties: the pure parsers on live zfs-fuse output

TEST_F(ZfsFuse, VersionListingThroughGetHpMatchesEachSnapshot) {
    std::string fs = create(src_fs("a"));
    create(fs + "/child");
    ok({"snapshot", fs + "@s1"});
    ok({"snapshot", fs + "@s2"});
    ok({"snapshot", "-r", fs + "@s3"});

    auto vs = versions(fs);
    ASSERT_EQ(names(vs), (std::vector<std::string>{"s1", "s2", "s3"})) << "the child's @s3 is not listed";
    const auto now = static_cast<std::int64_t>(::time(nullptr));
    for (std::size_t i = 0; i < vs.size(); ++i) {
        SCOPED_TRACE(vs[i].full_name());
        EXPECT_EQ(vs[i].filesystem, fs);
        EXPECT_EQ(std::to_string(vs[i].guid), prop(vs[i].full_name(), "guid"));
        EXPECT_EQ(std::to_string(vs[i].createtxg), prop(vs[i].full_name(), "createtxg"));
        EXPECT_LE(vs[i].creation, now);
        EXPECT_GT(vs[i].creation, now - 600);
        EXPECT_EQ(vs[i].userrefs, std::optional<std::uint64_t>(0));
        if (i > 0) {
            EXPECT_LT(vs[i - 1].createtxg, vs[i].createtxg);
        }
    }
    // `snapshot -r` is atomic: one txg for the filesystem and its child.
    auto child = versions(fs + "/child");
    ASSERT_EQ(names(child), std::vector<std::string>{"s3"});
    EXPECT_EQ(child[0].createtxg, vs[2].createtxg);
    EXPECT_NE(child[0].guid, vs[2].guid);

    // Why the listing goes through `zfs get`: zfs-fuse refuses `list -p`.
    Out r = zfs({"list", "-H", "-p", "-o", "name,guid", fs});
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(invalid_option(r.err), std::optional<std::string>("p")) << r.err;
}

TEST_F(ZfsFuse, FilesystemListingWithoutP) {
    std::string fs = create(src_fs("tree"), {"zrepl:placeholder=on"});
    create(fs + "/b");
    create(fs + "/b/c");
    ok({"snapshot", "-r", fs + "@s1"});  // snapshots are not filesystems
    std::vector<std::string> props{"zrepl:placeholder"};
    Out r = zfs(list_filesystems_argv(props, fs, /*parsable=*/false));
    ASSERT_TRUE(r.ok()) << r.describe();
    auto entries = parse_filesystem_listing(r.out, props.size());
    ASSERT_TRUE(entries.has_value()) << entries.error().message();
    EXPECT_EQ(*entries,
              (std::vector<FilesystemListEntry>{{fs, {"on"}}, {fs + "/b", {"on"}}, {fs + "/b/c", {"on"}}}));
}

TEST_F(ZfsFuse, PropertySourcesAndPlaceholders) {
    std::string fs = create(src_fs("p"), {"zrepl:placeholder=on", "canmount=off", "user:x=1"});
    create(fs + "/child");
    ok({"set", "user:y=2", fs + "/child"});
    ok({"snapshot", fs + "/child@s1"});

    std::vector<std::string> props{"zrepl:placeholder", "user:x",      "user:y",
                                   "mountpoint",        "compression", "used"};
    Out r = zfs(get_properties_argv(props, fs, /*recursive=*/true));
    ASSERT_TRUE(r.ok()) << r.describe();
    auto parsed = parse_properties(r.out, props);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message() << "\n" << r.out;
    ASSERT_EQ(parsed->size(), 3u) << r.out;  // fs, fs/child, fs/child@s1
    const auto& top = (*parsed)[0];
    const auto& child = (*parsed)[1];
    EXPECT_EQ(top.name, fs);
    EXPECT_EQ(child.name, fs + "/child");
    EXPECT_EQ((*parsed)[2].name, fs + "/child@s1");

    EXPECT_EQ(*top.find("user:x"), (PropertyValue{"1", PropertySource::local, ""}));
    EXPECT_EQ(*child.find("user:x"), (PropertyValue{"1", PropertySource::inherited, fs}));
    EXPECT_EQ(*top.find("user:y"), (PropertyValue{"-", PropertySource::none, ""}));  // unset
    EXPECT_EQ(*child.find("user:y"), (PropertyValue{"2", PropertySource::local, ""}));
    EXPECT_EQ(*top.find("mountpoint"), (PropertyValue{"none", PropertySource::inherited, env_.src}));
    EXPECT_EQ(top.find("compression")->source, PropertySource::default_value);
    EXPECT_EQ(top.find("used")->source, PropertySource::none);
    EXPECT_GT(std::stoull(top.find("used")->value), 0u);  // -p: exact bytes

    // Only a local value makes a placeholder; the child inherits "on" and is not one.
    EXPECT_TRUE(is_placeholder(top));
    EXPECT_FALSE(is_placeholder(child));
    EXPECT_EQ(top.find(kPlaceholderProperty, static_cast<unsigned>(PropertySource::local))->value, "on");
    // zrepl 0.0.x placeholders carry a hash of their name.
    ok({"set", std::string(kPlaceholderProperty) + "=" + legacy_placeholder_value(fs + "/child"),
        fs + "/child"});
    std::vector<std::string> ph{std::string(kPlaceholderProperty)};
    r = zfs(get_properties_argv(ph, fs + "/child"));
    parsed = parse_properties(r.out, ph);
    ASSERT_TRUE(parsed.has_value() && parsed->size() == 1) << r.out;
    EXPECT_TRUE(is_placeholder((*parsed)[0]));

    // Properties zfs-fuse does not have, and its one-property `zfs set`.
    r = zfs({"get", "-Hp", "-o", "name,property,value,source", "receive_resume_token", fs});
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(invalid_property(r.err), std::optional<std::string>("receive_resume_token")) << r.err;
    r = zfs({"set", "user:a=1", "user:b=2", fs});
    EXPECT_FALSE(r.ok()) << "zfs-fuse took two properties in one set";
}

// ---------------------------------------------------------------------------------------------
// Holds and destroy

TEST_F(ZfsFuse, HoldsReleasesAndHeldDestroy) {
    std::string fs = create(src_fs("h"));
    ok({"snapshot", fs + "@s1"});
    ok({"snapshot", fs + "@s2"});
    const std::string snap = fs + "@s1";
    const std::string tag = "zrepl_STEP_J_platform";

    ok({"hold", tag, snap});
    EXPECT_EQ(prop(snap, "userrefs"), "1");
    Out r = zfs({"hold", tag, snap});
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(is_hold_tag_exists(r.err)) << r.err;
    EXPECT_EQ(prop(snap, "userrefs"), "1");
    ok({"hold", "zrepl_last_received_J_platform", snap});
    EXPECT_EQ(prop(snap, "userrefs"), "2");

    // A held snapshot cannot be destroyed; the classifier says which and why.
    r = zfs({"destroy", snap});
    EXPECT_EQ(r.rc, 1);
    auto f = classify_destroy_failure(snap, r.err);
    EXPECT_EQ(f.kind, DestroyFailure::Kind::undestroyable) << r.err;
    ASSERT_EQ(f.snapshots.size(), 1u) << r.err;
    EXPECT_EQ(f.snapshots[0].name, "s1");
    EXPECT_TRUE(f.snapshots[0].held) << f.snapshots[0].reason;

    // Releasing twice: the second finds no tag, which is success for zferry.
    ok({"release", tag, snap});
    r = zfs({"release", tag, snap});
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(release_unexpected_lines(r.err).empty()) << r.err;
    ok({"release", "zrepl_last_received_J_platform", snap});
    EXPECT_EQ(prop(snap, "userrefs"), "0");

    // zfs-fuse lists no tags.
    r = zfs({"holds", snap});
    EXPECT_FALSE(r.ok());

    ok({"destroy", snap});
    r = zfs({"destroy", snap});
    EXPECT_EQ(classify_destroy_failure(snap, r.err).kind, DestroyFailure::Kind::not_exists) << r.err;
    // A hold on a snapshot of a missing filesystem names the filesystem.
    r = zfs({"hold", tag, fs + "_gone@s1"});
    EXPECT_EQ(dataset_not_found_path(r.err), std::optional<std::string>(fs + "_gone")) << r.err;
    // No comma lists on zfs-fuse: one snapshot per destroy.
    r = zfs({"destroy", fs + "@s2,s3"});
    EXPECT_EQ(classify_destroy_failure(fs + "@s2,s3", r.err).kind, DestroyFailure::Kind::other) << r.err;
    EXPECT_EQ(names(versions(fs)), std::vector<std::string>{"s2"});
}

// ---------------------------------------------------------------------------------------------
// Send and receive

TEST_F(ZfsFuse, FullAndIncrementalReplicationKeepsGuidsAndData) {
    std::string src = create(src_fs("r"));
    std::string dst = dst_fs("r");
    owns(dst);
    std::map<std::string, std::string> at_s1{{"big", incompressible(3 << 20, 1)}, {"small", "hello\n"}};
    write_files(src, at_s1);
    ok({"snapshot", src + "@s1"});
    auto at_s2 = at_s1;
    at_s2["small"] = "changed\n";
    at_s2["new"] = incompressible(1 << 20, 2);
    write_files(src, at_s2);
    ok({"snapshot", src + "@s2"});
    auto at_s3 = at_s2;
    at_s3["third"] = incompressible(100000, 3);
    write_files(src, at_s3);
    ok({"snapshot", src + "@s3"});
    ok({"snapshot", src + "@s4"});  // no change since s3

    SendPolicy policy;
    RecvOptions recv;
    recv.unmounted = true;
    replicate(send_argv(policy, {src, "", "@s1", ""}), recv_argv(recv, dst + "@s1"));
    ASSERT_EQ(names(versions(dst)), std::vector<std::string>{"s1"});
    replicate(send_argv(policy, {src, "@s1", "@s2", ""}), recv_argv(recv, dst + "@s2"));
    // -I: s3 and s4 in one compound stream.
    auto compound = send_argv(policy, {src, "@s2", "@s4", ""});
    std::replace(compound.begin(), compound.end(), std::string("-i"), std::string("-I"));
    replicate(compound, recv_argv(recv, dst));

    auto sv = versions(src), dv = versions(dst);
    ASSERT_EQ(names(dv), (std::vector<std::string>{"s1", "s2", "s3", "s4"}));
    for (std::size_t i = 0; i < sv.size(); ++i) {
        EXPECT_EQ(sv[i].guid, dv[i].guid) << sv[i].name;
        EXPECT_EQ(sv[i].creation, dv[i].creation) << sv[i].name;
    }
    EXPECT_EQ(read_snapshot(dst + "@s1"), at_s1);
    EXPECT_EQ(read_snapshot(dst + "@s2"), at_s2);
    EXPECT_EQ(read_snapshot(dst + "@s4"), at_s3);
    EXPECT_EQ(prop(dst, "mounted"), "no");
}

TEST_F(ZfsFuse, ReceiveRefusalsAreClassified) {
    std::string src = create(src_fs("e"));
    write_files(src, {{"f", "one"}});
    ok({"snapshot", src + "@s1"});
    write_files(src, {{"f", "two"}});
    ok({"snapshot", src + "@s2"});
    ok({"snapshot", src + "@s3"});
    std::string dst = dst_fs("e");
    owns(dst);
    RecvOptions plain;
    replicate(send_argv({}, {src, "", "@s1", ""}), recv_argv(plain, dst));

    // A full stream onto an existing filesystem.
    Transfer t = transfer(send_argv({}, {src, "", "@s2", ""}), recv_argv(plain, dst));
    EXPECT_EQ(t.recv.rc, 1);
    EXPECT_NE(t.recv.err.find("destination '" + dst + "' exists"), std::string::npos) << t.recv.err;
    EXPECT_EQ(classify_recv_failure(t.recv.err).kind, RecvFailure::Kind::other);
    // An incremental whose base the target does not have.
    t = transfer(send_argv({}, {src, "@s2", "@s3", ""}), recv_argv(plain, dst));
    EXPECT_EQ(t.recv.rc, 1);
    EXPECT_NE(t.recv.err.find("match incremental source"), std::string::npos) << t.recv.err;
    EXPECT_EQ(classify_recv_failure(t.recv.err).kind, RecvFailure::Kind::other);
    // A target whose parent is missing names the missing dataset.
    const std::string orphan = env_.dst + "/" + name_ + "_missing/child";
    t = transfer(send_argv({}, {src, "", "@s1", ""}), recv_argv(plain, orphan));
    EXPECT_EQ(t.recv.rc, 1);
    EXPECT_EQ(dataset_not_found_path(t.recv.err), std::optional<std::string>(orphan)) << t.recv.err;
    // What zfs-fuse's recv lacks: -s (resumable) and -A.
    Out r = zfs(recv_abort_argv(dst));
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(invalid_option(r.err), std::optional<std::string>("A")) << r.err;
    EXPECT_EQ(names(versions(dst)), std::vector<std::string>{"s1"});
}

TEST_F(ZfsFuse, RollbackThenReplicateAgain) {
    std::string src = create(src_fs("rb"));
    std::string dst = dst_fs("rb");
    owns(dst);
    std::map<std::string, std::string> files;
    for (int i = 1; i <= 3; ++i) {
        files["f" + std::to_string(i)] = incompressible(50000, i);
        write_files(src, files);
        ok({"snapshot", src + "@s" + std::to_string(i)});
    }
    RecvOptions recv;
    recv.unmounted = true;
    replicate(send_argv({}, {src, "", "@s1", ""}), recv_argv(recv, dst));
    replicate({"send", "-I", src + "@s1", src + "@s3"}, recv_argv(recv, dst));
    ASSERT_EQ(names(versions(dst)), (std::vector<std::string>{"s1", "s2", "s3"}));

    Out r = zfs({"rollback", dst + "@s1"});
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("more recent snapshots exist"), std::string::npos) << r.err;
    ok({"rollback", "-r", dst + "@s1"});
    ASSERT_EQ(names(versions(dst)), std::vector<std::string>{"s1"});
    replicate({"send", "-I", src + "@s1", src + "@s3"}, recv_argv(recv, dst));
    auto sv = versions(src), dv = versions(dst);
    ASSERT_EQ(names(dv), (std::vector<std::string>{"s1", "s2", "s3"}));
    for (std::size_t i = 0; i < sv.size(); ++i) EXPECT_EQ(sv[i].guid, dv[i].guid) << sv[i].name;
    files.erase("f3");
    EXPECT_EQ(read_snapshot(dst + "@s2"), files);
}

// ---------------------------------------------------------------------------------------------
// Interrupted transfers: the pipe is cut mid-stream.

TEST_F(ZfsFuse, CutIncrementalLeavesTargetAtPreviousSnapshotAndRetrySucceeds) {
    std::string src = create(src_fs("cut"));
    std::string dst = dst_fs("cut");
    owns(dst);
    std::map<std::string, std::string> at_s1{{"a", incompressible(2 << 20, 10)}};
    write_files(src, at_s1);
    ok({"snapshot", src + "@s1"});
    auto at_s2 = at_s1;
    at_s2["b"] = incompressible(8 << 20, 11);
    write_files(src, at_s2);
    ok({"snapshot", src + "@s2"});
    RecvOptions recv;
    recv.unmounted = true;
    replicate(send_argv({}, {src, "", "@s1", ""}), recv_argv(recv, dst));
    const auto before = versions(dst);
    ASSERT_EQ(names(before), std::vector<std::string>{"s1"});

    Transfer t = transfer(send_argv({}, {src, "@s1", "@s2", ""}), recv_argv(recv, dst), 1 << 20);
    EXPECT_EQ(t.bytes, 1u << 20);
    EXPECT_NE(t.send.rc, 0) << "the sender wrote into a closed pipe";
    EXPECT_EQ(t.recv.rc, 1) << t.recv.err;
    EXPECT_NE(classify_recv_failure(t.recv.err).kind, RecvFailure::Kind::resumable) << t.recv.err;
    EXPECT_EQ(versions(dst), before) << "the target stays at its previous snapshot";

    // The target was not modified: the same incremental now goes through.
    replicate(send_argv({}, {src, "@s1", "@s2", ""}), recv_argv(recv, dst));
    auto dv = versions(dst);
    ASSERT_EQ(names(dv), (std::vector<std::string>{"s1", "s2"}));
    EXPECT_EQ(dv[1].guid, versions(src)[1].guid);
    EXPECT_EQ(read_snapshot(dst + "@s2"), at_s2);
}

TEST_F(ZfsFuse, CutFullSendLeavesNoDatasetAndRetrySucceeds) {
    std::string src = create(src_fs("cutfull"));
    std::map<std::string, std::string> files{{"a", incompressible(6 << 20, 20)}};
    write_files(src, files);
    ok({"snapshot", src + "@s1"});
    std::string dst = dst_fs("cutfull");
    owns(dst);
    RecvOptions recv;
    recv.unmounted = true;
    Transfer t = transfer(send_argv({}, {src, "", "@s1", ""}), recv_argv(recv, dst), 512 << 10);
    EXPECT_NE(t.send.rc, 0);
    EXPECT_EQ(t.recv.rc, 1) << t.recv.err;
    Out r = zfs({"list", "-H", "-o", "name", dst});
    EXPECT_TRUE(is_dataset_not_found(r.err, dst))
        << "a failed new-filesystem receive leaves nothing: " << r.out << r.err;
    replicate(send_argv({}, {src, "", "@s1", ""}), recv_argv(recv, dst));
    auto dv = versions(dst);
    ASSERT_EQ(names(dv), std::vector<std::string>{"s1"});
    EXPECT_EQ(dv[0].guid, versions(src)[0].guid);
    EXPECT_EQ(read_snapshot(dst + "@s1"), files);
}
