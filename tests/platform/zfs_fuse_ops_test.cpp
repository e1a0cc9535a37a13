// zferry's zfs operations on zfs-fuse: capability probing, listings, properties and
// placeholders, holds, destroy, rollback, bookmarks; idempotent where replication needs it, and
// degraded with clear errors where zfs-fuse lacks a feature.
#include "tests/platform/zfs_fuse_fixture.hpp"

#include "zfs/bookmark_ops.hpp"
#include "zfs/destroy_ops.hpp"
#include "zfs/hold_ops.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/property_ops.hpp"
#include "zfs/rollback_ops.hpp"
#include "zfs/zfs_error.hpp"

namespace zferry::platform {
namespace {

using namespace zferry::zfs;

TEST_F(ZfsFuse, CapabilitiesAreTheZfsFuseSetAndProbedOnce) {
    auto caps = await(runner_->capabilities());
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
    auto again = await(runner_->capabilities());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *caps);
    EXPECT_EQ(runner_->invocations(), probes) << "capabilities are cached per runner";
}

TEST_F(ZfsFuse, ListVersionsTakesOneInvocationRecursiveOrNot) {
    std::string fs = create(src_fs("v"));
    create(fs + "/b");
    create(fs + "/b/c");
    ok({"snapshot", fs + "@s1"});
    ok({"snapshot", "-r", fs + "@s2"});
    ok({"snapshot", fs + "/b/c@s3"});
    ASSERT_TRUE(await(runner_->capabilities()).has_value());

    auto before = runner_->invocations();
    auto top = await(list_versions(*runner_, fs));
    ASSERT_TRUE(top.has_value()) << top.error().message();
    EXPECT_EQ(runner_->invocations() - before, 1u);
    EXPECT_EQ(names(*top), (std::vector<std::string>{"s1", "s2"}));
    for (const auto& v : *top) {
        EXPECT_EQ(v.type, VersionType::snapshot);
        EXPECT_EQ(std::to_string(v.guid), prop(v.full_name(), "guid"));
        EXPECT_EQ(v.userrefs, std::optional<std::uint64_t>(0));
    }

    before = runner_->invocations();
    VersionsQuery q;
    q.recursive = true;
    auto all = await(list_versions(*runner_, fs, q));
    ASSERT_TRUE(all.has_value()) << all.error().message();
    EXPECT_EQ(runner_->invocations() - before, 1u);
    auto by_fs = group_by_filesystem(*all);
    ASSERT_EQ(by_fs.size(), 3u);
    EXPECT_EQ(names(by_fs[fs]), (std::vector<std::string>{"s1", "s2"}));
    EXPECT_EQ(names(by_fs[fs + "/b"]), std::vector<std::string>{"s2"});
    EXPECT_EQ(names(by_fs[fs + "/b/c"]), (std::vector<std::string>{"s2", "s3"}));
    EXPECT_EQ(by_fs[fs][1].createtxg, by_fs[fs + "/b"][0].createtxg) << "snapshot -r is one txg";

    auto missing = await(list_versions(*runner_, fs + "_gone"));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found) << missing.error().message();
}

TEST_F(ZfsFuse, ListFilesystemsWithExactNumbers) {
    std::string fs = create(src_fs("l"), {"zrepl:placeholder=on"});
    create(fs + "/b");
    ok({"snapshot", "-r", fs + "@s1"});
    ASSERT_TRUE(await(runner_->capabilities()).has_value());
    auto before = runner_->invocations();
    auto named = await(list_filesystems(*runner_, fs, {"zrepl:placeholder"}));
    ASSERT_TRUE(named.has_value()) << named.error().message();
    EXPECT_EQ(runner_->invocations() - before, 1u);
    EXPECT_EQ(*named, (std::vector<FilesystemListEntry>{{fs, {"on"}}, {fs + "/b", {"on"}}}));
    // Numbers need `get -Hp` on zfs-fuse (its `list` humanizes them); snapshots are dropped.
    before = runner_->invocations();
    auto numbers = await(list_filesystems(*runner_, fs, {"guid", "used"}));
    EXPECT_EQ(runner_->invocations() - before, 1u);
    ASSERT_TRUE(numbers.has_value()) << numbers.error().message();
    ASSERT_EQ(numbers->size(), 2u);
    EXPECT_EQ((*numbers)[0].name, fs);
    EXPECT_EQ((*numbers)[0].values[0], prop(fs, "guid"));
    EXPECT_EQ((*numbers)[1].values[0], prop(fs + "/b", "guid"));
    EXPECT_GT(std::stoull((*numbers)[0].values[1]), 0u);

    auto missing = await(list_filesystems(*runner_, fs + "_gone"));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found) << missing.error().message();
}

