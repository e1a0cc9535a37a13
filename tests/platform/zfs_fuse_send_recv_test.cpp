// zferry's send/recv pipes on zfs-fuse: full and incremental replication with GUIDs and data
// compared, receive refusals, capability checks before anything runs, properties emulated
// after a receive, the sender's guard, and transfers cut mid-stream.
#include "tests/platform/zfs_fuse_fixture.hpp"

#include "zfs/busy_retry.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/rollback_ops.hpp"
#include "zfs/send_recv.hpp"
#include "zfs/zfs_error.hpp"

namespace zferry::platform {
namespace {

using namespace zferry::zfs;

SendSpec full(const std::string& fs, const std::string& to) { return {fs, "", "@" + to, ""}; }
SendSpec incremental(const std::string& fs, const std::string& from, const std::string& to) {
    return {fs, "@" + from, "@" + to, ""};
}

TEST_F(ZfsFuse, FullAndIncrementalReplicationKeepsGuidsAndData) {
    std::string src = create(src_fs("r"));
    std::string dst = dst_fs("r");
    owns(dst);
    std::map<std::string, std::string> at_s1{{"big", incompressible(3 << 20, 1)}, {"small", "hello\n"}};
    snapshot_with(src, "s1", at_s1);
    auto at_s2 = at_s1;
    at_s2["small"] = "changed\n";
    at_s2["new"] = incompressible(1 << 20, 2);
    snapshot_with(src, "s2", at_s2);
    auto at_s3 = at_s2;
    at_s3["third"] = incompressible(100000, 3);
    snapshot_with(src, "s3", at_s3);
    ok({"snapshot", src + "@s4"});  // no change since s3

    replicate(full(src, "s1"), dst + "@s1");
    ASSERT_EQ(names(versions(dst)), std::vector<std::string>{"s1"});
    replicate(incremental(src, "s1", "s2"), dst + "@s2");
    replicate(incremental(src, "s2", "s3"), dst);
    replicate(incremental(src, "s3", "s4"), dst);

    auto sv = versions(src), dv = versions(dst);
    ASSERT_EQ(names(dv), (std::vector<std::string>{"s1", "s2", "s3", "s4"}));
    for (std::size_t i = 0; i < sv.size(); ++i) {
        EXPECT_EQ(sv[i].guid, dv[i].guid) << sv[i].name;
        EXPECT_EQ(sv[i].creation, dv[i].creation) << sv[i].name;
    }
    EXPECT_EQ(read_snapshot(dst + "@s1"), at_s1);
    EXPECT_EQ(read_snapshot(dst + "@s2"), at_s2);
    EXPECT_EQ(read_snapshot(dst + "@s4"), at_s3);
    EXPECT_EQ(prop(dst, "mounted"), "no") << "received with -u";
}

TEST_F(ZfsFuse, ReceiveRefusalsAreClassified) {
    std::string src = create(src_fs("e"));
    snapshot_with(src, "s1", {{"f", "one"}});
    snapshot_with(src, "s2", {{"f", "two"}});
    ok({"snapshot", src + "@s3"});
    std::string dst = dst_fs("e");
    owns(dst);
    replicate(full(src, "s1"), dst);

    // A full stream onto an existing filesystem.
    auto t = transfer(full(src, "s2"), unmounted(), dst);
    ASSERT_FALSE(t.recv.has_value());
    EXPECT_FALSE(t.recv.error().temporary()) << t.recv.error().message();
    EXPECT_NE(t.recv.error().message().find("exists"), std::string::npos) << t.recv.error().message();
    EXPECT_EQ(t.failure.kind, RecvFailure::Kind::other);
    // An incremental whose base the target does not have.
    t = transfer(incremental(src, "s2", "s3"), unmounted(), dst);
    ASSERT_FALSE(t.recv.has_value());
    EXPECT_FALSE(t.recv.error().temporary()) << t.recv.error().message();
    EXPECT_NE(t.recv.error().message().find("match incremental source"), std::string::npos)
        << t.recv.error().message();
    // A target whose parent is missing.
    const std::string orphan = env_.dst + "/" + name_ + "_missing/child";
    t = transfer(full(src, "s1"), unmounted(), orphan);
    ASSERT_FALSE(t.recv.has_value());
    EXPECT_NE(t.recv.error().message().find("does not exist"), std::string::npos) << t.recv.error().message();
    EXPECT_EQ(names(versions(dst)), std::vector<std::string>{"s1"});
}

TEST_F(ZfsFuse, MissingFeaturesAreRefusedBeforeAnythingRuns) {
    std::string src = create(src_fs("f"));
    ok({"snapshot", src + "@s1"});
    ASSERT_TRUE(await(runner_->capabilities()).has_value());
    const auto before = runner_->invocations();

    RecvOptions resumable = unmounted();
    resumable.resumable = true;
    auto r = await(start_recv(*runner_, resumable, dst_fs("f")));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ZfsErrc::unsupported) << r.error().message();
    RecvOptions exclude = unmounted();
    exclude.exclude_properties = {"user:x"};
    r = await(start_recv(*runner_, exclude, dst_fs("f")));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ZfsErrc::unsupported) << r.error().message();

