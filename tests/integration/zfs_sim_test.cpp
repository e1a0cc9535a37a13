// zfs-sim behaves like OpenZFS 2.2's `zfs` where zferry relies on it: output formats, exit
// codes, exact error texts, stream semantics, resumable receive and fault injection.
#include "zfs/capabilities.hpp"
#include "zfs/resume_token.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Res {
    int rc = -1;
    std::string out, err;
};

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

class ZfsSim : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zfs-sim-test-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        ::setenv("ZFS_SIM_STATE", (dir_ / "state").c_str(), 1);
        ::setenv("Z", ZFS_SIM_BIN, 1);
        ::setenv("T", dir_.c_str(), 1);
        for (const char* v :
             {"ZFS_SIM_FAIL_SEND_AFTER", "ZFS_SIM_STALL_SEND_AFTER", "ZFS_SIM_FAIL_RECV_AFTER",
              "ZFS_SIM_STALL_RECV_AFTER", "ZFS_SIM_FAIL_SUBCOMMAND", "ZFS_SIM_LOG", "ZFS_SIM_CLOCK_FILE"})
            ::unsetenv(v);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Runs a bash script ($Z is zfs-sim, $T the test's temp dir); stdin is /dev/null.
    Res sh(const std::string& script) {
        std::ofstream(dir_ / "script.sh") << script << "\n";
        std::string cmd = "bash " + (dir_ / "script.sh").string() + " </dev/null >" +
                          (dir_ / "out").string() + " 2>" + (dir_ / "err").string();
        int st = std::system(cmd.c_str());
        Res r;
        r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        r.out = slurp(dir_ / "out");
        r.err = slurp(dir_ / "err");
        return r;
    }
    Res z(const std::string& args) { return sh("$Z " + args); }
    void ok(const std::string& script) {
        Res r = sh(script);
        ASSERT_EQ(r.rc, 0) << script << "\nstderr: " << r.err;
    }
    std::string prop(const std::string& ds, const std::string& p) {
        Res r = z("get -Hp -o value " + p + " " + ds);
        EXPECT_EQ(r.rc, 0) << r.err;
        return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
    }
    // Pools p (source) and q (target), p/a with two snapshots of distinct data.
    void two_pools() {
        ok("$Z sim-create-pool p && $Z sim-create-pool q && $Z create p/a && "
           "printf 'first' | $Z sim-write p/a && $Z snapshot p/a@s1 && "
           "printf 'second' | $Z sim-write p/a && $Z snapshot p/a@s2");
    }

    fs::path dir_;
};

TEST_F(ZfsSim, StateDirectoryIsRequired) {
    Res r = sh("unset ZFS_SIM_STATE; $Z list");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("ZFS_SIM_STATE"), std::string::npos);
}

TEST_F(ZfsSim, FullAndIncrementalRoundTripKeepsDataAndGuids) {
    two_pools();
    ok("$Z send p/a@s1 | $Z recv q/a");
    EXPECT_EQ(z("sim-read q/a").out, "first");
    EXPECT_EQ(z("sim-read q/a@s1").out, "first");
    ok("$Z send -i p/a@s1 p/a@s2 | $Z recv q/a");
    EXPECT_EQ(z("sim-read q/a").out, "second");
    EXPECT_EQ(prop("q/a@s1", "guid"), prop("p/a@s1", "guid"));
    EXPECT_EQ(prop("q/a@s2", "guid"), prop("p/a@s2", "guid"));
    EXPECT_EQ(prop("q/a@s2", "creation"), prop("p/a@s2", "creation"));
    // -I sends the intermediates too.
    ok("printf 'third' | $Z sim-write p/a && $Z snapshot p/a@s3 && printf 'fourth' | $Z sim-write p/a && "
       "$Z snapshot p/a@s4 && $Z send -I @s2 p/a@s4 | $Z recv q/a");
    EXPECT_EQ(z("sim-read q/a@s3").out, "third");
    EXPECT_EQ(z("sim-read q/a").out, "fourth");
}

TEST_F(ZfsSim, SendPropertiesAreReceivedAndRecvOptionsApply) {
    two_pools();
    ok("$Z set zrepl:x=1 user:y=2 p/a && $Z send -p p/a@s1 | $Z recv -x user:y -o zrepl:placeholder=off q/a");
    EXPECT_EQ(z("get -Hp -o name,property,value,source zrepl:x,user:y,zrepl:placeholder q/a").out,
              "q/a\tzrepl:x\t1\treceived\nq/a\tuser:y\t-\t-\nq/a\tzrepl:placeholder\toff\tlocal\n");
}

