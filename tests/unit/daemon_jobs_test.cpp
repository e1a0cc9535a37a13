// The daemon's pure parts: when an active job wakes up (WakeupSchedule), what the control
// socket answers (handle_control_request), as tables of events and requests, and zferry's own
// connection limits from the configuration on the remote client's and the server's options.
#include "daemon/config/config_loader.hpp"
#include "daemon/control/control_api.hpp"
#include "daemon/jobs/job_settings.hpp"
#include "daemon/jobs/test_clock.hpp"
#include "daemon/jobs/wakeup_schedule.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

namespace zferry::daemon {
namespace {

using namespace std::chrono_literals;
using Kind = WakeupSchedule::Decision::Kind;
const auto t0 = WakeupSchedule::Clock::time_point{} + 1000h;

// ---- connect.zferry and serve.zferry ------------------------------------------------------------

config::Config parsed(const std::string& yaml) {
    auto r = config::parse_config(yaml, "zferry.yml", config::LoadEnvironment::file_system());
    if (!r) throw std::runtime_error(r.error().message());
    return std::move(*r);
}

TEST(ZferryLimits, ConnectKeysReachTheRemoteClientsDataconnOptions) {
    const auto cfg = parsed(
        "jobs:\n- name: p\n  type: push\n"
        "  connect: {type: tcp, address: 'h:1', zferry: {dataconn_idle_max: 9, dataconn_idle_timeout: 2s}}\n"
        "  filesystems: {\"<\": true}\n  snapshotting: {type: manual}\n"
        "  pruning: {keep_sender: [], keep_receiver: []}\n");
    replication::remote::RemoteOptions o;
    apply_connect_limits(config::zferry_limits(*cfg.jobs[0].connect()), o);
    EXPECT_EQ(o.data.reuse.client_max_idle, 9u);
    EXPECT_EQ(o.data.reuse.client_idle_timeout, std::chrono::milliseconds(2000));

    replication::remote::RemoteOptions defaults;
    apply_connect_limits(config::ZferryConnectLimits{}, defaults);
    replication::remote::RemoteOptions untouched;
    EXPECT_EQ(defaults.data.reuse.client_max_idle, untouched.data.reuse.client_max_idle)
        << "the configuration's default is the client's";
    EXPECT_EQ(defaults.data.reuse.client_idle_timeout, untouched.data.reuse.client_idle_timeout);
}

TEST(ZferryLimits, ServeKeysReachTheEndpointServersOptions) {
    const auto cfg = parsed(
        "jobs:\n- name: s\n  type: sink\n  root_fs: pool/b\n"
        "  serve:\n    type: tcp\n    listen: ':1'\n    clients: {'127.0.0.1': a}\n"
        "    zferry: {dataconn_next_request_timeout: 30s, control_connections_per_identity: 3,\n"
        "             control_connections_max: 7}\n");
    replication::remote::EndpointServerOptions o;
    apply_serve_limits(config::zferry_limits(*cfg.jobs[0].serve()), o);
    EXPECT_EQ(o.data.limits.next_request_timeout, std::chrono::milliseconds(30000));
    EXPECT_EQ(o.control_limits.max_per_identity, 3u);
    EXPECT_EQ(o.control_limits.max_connections, 7u);

    replication::remote::EndpointServerOptions defaults;
    apply_serve_limits(config::ZferryServeLimits{}, defaults);
    replication::remote::EndpointServerOptions untouched;
    EXPECT_EQ(defaults.data.limits.next_request_timeout, untouched.data.limits.next_request_timeout);
    EXPECT_EQ(defaults.control_limits.max_per_identity, untouched.control_limits.max_per_identity);
    EXPECT_EQ(defaults.control_limits.max_connections, untouched.control_limits.max_connections);
}

// ---- the test clock (ZFERRY_TEST_CLOCK_FILE) -----------------------------------------------------

TEST(TestClock, OffsetFileFormat) {
    struct Case {
        const char* text;
        std::optional<long long> seconds;  // none: refused
    };
    const Case cases[] = {
        {"86400\n", 86400},
        {"  -3600  ", -3600},
        {"+60", 60},
        {"0", 0},
        {"", std::nullopt},
        {"1d", std::nullopt},
        {"86400s", std::nullopt},
        {"12 34", std::nullopt},
        {"+", std::nullopt},
        {"x", std::nullopt},
    };
    for (const auto& c : cases) {
        auto r = parse_clock_offset(c.text);
        if (c.seconds) {
            ASSERT_TRUE(r) << "'" << c.text << "': " << r.error().message();
            EXPECT_EQ(r->count(), *c.seconds) << "'" << c.text << "'";
        } else {
            ASSERT_FALSE(r) << "'" << c.text << "' was taken as " << r->count() << " s";
            EXPECT_NE(r.error().message().find("integer number of seconds"), std::string::npos)
                << r.error().message();
        }
    }
}

// The clock reads the file at every look: rewriting it jumps the clock; a file that goes bad
// keeps the last good offset; a file that is not usable at the start is refused.
TEST(TestClock, ReadsTheOffsetAtEveryLook) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("zferry-test-clock-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path file = dir / "clock";
    auto write = [&](const char* text) { std::ofstream(file) << text; };
    auto offset_of = [](const snapshotting::WallClock& clock) {
        const auto before = std::chrono::system_clock::now();
        const auto t = clock();
        const auto after = std::chrono::system_clock::now();
        // t minus the middle of the two readings, to the second (the readings are microseconds
        // apart, so the rounding cannot be off by one).
        return std::chrono::round<std::chrono::seconds>(t - before + (after - before) / 2).count();
    };
    EXPECT_FALSE(make_test_clock((dir / "missing").string(), Logger())) << "a missing file is refused";
    write("tomorrow");
    auto bad = make_test_clock(file.string(), Logger());
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find(file.string()), std::string::npos) << bad.error().message();
    write("0\n");
    auto clock = make_test_clock(file.string(), Logger());
    ASSERT_TRUE(clock) << clock.error().message();
    EXPECT_EQ(offset_of(*clock), 0);
    write("86400\n");
    EXPECT_EQ(offset_of(*clock), 86400) << "rewriting the file jumps the clock";
    write("garbage");
    EXPECT_EQ(offset_of(*clock), 86400) << "a bad file keeps the last good offset";
    fs::remove(file);
    EXPECT_EQ(offset_of(*clock), 86400) << "so does a missing one";
    write("-60");
    EXPECT_EQ(offset_of(*clock), -60);
    fs::remove_all(dir);
}

TEST(WakeupSchedule, PushWaitsForASnapshotRoundOrTheSignal) {
    WakeupSchedule s(WakeupMode::snapshots, 0s, t0);
    EXPECT_EQ(s.next(t0 + 10h).kind, Kind::wait_for_wakeup) << "no round yet: nothing to do";
    s.on_wakeup();
    EXPECT_EQ(s.next(t0).kind, Kind::run);
    s.on_started();
    s.on_wakeup();  // a round during the invocation queues exactly one more
    s.on_wakeup();
    EXPECT_FALSE(s.on_finished(t0 + 1h));
    EXPECT_EQ(s.next(t0 + 1h).kind, Kind::run);
    s.on_started();
    EXPECT_FALSE(s.on_finished(t0 + 2h));
    EXPECT_EQ(s.next(t0 + 2h).kind, Kind::wait_for_wakeup);
}

TEST(WakeupSchedule, ManualRunsOnlyOnTheSignal) {
    WakeupSchedule s(WakeupMode::manual, 10min, t0);
    EXPECT_EQ(s.next(t0 + 100h).kind, Kind::wait_for_wakeup);
    s.on_wakeup();
    EXPECT_EQ(s.next(t0 + 100h).kind, Kind::run);
}

TEST(WakeupSchedule, PullSleepsAnIntervalThenRuns) {
    WakeupSchedule s(WakeupMode::interval, 10min, t0);
    auto d = s.next(t0);
    EXPECT_EQ(d.kind, Kind::sleep_until);
    EXPECT_EQ(d.until, t0 + 10min);
    EXPECT_EQ(s.next(t0 + 10min).kind, Kind::run);
    s.on_started();
    EXPECT_FALSE(s.on_finished(t0 + 12min)) << "finished within its interval";
    d = s.next(t0 + 12min);
    EXPECT_EQ(d.kind, Kind::sleep_until);
    EXPECT_EQ(d.until, t0 + 20min);
}

TEST(WakeupSchedule, APullLongerThanItsIntervalWarnsAndQueuesOneWakeup) {
    WakeupSchedule s(WakeupMode::interval, 10min, t0);
    ASSERT_EQ(s.next(t0 + 10min).kind, Kind::run);
    s.on_started();
    EXPECT_TRUE(s.on_finished(t0 + 45min)) << "three ticks passed while it ran";
    EXPECT_EQ(s.next(t0 + 45min).kind, Kind::run) << "one queued wakeup";
    s.on_started();
    EXPECT_FALSE(s.on_finished(t0 + 46min));
    auto d = s.next(t0 + 46min);
    EXPECT_EQ(d.kind, Kind::sleep_until) << "not one run per missed tick";
    EXPECT_EQ(d.until, t0 + 50min);
}

TEST(WakeupSchedule, SignalDuringASleepRunsAtOnce) {
    WakeupSchedule s(WakeupMode::interval, 10min, t0);
    EXPECT_EQ(s.next(t0 + 1min).kind, Kind::sleep_until);
    s.on_wakeup();
    EXPECT_EQ(s.next(t0 + 1min).kind, Kind::run);
}

struct ControlCase {
    const char* what;
    ControlRequest request;
    unsigned status;
    const char* body_contains;
};

TEST(ControlApi, Routes) {
    std::string signalled;
    ControlHandlers h;
    h.status = [] {
        boost::json::object o;
        o["Jobs"] = boost::json::object();
        return boost::json::value(o);
    };
    h.signal = [&](const std::string& job, const std::string& op) -> Result<void> {
        if (job != "push1") return Error(Errc::not_found, "no job named \"" + job + "\"");
        signalled = job + ":" + op;
        return {};
    };
    h.version = "1.2.3";
    const ControlCase cases[] = {
        {"status by POST", {"POST", "/status", "{}"}, 200, "\"Jobs\""},
        {"status by GET", {"GET", "/status", ""}, 200, "\"Jobs\""},
        {"version", {"POST", "/version", "{}"}, 200, "\"Version\":\"1.2.3\""},
        {"wakeup", {"POST", "/signal", R"({"Name":"push1","Op":"wakeup"})"}, 200, "{}"},
        {"unknown job", {"POST", "/signal", R"({"Name":"x","Op":"wakeup"})"}, 404, "no job named \"x\""},
        {"unknown op", {"POST", "/signal", R"({"Name":"push1","Op":"explode"})"}, 400, "unknown operation"},
        {"not JSON", {"POST", "/signal", "wakeup"}, 400, "must be a JSON object"},
        {"Name not a string", {"POST", "/signal", R"({"Name":1,"Op":"reset"})"}, 400, "must be strings"},
        {"signal by GET", {"GET", "/signal", ""}, 405, "takes POST"},
        {"unknown endpoint", {"GET", "/debug/pprof", ""}, 404, "unknown endpoint"},
        {"other method", {"DELETE", "/status", ""}, 405, "not allowed"},
    };
    for (const auto& c : cases) {
        auto r = handle_control_request(c.request, h);
        EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
        EXPECT_NE(r.body.find(c.body_contains), std::string::npos) << c.what << ": " << r.body;
    }
    EXPECT_EQ(signalled, "push1:wakeup") << "only the valid signal reached the job";
}

}  // namespace
}  // namespace zferry::daemon