    SendPolicy raw;
    raw.raw = true;
    auto s = await(start_send(*runner_, raw, full(src, "s1")));
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code(), ZfsErrc::unsupported) << s.error().message();
    s = await(start_send(*runner_, {}, {src, "#b1", "@s1", ""}));
    ASSERT_FALSE(s.has_value()) << "no bookmarks on zfs-fuse";
    EXPECT_EQ(s.error().code(), ZfsErrc::unsupported) << s.error().message();

    auto estimate = await(estimate_send_size(*runner_, {}, full(src, "s1")));
    ASSERT_TRUE(estimate.has_value()) << estimate.error().message();
    EXPECT_FALSE(estimate->bytes.has_value());
    EXPECT_FALSE(estimate->unknown_reason.empty());
    auto token = await(receive_resume_token(*runner_, src));
    ASSERT_TRUE(token.has_value()) << token.error().message();
    EXPECT_FALSE(token->has_value());
    EXPECT_EQ(runner_->invocations(), before) << "nothing ran for what zfs-fuse cannot do";
}

TEST_F(ZfsFuse, ReceivePropertiesAreSetAfterTheReceive) {
    std::string src = create(src_fs("o"));
    snapshot_with(src, "s1", {{"f", "data"}});
    std::string dst = dst_fs("o");
    owns(dst);
    RecvOptions o = unmounted();
    o.set_properties = {{"zrepl:placeholder", "off"}, {"user:origin", "platform"}};
    replicate(full(src, "s1"), dst, o);
    EXPECT_EQ(prop(dst, "zrepl:placeholder"), "off");
    EXPECT_EQ(prop(dst, "user:origin"), "platform");
    EXPECT_EQ(read_snapshot(dst + "@s1"), (std::map<std::string, std::string>{{"f", "data"}}));
}

TEST_F(ZfsFuse, SendRequestsAreValidatedAgainstTheLiveDataset) {
    std::string src = create(src_fs("g"));
    ok({"snapshot", src + "@s1"});
    ok({"snapshot", src + "@s2"});
    auto vs = versions(src);
    ASSERT_EQ(vs.size(), 2u);

    SendRequest req;
    req.filesystem = src;
    req.from = SendVersion{"@s1", vs[0].guid};
    req.to = SendVersion{"@s2", vs[1].guid};
    auto ok_args = await(validate_send_request(*runner_, req));
    ASSERT_TRUE(ok_args.has_value()) << ok_args.error().message();
    EXPECT_EQ(ok_args->filesystem, src);
    EXPECT_EQ(ok_args->to, *req.to);

    req.to->guid ^= 1;  // a snapshot of the same name that is not the one the peer means
    auto wrong = await(validate_send_request(*runner_, req));
    ASSERT_FALSE(wrong.has_value());
    EXPECT_EQ(wrong.error().code(), Errc::invalid_argument) << wrong.error().message();
    req.to = SendVersion{"@gone", 1};
    wrong = await(validate_send_request(*runner_, req));
    ASSERT_FALSE(wrong.has_value());
    EXPECT_EQ(wrong.error().code(), Errc::invalid_argument) << wrong.error().message();
}

TEST_F(ZfsFuse, RollbackThenReplicateAgain) {
    std::string src = create(src_fs("rb"));
    std::string dst = dst_fs("rb");
    owns(dst);
    std::map<std::string, std::string> files;
    for (int i = 1; i <= 3; ++i) {
        files["f" + std::to_string(i)] = incompressible(50000, i);
        snapshot_with(src, "s" + std::to_string(i), files);
    }
    replicate(full(src, "s1"), dst);
    replicate(incremental(src, "s1", "s2"), dst);
    replicate(incremental(src, "s2", "s3"), dst);
    ASSERT_EQ(names(versions(dst)), (std::vector<std::string>{"s1", "s2", "s3"}));

    auto r = await(rollback(*runner_, dst + "@s1", true));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(names(versions(dst)), std::vector<std::string>{"s1"});
    replicate(incremental(src, "s1", "s2"), dst);
    replicate(incremental(src, "s2", "s3"), dst);
    auto sv = versions(src), dv = versions(dst);
    ASSERT_EQ(names(dv), (std::vector<std::string>{"s1", "s2", "s3"}));
    for (std::size_t i = 0; i < sv.size(); ++i) EXPECT_EQ(sv[i].guid, dv[i].guid) << sv[i].name;
    EXPECT_EQ(read_snapshot(dst + "@s3"), files);
}

