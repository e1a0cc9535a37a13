// The daemon's pure parts: when an active job wakes up (WakeupSchedule) and what the control
// socket answers (handle_control_request), as tables of events and requests.
#include "daemon/control/control_api.hpp"
#include "daemon/jobs/wakeup_schedule.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace zferry::daemon {
namespace {

using namespace std::chrono_literals;
using Kind = WakeupSchedule::Decision::Kind;
const auto t0 = WakeupSchedule::Clock::time_point{} + 1000h;

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