TEST_F(ZfsSim, IncrementalFromBookmark) {
    two_pools();
    ok("$Z send p/a@s1 | $Z recv q/a && $Z bookmark p/a@s1 p/a#b1 && $Z destroy p/a@s1");
    EXPECT_EQ(prop("p/a#b1", "guid"), prop("q/a@s1", "guid"));
    ok("$Z send -i p/a#b1 p/a@s2 | $Z recv q/a");
    EXPECT_EQ(z("sim-read q/a").out, "second");
    // The short form also works and bookmarks list like versions.
    Res r = z(
        "list -H -p -o name,guid,createtxg,creation,userrefs -r -d 1 -t bookmark,snapshot -s createtxg p/a");
    auto ls = lines(r.out);
    ASSERT_EQ(ls.size(), 2u) << r.out;
    EXPECT_TRUE(ls[0].starts_with("p/a#b1\t")) << ls[0];
    EXPECT_TRUE(ls[0].ends_with("\t-")) << ls[0];  // bookmarks have no userrefs
    EXPECT_TRUE(ls[1].starts_with("p/a@s2\t")) << ls[1];
    EXPECT_TRUE(ls[1].ends_with("\t0")) << ls[1];
}

TEST_F(ZfsSim, WrongBaseIncrementalIsRefused) {
    two_pools();
    ok("$Z send p/a@s2 | $Z recv q/a");
    Res r = sh("$Z send -i @s1 p/a@s2 | $Z recv q/b");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("cannot receive incremental stream: destination 'q/b' does not exist"),
              std::string::npos);
    ok("printf x | $Z sim-write p/a && $Z snapshot p/a@s3");
    r = sh("$Z send -i @s1 p/a@s3 | $Z recv q/a");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("cannot receive incremental stream: most recent snapshot of q/a does not match "
                         "incremental source"),
              std::string::npos)
        << r.err;
}

TEST_F(ZfsSim, ForceReceiveRollsBackChangesButNoSnapshots) {
    two_pools();
    ok("$Z send p/a@s1 | $Z recv q/a && printf local | $Z sim-write q/a");
    // Only recv's words: whether send notices the closed pipe first is a race.
    Res r = sh("$Z send -i @s1 p/a@s2 2>/dev/null | $Z recv q/a");
    EXPECT_EQ(
        r.err,
        "cannot receive incremental stream: destination q/a has been modified\nsince most recent snapshot\n");
    ok("$Z send -i @s1 p/a@s2 | $Z recv -F q/a");
    EXPECT_EQ(z("sim-read q/a").out, "second");
    ok("$Z snapshot q/a@mine && printf x | $Z sim-write p/a && $Z snapshot p/a@s3");
    r = sh("$Z send -i @s2 p/a@s3 | $Z recv -F q/a");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("most recent snapshot of q/a does not match incremental source"), std::string::npos);
}

TEST_F(ZfsSim, HoldsAndReleasesWithOpenZfsTexts) {
    two_pools();
    ok("$Z hold zrepl_STEP_J_x p/a@s1");
    EXPECT_EQ(prop("p/a@s1", "userrefs"), "1");
    Res r = z("hold zrepl_STEP_J_x p/a@s1");
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err, "cannot hold 'p/a@s1': tag already exists on this dataset\n");
    r = z("holds -H p/a@s1");
    EXPECT_TRUE(r.out.starts_with("p/a@s1\tzrepl_STEP_J_x\t")) << r.out;
    r = z("holds -Hp p/a@s1");
    EXPECT_NE(r.out.find("\tzrepl_STEP_J_x\t1"), std::string::npos) << r.out;
    r = z("release zrepl_STEP_J_x p/a@s1 p/a@s2");
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err, "cannot release 'zrepl_STEP_J_x' from 'p/a@s2': no such tag on this dataset\n");
    EXPECT_EQ(prop("p/a@s1", "userrefs"), "0");
    EXPECT_EQ(z("holds -H p/a@s1").out, "");
    r = z("hold t p/nope@s1");
    EXPECT_EQ(r.err, "cannot open 'p/nope': dataset does not exist\n");
}

