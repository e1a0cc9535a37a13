// zfs/send_recv against zfs-sim: send and receive as child processes on pipes, the bytes
// copied between the two pipes by a plain loop here (the transport is not part of zfs/),
// two simulated hosts (one state directory each). Covers full and incremental transfers,
// resuming after an injected receive failure, stopping stalled and half-read transfers
// without hanging or leaving a child behind, the sender's guard, and the capability errors of
// a ZFS without the post-2010 features (zfs-fuse, emulated by answering the probes with its
// recorded usage texts).
#include "zfs/send_recv.hpp"

#include "core/io_engine.hpp"
#include "tests/integration/test_support.hpp"
#include "tests/unit/zfs_recorded_outputs.hpp"
#include "zfs/resume_token.hpp"
#include "zfs/zfs_error.hpp"

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace zferry::zfs {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kKillGrace{500};
// "Promptly": well below anything a hang would take, well above a loaded 2-core machine's
// scheduling noise (ASan included).
constexpr auto kPrompt = std::chrono::seconds(5);

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

// Whether `pid` still exists (as a process or an unreaped zombie).
bool process_exists(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH); }

// Whether `pid` is running (a zombie whose parent has not reaped it yet does not count).
bool process_running(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), {});
    auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// Waits up to `limit` for `pid` to stop running.
bool stops_within(int pid, std::chrono::seconds limit) {
    for (auto end = Clock::now() + limit; Clock::now() < end;) {
        if (!process_running(pid)) return true;
        std::this_thread::sleep_for(milliseconds(20));
    }
    return !process_running(pid);
}

// The test process has no children left (all reaped).
bool no_children() {
    int st = 0;
    return ::waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD;
}

struct CopyResult {
    std::uint64_t bytes = 0;
    bool eof = false;        // the sender's pipe reached end of file
    int write_errno = 0;     // EPIPE when the receiver went away
    bool timed_out = false;  // no progress within the idle timeout
};

// Moves bytes from `in` to `out` (both O_NONBLOCK pipe ends) until end of file, a write error,
// `limit` bytes, or `idle` without progress. `out` == -1 discards.
CopyResult copy_stream(int in, int out, milliseconds idle = milliseconds(10000),
                       std::uint64_t limit = UINT64_MAX) {
    CopyResult r;
    std::vector<char> buf(256 << 10);
    auto wait_for = [&](int fd, short ev) {
        pollfd p{fd, ev, 0};
        int n = ::poll(&p, 1, static_cast<int>(idle.count()));
        if (n == 0) r.timed_out = true;
        return n > 0;
    };
    while (r.bytes < limit) {
        ssize_t n = ::read(in, buf.data(), std::min<std::uint64_t>(buf.size(), limit - r.bytes));
        if (n == 0) {
            r.eof = true;
            break;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN && wait_for(in, POLLIN)) continue;
            break;
        }
        std::size_t off = 0;
        while (out >= 0 && off < static_cast<std::size_t>(n)) {
            ssize_t w = ::write(out, buf.data() + off, static_cast<std::size_t>(n) - off);
            if (w > 0) {
                off += static_cast<std::size_t>(w);
            } else if (w < 0 && errno == EAGAIN) {
                if (!wait_for(out, POLLOUT)) return r;
            } else if (w < 0 && errno != EINTR) {
                r.write_errno = errno;
                return r;
            }
        }
        r.bytes += static_cast<std::uint64_t>(n);
    }
    return r;
}

asio::awaitable<bool> finish_before(SendStream& s, milliseconds deadline) {
    asio::steady_timer t(co_await asio::this_coro::executor, deadline);
    auto r = co_await (s.finish() || t.async_wait(asio::as_tuple(asio::use_awaitable)));
    co_return r.index() == 0;
}

class SendRecv : public ::testing::Test {
protected:
    void SetUp() override {
        ignore_sigpipe();
        char tmpl[] = "/tmp/zfs-send-recv-test-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        src_state_ = (dir_ / "src").string();
        dst_state_ = (dir_ / "dst").string();
        for (const char* v :
             {"ZFS_SIM_FAIL_SEND_AFTER", "ZFS_SIM_STALL_SEND_AFTER", "ZFS_SIM_FAIL_RECV_AFTER",
              "ZFS_SIM_STALL_RECV_AFTER", "ZFS_SIM_FAIL_SUBCOMMAND", "ZFS_SIM_LOG", "ZFS_SIM_STATE"})
            ::unsetenv(v);
        src_ = runner(src_state_);
        dst_ = runner(dst_state_);
    }
    void TearDown() override {
        src_.reset();
        dst_.reset();
        extra_.clear();
        fs::remove_all(dir_);
    }

    // A runner on one simulated host, with extra environment (fault injection).
    std::unique_ptr<ZfsRunner> runner(const std::string& state,
                                      std::vector<std::pair<std::string, std::string>> env = {},
                                      std::string binary = ZFS_SIM_BIN,
                                      milliseconds kill_grace = kKillGrace) {
        ZfsRunnerOptions o;
        o.binary = std::move(binary);
        o.env = std::move(env);
        o.env.emplace_back("ZFS_SIM_STATE", state);
        o.env.emplace_back("ZFS_SIM_REQUIRE_END_OF_OPTIONS", "1");  // every name after "--"
        o.kill_grace = kill_grace;
        return std::make_unique<ZfsRunner>(ctx_.get_executor(), std::move(o));
    }
    ZfsRunner& extra_runner(const std::string& state, std::vector<std::pair<std::string, std::string>> env,
                            std::string binary = ZFS_SIM_BIN, milliseconds kill_grace = kKillGrace) {
        extra_.push_back(runner(state, std::move(env), std::move(binary), kill_grace));
        return *extra_.back();
    }

