// `zferry test filesystems|placeholder`, the pure part: which job has a filter, and zrepl's
// output lines for given filters, names and placeholder states.
#include "tools/zferry/troubleshooting.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace zferry;
using zferry::cli::filter_report;
using zferry::cli::job_filesystems_filter;
using zferry::cli::placeholder_report;
using zferry::cli::PlaceholderRow;

replication::FilesystemFilter filter(std::string_view spec) {
    auto f = replication::FilesystemFilter::parse_spec(spec);
    EXPECT_TRUE(f) << spec;
    return f ? *f : replication::FilesystemFilter{};
}

config::Config sample_config() {
    config::Config c;
    auto add = [&](std::string name, auto spec) {
        config::Job j;
        j.name = std::move(name);
        j.spec = std::move(spec);
        c.jobs.push_back(std::move(j));
    };
    config::PushJob push;
    push.filesystems = filter("tank<:ok,tank/tmp<:!");
    add("push1", push);
    config::SourceJob source;
    source.filesystems = filter("tank/a:ok");
    add("source1", source);
    config::SnapJob snap;
    snap.filesystems = filter("tank/b<:ok");
    add("snap1", snap);
    config::SinkJob sink;
    sink.root_fs = "backup/sink";
    add("sink1", sink);
    config::PullJob pull;
    pull.root_fs = "backup/pulled";
    add("pull1", pull);
    return c;
}

TEST(JobFilesystemsFilter, PushSourceAndSnapJobsHaveTheirOwnFilter) {
    const auto c = sample_config();
    auto p = job_filesystems_filter(c, "push1", "zrepl.yml");
    ASSERT_TRUE(p);
    EXPECT_EQ(**p, std::get<config::PushJob>(c.jobs[0].spec).filesystems);
    auto s = job_filesystems_filter(c, "source1", "zrepl.yml");
    ASSERT_TRUE(s);
    EXPECT_EQ(*s, &std::get<config::SourceJob>(c.jobs[1].spec).filesystems);
    auto n = job_filesystems_filter(c, "snap1", "zrepl.yml");
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, &std::get<config::SnapJob>(c.jobs[2].spec).filesystems);
}

struct RefusedCase {
    const char* job;
    Errc code;
    std::string message;
};

TEST(JobFilesystemsFilter, SinkPullAndUnknownJobsAreRefusedWithTheReason) {
    const auto c = sample_config();
    const std::vector<RefusedCase> cases = {
        {"sink1", Errc::invalid_argument,
         "job \"sink1\" is a sink job and has no filesystems filter: it receives what its clients push, "
         "below root_fs \"backup/sink\"; test the filter of the push job that sends to it"},
        {"pull1", Errc::invalid_argument,
         "job \"pull1\" is a pull job and has no filesystems filter: the source job it pulls from decides "
         "what it gets (received below root_fs \"backup/pulled\"); test that source job on the source host"},
        {"push2", Errc::not_found,
         "job \"push2\" is not defined in /etc/zrepl/zrepl.yml (jobs: push1, source1, snap1, sink1, pull1)"},
    };
    for (const auto& t : cases) {
        auto r = job_filesystems_filter(c, t.job, "/etc/zrepl/zrepl.yml");
        ASSERT_FALSE(r) << t.job;
        EXPECT_EQ(r.error().code(), make_error_code(t.code)) << t.job;
        EXPECT_EQ(r.error().context(), t.message);
    }
    auto none = job_filesystems_filter(config::Config{}, "x", "empty.yml");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().context(), "job \"x\" is not defined in empty.yml (it defines no jobs)");
}

struct ReportCase {
    const char* spec;
    std::vector<std::string> datasets;
    std::string text;
    bool had_error;
};

TEST(FilterReport, PrintsZreplsAcceptRejectAndErrorLines) {
    const std::vector<ReportCase> cases = {
        {"tank<:ok,tank/tmp<:!",
         {"tank", "tank/a", "tank/tmp", "tank/tmp/x", "tankx", "other"},
         "ACCEPT\ttank\t\nACCEPT\ttank/a\t\nREJECT\ttank/tmp\t\nREJECT\ttank/tmp/x\t\n"
         "REJECT\ttankx\t\nREJECT\tother\t\n",
         false},
        // An exact entry beats any subtree entry.
        {"tank<:!,tank/keep:ok",
         {"tank/keep", "tank/keep/child"},
         "ACCEPT\ttank/keep\t\nREJECT\ttank/keep/child\t\n",
         false},
        {"<:ok", {"a", "b/c"}, "ACCEPT\ta\t\nACCEPT\tb/c\t\n", false},
        {"tank<:ok",
         {"tank/a@snap", "tank/"},
         "ERROR\ttank/a@snap\tdataset path 'tank/a@snap' contains forbidden character '@'\n"
         "ERROR\ttank/\tdataset path 'tank/' must not end with '/'\n",
         true},
        {"tank<:ok", {}, "", false},
    };
    for (const auto& t : cases) {
        auto r = filter_report(filter(t.spec), t.datasets);
        EXPECT_EQ(r.text, t.text) << t.spec;
        EXPECT_EQ(r.had_error, t.had_error) << t.spec;
    }
}

TEST(PlaceholderReport, PrintsZreplsTableWithTheLocalValue) {
    const std::vector<PlaceholderRow> rows = {
        {"pool", false, ""},
        {"pool/sink/client", true, "on"},
        {"pool/sink/client/a", false, "off"},
        {"pool/legacy", true, "0123abcd"},
    };
    EXPECT_EQ(placeholder_report(rows),
              "IS_PLACEHOLDER\tDATASET\tzrepl:placeholder\n"
              "no\tpool\t\n"
              "yes\tpool/sink/client\ton\n"
              "no\tpool/sink/client/a\toff\n"
              "yes\tpool/legacy\t0123abcd\n");
    EXPECT_EQ(placeholder_report({}), "IS_PLACEHOLDER\tDATASET\tzrepl:placeholder\n");
}

}  // namespace