TEST_F(ZfsSim, DestroyListsRangesAndHeldSnapshots) {
    ok("$Z sim-create-pool p && $Z create p/a && for i in 1 2 3 4 5 6 7; do $Z snapshot p/a@s$i || exit 1; "
       "done");
    Res r = z("destroy -nvp p/a@s1,s2");
    EXPECT_EQ(r.out, "destroy\tp/a@s1\ndestroy\tp/a@s2\nreclaim\t0\n");
    ok("$Z destroy p/a@s1,s2,nonexistent");
    ok("$Z destroy p/a@s3%s5");
    ok("$Z hold keep p/a@s7");
    r = z("destroy p/a@s6,s7");
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err, "cannot destroy snapshot p/a@s7: dataset is busy\n");
    EXPECT_EQ(z("list -H -o name -t snapshot -r p/a").out, "p/a@s6\np/a@s7\n");  // atomic: nothing destroyed
    r = z("destroy p/a@gone");
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err, "could not find any snapshots to destroy; check snapshot names.\n");
    r = z("destroy p/x@s1");
    EXPECT_EQ(r.err, "cannot open 'p/x': dataset does not exist\n");
    r = z("destroy p/a#nope");
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err, "bookmark 'p/a#nope' does not exist.\n");
    r = z("destroy p/a");
    EXPECT_EQ(
        r.err,
        "cannot destroy 'p/a': filesystem has children\nuse '-r' to destroy the following datasets:\np/a@s6\n"
        "p/a@s7\n");
    ok("$Z release keep p/a@s7 && $Z destroy -r p/a");
    EXPECT_EQ(z("list -H -o name -r p").out, "p\n");
}

TEST_F(ZfsSim, DeferredDestroyHappensOnLastRelease) {
    ok("$Z sim-create-pool p && $Z create p/a && $Z snapshot p/a@s1 && $Z hold t p/a@s1 && $Z destroy -d "
       "p/a@s1");
    EXPECT_EQ(prop("p/a@s1", "defer_destroy"), "on");
    ok("$Z release t p/a@s1");
    EXPECT_EQ(z("list -H -t snapshot -o name -r p").out, "");
}

TEST_F(ZfsSim, InterruptedResumableReceiveAndSendToken) {
    ok("$Z sim-create-pool p && $Z sim-create-pool q && $Z create p/a && head -c 300000 /dev/urandom > "
       "$T/data && "
       "$Z sim-write p/a $T/data && $Z snapshot p/a@s1");
    Res r = sh("ZFS_SIM_FAIL_SEND_AFTER=100000 $Z send p/a@s1 | $Z recv -s q/a");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find(
                  "cannot receive new filesystem stream: checksum mismatch or incomplete stream.\n"
                  "Partially received snapshot is saved.\n"
                  "A resuming stream can be generated on the sending system by running:\n    zfs send -t 1-"),
              std::string::npos)
        << r.err;
    std::string token = prop("q/a", "receive_resume_token");
    ASSERT_NE(token, "-");
    EXPECT_NE(r.err.find(token), std::string::npos);
    auto t = zferry::zfs::decode_resume_token(token);
    ASSERT_TRUE(t.has_value()) << t.error().message();
    EXPECT_EQ(t->toname, "p/a@s1");
    EXPECT_EQ(std::to_string(t->toguid), prop("p/a@s1", "guid"));
    EXPECT_FALSE(t->fromguid.has_value());
    EXPECT_EQ(t->bytes.value_or(0), 100000u);
    EXPECT_GT(t->offset.value_or(0), 0u);
    // A non-resume stream is refused while the partial state exists.
    r = sh("$Z send p/a@s1 | $Z recv -s q/a");
    EXPECT_NE(r.err.find("contains partially-complete state from \"zfs receive -s\"."), std::string::npos);
    // Dry run of the resume.
    r = z("send -nvP -t " + token);
    EXPECT_NE(r.out.find("resume token contents:\nnvlist version: 0\n"), std::string::npos);
    EXPECT_NE(r.out.find("\ttoname = p/a@s1\n"), std::string::npos);
    EXPECT_NE(r.out.find("full\tp/a@s1\t"), std::string::npos) << r.out;
    ok("$Z send -t " + token + " | $Z recv -s q/a");
    EXPECT_EQ(prop("q/a", "receive_resume_token"), "-");
    EXPECT_EQ(prop("q/a@s1", "guid"), prop("p/a@s1", "guid"));
    ok("cmp $T/data <($Z sim-read q/a@s1)");
}