    template <class T>
    T run(asio::awaitable<T> a) {
        return test::run(ctx_, std::move(a));
    }

    // A shell script with zs/zd = zfs-sim on the source/destination host, $T the temp dir.
    std::string sh(const std::string& script) {
        std::ofstream(dir_ / "script.sh") << "set -e\nzs() { ZFS_SIM_STATE=" << src_state_ << " "
                                          << ZFS_SIM_BIN << " \"$@\"; }\nzd() { ZFS_SIM_STATE=" << dst_state_
                                          << " " << ZFS_SIM_BIN << " \"$@\"; }\nT=" << dir_.string() << "\n"
                                          << script << "\n";
        std::string cmd = "bash " + (dir_ / "script.sh").string() + " </dev/null >" +
                          (dir_ / "out").string() + " 2>" + (dir_ / "err").string();
        int st = std::system(cmd.c_str());
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << script << "\nstderr: " << slurp(dir_ / "err");
        return slurp(dir_ / "out");
    }
    std::string src_get(const std::string& ds, const std::string& prop) {
        auto v = sh("zs get -Hp -o value " + prop + " " + ds);
        return v.empty() ? v : v.substr(0, v.size() - 1);
    }
    std::string dst_get(const std::string& ds, const std::string& prop) {
        auto v = sh("zd get -Hp -o value " + prop + " " + ds);
        return v.empty() ? v : v.substr(0, v.size() - 1);
    }
    std::uint64_t src_guid(const std::string& ds) { return std::stoull(src_get(ds, "guid")); }

    // Source pool p with p/a@s1, @s2 (bookmarked as #b2), @s3 of `size` random bytes each
    // (bigger than the pipe, so the copy really interleaves), the data kept in $T/d1..d3.
    // Destination pool q.
    void source_with_snapshots(std::size_t size) {
        sh("zs sim-create-pool p; zd sim-create-pool q; zs create p/a\n"
           "for i in 1 2 3; do head -c " +
           std::to_string(size) +
           " /dev/urandom > $T/d$i; zs sim-write p/a $T/d$i; zs snapshot p/a@s$i; done\n"
           "zs bookmark p/a@s2 p/a#b2");
    }
    std::string data(int i) { return slurp(dir_ / ("d" + std::to_string(i))); }
    std::string dst_read(const std::string& ds) {
        sh("zd sim-read " + ds + " > $T/read");
        return slurp(dir_ / "read");
    }

    struct Transfer {
        Result<void> sent, received;
        CopyResult copy;
        RecvFailure failure;
    };
    // Starts both sides, copies, finishes both (the receiver first: it tells why a transfer
    // broke; the sender's read end closes only then).
    Transfer transfer(ZfsRunner& from, const SendPolicy& p, const SendSpec& spec, ZfsRunner& to,
                      const RecvOptions& o, const std::string& target) {
        Transfer t;
        auto send = run(start_send(from, p, spec));
        EXPECT_TRUE(send) << send.error().message();
        if (!send) return t;
        auto recv = run(start_recv(to, o, target));
        EXPECT_TRUE(recv) << recv.error().message();
        if (!recv) {
            run(send->abort());
            return t;
        }
        EXPECT_GE(send->pipe_capacity(), std::size_t{64} << 10);
        t.copy = copy_stream(send->fd(), recv->fd());
        EXPECT_FALSE(t.copy.timed_out);
        t.received = run(recv->finish());
        t.failure = recv->failure();
        if (t.copy.eof)
            t.sent = run(send->finish());
        else
            run(send->abort());
        return t;
    }

    asio::io_context ctx_;
    fs::path dir_;
    std::string src_state_, dst_state_;
    std::unique_ptr<ZfsRunner> src_, dst_;
    std::vector<std::unique_ptr<ZfsRunner>> extra_;
};

TEST_F(SendRecv, FullThenIncrementalFromSnapshotAndFromBookmark) {
    source_with_snapshots(3 << 20);
    RecvOptions o;
    o.unmounted = true;

    auto full = transfer(*src_, {}, SendSpec{"p/a", "", "@s1", ""}, *dst_, o, "q/a");
    ASSERT_TRUE(full.sent) << full.sent.error().message();
    ASSERT_TRUE(full.received) << full.received.error().message();
    EXPECT_TRUE(full.copy.eof);
    EXPECT_GT(full.copy.bytes, std::uint64_t{3} << 20);
    EXPECT_TRUE(dst_read("q/a@s1") == data(1));
    EXPECT_EQ(dst_get("q/a@s1", "guid"), src_get("p/a@s1", "guid"));

    auto inc = transfer(*src_, {}, SendSpec{"p/a", "@s1", "@s2", ""}, *dst_, o, "q/a");
    ASSERT_TRUE(inc.sent) << inc.sent.error().message();
    ASSERT_TRUE(inc.received) << inc.received.error().message();
    EXPECT_TRUE(dst_read("q/a@s2") == data(2));
    EXPECT_EQ(dst_get("q/a@s2", "guid"), src_get("p/a@s2", "guid"));

    // From the bookmark of @s2, with @s2 itself gone on the sender.
    sh("zs destroy p/a@s2");
    auto bm = transfer(*src_, {}, SendSpec{"p/a", "#b2", "@s3", ""}, *dst_, o, "q/a@s3");
    ASSERT_TRUE(bm.sent) << bm.sent.error().message();
    ASSERT_TRUE(bm.received) << bm.received.error().message();
    EXPECT_TRUE(dst_read("q/a@s3") == data(3));
    EXPECT_TRUE(dst_read("q/a") == data(3));
    EXPECT_EQ(dst_get("q/a@s3", "guid"), src_get("p/a@s3", "guid"));
    EXPECT_TRUE(no_children());
}