TEST_F(ZfsFuse, PropertiesAndPlaceholders) {
    std::string fs = create(src_fs("p"));
    create(fs + "/child");
    // zfs-fuse takes one property per `zfs set`; set_properties sets both.
    auto set = await(set_properties(*runner_, fs, {{"user:a", "1"}, {"user:b", "two"}}));
    ASSERT_TRUE(set.has_value()) << set.error().message();
    GetPropertiesOptions rec;
    rec.recursive = true;
    auto got = await(get_properties(*runner_, fs, {"user:a", "user:b", "mountpoint"}, rec));
    ASSERT_TRUE(got.has_value()) << got.error().message();
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ(*(*got)[0].find("user:a"), (PropertyValue{"1", PropertySource::local, ""}));
    EXPECT_EQ(*(*got)[0].find("user:b"), (PropertyValue{"two", PropertySource::local, ""}));
    EXPECT_EQ(*(*got)[1].find("user:b"), (PropertyValue{"two", PropertySource::inherited, fs}));
    EXPECT_EQ(*(*got)[1].find("mountpoint"), (PropertyValue{"none", PropertySource::inherited, env_.src}));

    auto unknown = await(get_property(*runner_, fs, "receive_resume_token"));
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().code(), ZfsErrc::unsupported) << unknown.error().message();
    auto gone = await(get_property(*runner_, fs + "_gone", "user:a"));
    ASSERT_FALSE(gone.has_value());
    EXPECT_EQ(gone.error().code(), ZfsErrc::dataset_not_found) << gone.error().message();

    // Placeholders: created, recognised (only where set locally), switched off, idempotent.
    const std::string ph = fs + "/ph";
    auto made = await(create_placeholder(*runner_, ph, PlaceholderEncryption::off));
    ASSERT_TRUE(made.has_value()) << made.error().message();
    owns(ph);
    create(ph + "/under");
    auto st = await(get_placeholder_state(*runner_, ph));
    ASSERT_TRUE(st.has_value()) << st.error().message();
    EXPECT_TRUE(st->exists);
    EXPECT_TRUE(st->is_placeholder);
    EXPECT_EQ(st->raw_local_value, "on");
    st = await(get_placeholder_state(*runner_, ph + "/under"));
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(st->exists);
    EXPECT_FALSE(st->is_placeholder) << "an inherited placeholder flag does not count";
    EXPECT_EQ(prop(ph, "mountpoint"), "none");
    auto again = await(create_placeholder(*runner_, ph, PlaceholderEncryption::off));
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code(), ZfsErrc::dataset_exists) << again.error().message();
    auto orphan = await(create_placeholder(*runner_, fs + "/nope/ph", PlaceholderEncryption::inherit));
    ASSERT_FALSE(orphan.has_value());
    EXPECT_EQ(orphan.error().code(), ZfsErrc::dataset_not_found) << orphan.error().message();

    ASSERT_TRUE(await(set_placeholder(*runner_, ph, false)).has_value());
    ASSERT_TRUE(await(set_placeholder(*runner_, ph, false)).has_value());
    st = await(get_placeholder_state(*runner_, ph));
    ASSERT_TRUE(st.has_value());
    EXPECT_FALSE(st->is_placeholder);
    st = await(get_placeholder_state(*runner_, fs + "/nope"));
    ASSERT_TRUE(st.has_value()) << st.error().message();
    EXPECT_FALSE(st->exists);
}

TEST_F(ZfsFuse, HoldsAndReleasesAreIdempotent) {
    std::string fs = create(src_fs("h"));
    ok({"snapshot", fs + "@s1"});
    ok({"snapshot", fs + "@s2"});
    const std::string s1 = fs + "@s1", s2 = fs + "@s2";
    const std::string step = "zrepl_STEP_J_platform", last = "zrepl_last_received_J_platform";

    for (int i = 0; i < 2; ++i) {
        auto h = await(hold(*runner_, s1, step));
        ASSERT_TRUE(h.has_value()) << "hold #" << i + 1 << ": " << h.error().message();
    }
    ASSERT_TRUE(await(hold(*runner_, s1, last)).has_value());
    ASSERT_TRUE(await(hold(*runner_, s2, step)).has_value());
    auto holds = await(list_holds(*runner_, {s1, s2}));
    ASSERT_TRUE(holds.has_value()) << holds.error().message();
    ASSERT_EQ(holds->size(), 2u);
    EXPECT_EQ((*holds)[0].snapshot, s1);
    EXPECT_EQ((*holds)[0].count, 2u);
    EXPECT_FALSE((*holds)[0].tags_known) << "zfs-fuse cannot list tags";
    EXPECT_EQ((*holds)[1].count, 1u);

    auto missing = await(hold(*runner_, fs + "@gone", step));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found) << missing.error().message();
    auto no_fs = await(hold(*runner_, fs + "_gone@s1", step));
    ASSERT_FALSE(no_fs.has_value());
    EXPECT_EQ(no_fs.error().code(), ZfsErrc::dataset_not_found) << no_fs.error().message();
    auto missing_holds = await(list_holds(*runner_, {fs + "@gone"}));
    ASSERT_FALSE(missing_holds.has_value());
    EXPECT_EQ(missing_holds.error().code(), ZfsErrc::dataset_not_found) << missing_holds.error().message();

    // Released twice, and from snapshots that never had the tag or do not exist: all success.
    for (int i = 0; i < 2; ++i) {
        auto r = await(release(*runner_, step, {s1, s2, fs + "@gone", fs + "_gone@s1"}));
        ASSERT_TRUE(r.has_value()) << "release #" << i + 1 << ": " << r.error().message();
    }
    EXPECT_EQ(prop(s1, "userrefs"), "1");
    EXPECT_EQ(prop(s2, "userrefs"), "0");
    ASSERT_TRUE(await(release(*runner_, last, {s1})).has_value());
    EXPECT_EQ(prop(s1, "userrefs"), "0");
}

