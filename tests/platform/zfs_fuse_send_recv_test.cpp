// Send and receive on zfs-fuse through the runner's pipes: full, incremental and -I
// replication with GUIDs and data compared, receive refusals as zfs-fuse words them, rollback,
// and transfers cut mid-stream.
#include "tests/platform/zfs_fuse_fixture.hpp"

#include "zfs/command_errors.hpp"
#include "zfs/send_command.hpp"

#include <algorithm>

namespace zferry::platform {
namespace {

using namespace zferry::zfs;

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
    raw_replicate(send_argv(policy, {src, "", "@s1", ""}), recv_argv(recv, dst + "@s1"));
    ASSERT_EQ(names(versions(dst)), std::vector<std::string>{"s1"});
    raw_replicate(send_argv(policy, {src, "@s1", "@s2", ""}), recv_argv(recv, dst + "@s2"));
    // -I: s3 and s4 in one compound stream.
    auto compound = send_argv(policy, {src, "@s2", "@s4", ""});
    std::replace(compound.begin(), compound.end(), std::string("-i"), std::string("-I"));
    raw_replicate(compound, recv_argv(recv, dst));

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
    raw_replicate(send_argv({}, {src, "", "@s1", ""}), recv_argv(plain, dst));

    // A full stream onto an existing filesystem.
    RawTransfer t = raw_transfer(send_argv({}, {src, "", "@s2", ""}), recv_argv(plain, dst));
    EXPECT_EQ(t.recv.rc, 1);
    EXPECT_NE(t.recv.err.find("destination '" + dst + "' exists"), std::string::npos) << t.recv.err;
    EXPECT_EQ(classify_recv_failure(t.recv.err).kind, RecvFailure::Kind::other);
    // An incremental whose base the target does not have.
    t = raw_transfer(send_argv({}, {src, "@s2", "@s3", ""}), recv_argv(plain, dst));
    EXPECT_EQ(t.recv.rc, 1);
    EXPECT_NE(t.recv.err.find("match incremental source"), std::string::npos) << t.recv.err;
    EXPECT_EQ(classify_recv_failure(t.recv.err).kind, RecvFailure::Kind::other);
    // A target whose parent is missing names the missing dataset.
    const std::string orphan = env_.dst + "/" + name_ + "_missing/child";
    t = raw_transfer(send_argv({}, {src, "", "@s1", ""}), recv_argv(plain, orphan));
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
    raw_replicate(send_argv({}, {src, "", "@s1", ""}), recv_argv(recv, dst));
    raw_replicate({"send", "-I", src + "@s1", src + "@s3"}, recv_argv(recv, dst));
    ASSERT_EQ(names(versions(dst)), (std::vector<std::string>{"s1", "s2", "s3"}));

    Out r = zfs({"rollback", dst + "@s1"});
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("more recent snapshots exist"), std::string::npos) << r.err;
    ok({"rollback", "-r", dst + "@s1"});
    ASSERT_EQ(names(versions(dst)), std::vector<std::string>{"s1"});
    raw_replicate({"send", "-I", src + "@s1", src + "@s3"}, recv_argv(recv, dst));
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
    raw_replicate(send_argv({}, {src, "", "@s1", ""}), recv_argv(recv, dst));
    const auto before = versions(dst);
    ASSERT_EQ(names(before), std::vector<std::string>{"s1"});

    RawTransfer t = raw_transfer(send_argv({}, {src, "@s1", "@s2", ""}), recv_argv(recv, dst), 1 << 20);
    EXPECT_EQ(t.bytes, 1u << 20);
    EXPECT_NE(t.send.rc, 0) << "the sender wrote into a closed pipe";
    EXPECT_EQ(t.recv.rc, 1) << t.recv.err;
    EXPECT_NE(classify_recv_failure(t.recv.err).kind, RecvFailure::Kind::resumable) << t.recv.err;
    EXPECT_EQ(versions(dst), before) << "the target stays at its previous snapshot";

    // The target was not modified: the same incremental now goes through.
    raw_replicate(send_argv({}, {src, "@s1", "@s2", ""}), recv_argv(recv, dst));
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
    RawTransfer t = raw_transfer(send_argv({}, {src, "", "@s1", ""}), recv_argv(recv, dst), 512 << 10);
    EXPECT_NE(t.send.rc, 0);
    EXPECT_EQ(t.recv.rc, 1) << t.recv.err;
    Out r = zfs({"list", "-H", "-o", "name", dst});
    EXPECT_TRUE(is_dataset_not_found(r.err, dst))
        << "a failed new-filesystem receive leaves nothing: " << r.out << r.err;
    raw_replicate(send_argv({}, {src, "", "@s1", ""}), recv_argv(recv, dst));
    auto dv = versions(dst);
    ASSERT_EQ(names(dv), std::vector<std::string>{"s1"});
    EXPECT_EQ(dv[0].guid, versions(src)[0].guid);
    EXPECT_EQ(read_snapshot(dst + "@s1"), files);
}

}  // namespace
}  // namespace zferry::platform