TEST_F(SendRecv, IntermediatesArriveInOneCompoundStream) {
    source_with_snapshots(1 << 20);
    RecvOptions o;
    o.unmounted = true;
    auto full = transfer(*src_, {}, SendSpec{"p/a", "", "@s1", ""}, *dst_, o, "q/a");
    ASSERT_TRUE(full.received) << full.received.error().message();

    // One `send -I @s1 p/a@s3` brings @s2 and @s3, each with the sender's GUID and data.
    auto inc = transfer(*src_, {}, SendSpec{"p/a", "@s1", "@s3", "", true}, *dst_, o, "q/a");
    ASSERT_TRUE(inc.sent) << inc.sent.error().message();
    ASSERT_TRUE(inc.received) << inc.received.error().message();
    for (const char* s : {"s2", "s3"})
        EXPECT_EQ(dst_get(std::string("q/a@") + s, "guid"), src_get(std::string("p/a@") + s, "guid")) << s;
    EXPECT_TRUE(dst_read("q/a@s2") == data(2));
    EXPECT_TRUE(dst_read("q/a@s3") == data(3));

    // -I from a bookmark is refused before anything runs.
    auto bm = run(start_send(*src_, {}, SendSpec{"p/a", "#b2", "@s3", "", true}));
    ASSERT_FALSE(bm.has_value());
    EXPECT_EQ(bm.error().code(), Errc::invalid_argument);
    EXPECT_NE(bm.error().message().find("needs a snapshot to start from"), std::string::npos)
        << bm.error().message();
    EXPECT_TRUE(no_children());
}

TEST_F(SendRecv, SendFlagsAndRecvOptionsReachZfs) {
    source_with_snapshots(1000);
    sh("zs set user:x=1 p/a && zs snapshot p/a@s4");
    SendPolicy p;
    p.send_properties = true;
    p.compressed = true;
    p.large_blocks = true;
    p.embedded_data = true;
    RecvOptions o;
    o.force_rollback = true;
    o.resumable = true;
    o.unmounted = true;
    o.set_properties = {{"zrepl:placeholder", "off"}};
    o.exclude_properties = {"user:x"};
    auto send = run(start_send(*src_, p, SendSpec{"p/a", "", "@s4", ""}));
    ASSERT_TRUE(send) << send.error().message();
    EXPECT_EQ(send->args(), (std::vector<std::string>{"send", "-p", "-L", "-c", "-e", "--", "p/a@s4"}));
    auto recv = run(start_recv(*dst_, o, "q/a"));
    ASSERT_TRUE(recv) << recv.error().message();
    EXPECT_EQ(recv->args(), (std::vector<std::string>{"recv", "-F", "-s", "-u", "-o", "zrepl:placeholder=off",
                                                      "-x", "user:x", "--", "q/a"}));
    copy_stream(send->fd(), recv->fd());
    auto received = run(recv->finish());
    ASSERT_TRUE(received) << received.error().message();
    auto sent = run(send->finish());
    ASSERT_TRUE(sent) << sent.error().message();
    EXPECT_EQ(sh("zd get -Hp -o property,value,source zrepl:placeholder,user:x q/a"),
              "zrepl:placeholder\toff\tlocal\nuser:x\t-\t-\n");
}

TEST_F(SendRecv, RawSendOfAnEncryptedDataset) {
    source_with_snapshots(1000);
    sh("zs create -o encryption=on p/enc; printf secret | zs sim-write p/enc; zs snapshot p/enc@e1");
    SendRequest req;
    req.filesystem = "p/enc";
    req.to = SendVersion{"@e1", src_guid("p/enc@e1")};
    req.policy.encrypted = true;
    auto v = run(validate_send_request(*src_, req));
    ASSERT_TRUE(v) << v.error().message();
    RecvOptions o;
    o.unmounted = true;
    auto t = transfer(*src_, v->policy, v->spec(), *dst_, o, "q/enc");
    ASSERT_TRUE(t.sent) << t.sent.error().message();
    ASSERT_TRUE(t.received) << t.received.error().message();
    EXPECT_EQ(dst_get("q/enc@e1", "guid"), src_get("p/enc@e1", "guid"));
    EXPECT_NE(dst_get("q/enc", "encryption"), "off");
    EXPECT_EQ(dst_get("q/enc", "keystatus"), "unavailable") << "a raw stream arrives still encrypted";
}

TEST_F(SendRecv, SizeEstimates) {
    source_with_snapshots(200000);
    auto full = run(estimate_send_size(*src_, {}, SendSpec{"p/a", "", "@s1", ""}));
    ASSERT_TRUE(full) << full.error().message();
    ASSERT_TRUE(full->bytes) << full->unknown_reason;
    EXPECT_GE(*full->bytes, 200000u);
    EXPECT_LT(*full->bytes, 220000u);
    auto from_bookmark = run(estimate_send_size(*src_, {}, SendSpec{"p/a", "#b2", "@s3", ""}));
    ASSERT_TRUE(from_bookmark) << from_bookmark.error().message();
    ASSERT_TRUE(from_bookmark->bytes) << from_bookmark->unknown_reason;
    EXPECT_GE(*from_bookmark->bytes, 200000u);
    // A missing snapshot is an error, not an unknown size.
    auto missing = run(estimate_send_size(*src_, {}, SendSpec{"p/a", "", "@nope", ""}));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ZfsErrc::command_failed);
    EXPECT_NE(missing.error().context().find("p/a@nope"), std::string::npos) << missing.error().context();
}