TEST_F(ZfsSim, InterruptedIncrementalResumesTwice) {
    two_pools();
    ok("$Z send p/a@s1 | $Z recv q/a && head -c 200000 /dev/urandom > $T/d && $Z sim-write p/a $T/d && "
       "$Z snapshot p/a@s3");
    Res r = sh("$Z send -i @s1 p/a@s3 | ZFS_SIM_FAIL_RECV_AFTER=50000 $Z recv -s q/a");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("cannot receive incremental stream: checksum mismatch or incomplete stream."),
              std::string::npos);
    auto t1 = zferry::zfs::decode_resume_token(prop("q/a", "receive_resume_token"));
    ASSERT_TRUE(t1.has_value());
    EXPECT_EQ(std::to_string(t1->fromguid.value_or(0)), prop("p/a@s1", "guid"));
    EXPECT_EQ(z("sim-read q/a").out, "first");  // the filesystem keeps its last snapshot's data
    r = sh("$Z send -t " + prop("q/a", "receive_resume_token") +
           " | ZFS_SIM_FAIL_RECV_AFTER=50000 $Z recv -s q/a");
    EXPECT_EQ(r.rc, 1);
    auto t2 = zferry::zfs::decode_resume_token(prop("q/a", "receive_resume_token"));
    ASSERT_TRUE(t2.has_value());
    EXPECT_GT(t2->offset.value_or(0), t1->offset.value_or(0));
    ok("$Z send -t " + prop("q/a", "receive_resume_token") + " | $Z recv -s q/a");
    ok("cmp $T/d <($Z sim-read q/a)");
}

// A pool with a capacity (sim-set-pool-size): a receive beyond it fails as OpenZFS does on
// ENOSPC ("out of space", no resume hint); with -s what fit stays as resumable state, whose
// token counts the bytes that arrived; once the pool is larger the resume completes.
TEST_F(ZfsSim, FullPoolFailsTheReceiveAndKeepsAResumableState) {
    two_pools();
    ok("head -c 300000 /dev/urandom > $T/d && $Z sim-write p/a $T/d && $Z snapshot p/a@s3");
    ok("$Z sim-set-pool-size q 100000");
    Res r = sh("$Z send p/a@s3 | $Z recv q/plain");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("cannot receive new filesystem stream: out of space\n"), std::string::npos) << r.err;
    EXPECT_EQ(z("list -H -o name q/plain").rc, 1);  // nothing half-received without -s
    r = sh("$Z send p/a@s3 | $Z recv -s q/a");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("cannot receive new filesystem stream: out of space\n"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("zfs send -t"), std::string::npos) << r.err;  // OpenZFS prints no hint here
    auto t = zferry::zfs::decode_resume_token(prop("q/a", "receive_resume_token"));
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->offset.value_or(0), 100000u);  // exactly what fit
    EXPECT_EQ(std::to_string(t->toguid), prop("p/a@s3", "guid"));
    // Still full: the resume fails again and keeps the state.
    r = sh("$Z send -t " + prop("q/a", "receive_resume_token") + " | $Z recv -s q/a");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("out of space"), std::string::npos) << r.err;
    ok("$Z sim-set-pool-size q 400000");
    ok("$Z send -t " + prop("q/a", "receive_resume_token") + " | $Z recv -s q/a");
    ok("cmp $T/d <($Z sim-read q/a@s3)");
    EXPECT_EQ(prop("q/a@s3", "guid"), prop("p/a@s3", "guid"));
    // Usage counts every distinct blob of the pool: a second copy does not fit any more.
    r = sh("$Z send p/a@s3 | $Z recv q/b");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("out of space"), std::string::npos) << r.err;
    ok("$Z sim-set-pool-size q none && $Z send p/a@s3 | $Z recv q/b");
    EXPECT_EQ(z("sim-set-pool-size q lots").rc, 2);
}