TEST_F(ZfsFuse, DestroySnapshotsReportsHeldOnesAndDestroysTheRest) {
    std::string fs = create(src_fs("d"));
    for (int i = 1; i <= 5; ++i) ok({"snapshot", fs + "@s" + std::to_string(i)});
    ASSERT_TRUE(await(hold(*runner_, fs + "@s2", "keep")).has_value());
    ASSERT_TRUE(await(hold(*runner_, fs + "@s4", "keep")).has_value());

    auto report = await(destroy_snapshots(*runner_, fs, {"s1", "s2", "s3", "s4", "never"}));
    ASSERT_TRUE(report.has_value()) << report.error().message();
    EXPECT_FALSE(report->complete());
    ASSERT_EQ(report->undestroyable.size(), 2u);
    EXPECT_EQ(report->undestroyable[0].name, "s2");
    EXPECT_EQ(report->undestroyable[1].name, "s4");
    EXPECT_TRUE(report->undestroyable[0].held) << report->undestroyable[0].reason;
    EXPECT_TRUE(report->undestroyable[1].held) << report->undestroyable[1].reason;
    Error e = report->error(fs);
    EXPECT_EQ(e.code(), ZfsErrc::snapshot_held) << e.message();
    EXPECT_NE(e.message().find("s2"), std::string::npos) << e.message();
    EXPECT_EQ(names(versions(fs)), (std::vector<std::string>{"s2", "s4", "s5"}));

    ASSERT_TRUE(await(release(*runner_, "keep", {fs + "@s2", fs + "@s4"})).has_value());
    report = await(destroy_snapshots(*runner_, fs, {"s2", "s4", "s1"}));
    ASSERT_TRUE(report.has_value()) << report.error().message();
    EXPECT_TRUE(report->complete());
    EXPECT_FALSE(report->error(fs));
    EXPECT_EQ(names(versions(fs)), std::vector<std::string>{"s5"});
    // A filesystem that does not exist has nothing left to destroy.
    report = await(destroy_snapshots(*runner_, fs + "_gone", {"s1"}));
    ASSERT_TRUE(report.has_value()) << report.error().message();
    EXPECT_TRUE(report->complete());
}

TEST_F(ZfsFuse, RollbackAndRecvAbort) {
    std::string fs = create(src_fs("rb"));
    for (int i = 1; i <= 3; ++i) snapshot_with(fs, "s" + std::to_string(i), {{"f", std::string(i, 'x')}});
    auto r = await(rollback(*runner_, fs + "@s1", false));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ZfsErrc::more_recent_snapshots) << r.error().message();
    EXPECT_EQ(names(versions(fs)), (std::vector<std::string>{"s1", "s2", "s3"}));
    r = await(rollback(*runner_, fs + "@s1", true));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(names(versions(fs)), std::vector<std::string>{"s1"});
    r = await(rollback(*runner_, fs + "@s1", false));
    EXPECT_TRUE(r.has_value()) << "rolling back to the newest snapshot again: " << r.error().message();
    r = await(rollback(*runner_, fs + "@gone", true));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ZfsErrc::dataset_not_found) << r.error().message();

    // zfs-fuse has no resumable receive, so there is never partial state to discard.
    auto a = await(recv_abort(*runner_, fs));
    EXPECT_TRUE(a.has_value()) << a.error().message();
    a = await(recv_abort(*runner_, fs + "_gone"));
    EXPECT_TRUE(a.has_value()) << a.error().message();
}

TEST_F(ZfsFuse, BookmarksAreUnsupportedWithAClearError) {
    std::string fs = create(src_fs("bm"));
    ok({"snapshot", fs + "@s1"});
    auto vs = versions(fs);
    ASSERT_EQ(vs.size(), 1u);
    auto b = await(create_bookmark(*runner_, vs[0], "b1"));
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error().code(), ZfsErrc::unsupported) << b.error().message();
    auto d = await(destroy_bookmark(*runner_, fs + "#b1"));
    EXPECT_TRUE(d.has_value()) << "nothing to destroy without bookmarks: " << d.error().message();
}

}  // namespace
}  // namespace zferry::platform