TEST_F(SendRecv, ResumesAfterAnInjectedReceiveFailure) {
    source_with_snapshots(2 << 20);
    RecvOptions o;
    o.resumable = true;
    o.unmounted = true;
    auto& faulty = extra_runner(dst_state_, {{"ZFS_SIM_FAIL_RECV_AFTER", "700000"}});

    auto broken = transfer(*src_, {}, SendSpec{"p/a", "", "@s1", ""}, faulty, o, "q/a");
    ASSERT_FALSE(broken.received);
    EXPECT_TRUE(broken.received.error().temporary()) << broken.received.error().message();
    EXPECT_EQ(broken.received.error().code(), Errc::connection_closed);
    ASSERT_EQ(broken.failure.kind, RecvFailure::Kind::resumable) << broken.received.error().message();
    EXPECT_FALSE(broken.copy.eof);
    EXPECT_FALSE(broken.failure.resume_token.empty());

    // The receiver's filesystem carries the same token; it names what was being sent.
    auto token = run(receive_resume_token(*dst_, "q/a"));
    ASSERT_TRUE(token) << token.error().message();
    ASSERT_TRUE(*token);
    EXPECT_EQ(**token, broken.failure.resume_token);
    auto decoded = decode_resume_token(**token);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->toname, "p/a@s1");
    EXPECT_EQ(decoded->toguid, src_guid("p/a@s1"));
    ASSERT_TRUE(decoded->offset);
    EXPECT_GT(*decoded->offset, 0u);

    // The sender validates the token against the request before sending the rest.
    SendRequest req;
    req.filesystem = "p/a";
    req.to = SendVersion{"@s1", src_guid("p/a@s1")};
    req.resume_token = **token;
    auto valid = run(validate_send_request(*src_, req));
    ASSERT_TRUE(valid) << valid.error().message();
    // The dry run of a resume estimates the rest only.
    auto rest = run(estimate_send_size(*src_, {}, valid->spec()));
    ASSERT_TRUE(rest) << rest.error().message();
    ASSERT_TRUE(rest->bytes) << rest->unknown_reason;
    EXPECT_LT(*rest->bytes, std::uint64_t{2} << 20);
    EXPECT_GT(*rest->bytes, (std::uint64_t{2} << 20) - *decoded->offset - 1000);
    auto resumed = transfer(*src_, {}, valid->spec(), *dst_, o, "q/a");
    EXPECT_GT(resumed.copy.bytes, 0u);
    EXPECT_LT(resumed.copy.bytes, (std::uint64_t{2} << 20) - 500000)
        << "the resumed stream is not a full resend";
    ASSERT_TRUE(resumed.sent) << resumed.sent.error().message();
    ASSERT_TRUE(resumed.received) << resumed.received.error().message();
    EXPECT_TRUE(dst_read("q/a@s1") == data(1));
    EXPECT_EQ(dst_get("q/a@s1", "guid"), src_get("p/a@s1", "guid"));
    auto none = run(receive_resume_token(*dst_, "q/a"));
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_FALSE(*none);
    auto missing = run(receive_resume_token(*dst_, "q/nope"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found);
}

// A full receiving pool (zfs-sim's sim-set-pool-size): the error names the pool, is permanent
// (retrying cannot free space) and not a broken stream; with -s what arrived stays resumable,
// and once the pool has room the resume sends only the rest.
TEST_F(SendRecv, FullPoolIsNamedPermanentAndLeavesAResumableState) {
    source_with_snapshots(2 << 20);
    ASSERT_EQ(sh("zd sim-set-pool-size q 700000 && echo ok"), "ok\n");
    RecvOptions o;
    o.resumable = true;
    o.unmounted = true;
    auto full = transfer(*src_, {}, SendSpec{"p/a", "", "@s1", ""}, *dst_, o, "q/a");
    ASSERT_FALSE(full.received);
    const Error& e = full.received.error();
    EXPECT_EQ(e.code(), ZfsErrc::out_of_space) << e.message();
    EXPECT_FALSE(e.temporary()) << e.message();
    EXPECT_EQ(full.failure.kind, RecvFailure::Kind::out_of_space);
    EXPECT_NE(e.message().find("receiving pool 'q' is out of space"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("cannot receive new filesystem stream: out of space"), std::string::npos)
        << e.message();
    EXPECT_NE(e.message().find("the next run resumes it"), std::string::npos) << e.message();
    auto token = run(receive_resume_token(*dst_, "q/a"));
    ASSERT_TRUE(token) << token.error().message();
    ASSERT_TRUE(*token) << "a recv -s that ran out of space keeps what arrived";
    auto decoded = decode_resume_token(**token);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->offset.value_or(0), 700000u);

    ASSERT_EQ(sh("zd sim-set-pool-size q none && echo ok"), "ok\n");
    SendRequest req;
    req.filesystem = "p/a";
    req.to = SendVersion{"@s1", src_guid("p/a@s1")};
    req.resume_token = **token;
    auto valid = run(validate_send_request(*src_, req));
    ASSERT_TRUE(valid) << valid.error().message();
    auto resumed = transfer(*src_, {}, valid->spec(), *dst_, o, "q/a");
    ASSERT_TRUE(resumed.received) << resumed.received.error().message();
    EXPECT_LT(resumed.copy.bytes, (std::uint64_t{2} << 20) - 600000) << "the resume is not a full resend";
    EXPECT_EQ(dst_get("q/a@s1", "guid"), src_get("p/a@s1", "guid"));

    // Without -s nothing is left behind, and the message says the step is sent again.
    ASSERT_EQ(sh("zd sim-set-pool-size q 3000000 && echo ok"), "ok\n");
    auto plain = transfer(*src_, {}, SendSpec{"p/a", "", "@s1", ""}, *dst_, RecvOptions{}, "q/b");
    ASSERT_FALSE(plain.received);
    EXPECT_EQ(plain.received.error().code(), ZfsErrc::out_of_space) << plain.received.error().message();
    EXPECT_NE(plain.received.error().message().find("nothing was kept"), std::string::npos);
    EXPECT_EQ(sh("zd list -H -o name -r q"), "q\nq/a\n");
}