// ZFS_SIM_CLOCK_FILE shifts the simulated host's clock: creation times (and hold times)
// follow the offset in the file, re-read at every command.
TEST_F(ZfsSim, ClockFileShiftsCreationTimes) {
    ok("$Z sim-create-pool p && $Z create p/a && $Z snapshot p/a@before && echo 86400 > $T/clock && "
       "ZFS_SIM_CLOCK_FILE=$T/clock $Z snapshot p/a@after");
    const auto before = std::stoll(prop("p/a@before", "creation"));
    const auto after = std::stoll(prop("p/a@after", "creation"));
    EXPECT_GE(after - before, 86400);
    EXPECT_LT(after - before, 86400 + 600);  // (the commands run well within ten minutes)
    ok("echo tomorrow > $T/clock");
    Res r = sh("ZFS_SIM_CLOCK_FILE=$T/clock $Z snapshot p/a@bad");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("ZFS_SIM_CLOCK_FILE"), std::string::npos) << r.err;
}

TEST_F(ZfsSim, RecvAbortDiscardsPartialState) {
    two_pools();
    // Cut after the stream header (a cut inside the header leaves nothing, as in OpenZFS).
    ok("head -c 10000 /dev/zero | $Z sim-write p/a && $Z snapshot p/a@s3 && "
       "ZFS_SIM_FAIL_SEND_AFTER=2000 $Z send p/a@s3 | $Z recv -s q/new; test $? = 1");
    EXPECT_EQ(z("list -H -o name q/new").out, "q/new\n");
    ok("$Z recv -A q/new");
    EXPECT_EQ(z("list -H -o name q/new").err, "cannot open 'q/new': dataset does not exist\n");
    ok("$Z send p/a@s1 | $Z recv q/a");
    Res r = z("recv -A q/a");
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err, "'q/a' does not have any resumable receive state to abort\n");
}

TEST_F(ZfsSim, BrokenAndCorruptStreams) {
    two_pools();
    Res r = sh("head -c 100 /dev/urandom | $Z recv q/x");
    EXPECT_EQ(r.err, "cannot receive: invalid stream (bad magic number)\n");
    r = sh("$Z recv q/x < /dev/null");
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err, "cannot receive: failed to read from stream\n");
    r = sh("$Z send p/a@s1 > $T/s && head -c $(( $(stat -c %s $T/s) - 3 )) $T/s | $Z recv q/x");
    EXPECT_EQ(r.err, "cannot receive new filesystem stream: invalid backup stream\n");
    // Flip one data byte: the trailing checksum catches it.
    r =
        sh("$Z send p/a@s1 > $T/s && size=$(stat -c %s $T/s) && "
           "python3 -c \"import sys; b=bytearray(open('$T/s','rb').read()); b[-18]^=1; "
           "sys.stdout.buffer.write(b)\" | $Z recv q/x");
    EXPECT_EQ(r.err, "cannot receive new filesystem stream: invalid backup stream\n");
    EXPECT_EQ(z("list -H -o name q/x").rc, 1);  // nothing left behind without -s
    // The sender notices a closed pipe.
    r =
        sh("head -c 1000000 /dev/zero | $Z sim-write p/a && $Z snapshot p/a@big && "
           "$Z send p/a@big | head -c 10 >/dev/null; echo ${PIPESTATUS[0]}");
    EXPECT_EQ(r.out, "1\n");
    EXPECT_NE(r.err.find("warning: cannot send 'p/a@big': Broken pipe"), std::string::npos);
}

TEST_F(ZfsSim, ConcurrentInvocationsAreSerialised) {
    ok("$Z sim-create-pool p && $Z create p/a");
    ok("for i in $(seq 1 20); do $Z snapshot p/a@s$i & done; wait");
    ok("for i in $(seq 1 20); do $Z hold h p/a@s$i & done; wait");
    Res r = z("list -H -p -o guid,createtxg,userrefs -t snapshot -r p/a");
    auto ls = lines(r.out);
    ASSERT_EQ(ls.size(), 20u) << r.out << r.err;
    std::set<std::string> guids, txgs;
    for (auto& l : ls) {
        auto t1 = l.find('\t'), t2 = l.rfind('\t');
        guids.insert(l.substr(0, t1));
        txgs.insert(l.substr(t1 + 1, t2 - t1 - 1));
        EXPECT_EQ(l.substr(t2 + 1), "1") << l;  // no hold was lost
    }
    EXPECT_EQ(guids.size(), 20u);
    EXPECT_EQ(txgs.size(), 20u);  // each snapshot command is its own transaction
}

