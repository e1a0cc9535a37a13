// The per-filesystem planner, one table per rule. Versions are in zrepl's diff notation
// ("@a,1" = snapshot a, guid = createtxg = 1), and plans print as sentences, so a failure
// reads "expected steps: @a -> @c with -I (also @b), got steps: @a -> @b; @b -> @c".
#include "replication/logic/planner.hpp"

#include "tests/unit/replication_vectors.hpp"

#include <gtest/gtest.h>

namespace zferry::replication {
namespace {

using test::version;
using test::versions;

Step full(const std::string& to) { return Step{std::nullopt, version(to), {}, {}}; }
Step inc(const std::string& from, const std::string& to) { return Step{version(from), version(to), {}, {}}; }
Step compound(const std::string& from, const std::string& intermediates, const std::string& to) {
    return Step{version(from), version(to), versions(intermediates), {}};
}
Step resumed(std::optional<std::string> from, const std::string& to, const std::string& token) {
    return Step{from ? std::optional(version(*from)) : std::nullopt, version(to), {}, token};
}

Plan steps(std::vector<Step> s) { return Plan{std::move(s)}; }
Plan error(std::string m) { return Plan{PlanError{std::move(m)}}; }

PlanInput input(const std::string& sender, std::optional<std::string> receiver, bool coalesce = false) {
    PlanInput in;
    in.sender_versions = versions(sender);
    if (receiver) {
        in.receiver = ReceiverState::present;
        in.receiver_versions = versions(*receiver);
    }
    in.coalesce = coalesce;
    return in;
}

struct Row {
    const char* rule;
    PlanInput in;
    Plan expect;
};

void check(const std::vector<Row>& rows) {
    for (const auto& r : rows) {
        const auto got = plan_filesystem(r.in);
        EXPECT_EQ(got, r.expect) << r.rule << "\n  expected " << r.expect << "\n  got      " << got;
    }
}

PlanInput with(PlanInput in, auto&& change) {
    change(in);
    return in;
}

TEST(Planner, Placeholders) {
    check({
        {"a placeholder sender with an absent receiver needs no steps",
         with(input("", std::nullopt), [](auto& in) { in.sender_is_placeholder = true; }), steps({})},
        {"a placeholder on both sides needs no steps",
         with(input("", std::nullopt),
              [](auto& in) {
                  in.sender_is_placeholder = true;
                  in.receiver = ReceiverState::placeholder;
              }),
         steps({})},
        {"a placeholder sender must not meet a real receiver filesystem",
         with(input("", "@a,1"), [](auto& in) { in.sender_is_placeholder = true; }),
         error("sender filesystem is placeholder, but receiver filesystem is not")},
        {"a receiver placeholder counts as empty: its versions are not read",
         with(input("@a,1 @b,2", "@x,9"), [](auto& in) { in.receiver = ReceiverState::placeholder; }),
         steps({full("@b,2")})},
    });
}

TEST(Planner, InitialReplicationPolicy) {
    const auto policy = [](InitialReplicationPolicy p, bool coalesce) {
        return with(input("@a,1 #b,2 @b,2 @c,3", std::nullopt, coalesce), [p](auto& in) { in.initial = p; });
    };
    check({
        {"most_recent sends the newest snapshot in full",
         policy(InitialReplicationPolicy::most_recent, false), steps({full("@c,3")})},
        {"all sends the oldest in full and then every later snapshot",
         policy(InitialReplicationPolicy::all, false),
         steps({full("@a,1"), inc("@a,1", "@b,2"), inc("@b,2", "@c,3")})},
        {"all with coalescing: the full send, then one -I over the rest",
         policy(InitialReplicationPolicy::all, true),
         steps({full("@a,1"), compound("@a,1", "@b,2", "@c,3")})},
        {"fail refuses", policy(InitialReplicationPolicy::fail, false),
         error("automatic conflict resolution for initial replication is disabled in config")},
        {"an existing but empty receiver is initial replication too",
         with(input("@a,1 @b,2", ""), [](auto& in) { in.initial = InitialReplicationPolicy::most_recent; }),
         steps({full("@b,2")})},
        {"a receiver with only bookmarks is empty (receiver bookmarks do not count)",
         input("@a,1 @b,2", "#a,1"), steps({full("@b,2")})},
        {"a sender with only bookmarks cannot seed a receiver", input("#a,1 #b,2", std::nullopt),
         error("sender has only bookmarks and no snapshot for an initial full send")},
        {"a sender without versions is an error", input("", std::nullopt),
         error("sender does not have any versions")},
    });
}

TEST(Planner, IncrementalAndCoalescing) {
    check({
        {"one step per pending snapshot without coalescing", input("@a,1 @b,2 @c,3 @d,4", "@a,1"),
         steps({inc("@a,1", "@b,2"), inc("@b,2", "@c,3"), inc("@c,3", "@d,4")})},
        {"consecutive pending snapshots become one -I step", input("@a,1 @b,2 @c,3 @d,4", "@a,1", true),
         steps({compound("@a,1", "@b,2 @c,3", "@d,4")})},
        {"a single pending snapshot stays a plain -i step", input("@a,1 @b,2", "@a,1", true),
         steps({inc("@a,1", "@b,2")})},
        {"an up-to-date receiver needs no steps", input("@a,1 @b,2", "@a,1 @b,2", true), steps({})},
        {"a bookmark source gets a plain -i step; coalescing starts after it",
         input("#a,1 @b,2 @c,3 @d,4", "@a,1", true),
         steps({inc("#a,1", "@b,2"), compound("@b,2", "@c,3", "@d,4")})},
        {"sender bookmarks between pending snapshots are not steps",
         input("@a,1 #b,2 @c,3 #d,4 @e,5", "@a,1", true), steps({compound("@a,1", "@c,3", "@e,5")})},
    });
}

TEST(Planner, ARetriedAttemptStopsAtThePreviousTarget) {
    auto limit = [](std::uint64_t guid) { return [guid](PlanInput& in) { in.limit_to_guid = guid; }; };
    check({
        {"snapshots taken after the previous attempt's target wait for the next run",
         with(input("@a,1 @b,2 @c,3 @d,4", "@a,1"), limit(3)),
         steps({inc("@a,1", "@b,2"), inc("@b,2", "@c,3")})},
        {"coalesced up to the target, including it",
         with(input("@a,1 @b,2 @c,3 @d,4", "@a,1", true), limit(3)),
         steps({compound("@a,1", "@b,2", "@c,3")})},
        {"initial most_recent sends the previous target, not the newest snapshot",
         with(input("@a,1 @b,2 @c,3", std::nullopt), limit(2)), steps({full("@b,2")})},
        {"a target the sender no longer has is ignored: planned as a first attempt",
         with(input("@a,1 @c,3", "@a,1"), limit(2)), steps({inc("@a,1", "@c,3")})},
        {"a receiver that already has the target needs nothing more",
         with(input("@a,1 @b,2 @c,3", "@a,1 @b,2"), limit(2)), steps({})},
    });
}

TEST(Planner, ConflictsAreReturnedAsConflicts) {
    const auto diverged = plan_filesystem(input("@a,1 @b2,3", "@a,1 @b1,2"));
    const auto* c = std::get_if<Conflict>(&diverged.outcome);
    ASSERT_NE(c, nullptr) << diverged;
    EXPECT_EQ(c->kind, ConflictKind::diverged);
    EXPECT_EQ(c->receiver_only, versions("@b1,2"));

    const auto unrelated = plan_filesystem(input("@a,1 @b,2", "@x,7"));
    c = std::get_if<Conflict>(&unrelated.outcome);
    ASSERT_NE(c, nullptr) << unrelated;
    EXPECT_EQ(c->kind, ConflictKind::no_common_ancestor) << "a non-empty receiver is never overwritten";
}

PlanInput filtered(const std::string& sender, std::optional<std::string> receiver, bool coalesce,
                   InitialReplicationPolicy p = InitialReplicationPolicy::most_recent) {
    auto in = input(sender, receiver, coalesce);
    in.snapshot_filter = std::regex("^z");
    in.initial = p;
    return in;
}

TEST(Planner, SnapshotFilter) {
    check({
        {"skipped snapshots are stepped over with -i", filtered("@z1,1 @m,2 @z2,3 @z3,4", "@z1,1", false),
         steps({inc("@z1,1", "@z2,3"), inc("@z2,3", "@z3,4")})},
        {"a run never coalesces across a skipped snapshot",
         filtered("@z1,1 @m,2 @z2,3 @z3,4 @z4,5", "@z1,1", true),
         steps({inc("@z1,1", "@z2,3"), compound("@z2,3", "@z3,4", "@z4,5")})},
        {"a skipped snapshot in the middle splits the run",
         filtered("@z1,1 @z2,2 @z3,3 @m,4 @z4,5 @z5,6", "@z1,1", true),
         steps({compound("@z1,1", "@z2,2", "@z3,3"), inc("@z3,3", "@z4,5"), inc("@z4,5", "@z5,6")})},
        {"nothing pending matches: no steps", filtered("@z1,1 @m,2", "@z1,1", true), steps({})},
        {"most_recent seeds with the newest matching snapshot",
         filtered("@z1,1 @z2,2 @m,3", std::nullopt, true), steps({full("@z2,2")})},
        {"all seeds with the oldest matching snapshot and coalesces only adjacent ones",
         filtered("@m0,1 @z1,2 @z2,3 @m,4 @z3,5", std::nullopt, true, InitialReplicationPolicy::all),
         steps({full("@z1,2"), inc("@z1,2", "@z2,3"), inc("@z2,3", "@z3,5")})},
        {"no matching snapshot to seed with is an error", filtered("@m,1", std::nullopt, true),
         error("no sender snapshot matches the snapshot filter, nothing to send for initial replication")},
        {"a common ancestor the filter skips still serves as the source",
         filtered("@m,1 @z1,2", "@m,1", true), steps({inc("@m,1", "@z1,2")})},
    });
}

PlanInput resuming(const std::string& sender, const std::string& receiver,
                   std::optional<std::uint64_t> fromguid, std::uint64_t toguid, bool coalesce = true) {
    auto in = input(sender, receiver, coalesce);
    in.resume_token_raw = "1-token";
    zfs::ResumeToken t;
    t.fromguid = fromguid;
    t.toguid = toguid;
    t.toname = "pool/fs@to";
    in.resume_token = t;
    return in;
}

TEST(Planner, ResumeToken) {
    check({
        {"a full receive is resumed first, then the rest follows",
         resuming("@a,1 @b,2 @c,3", "", std::nullopt, 1, false),
         steps({resumed(std::nullopt, "@a,1", "1-token"), inc("@a,1", "@b,2"), inc("@b,2", "@c,3")})},
        {"an incremental receive is resumed, the rest coalesces",
         resuming("@a,1 @b,2 @c,3 @d,4", "@a,1", 1, 2),
         steps({resumed("@a,1", "@b,2", "1-token"), compound("@b,2", "@c,3", "@d,4")})},
        {"from prefers the snapshot over its bookmark", resuming("#a,1 @a,1 @b,2", "@a,1", 1, 2),
         steps({resumed("@a,1", "@b,2", "1-token")})},
        {"from may be a bookmark when the snapshot is gone", resuming("#a,1 @b,2", "@a,1", 1, 2),
         steps({resumed("#a,1", "@b,2", "1-token")})},
        {"a resumed step is finished even if the filter would skip it",
         with(resuming("@a,1 @m,2 @z,3", "@a,1", 1, 2),
              [](auto& in) { in.snapshot_filter = std::regex("^z"); }),
         steps({resumed("@a,1", "@m,2", "1-token"), inc("@m,2", "@z,3")})},
        {"`to` gone from the sender: clear the token and plan afresh", resuming("@a,1 @c,3", "@a,1", 1, 2),
         Plan{ClearStaleResumeToken{
             "resume token `toguid` = 0x0000000000000002 not found on sender (`toname` = \"pool/fs@to\")"}}},
        {"`to` only left as a bookmark cannot be resumed either", resuming("@a,1 #b,2", "@a,1", 1, 2),
         Plan{ClearStaleResumeToken{
             "resume token `toguid` = 0x0000000000000002 not found on sender (`toname` = \"pool/fs@to\")"}}},
        {"`from` gone from the sender: clear the token", resuming("@b,2 @c,3", "@a,1", 1, 2),
         Plan{ClearStaleResumeToken{"resume token `fromguid` = 0x0000000000000001 not found on sender "
                                    "(`toname` = \"pool/fs@to\")"}}},
        {"a token whose from and to are one version is an error", resuming("@a,1 @b,2", "@a,1", 2, 2),
         error("resume token `fromguid` and `toguid` match the same version on the sender")},
    });
}

TEST(Planner, ThousandsOfPendingSnapshotsBecomeOneStep) {
    PlanInput in;
    in.coalesce = true;
    for (std::uint64_t i = 1; i <= 5000; ++i)
        in.sender_versions.push_back(
            zfs::FilesystemVersion{zfs::VersionType::snapshot, "", "s" + std::to_string(i), i, i});
    in.receiver = ReceiverState::present;
    in.receiver_versions = {in.sender_versions.front()};
    const auto plan = plan_filesystem(in);
    ASSERT_NE(plan.steps(), nullptr) << plan;
    ASSERT_EQ(plan.steps()->size(), 1u);
    const auto& step = plan.steps()->front();
    EXPECT_EQ(step.from, in.sender_versions.front());
    EXPECT_EQ(step.to, in.sender_versions.back());
    EXPECT_EQ(step.intermediates.size(), 4998u);
}

TEST(Planner, PrintsAsSentences) {
    std::ostringstream os;
    os << steps({full("@a,1"), compound("@a,1", "@b,2 @c,3", "@d,4"), resumed("@d,4", "@e,5", "1-t")});
    EXPECT_EQ(os.str(),
              "steps: full send of @a; @a -> @d with -I (also @b, @c); @d -> @e resuming (token 1-t)");
    std::ostringstream many;
    many << steps({compound("@a,1", "@b,2 @c,3 @d,4 @e,5 @f,6", "@g,7"),
                   resumed(std::nullopt, "@h,8", "1-0123456789abcdef0123456789")});
    EXPECT_EQ(many.str(),
              "steps: @a -> @g with -I (also 5 snapshots @b .. @f); full send of @h resuming (token "
              "1-0123456789abcdef012345...)")
        << "long steps are named by their ends, tokens by their start";
    std::ostringstream none;
    none << steps({});
    EXPECT_EQ(none.str(), "no steps");
    std::ostringstream clear;
    clear << Plan{ClearStaleResumeToken{"why"}};
    EXPECT_EQ(clear.str(), "clear the stale resume token and plan afresh: why");
}

TEST(Planner, PolicyNames) {
    for (auto p : {InitialReplicationPolicy::most_recent, InitialReplicationPolicy::all,
                   InitialReplicationPolicy::fail})
        EXPECT_EQ(parse_initial_replication_policy(to_string(p)), p);
    EXPECT_FALSE(parse_initial_replication_policy("newest"));
}

TEST(Step, DeliveredSnapshots) {
    EXPECT_EQ(compound("@a,1", "@b,2 @c,3", "@d,4").delivered(), versions("@b,2 @c,3 @d,4"));
    EXPECT_EQ(full("@a,1").delivered(), versions("@a,1"));
    EXPECT_TRUE(full("@a,1").is_full());
    EXPECT_FALSE(inc("@a,1", "@b,2").is_compound());
}

}  // namespace
}  // namespace zferry::replication