TEST_F(SendRecv, BrokenStreamIsReportedAsSuch) {
    source_with_snapshots(100000);
    auto recv = run(start_recv(*dst_, RecvOptions{}, "q/a"));
    ASSERT_TRUE(recv) << recv.error().message();
    // Nothing written: zfs could not read a stream at all.
    auto r = run(recv->finish());
    ASSERT_FALSE(r);
    EXPECT_EQ(recv->failure().kind, RecvFailure::Kind::stream_read_failed) << r.error().message();
    EXPECT_TRUE(r.error().temporary());
    // Without -s a cut stream leaves nothing behind; it is still a broken stream (a dropped
    // connection looks like this), so retrying the whole step can help.
    auto& faulty = extra_runner(dst_state_, {{"ZFS_SIM_FAIL_RECV_AFTER", "50000"}});
    auto cut = transfer(*src_, {}, SendSpec{"p/a", "", "@s1", ""}, faulty, RecvOptions{}, "q/a");
    ASSERT_FALSE(cut.received);
    EXPECT_TRUE(cut.received.error().temporary()) << cut.received.error().message();
    EXPECT_NE(cut.received.error().context().find("invalid backup stream"), std::string::npos);
    EXPECT_EQ(sh("zd list -H -o name -r q"), "q\n");
}

TEST_F(SendRecv, StalledSendAbortedByClosingThePipe) {
    source_with_snapshots(1 << 20);
    auto& stalling = extra_runner(src_state_, {{"ZFS_SIM_STALL_SEND_AFTER", "100000"}});
    auto send = run(start_send(stalling, {}, SendSpec{"p/a", "", "@s1", ""}));
    ASSERT_TRUE(send) << send.error().message();
    const int pid = send->pid();
    auto got = copy_stream(send->fd(), -1, milliseconds(300));
    EXPECT_TRUE(got.timed_out);
    EXPECT_EQ(got.bytes, 100000u);
    ASSERT_TRUE(process_exists(pid));

    auto t0 = Clock::now();
    run(send->abort());
    EXPECT_LT(Clock::now() - t0, kPrompt);
    EXPECT_EQ(send->fd(), -1);
    EXPECT_FALSE(process_exists(pid));
    EXPECT_TRUE(no_children());
    run(send->abort());  // idempotent
}

TEST_F(SendRecv, StalledSendCancelledWhileFinishing) {
    source_with_snapshots(1 << 20);
    auto& stalling = extra_runner(src_state_, {{"ZFS_SIM_STALL_SEND_AFTER", "1000"}});
    auto send = run(start_send(stalling, {}, SendSpec{"p/a", "", "@s1", ""}));
    ASSERT_TRUE(send) << send.error().message();
    const int pid = send->pid();
    // Once stalled, the send no longer writes, so closing the pipe does not end it: only the
    // cancellation of finish() does.
    EXPECT_EQ(copy_stream(send->fd(), -1, milliseconds(300)).bytes, 1000u);
    auto t0 = Clock::now();
    EXPECT_FALSE(run(finish_before(*send, milliseconds(300)))) << "a stalled send cannot finish";
    EXPECT_LT(Clock::now() - t0, kPrompt);
    EXPECT_FALSE(process_exists(pid));
    EXPECT_TRUE(no_children());
}

TEST_F(SendRecv, SendClosedEarly) {
    source_with_snapshots(8 << 20);
    // finish() after reading only a little: the send fails of the closed pipe, promptly.
    auto send = run(start_send(*src_, {}, SendSpec{"p/a", "", "@s1", ""}));
    ASSERT_TRUE(send) << send.error().message();
    const int pid = send->pid();
    auto got = copy_stream(send->fd(), -1, milliseconds(10000), 64 << 10);
    EXPECT_EQ(got.bytes, std::uint64_t{64} << 10);
    auto t0 = Clock::now();
    auto r = run(send->finish());
    EXPECT_LT(Clock::now() - t0, kPrompt);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::connection_closed) << r.error().message();
    EXPECT_FALSE(process_exists(pid));

    // abort() after reading only a little.
    auto again = run(start_send(*src_, {}, SendSpec{"p/a", "", "@s1", ""}));
    ASSERT_TRUE(again) << again.error().message();
    copy_stream(again->fd(), -1, milliseconds(10000), 1000);
    t0 = Clock::now();
    run(again->abort());
    EXPECT_LT(Clock::now() - t0, kPrompt);
    EXPECT_TRUE(no_children());

    // A stream small enough to fit into the pipe: zfs is done, but nobody read it.
    sh("zs create p/small; printf tiny | zs sim-write p/small; zs snapshot p/small@s");
    auto small = run(start_send(*src_, {}, SendSpec{"p/small", "", "@s", ""}));
    ASSERT_TRUE(small) << small.error().message();
    pollfd readable{small->fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&readable, 1, 10000), 1);
    auto unread = run(small->finish());
    ASSERT_FALSE(unread) << "unread bytes must not look like a finished send";
    EXPECT_EQ(unread.error().code(), Errc::connection_closed) << unread.error().message();

    // Destroying an unfinished stream also leaves nothing behind.
    {
        auto dropped = run(start_send(*src_, {}, SendSpec{"p/a", "", "@s1", ""}));
        ASSERT_TRUE(dropped) << dropped.error().message();
    }
    EXPECT_TRUE(no_children());
}