TEST_F(ZfsSim, StreamingHoldsNoLock) {
    ok("$Z sim-create-pool p && $Z sim-create-pool q && $Z create p/a && head -c 100000 /dev/zero | "
       "$Z sim-write p/a && $Z snapshot p/a@s1");
    // A stalled sender and a stalled receiver do not block other commands.
    ok("$Z send p/a@s1 > $T/stream");
    ok("ZFS_SIM_STALL_SEND_AFTER=10 $Z send p/a@s1 > /dev/null & s=$!; "
       "ZFS_SIM_STALL_RECV_AFTER=5000 $Z recv q/a < $T/stream & r=$!; sleep 0.3; "
       "timeout 5 $Z snapshot p/a@s2 && timeout 5 $Z list -r >/dev/null; rc=$?; kill $s $r; wait; exit $rc");
}

TEST_F(ZfsSim, FaultInjection) {
    two_pools();
    Res r = sh("ZFS_SIM_FAIL_SEND_AFTER=7 $Z send p/a@s1 > $T/out7; echo $?; wc -c < $T/out7");
    EXPECT_EQ(r.out, "1\n7\n");
    EXPECT_NE(r.err.find("cannot send 'p/a@s1'"), std::string::npos);
    r = sh("ZFS_SIM_STALL_SEND_AFTER=9 timeout 1 $Z send p/a@s1 > $T/out9; echo $?; wc -c < $T/out9");
    EXPECT_EQ(r.out, "124\n9\n");
    r = sh("$Z send p/a@s1 | ZFS_SIM_STALL_RECV_AFTER=20 timeout -s KILL 1 $Z recv q/a; echo $?");
    EXPECT_EQ(r.out, "137\n");
    EXPECT_EQ(z("list -H -o name q/a").rc, 1);  // a killed receive leaves nothing
    r = sh("ZFS_SIM_FAIL_SUBCOMMAND=hold $Z hold t p/a@s1");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("injected failure of 'hold'"), std::string::npos);
    EXPECT_EQ(prop("p/a@s1", "userrefs"), "0");
    ok("export ZFS_SIM_LOG=$T/log; $Z list >/dev/null; $Z get -H guid p/a >/dev/null; $Z holds -H p/a@s1");
    auto log = lines(slurp(dir_ / "log"));
    ASSERT_EQ(log.size(), 3u);
    EXPECT_NE(log[1].find(R"("get","-H","guid","p/a"])"), std::string::npos) << log[1];
    EXPECT_TRUE(log[0].starts_with(R"({"argv":[)")) << log[0];
}

// The tests of zferry's zfs layer run zfs-sim in this mode, so a command line that lets zfs
// read a name as an option fails them.
TEST_F(ZfsSim, RequireEndOfOptionsRefusesANameBeforeDoubleDash) {
    two_pools();
    Res r = sh("ZFS_SIM_REQUIRE_END_OF_OPTIONS=1 $Z list -H -o name p/a");
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find("operand 'p/a' is not preceded by '--'"), std::string::npos) << r.err;
    r = sh("ZFS_SIM_REQUIRE_END_OF_OPTIONS=1 $Z list -H -o name -- p/a");
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "p/a\n");
    r = sh("ZFS_SIM_REQUIRE_END_OF_OPTIONS=1 $Z hold t p/a@s1");
    EXPECT_EQ(r.rc, 2) << "the tag is an operand too";
    EXPECT_EQ(prop("p/a@s1", "userrefs"), "0") << "a refused command changes nothing";
    r = sh("ZFS_SIM_REQUIRE_END_OF_OPTIONS=1 $Z set user:x=1 p/a");
    EXPECT_EQ(r.rc, 0) << "set takes no \"--\" (zfs-fuse and OpenZFS < 2.2 refuse it): " << r.err;
    EXPECT_EQ(prop("p/a", "user:x"), "1");
    r = sh("$Z list -H -o name p/a");
    EXPECT_EQ(r.rc, 0) << "without the variable, names may come anywhere, as with zfs: " << r.err;
}

TEST_F(ZfsSim, DryRunSizesMatchTheStream) {
    two_pools();
    Res r = z("send -n -v -P p/a@s1");
    auto ls = lines(r.out);
    ASSERT_EQ(ls.size(), 2u) << r.out;
    std::string bytes = sh("$Z send p/a@s1 | wc -c").out;
    bytes.pop_back();
    EXPECT_EQ(ls[0], "full\tp/a@s1\t" + bytes);
    EXPECT_EQ(ls[1], "size\t" + bytes);
    r = z("send -nvP -i @s1 p/a@s2");
    bytes = sh("$Z send -i @s1 p/a@s2 | wc -c").out;
    bytes.pop_back();
    EXPECT_EQ(r.out, "incremental\tp/a@s1\tp/a@s2\t" + bytes + "\nsize\t" + bytes + "\n");
}