// Interrupted transfers: the test stops copying mid-stream and finishes both sides.

TEST_F(ZfsFuse, CutIncrementalLeavesTargetAtPreviousSnapshotAndRetrySucceeds) {
    std::string src = create(src_fs("cut"));
    std::string dst = dst_fs("cut");
    owns(dst);
    std::map<std::string, std::string> at_s1{{"a", incompressible(2 << 20, 10)}};
    snapshot_with(src, "s1", at_s1);
    auto at_s2 = at_s1;
    at_s2["b"] = incompressible(8 << 20, 11);
    snapshot_with(src, "s2", at_s2);
    replicate(full(src, "s1"), dst);
    const auto before = versions(dst);
    ASSERT_EQ(names(before), std::vector<std::string>{"s1"});

    auto t = transfer(incremental(src, "s1", "s2"), unmounted(), dst, 1 << 20);
    EXPECT_EQ(t.bytes, 1u << 20);
    ASSERT_FALSE(t.send.has_value()) << "the sender wrote into a closed pipe";
    EXPECT_EQ(t.send.error().code(), Errc::connection_closed) << t.send.error().message();
    ASSERT_FALSE(t.recv.has_value()) << "a truncated stream must not be received";
    EXPECT_NE(t.failure.kind, RecvFailure::Kind::resumable);
    EXPECT_EQ(versions(dst), before) << "the target stays at its previous snapshot";

    // The target was not modified: the same incremental now goes through.
    replicate(incremental(src, "s1", "s2"), dst);
    auto dv = versions(dst);
    ASSERT_EQ(names(dv), (std::vector<std::string>{"s1", "s2"}));
    EXPECT_EQ(dv[1].guid, versions(src)[1].guid);
    EXPECT_EQ(read_snapshot(dst + "@s2"), at_s2);
}

TEST_F(ZfsFuse, CutFullSendLeavesNoDatasetAndRetrySucceeds) {
    std::string src = create(src_fs("cutfull"));
    std::map<std::string, std::string> files{{"a", incompressible(6 << 20, 20)}};
    snapshot_with(src, "s1", files);
    std::string dst = dst_fs("cutfull");
    owns(dst);
    auto t = transfer(full(src, "s1"), unmounted(), dst, 512 << 10);
    EXPECT_FALSE(t.send.has_value());
    EXPECT_FALSE(t.recv.has_value());
    auto gone = await(list_versions(*runner_, dst));
    ASSERT_FALSE(gone.has_value()) << "a failed new-filesystem receive leaves nothing";
    EXPECT_EQ(gone.error().code(), ZfsErrc::dataset_not_found) << gone.error().message();

    replicate(full(src, "s1"), dst);
    auto dv = versions(dst);
    ASSERT_EQ(names(dv), std::vector<std::string>{"s1"});
    EXPECT_EQ(dv[0].guid, versions(src)[0].guid);
    EXPECT_EQ(read_snapshot(dst + "@s1"), files);
}

TEST_F(ZfsFuse, AbortedTransferStopsTheDaemonsReceive) {
    std::string src = create(src_fs("abort"));
    std::string dst = dst_fs("abort");
    owns(dst);
    snapshot_with(src, "s1", {{"a", incompressible(1 << 20, 30)}});
    std::map<std::string, std::string> at_s2{{"a", incompressible(1 << 20, 30)},
                                             {"b", incompressible(8 << 20, 31)}};
    snapshot_with(src, "s2", at_s2);
    replicate(full(src, "s1"), dst);
    const auto before = versions(dst);

    // On zfs-fuse the zfs clients only hand their pipes to the daemon: killing them would not
    // stop the transfer. abort() closes zferry's pipe ends first, which does.
    auto t = transfer(incremental(src, "s1", "s2"), unmounted(), dst, 1 << 20, TransferEnd::abort);
    EXPECT_EQ(t.bytes, 1u << 20);
    EXPECT_LT(t.end_took, std::chrono::seconds(5)) << "aborting must not wait for the stream";
    EXPECT_EQ(versions(dst), before);
    // abort() returned only once zfs let go of the target (it waits for the zfs client to exit
    // after closing the pipe, rather than killing it while the daemon still tears the receive
    // down): the same step goes through at once, with no retry.
    replicate(incremental(src, "s1", "s2"), dst);
    auto dv = versions(dst);
    ASSERT_EQ(names(dv), (std::vector<std::string>{"s1", "s2"}));
    EXPECT_EQ(dv[1].guid, versions(src)[1].guid);
    EXPECT_EQ(read_snapshot(dst + "@s2"), at_s2);
}