TEST_F(SendRecv, StalledReceiveAbortedKeepsResumableState) {
    source_with_snapshots(2 << 20);
    auto& stalling = extra_runner(dst_state_, {{"ZFS_SIM_STALL_RECV_AFTER", "300000"}});
    auto send = run(start_send(*src_, {}, SendSpec{"p/a", "", "@s1", ""}));
    ASSERT_TRUE(send) << send.error().message();
    RecvOptions o;
    o.resumable = true;
    auto recv = run(start_recv(stalling, o, "q/a"));
    ASSERT_TRUE(recv) << recv.error().message();
    const int pid = recv->pid();
    auto copied = copy_stream(send->fd(), recv->fd(), milliseconds(500));
    EXPECT_TRUE(copied.timed_out);
    auto t0 = Clock::now();
    run(recv->abort());
    run(send->abort());
    EXPECT_LT(Clock::now() - t0, kPrompt);
    EXPECT_FALSE(process_exists(pid));
    EXPECT_TRUE(no_children());
    auto token = run(receive_resume_token(*dst_, "q/a"));
    ASSERT_TRUE(token) << token.error().message();
    ASSERT_TRUE(*token) << "the aborted -s receive keeps its partial state";
    auto decoded = decode_resume_token(**token);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->toname, "p/a@s1");
}

TEST_F(SendRecv, GuardAcceptsValidRequests) {
    source_with_snapshots(1000);
    SendRequest req;
    req.filesystem = "p/a";
    req.from = SendVersion{"#b2", src_guid("p/a#b2")};
    req.to = SendVersion{"@s3", src_guid("p/a@s3")};
    auto v = run(validate_send_request(*src_, req));
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_EQ(v->spec().from, "#b2");
    EXPECT_FALSE(v->encrypted_send);

    sh("zs create -o encryption=on p/enc; zs snapshot p/enc@e1");
    SendRequest enc;
    enc.filesystem = "p/enc";
    enc.to = SendVersion{"@e1", src_guid("p/enc@e1")};
    enc.policy.encrypted = true;
    auto e = run(validate_send_request(*src_, enc));
    ASSERT_TRUE(e) << e.error().message();
    EXPECT_TRUE(e->encrypted_send);
}

TEST_F(SendRecv, GuardRefusesWithTheReason) {
    source_with_snapshots(1000);
    sh("zs create -o encryption=on p/enc; zs snapshot p/enc@e1; zs create p/other; zs snapshot p/other@s1");
    const auto s1 = src_guid("p/a@s1"), s2 = src_guid("p/a@s2"), b2 = src_guid("p/a#b2");
    auto base = [&] {
        SendRequest r;
        r.filesystem = "p/a";
        r.from = SendVersion{"@s1", s1};
        r.to = SendVersion{"@s2", s2};
        return r;
    };
    struct Case {
        const char* what;
        SendRequest req;
        std::string why;
    };
    std::vector<Case> cases;
    auto add = [&](const char* what, auto change, std::string why) {
        auto r = base();
        change(r);
        cases.push_back({what, std::move(r), std::move(why)});
    };
    add(
        "bad name", [](SendRequest& r) { r.filesystem = "p/a*"; }, "");
    add(
        "missing filesystem", [](SendRequest& r) { r.filesystem = "p/nope"; },
        "the filesystem does not exist");
    add(
        "missing to", [](SendRequest& r) { r.to->relative_name = "@gone"; }, "p/a@gone does not exist");
    add(
        "wrong to guid", [&](SendRequest& r) { r.to->guid = s2 + 1; }, "has GUID");
    add(
        "missing from", [](SendRequest& r) { r.from->relative_name = "#gone"; }, "p/a#gone does not exist");
    add(
        "wrong bookmark guid",
        [&](SendRequest& r) {
            r.from = SendVersion{"#b2", b2 ^ 1};
        },
        "p/a#b2 has GUID");
    add(
        "to is a bookmark",
        [&](SendRequest& r) {
            r.to = SendVersion{"#b2", b2};
        },
        "must be a snapshot");
    add(
        "encrypted policy, plain dataset", [](SendRequest& r) { r.policy.encrypted = true; },
        "the filesystem is not encrypted");
    add(
        "raw unencrypted policy, encrypted dataset",
        [&](SendRequest& r) {
            r.filesystem = "p/enc";
            r.from.reset();
            r.to = SendVersion{"@e1", src_guid("p/enc@e1")};
            r.policy.raw = true;
        },
        "the filesystem is encrypted");
    ResumeToken other;
    other.toguid = src_guid("p/other@s1");
    other.toname = "p/other@s1";
    other.offset = 10;
    add(
        "token for another dataset",
        [&](SendRequest& r) {
            r.from.reset();
            r.to = SendVersion{"@s1", s1};
            r.resume_token = encode_resume_token(other);
        },
        "the resume token is for 'p/other@s1'");
    ResumeToken wrong_to;
    wrong_to.fromguid = s1;
    wrong_to.toguid = s2 + 7;
    wrong_to.toname = "p/a@s2";
    add(
        "token with another toguid", [&](SendRequest& r) { r.resume_token = encode_resume_token(wrong_to); },
        "resume token toguid");
    add(
        "corrupt token", [](SendRequest& r) { r.resume_token = "1-abc-10-00ff"; }, "resume token is corrupt");

    for (const auto& c : cases) {
        auto v = run(validate_send_request(*src_, c.req));
        ASSERT_FALSE(v) << c.what << ": accepted";
        EXPECT_EQ(v.error().code(), Errc::invalid_argument) << c.what << ": " << v.error().message();
        EXPECT_NE(v.error().context().find("refusing to send"), std::string::npos) << c.what;
        EXPECT_NE(v.error().context().find(c.why), std::string::npos)
            << c.what << ": expected '" << c.why << "' in: " << v.error().context();
    }
}