TEST_F(ZfsSim, ExactErrorTexts) {
    two_pools();
    auto err = [&](const std::string& script) { return sh(script).err; };
    EXPECT_EQ(err("$Z snapshot p/a@s1"), "cannot create snapshot 'p/a@s1': dataset already exists\n");
    EXPECT_EQ(err("$Z snapshot p/x@s1"), "cannot open 'p/x': dataset does not exist\n");
    EXPECT_EQ(err("$Z list p/x"), "cannot open 'p/x': dataset does not exist\n");
    EXPECT_EQ(err("$Z get -Hp guid p/x"), "cannot open 'p/x': dataset does not exist\n");
    EXPECT_EQ(err("$Z bookmark p/a@s1 p/a#b && $Z bookmark p/a@s2 p/a#b"),
              "cannot create bookmark 'p/a#b': bookmark exists\n");
    EXPECT_EQ(
        err("$Z send p/a@s1 | $Z recv q/a && $Z send p/a@s1 2>/dev/null | $Z recv q/a"),
        "cannot receive new filesystem stream: destination 'q/a' exists\nmust specify -F to overwrite it\n");
    EXPECT_EQ(
        err("$Z create -o encryption=aes-256-gcm q/enc && $Z send p/a@s1 2>/dev/null | $Z recv -F q/enc"),
        "cannot receive new filesystem stream: zfs receive -F cannot be used to destroy an encrypted "
        "filesystem or overwrite an unencrypted one with an encrypted one\n");
    EXPECT_EQ(prop("q/enc", "encryption"), "aes-256-gcm");
    EXPECT_EQ(prop("q/enc", "keystatus"), "available");
    EXPECT_EQ(err("$Z rollback p/a@s1"),
              "cannot rollback to 'p/a@s1': more recent snapshots exist\n"
              "use '-r' to force deletion of the following snapshots:\np/a@s2\n");
    ok("$Z rollback -r p/a@s1");
    EXPECT_EQ(z("sim-read p/a").out, "first");
    EXPECT_EQ(err("$Z create p/a"), "cannot create 'p/a': dataset already exists\n");
    EXPECT_EQ(err("$Z create p/x/y"), "cannot create 'p/x/y': parent does not exist\n");
    Res r = z("list -Q");
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(r.err.starts_with("invalid option 'Q'\nusage:\n\tlist [-Hp]")) << r.err;
    r = z("send");
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.err.find("receive_resume_token"), std::string::npos);
    EXPECT_NE(z("receive").err.find("-A <filesystem|volume>"), std::string::npos);
    EXPECT_NE(z("destroy").err.find("<filesystem|volume>@<snap>[%<snap>][,...]"), std::string::npos);
}

TEST_F(ZfsSim, CapabilityProbesFindEverything) {
    ok("$Z sim-create-pool p");
    using zferry::zfs::Probe;
    auto run = [&](Probe p) {
        std::string args;
        for (auto& a : zferry::zfs::probe_argv(p)) args += " '" + a + "'";
        Res r = z(args);
        return zferry::zfs::ProbeResult{r.rc, r.out + r.err};
    };
    zferry::zfs::CapabilityProbes probes{run(Probe::send), run(Probe::receive),  run(Probe::destroy),
                                         run(Probe::list), run(Probe::bookmark), run(Probe::holds)};
    auto caps = zferry::zfs::derive_capabilities(probes);
    EXPECT_TRUE(zferry::zfs::describe_missing(caps).empty())
        << ::testing::PrintToString(zferry::zfs::describe_missing(caps));
}

