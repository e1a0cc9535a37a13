// The pure parsers and classifiers of zfs/ on live zfs-fuse output (they were written against
// recorded outputs; these tests keep them honest against the real thing).
#include "tests/platform/zfs_fuse_fixture.hpp"

#include "zfs/command_errors.hpp"
#include "zfs/filesystem_listing.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/holds.hpp"
#include "zfs/properties.hpp"
#include "zfs/send_command.hpp"

#include <ctime>

namespace zferry::platform {
namespace {

using namespace zferry::zfs;

TEST_F(ZfsFuse, VersionListingThroughGetHpMatchesEachSnapshot) {
    std::string fs = create(src_fs("a"));
    create(fs + "/child");
    ok({"snapshot", fs + "@s1"});
    ok({"snapshot", fs + "@s2"});
    ok({"snapshot", "-r", fs + "@s3"});

    auto r = zfs(get_versions_argv(fs));
    ASSERT_TRUE(r.ok()) << r.describe();
    auto parsed = parse_versions_get_listing(r.out);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message() << "\n" << r.out;
    const auto& vs = *parsed;
    ASSERT_EQ(names(vs), (std::vector<std::string>{"s1", "s2", "s3"})) << "the child's @s3 is not listed";
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
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
    r = zfs(get_versions_argv(fs + "/child"));
    auto child = parse_versions_get_listing(r.out);
    ASSERT_TRUE(child.has_value()) << r.out;
    ASSERT_EQ(names(*child), std::vector<std::string>{"s3"});
    EXPECT_EQ((*child)[0].createtxg, vs[2].createtxg);
    EXPECT_NE((*child)[0].guid, vs[2].guid);

    // Why the listing goes through `zfs get`: zfs-fuse refuses `list -p`.
    r = zfs({"list", "-H", "-p", "-o", "name,guid", fs});
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(invalid_option(r.err), std::optional<std::string>("p")) << r.err;
}

TEST_F(ZfsFuse, FilesystemListingWithoutP) {
    std::string fs = create(src_fs("tree"), {"zrepl:placeholder=on"});
    create(fs + "/b");
    create(fs + "/b/c");
    ok({"snapshot", "-r", fs + "@s1"});  // snapshots are not filesystems
    std::vector<std::string> props{"zrepl:placeholder"};
    auto r = zfs(list_filesystems_argv(props, fs, /*parsable=*/false));
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
    auto r = zfs(get_properties_argv(props, fs, /*recursive=*/true));
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

TEST_F(ZfsFuse, HoldReleaseAndDestroyMessagesAreClassified) {
    std::string fs = create(src_fs("h"));
    ok({"snapshot", fs + "@s1"});
    ok({"snapshot", fs + "@s2"});
    const std::string snap = fs + "@s1";
    const std::string tag = "zrepl_STEP_J_platform";

    ok({"hold", tag, snap});
    auto r = zfs({"hold", tag, snap});
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(is_hold_tag_exists(r.err)) << r.err;

    r = zfs({"destroy", snap});
    EXPECT_EQ(r.rc, 1);
    auto f = classify_destroy_failure(snap, r.err);
    EXPECT_EQ(f.kind, DestroyFailure::Kind::undestroyable) << r.err;
    ASSERT_EQ(f.snapshots.size(), 1u) << r.err;
    EXPECT_EQ(f.snapshots[0].name, "s1");
    EXPECT_TRUE(f.snapshots[0].held) << f.snapshots[0].reason;

    ok({"release", tag, snap});
    r = zfs({"release", tag, snap});
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(release_unexpected_lines(r.err).empty()) << r.err;

    ok({"destroy", snap});
    r = zfs({"destroy", snap});
    EXPECT_EQ(classify_destroy_failure(snap, r.err).kind, DestroyFailure::Kind::not_exists) << r.err;
    // A snapshot of a missing filesystem names the filesystem.
    r = zfs({"hold", tag, fs + "_gone@s1"});
    EXPECT_EQ(dataset_not_found_path(r.err), std::optional<std::string>(fs + "_gone")) << r.err;
    // No comma lists on zfs-fuse: one snapshot per destroy.
    r = zfs({"destroy", fs + "@s2,s3"});
    EXPECT_EQ(classify_destroy_failure(fs + "@s2,s3", r.err).kind, DestroyFailure::Kind::other) << r.err;
    // No `zfs holds`: the tags cannot be listed.
    r = zfs(holds_argv(fs + "@s2"));
    EXPECT_FALSE(r.ok());
}

TEST_F(ZfsFuse, ReceiveMessagesAreClassified) {
    std::string src = create(src_fs("e"));
    snapshot_with(src, "s1", {{"f", incompressible(2 << 20, 1)}});
    snapshot_with(src, "s2", {{"g", incompressible(2 << 20, 2)}});
    std::string dst = dst_fs("e");
    owns(dst);
    RecvOptions plain;
    raw_replicate(send_argv({}, {src, "", "@s1", ""}), recv_argv(plain, dst));

    // A full stream onto an existing filesystem: permanent, not a broken stream.
    auto t = raw_transfer(send_argv({}, {src, "", "@s2", ""}), recv_argv(plain, dst));
    EXPECT_EQ(t.recv.rc, 1);
    EXPECT_NE(t.recv.err.find("destination '" + dst + "' exists"), std::string::npos) << t.recv.err;
    EXPECT_EQ(classify_recv_failure(t.recv.err).kind, RecvFailure::Kind::other);
    // A stream cut mid-way: zfs-fuse calls it an invalid stream; nothing to resume.
    t = raw_transfer(send_argv({}, {src, "@s1", "@s2", ""}), recv_argv(plain, dst), 256 << 10);
    EXPECT_EQ(t.bytes, 256u << 10);
    EXPECT_NE(t.send.rc, 0) << "the sender wrote into a closed pipe";
    EXPECT_EQ(t.recv.rc, 1);
    EXPECT_NE(t.recv.err.find("invalid backup stream"), std::string::npos) << t.recv.err;
    EXPECT_NE(classify_recv_failure(t.recv.err).kind, RecvFailure::Kind::resumable);
    // No resumable receive state to abort on zfs-fuse: `recv -A` is an unknown option.
    auto r = zfs(recv_abort_argv(dst));
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(invalid_option(r.err), std::optional<std::string>("A")) << r.err;
}

}  // namespace
}  // namespace zferry::platform