TEST_F(ZfsFuse, ReceiveIntoATargetAnotherReceiveHoldsIsBusyAndRetriedOnceItIsFree) {
    std::string src = create(src_fs("busy"));
    std::string dst = dst_fs("busy");
    owns(dst);
    snapshot_with(src, "s1", {{"a", incompressible(1 << 20, 40)}});
    std::map<std::string, std::string> at_s2{{"a", incompressible(1 << 20, 40)},
                                             {"b", incompressible(8 << 20, 41)}};
    snapshot_with(src, "s2", at_s2);
    replicate(full(src, "s1"), dst);

    // A receive of @s1 -> @s2 in progress: 4 MiB of its stream copied, more than the 1 MiB
    // pipe holds, so zfs is receiving (and holds the target) when the copy returns.
    auto holder_send = await(start_send(*runner_, SendPolicy{}, incremental(src, "s1", "s2")));
    ASSERT_TRUE(holder_send.has_value()) << holder_send.error().message();
    auto holder_recv = await(start_recv(*runner_, unmounted(), dst));
    ASSERT_TRUE(holder_recv.has_value()) << holder_recv.error().message();
    ASSERT_EQ(await(pump(holder_send->fd(), holder_recv->fd(), 4u << 20, false)), 4u << 20);

    // The same step again: zfs refuses while the first receive holds the target, zferry
    // classifies that as temporary, and retry_while_busy runs it again. The holder is aborted
    // before the second attempt, as a replication driver aborts a step it gave up on.
    std::vector<Error> failures;
    auto step = [&]() -> boost::asio::awaitable<Result<void>> {
        if (!failures.empty()) {
            co_await holder_recv->abort();
            co_await holder_send->abort();
        }
        auto t = co_await transfer_async(incremental(src, "s1", "s2"), unmounted(), dst);
        Result<void> r = !t.recv ? t.recv : t.send;
        if (!r) failures.push_back(r.error());
        co_return r;
    };
    auto r = await(retry_while_busy(step, BusyRetry{}, runner_->log(), "receiving " + dst));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(failures.size(), 1u) << "one refusal, then the target was free: " << failures.back().message();
    EXPECT_EQ(failures[0].code(), ZfsErrc::dataset_busy) << failures[0].message();
    EXPECT_TRUE(failures[0].temporary()) << failures[0].message();
    EXPECT_NE(failures[0].message().find("retry the step shortly"), std::string::npos)
        << failures[0].message();
    auto dv = versions(dst);
    ASSERT_EQ(names(dv), (std::vector<std::string>{"s1", "s2"}));
    EXPECT_EQ(dv[1].guid, versions(src)[1].guid);
    EXPECT_EQ(read_snapshot(dst + "@s2"), at_s2);
}

TEST_F(ZfsFuse, IntermediatesArriveInOneCompoundStream) {
    std::string src = create(src_fs("inter"));
    std::string dst = dst_fs("inter");
    owns(dst);
    std::map<std::string, std::string> files;
    for (int i = 1; i <= 4; ++i) {
        files["f" + std::to_string(i)] = incompressible(64 << 10, 50 + i);
        snapshot_with(src, "s" + std::to_string(i), files);
    }
    replicate(full(src, "s1"), dst);
    // The planner's coalesced step: one `send -I @s1 ...@s4` brings s2, s3 and s4.
    SendSpec coalesced = incremental(src, "s1", "s4");
    coalesced.intermediates = true;
    replicate(coalesced, dst);
    auto dv = versions(dst);
    auto sv = versions(src);
    ASSERT_EQ(names(dv), (std::vector<std::string>{"s1", "s2", "s3", "s4"}));
    for (std::size_t i = 0; i < dv.size(); ++i) EXPECT_EQ(dv[i].guid, sv[i].guid) << dv[i].name;
    EXPECT_EQ(read_snapshot(dst + "@s4"), files);
}

TEST_F(ZfsFuse, ForceReceiveRollsBackChangesOnTheTarget) {
    std::string src = create(src_fs("force"));
    std::string dst = dst_fs("force");
    owns(dst);
    std::map<std::string, std::string> at_s1{{"f", "one"}};
    snapshot_with(src, "s1", at_s1);
    std::map<std::string, std::string> at_s2{{"f", "two"}};
    snapshot_with(src, "s2", at_s2);
    replicate(full(src, "s1"), dst);
    write_files(dst, {{"local", "written on the target"}});

    auto t = transfer(incremental(src, "s1", "s2"), unmounted(), dst);
    ASSERT_FALSE(t.recv.has_value());
    EXPECT_NE(t.recv.error().message().find("has been modified"), std::string::npos)
        << t.recv.error().message();
    RecvOptions force = unmounted();
    force.force_rollback = true;
    replicate(incremental(src, "s1", "s2"), dst, force);
    EXPECT_EQ(names(versions(dst)), (std::vector<std::string>{"s1", "s2"}));
    EXPECT_EQ(read_snapshot(dst + "@s2"), at_s2) << "the local file was rolled back";
}

}  // namespace
}  // namespace zferry::platform