TEST_F(ZfsSim, RawSendOfEncryptedFilesystem) {
    ok("$Z sim-create-pool p && $Z sim-create-pool q && $Z create -o encryption=on p/e && head -c 10000 "
       "/dev/urandom | $Z sim-write p/e && $Z snapshot p/e@s1");
    Res r = sh("$Z send -p p/e@s1 | $Z recv q/e");
    EXPECT_NE(r.err.find("may not be sent with properties without the raw flag"), std::string::npos) << r.err;
    ok("$Z send -w p/e@s1 | $Z recv q/e");
    EXPECT_EQ(prop("q/e", "encryption"), "aes-256-gcm");
    EXPECT_EQ(prop("q/e", "keystatus"), "unavailable");
    auto t =
        sh("ZFS_SIM_FAIL_SEND_AFTER=2000 $Z send -w p/e@s1 | $Z recv -s q/e2; $Z get -H -o value "
           "receive_resume_token q/e2");
    auto tok = zferry::zfs::decode_resume_token(lines(t.out).at(0));
    ASSERT_TRUE(tok.has_value());
    EXPECT_TRUE(tok->rawok);
}

TEST_F(ZfsSim, ListAndGetParsableColumns) {
    ok("$Z sim-create-pool p && $Z create -o mountpoint=none -o zrepl:placeholder=on p/a && $Z create p/a/b "
       "&& "
       "$Z snapshot -r p/a@s1");
    Res r = z("list -H -p -o name,guid,createtxg,creation,userrefs -r -t filesystem,snapshot p/a");
    auto ls = lines(r.out);
    ASSERT_EQ(ls.size(), 4u) << r.out;
    EXPECT_TRUE(ls[0].starts_with("p/a\t"));
    EXPECT_TRUE(ls[1].starts_with("p/a@s1\t"));
    EXPECT_TRUE(ls[2].starts_with("p/a/b\t"));
    EXPECT_TRUE(ls[3].starts_with("p/a/b@s1\t"));
    for (auto& l : ls) {
        std::vector<std::string> f;
        std::istringstream in(l);
        for (std::string x; std::getline(in, x, '\t');) f.push_back(x);
        ASSERT_EQ(f.size(), 5u) << l;
        EXPECT_NE(std::stoull(f[1]), 0u);
        EXPECT_GT(std::stoull(f[3]), 1600000000u);
        EXPECT_EQ(f[4], l.find('@') == std::string::npos ? "-" : "0");
    }
    EXPECT_EQ(prop("p/a@s1", "createtxg"), prop("p/a/b@s1", "createtxg"));  // -r is atomic
    r = z("get -Hp -o name,property,value,source -r -t filesystem zrepl:placeholder,mountpoint p/a");
    EXPECT_EQ(
        r.out,
        "p/a\tzrepl:placeholder\ton\tlocal\np/a\tmountpoint\tnone\tlocal\n"
        "p/a/b\tzrepl:placeholder\ton\tinherited from p/a\np/a/b\tmountpoint\tnone\tinherited from p/a\n");
    r = z("get -Hp receive_resume_token p/a");
    EXPECT_EQ(r.out, "p/a\treceive_resume_token\t-\t-\n");
    r = z("list -H -o name,bogus p");
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(r.err.starts_with("bad property list: invalid property 'bogus'\n"));
}

#if defined(__SANITIZE_ADDRESS__)
// Under the sanitizers every zfs-sim call is ~20x slower: the same listing at a tenth of the size.
constexpr unsigned kFs = 100, kSnaps = 10;
#else
constexpr unsigned kFs = 1000, kSnaps = 100;
#endif

TEST_F(ZfsSim, ListingThousandFilesystemsWithHundredSnapshots) {
    ok("$Z sim-create-pool big && for i in $(seq 1 " + std::to_string(kFs) +
       "); do $Z create big/fs$i || exit 1; done && for j in $(seq 1 " + std::to_string(kSnaps) +
       "); do $Z snapshot -r big@s$j || exit 1; done");
    auto t0 = std::chrono::steady_clock::now();
    Res r = z("list -H -p -o name,guid,createtxg,creation,userrefs -r -t filesystem,snapshot big");
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(lines(r.out).size(), (kFs + 1) * (kSnaps + 1));
    std::printf("zfs-sim: list -r of %u filesystems x %u snapshots (%zu lines): %lld ms\n", kFs, kSnaps,
                lines(r.out).size(), static_cast<long long>(ms));
    t0 = std::chrono::steady_clock::now();
    r = z("list -H -p -o name,guid,createtxg -r -d 1 -t bookmark,snapshot -s createtxg big/fs" +
          std::to_string(kFs / 2));
    ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(lines(r.out).size(), kSnaps);
    std::printf("zfs-sim: versions of one filesystem in that state: %lld ms\n", static_cast<long long>(ms));
}

}  // namespace