// A `zfs` that answers the capability probes as zfs-fuse 0.7.0 does (recorded outputs) and
// hands everything else to zfs-sim: capability checks happen before zfs runs, so what the
// fallbacks run must work on zfs-fuse too (one property per `zfs set`, `get` without
// `encryption`, no `receive_resume_token`).
class SendRecvOnZfsFuseLike : public SendRecv {
protected:
    static constexpr milliseconds kFuseKillGrace{8000};

    void SetUp() override {
        SendRecv::SetUp();
        namespace rec = zferry::test::recorded;
        auto put = [&](const char* name, std::string_view text) { std::ofstream(dir_ / name) << text; };
        put("send", rec::kZfsFuseSendUsage);
        put("receive", rec::kZfsFuseReceiveUsage);
        put("destroy", rec::kZfsFuseDestroyUsage);
        put("list", rec::kZfsFuseListInvalidP);
        put("bookmark", rec::kZfsFuseBookmarkUnrecognized);
        put("holds", rec::kZfsFuseHoldsPyzfs);
        const std::string d = dir_.string();
        std::ofstream(dir_ / "zfs")
            << "#!/bin/sh\n"
            << "echo \"$*\" >> " << d << "/invocations\n"
            << "case \"$*\" in\n"
            << "  send|receive|destroy|bookmark) cat " << d << "/$1 >&2; exit 2;;\n"
            << "  'list -H -p -o name -d 0') cat " << d << "/list >&2; exit 2;;\n"
            << "  holds) cat " << d << "/holds >&2; exit 255;;\n"
            << "  recv*' -o '*|recv*' -x '*|recv*' -s '*|'send -t'*|'send -n'*|*encryption*|"
            << "*receive_resume_token*)\n"
            << "    echo \"would refuse: $*\" | tee -a " << d
            << "/invocations >&2; exit 2;;\n"
            // zfs-fuse's zfs is a thin client: the daemon moves the stream on the client's pipe
            // and ignores the client's death. A process in its own session plays the daemon.
            // (An asynchronous list's stdin is /dev/null unless redirected from another fd.)
            << "  'send '*|'recv '*) exec 3<&0; setsid " << ZFS_SIM_BIN << " \"$@\" <&3 3<&- & echo $! > "
            << d << "/daemon.$1; trap '' TERM; wait $!; exit $?;;\n"
            << "esac\n"
            << "exec " << ZFS_SIM_BIN << " \"$@\"\n";
        fs::permissions(dir_ / "zfs", fs::perms::owner_all);
        // A long kill grace: an abort that only ended because zfs was killed would show.
        fuse_src_ = &extra_runner(src_state_, {}, (dir_ / "zfs").string(), kFuseKillGrace);
        fuse_dst_ = &extra_runner(dst_state_, {}, (dir_ / "zfs").string(), kFuseKillGrace);
    }
    std::string invocations() { return slurp(dir_ / "invocations"); }
    // The pid of the last "daemon" that served `verb` (send or recv).
    int daemon_pid(const std::string& verb) {
        for (int i = 0; i < 500; ++i) {
            auto text = slurp(dir_ / ("daemon." + verb));
            if (!text.empty() && text.back() == '\n') return std::stoi(text);
            std::this_thread::sleep_for(milliseconds(10));
        }
        return -1;
    }

    ZfsRunner* fuse_src_ = nullptr;
    ZfsRunner* fuse_dst_ = nullptr;
};

TEST_F(SendRecvOnZfsFuseLike, MissingCapabilitiesAreClearPermanentErrors) {
    source_with_snapshots(1000);
    auto caps = run(fuse_src_->capabilities());
    ASSERT_TRUE(caps) << caps.error().message();
    ASSERT_FALSE(caps->resumable_send);

    struct SendCase {
        const char* what;
        SendPolicy policy;
        SendSpec spec;
        std::string capability;
    };
    SendPolicy raw, compressed, large, embedded, backup, saved;
    raw.raw = true;
    compressed.compressed = true;
    large.large_blocks = true;
    embedded.embedded_data = true;
    backup.backup_properties = true;
    saved.saved = true;
    std::vector<SendCase> sends = {
        {"resume", {}, {"p/a", "", "@s1", "1-abc-10-00"}, "resumable_send"},
        {"bookmark base", {}, {"p/a", "#b2", "@s3", ""}, "bookmarks"},
        {"raw", raw, {"p/a", "", "@s1", ""}, "raw_send"},
        {"compressed", compressed, {"p/a", "", "@s1", ""}, "send_compressed"},
        {"large blocks", large, {"p/a", "", "@s1", ""}, "send_large_blocks"},
        {"embedded", embedded, {"p/a", "", "@s1", ""}, "send_embedded_data"},
        {"backup properties", backup, {"p/a", "", "@s1", ""}, "send_backup_properties"},
        {"saved", saved, {"p/a", "", "@s1", ""}, "send_saved"},
    };
    for (const auto& c : sends) {
        auto s = run(start_send(*fuse_src_, c.policy, c.spec));
        ASSERT_FALSE(s) << c.what;
        EXPECT_EQ(s.error().code(), ZfsErrc::unsupported) << c.what;
        EXPECT_FALSE(s.error().temporary()) << c.what;
        EXPECT_NE(s.error().context().find("'" + c.capability + "'"), std::string::npos)
            << c.what << ": " << s.error().context();
    }
    RecvOptions resumable, exclude;
    resumable.resumable = true;
    exclude.exclude_properties = {"user:x"};
    auto r1 = run(start_recv(*fuse_dst_, resumable, "q/a"));
    ASSERT_FALSE(r1);
    EXPECT_EQ(r1.error().code(), ZfsErrc::unsupported);
    EXPECT_NE(r1.error().context().find("'resumable_recv'"), std::string::npos) << r1.error().context();
    auto r2 = run(start_recv(*fuse_dst_, exclude, "q/a"));
    ASSERT_FALSE(r2);
    EXPECT_NE(r2.error().context().find("'recv_property_options'"), std::string::npos)
        << r2.error().context();

    // The guard names the capability too.
    SendRequest req;
    req.filesystem = "p/a";
    req.from = SendVersion{"#b2", src_guid("p/a#b2")};
    req.to = SendVersion{"@s3", src_guid("p/a@s3")};
    auto v = run(validate_send_request(*fuse_src_, req));
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().context().find("'bookmarks'"), std::string::npos) << v.error().context();
    // No stream command ran for any of these.
    EXPECT_EQ(invocations().find("send p/a"), std::string::npos) << invocations();
    EXPECT_EQ(invocations().find("recv"), std::string::npos) << invocations();
}

