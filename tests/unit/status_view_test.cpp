// The live `zferry status` screen from fixed /status samples: bars, percentages, rates and
// ETAs as tables; the filesystem, step and errors (red, with their time) on the screen; narrow
// terminals cut with "…"; too many lines cut with "… N more line(s)"; the redraw sequence.
#include "tools/zferry/status_view.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

namespace zferry::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// 2026-11-30T19:00:00Z
const WallClock::time_point kNow = WallClock::time_point(std::chrono::seconds(1'796'065'200));

// Columns of a line: code points (the view's "…" is one).
std::size_t columns(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// One push job replicating two filesystems: p/a half way through its only step, p/b failed.
json::value sample(std::uint64_t replicated) {
    return json::parse(R"({"Jobs":{
      "push1":{"type":"push","push":{"State":"replicating","Invocations":3,
        "Snapshotting":{"state":"done","last_run_started_unix":1796065100,"next_run_unix":1796068700,
          "error":"","filesystems":[{"filesystem":"p/a","state":"done","error":""},
                                    {"filesystem":"p/b","state":"error","error":"out of space"}]},
        "Replication":{"StartAt":"2026-11-30T18:59:50.25Z","FinishAt":null,"WaitReconnectError":null,
          "Attempts":[{"State":"fan-out-filesystems","StartAt":"2026-11-30T18:59:50Z","FinishAt":null,
            "PlanError":null,"Filesystems":[
            {"Info":{"Name":"p/a"},"State":"stepping","PlanError":null,"StepError":null,"CurrentStep":0,
             "Steps":[{"Info":{"From":"@s1","To":"@s2","BytesExpected":10485760,
                               "BytesReplicated":)" +
                       std::to_string(replicated) + R"(}}]},
            {"Info":{"Name":"p/b"},"State":"step-error","PlanError":null,
             "StepError":{"Err":"zfs recv failed: out of space","Time":"2026-11-30T18:59:55.5Z"},
             "CurrentStep":0,"Steps":[{"Info":{"From":"","To":"@s2","BytesExpected":0,
                                               "BytesReplicated":0}}]}]}]},
        "PruningSender":null,"PruningReceiver":null}},
      "sink1":{"type":"sink","sink":{"State":"serving","Snapper":null}}}})");
}

TEST(StatusView, ProgressBarFillsInProportionAndSaysWhenTheSizeIsUnknown) {
    struct Row {
        std::uint64_t done, expected;
        int width;
        const char* bar;
        const char* pct;
    };
    const Row rows[] = {
        {0, 100, 12, "[..........]", "  0%"},   {50, 100, 12, "[#####.....]", " 50%"},
        {99, 100, 12, "[#########.]", " 99%"},  {100, 100, 12, "[##########]", "100%"},
        {250, 100, 12, "[##########]", "100%"}, {1, 3, 5, "[#..]", " 33%"},
        {5, 0, 8, "[??????]", "  ?%"},          {0, 0, 4, "[??]", "  ?%"},
    };
    for (const auto& r : rows) {
        EXPECT_EQ(progress_bar(r.done, r.expected, r.width), r.bar) << r.done << "/" << r.expected;
        EXPECT_EQ(percent(r.done, r.expected), r.pct) << r.done << "/" << r.expected;
    }
}

TEST(StatusView, RateAndEtaText) {
    struct Row {
        std::uint64_t done, expected;
        double rate;
        const char* rate_text;
        const char* eta;
    };
    const Row rows[] = {
        {0, 10 << 20, 1 << 20, "1.0 MiB/s", "ETA 10s"},
        {5 << 20, 10 << 20, 1 << 20, "1.0 MiB/s", "ETA 5s"},
        {0, 100 << 20, 1 << 20, "1.0 MiB/s", "ETA 1m40s"},
        {0, 8ull << 30, 1 << 20, "1.0 MiB/s", "ETA 2h16m"},
        {0, 1ull << 40, 1024, "1.0 KiB/s", "ETA >99h"},
        {1, 2, 0.4, "0 B/s", "ETA 3s"},
        {0, 10, 0, "0 B/s", ""},             // nothing moves: no ETA
        {0, 0, 1 << 20, "1.0 MiB/s", ""},    // size unknown
        {10, 10, 1 << 20, "1.0 MiB/s", ""},  // nothing left
        {0, 10, -1, "- B/s", ""},            // no previous sample
    };
    for (const auto& r : rows) {
        EXPECT_EQ(format_rate(r.rate), r.rate_text) << r.rate;
        EXPECT_EQ(format_eta(r.done, r.expected, r.rate), r.eta)
            << r.done << "/" << r.expected << " at " << r.rate;
    }
}

TEST(StatusView, FitCutsByColumnsNotBytes) {
    EXPECT_EQ(fit("abcdef", 6), "abcdef");
    EXPECT_EQ(fit("abcdefg", 6), "abcde…");
    EXPECT_EQ(fit("äöüäöüä", 4), "äöü…");
    EXPECT_EQ(fit("abc", 1), "…");
    EXPECT_EQ(fit("abc", 0), "");
}

TEST(StatusView, FirstSampleShowsJobFilesystemBarAndStepButNoRate) {
    const auto s = render_live(sample(5 << 20), nullptr, kNow, ViewOptions{});
    const std::string screen = joined(s.lines);
    EXPECT_EQ(s.lines[0], "zferry status  2026-11-30 19:00:00Z  (q: quit)");
    EXPECT_EQ(s.lines[1], "Job push1 (push): replicating, 3 invocation(s)");
    EXPECT_NE(screen.find("  Replication: attempt 1 fan-out-filesystems, started 18:59:50Z\n"),
              std::string::npos)
        << screen;
    EXPECT_NE(screen.find("    p/a                        stepping   step 1/1  @s1 -> @s2\n"),
              std::string::npos)
        << screen;
    EXPECT_NE(screen.find(" 50%  5.0 MiB / 10.0 MiB  - B/s\n"), std::string::npos) << screen;
    EXPECT_NE(screen.find("[####"), std::string::npos) << screen;
    EXPECT_EQ(screen.find("ETA"), std::string::npos) << "no rate yet, no ETA\n" << screen;
    EXPECT_NE(screen.find("Job sink1 (sink): serving\n"), std::string::npos) << screen;
    for (const auto& l : s.lines) EXPECT_LE(columns(l), 80u) << l;
    EXPECT_EQ(s.sample.at, kNow);
    EXPECT_EQ(s.sample.bytes.at(std::string("push1") + '\0' + "p/a"), 5u << 20);
}

TEST(StatusView, RateFromSuccessiveSamplesAndEtaFromBytesLeft) {
    const auto first = render_live(sample(2 << 20), nullptr, kNow, ViewOptions{});
    const auto second = render_live(sample(4 << 20), &first.sample, kNow + 2s, ViewOptions{});
    const std::string screen = joined(second.lines);
    // 2 MiB in 2 s: 1 MiB/s, 6 MiB left: 6 s.
    EXPECT_NE(screen.find(" 40%  4.0 MiB / 10.0 MiB  1.0 MiB/s  ETA 6s\n"), std::string::npos) << screen;
    // A new run (fewer bytes than before) has no rate until its next sample.
    const auto restarted = render_live(sample(1 << 20), &second.sample, kNow + 3s, ViewOptions{});
    EXPECT_NE(joined(restarted.lines).find("  1.0 MiB / 10.0 MiB  - B/s\n"), std::string::npos)
        << joined(restarted.lines);
}

TEST(StatusView, BarFitsEightyColumns) {
    const auto first = render_live(sample(0), nullptr, kNow, ViewOptions{});
    const auto s = render_live(sample(123456789 % (10 << 20)), &first.sample, kNow + 1s, ViewOptions{});
    for (const auto& l : s.lines) {
        EXPECT_LE(columns(l), 80u) << l;
        if (l.find("ETA") != std::string::npos) {
            EXPECT_EQ(l.back(), 's') << "nothing cut from the bar line: " << l;
        }
    }
}

TEST(StatusView, ErrorsAreRedWithTheirTimeOnlyWithColour) {
    ViewOptions colour;
    colour.colour = true;
    const auto plain = joined(render_live(sample(0), nullptr, kNow, ViewOptions{}).lines);
    const auto red = joined(render_live(sample(0), nullptr, kNow, colour).lines);
    EXPECT_NE(plain.find("      ERROR 18:59:55Z: zfs recv failed: out of space\n"), std::string::npos)
        << plain;
    EXPECT_NE(red.find("\x1b[31m      ERROR 18:59:55Z: zfs recv failed: out of space\x1b[0m\n"),
              std::string::npos)
        << red;
    EXPECT_NE(plain.find("    ERROR 18:58:20Z p/b: out of space\n"), std::string::npos)
        << "a snapshotting error with its round's time\n"
        << plain;
    EXPECT_NE(red.find("\x1b[1mJob push1 (push)"), std::string::npos) << red;
    // On another day than the header's, the date too.
    const auto tomorrow = joined(render_live(sample(0), nullptr, kNow + 24h, ViewOptions{}).lines);
    EXPECT_NE(tomorrow.find("      ERROR 2026-11-30T18:59:55Z: zfs recv failed: out of space\n"),
              std::string::npos)
        << tomorrow;
    EXPECT_EQ(plain.find('\x1b'), std::string::npos) << "no escape without colour";
    // p/b's size is unknown: its bar says so.
    EXPECT_NE(plain.find("[???"), std::string::npos) << plain;
}

TEST(StatusView, NarrowTerminalCutsEveryLine) {
    for (int width : {20, 40, 60}) {
        ViewOptions o;
        o.width = width;
        const auto s = render_live(sample(5 << 20), nullptr, kNow, o);
        for (const auto& l : s.lines)
            EXPECT_LE(columns(l), static_cast<std::size_t>(width)) << width << ": " << l;
        EXPECT_NE(joined(s.lines).find("…"), std::string::npos) << width;
    }
    ViewOptions o;
    o.width = 40;
    const auto s = render_live(sample(5 << 20), nullptr, kNow, o);
    EXPECT_EQ(s.lines[1], "Job push1 (push): replicating, 3 invoca…");
}

TEST(StatusView, LinesBeyondTheHeightAreCountedNotShown) {
    ViewOptions o;
    o.height = 6;
    const auto all = render_live(sample(0), nullptr, kNow, ViewOptions{});
    const auto s = render_live(sample(0), nullptr, kNow, o);
    ASSERT_EQ(s.lines.size(), 6u);
    EXPECT_EQ(s.lines[5], "… " + std::to_string(all.lines.size() - 5) + " more line(s)");
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(s.lines[i], all.lines[i]);
}

TEST(StatusView, JobFilterAndUnknownJob) {
    ViewOptions o;
    o.only_job = "sink1";
    const auto s = render_live(sample(0), nullptr, kNow, o);
    ASSERT_EQ(s.lines.size(), 2u);
    EXPECT_EQ(s.lines[1], "Job sink1 (sink): serving");
    o.only_job = "nope";
    EXPECT_EQ(render_live(sample(0), nullptr, kNow, o).lines[1], "no job named nope");
    EXPECT_EQ(render_live(json::parse("{}"), nullptr, kNow, ViewOptions{}).lines[1], "no jobs");
}

TEST(StatusView, UnreachableDaemonSaysWhy) {
    ViewOptions o;
    o.colour = true;
    const auto lines = render_unreachable("connect /run/zrepl/control: No such file or directory", kNow, o);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[1],
              "\x1b[31mdaemon not reachable: connect /run/zrepl/control: No such file or directory\x1b[0m");
    EXPECT_EQ(lines[2], "retrying every second");
}

TEST(StatusView, WrapBreaksAtSpacesAndIndentsWhatFollows) {
    using V = std::vector<std::string>;
    EXPECT_EQ(wrap_text("short", 10), V{"short"});
    EXPECT_EQ(wrap_text("aaaa bbbb cccc", 9), (V{"aaaa bbbb", "cccc"})) << "too narrow to indent";
    EXPECT_EQ(wrap_text("aaaa bbbb cccc", 10), (V{"aaaa bbbb", "  cccc"}));
    EXPECT_EQ(wrap_text("abcdefghijklmnop", 10), (V{"abcdefghij", "  klmnop"}))
        << "no space: cut in the word";
    EXPECT_EQ(wrap_text("  ERROR 12:00:00Z: the stream ended early", 24),
              (V{"  ERROR 12:00:00Z: the", "    stream ended early"}));
    EXPECT_EQ(wrap_text("ääää öööö", 6), (V{"ääää", "öööö"})) << "columns, not bytes";
}

TEST(StatusView, ErrorsWrapInsteadOfBeingCut) {
    const std::string why =
        "cannot reach the daemon's control socket /run/zrepl/control (is `zferry daemon` running with this "
        "configuration?): No such file or directory (permanent)";
    ViewOptions o;
    o.width = 50;
    const auto lines = render_unreachable(why, kNow, o);
    std::string text;
    for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
        EXPECT_LE(columns(lines[i]), 50u) << lines[i];
        EXPECT_EQ(lines[i].find("…"), std::string::npos) << lines[i];
        text += (i > 1 ? " " : "") + lines[i].substr(lines[i].find_first_not_of(' '));
    }
    EXPECT_EQ(text, "daemon not reachable: " + why);
    EXPECT_EQ(lines.back(), "retrying every second");
}

TEST(StatusView, FrameRedrawsInPlaceWithoutScrolling) {
    EXPECT_EQ(compose_frame({"a", "b"}), "\x1b[Ha\x1b[K\r\nb\x1b[K\x1b[J");
    EXPECT_EQ(compose_frame({}), "\x1b[H\x1b[J");
}

}  // namespace
}  // namespace zferry::cli