TEST_F(SendRecvOnZfsFuseLike, DegradedPathsWork) {
    source_with_snapshots(300000);
    // No estimate and no resume token here, without an error and without running zfs.
    auto est = run(estimate_send_size(*fuse_src_, {}, SendSpec{"p/a", "@s1", "@s2", ""}));
    ASSERT_TRUE(est) << est.error().message();
    EXPECT_FALSE(est->bytes);
    EXPECT_NE(est->unknown_reason.find("cannot estimate"), std::string::npos);
    auto tok = run(receive_resume_token(*fuse_dst_, "q/a"));
    ASSERT_TRUE(tok) << tok.error().message();
    EXPECT_FALSE(*tok);

    // The guard works without the encryption property.
    SendRequest req;
    req.filesystem = "p/a";
    req.to = SendVersion{"@s1", src_guid("p/a@s1")};
    auto v = run(validate_send_request(*fuse_src_, req));
    ASSERT_TRUE(v) << v.error().message();
    req.to->guid ^= 1;
    auto refused = run(validate_send_request(*fuse_src_, req));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().context().find("has GUID"), std::string::npos) << refused.error().context();

    // recv -o becomes `zfs set` after the receive, one property per call.
    RecvOptions o;
    o.unmounted = true;
    o.set_properties = {{"zrepl:placeholder", "on"}, {"user:note", "x"}};
    auto t = transfer(*fuse_src_, {}, v->spec(), *fuse_dst_, o, "q/a");
    ASSERT_TRUE(t.sent) << t.sent.error().message();
    ASSERT_TRUE(t.received) << t.received.error().message();
    EXPECT_TRUE(dst_read("q/a@s1") == data(1));
    EXPECT_EQ(sh("zd get -Hp -o property,value,source zrepl:placeholder,user:note q/a"),
              "zrepl:placeholder\ton\tlocal\nuser:note\tx\tlocal\n");
    const auto inv = invocations();
    EXPECT_NE(inv.find("recv -u -- q/a\n"), std::string::npos) << inv;
    EXPECT_NE(inv.find("set zrepl:placeholder=on q/a\n"), std::string::npos) << inv;
    EXPECT_NE(inv.find("set user:note=x q/a\n"), std::string::npos) << inv;
    EXPECT_EQ(inv.find("would refuse"), std::string::npos) << inv;
}

// The zfs-fuse abort: killing the zfs client would leave the daemon's transfer running; closing
// the pipe is what stops it, on both sides.
TEST_F(SendRecvOnZfsFuseLike, AbortStopsTheDaemonSideTransferByClosingThePipe) {
    source_with_snapshots(8 << 20);
    auto send = run(start_send(*fuse_src_, {}, SendSpec{"p/a", "", "@s1", ""}));
    ASSERT_TRUE(send) << send.error().message();
    EXPECT_EQ(copy_stream(send->fd(), -1, milliseconds(10000), 64 << 10).bytes, std::uint64_t{64} << 10);
    const int send_daemon = daemon_pid("send");
    ASSERT_TRUE(process_running(send_daemon));
    // The client ignores SIGTERM and waits for its daemon: only the closed pipe ends them, well
    // before the kill grace would.
    auto t0 = Clock::now();
    run(send->abort());
    EXPECT_LT(Clock::now() - t0, kFuseKillGrace / 2);
    EXPECT_TRUE(stops_within(send_daemon, std::chrono::seconds(5))) << "the daemon's send kept running";
    EXPECT_TRUE(no_children());

    auto feed = run(start_send(*src_, {}, SendSpec{"p/a", "", "@s1", ""}));
    ASSERT_TRUE(feed) << feed.error().message();
    auto recv = run(start_recv(*fuse_dst_, RecvOptions{}, "q/a"));
    ASSERT_TRUE(recv) << recv.error().message();
    // More than the pipe holds: the daemon is reading when the abort comes.
    EXPECT_EQ(copy_stream(feed->fd(), recv->fd(), milliseconds(10000), 3 << 20).bytes,
              std::uint64_t{3} << 20);
    const int recv_daemon = daemon_pid("recv");
    ASSERT_TRUE(process_running(recv_daemon));
    t0 = Clock::now();
    run(recv->abort());
    EXPECT_LT(Clock::now() - t0, kFuseKillGrace / 2);
    run(feed->abort());
    EXPECT_TRUE(stops_within(recv_daemon, std::chrono::seconds(5))) << "the daemon's receive kept running";
    EXPECT_TRUE(no_children());
    // The cut receive left nothing behind (and certainly did not complete).
    EXPECT_EQ(sh("zd list -H -o name -r q"), "q\n");
}

}  // namespace
}  // namespace zferry::zfs
