// Keepalive and ping enforcement with `now` injected: grpc-go's algorithm, zrepl's values.
#include "transport/grpc/keepalive.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace zferry::transport::grpc {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint{} + 1000h;
TimePoint at(Duration d) { return t0 + d; }

std::string name(KeepalivePinger::Action a) {
    switch (a) {
        case KeepalivePinger::Action::none: return "none";
        case KeepalivePinger::Action::send_ping: return "send_ping";
        case KeepalivePinger::Action::peer_dead: return "peer_dead";
    }
    return "?";
}
std::string name(PingEnforcer::Verdict v) {
    switch (v) {
        case PingEnforcer::Verdict::ok: return "ok";
        case PingEnforcer::Verdict::strike: return "strike";
        case PingEnforcer::Verdict::too_many_pings: return "too_many_pings";
    }
    return "?";
}

TEST(Keepalive, ZreplValuesAreTheDefaults) {
    KeepaliveParams p;
    EXPECT_EQ(p.time, 5s);
    EXPECT_EQ(p.timeout, 10s);
    EXPECT_TRUE(p.permit_without_stream);
    EnforcementPolicy e;
    EXPECT_EQ(e.min_time, 2500ms);
    EXPECT_TRUE(e.permit_without_stream);
    EXPECT_EQ(e.max_strikes, 2);
}

// Timer events on a silent connection: ping at 5 s, then sleep min(time, timeout left):
// 5 s, 5 s, and at 15 s the outstanding ping's 10 s are used up.
TEST(KeepalivePinger, SilentPeerIsDeadTenSecondsAfterThePing) {
    KeepalivePinger k(KeepaliveParams{}, t0);
    struct Step {
        Duration t;
        KeepalivePinger::Action want;
        std::optional<Duration> next;
    };
    const std::vector<Step> steps = {
        {4s, KeepalivePinger::Action::none, 5s},  // early call: nothing, timer unchanged
        {5s, KeepalivePinger::Action::send_ping, 10s},
        {10s, KeepalivePinger::Action::none, 15s},
        {15s, KeepalivePinger::Action::peer_dead, std::nullopt},
    };
    for (const auto& s : steps) {
        const auto got = k.on_timer(at(s.t), 0);
        EXPECT_EQ(name(got), name(s.want)) << "at " << s.t.count() / 1000000 << " ms";
        if (s.next) {
            ASSERT_TRUE(k.next_fire());
            EXPECT_EQ(*k.next_fire(), at(*s.next)) << "after " << s.t.count() / 1000000 << " ms";
        } else {
            EXPECT_FALSE(k.next_fire());
        }
    }
}

TEST(KeepalivePinger, AnyReadIsLivenessAndRearmsFromTheLastRead) {
    KeepalivePinger k(KeepaliveParams{}, t0);
    k.on_read(at(3s));
    EXPECT_EQ(name(k.on_timer(at(5s), 0)), "none") << "a read since the start: no ping";
    EXPECT_EQ(*k.next_fire(), at(8s)) << "re-armed at last read + 5 s";
    EXPECT_EQ(name(k.on_timer(at(8s), 0)), "send_ping");
    EXPECT_TRUE(k.ping_outstanding());
    k.on_read(at(8s) + 40ms);  // the ACK (or any other frame)
    EXPECT_EQ(name(k.on_timer(at(13s), 0)), "none") << "the read cleared the outstanding ping";
    EXPECT_FALSE(k.ping_outstanding());
    EXPECT_EQ(*k.next_fire(), at(13s) + 40ms);
}

TEST(KeepalivePinger, WithoutPermitItSleepsUntilACallStarts) {
    KeepaliveParams p;
    p.time = 10s;
    p.permit_without_stream = false;
    KeepalivePinger k(p, t0);
    EXPECT_EQ(name(k.on_timer(at(10s), 0)), "none");
    EXPECT_FALSE(k.next_fire()) << "dormant with no calls";
    k.on_stream_started(at(30s));
    ASSERT_TRUE(k.next_fire());
    EXPECT_EQ(*k.next_fire(), at(30s));
    EXPECT_EQ(name(k.on_timer(at(30s), 1)), "send_ping") << "woken by a call, it pings at once";
}

TEST(KeepalivePinger, TooManyPingsDoublesTheInterval) {
    KeepaliveParams p;
    p.time = 10s;
    auto once = throttled_after_too_many_pings(p);
    auto twice = throttled_after_too_many_pings(once);
    EXPECT_EQ(once.time, 20s);
    EXPECT_EQ(twice.time, 40s);
    EXPECT_EQ(twice.timeout, p.timeout);
}

struct PingCase {
    Duration t;
    std::size_t streams;
    PingEnforcer::Verdict want;
    bool server_wrote_before = false;
};

void run_pings(PingEnforcer& e, const std::vector<PingCase>& cases, const char* what) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        if (c.server_wrote_before) e.on_headers_or_data_sent();
        EXPECT_EQ(name(e.on_ping(at(c.t), c.streams)), name(c.want))
            << what << ": ping #" << i + 1 << " at " << c.t.count() / 1000000 << " ms";
    }
}

TEST(PingEnforcer, PingsEverySecondGetGoawayOnTheFourth) {
    PingEnforcer e{EnforcementPolicy{}};
    run_pings(e,
              {{1s, 0, PingEnforcer::Verdict::ok},  // the first never strikes
               {2s, 0, PingEnforcer::Verdict::strike},
               {3s, 0, PingEnforcer::Verdict::strike},
               {4s, 0, PingEnforcer::Verdict::too_many_pings}},
              "1 s cadence");
}

TEST(PingEnforcer, ZreplClientCadenceNeverStrikes) {
    PingEnforcer e{EnforcementPolicy{}};
    std::vector<PingCase> cases;
    for (int i = 1; i <= 20; ++i) cases.push_back({i * 5s, 0, PingEnforcer::Verdict::ok});
    run_pings(e, cases, "5 s cadence");
    EXPECT_EQ(e.strikes(), 0);
    PingEnforcer exact{EnforcementPolicy{}};
    run_pings(exact, {{0s, 0, PingEnforcer::Verdict::ok}, {2500ms, 0, PingEnforcer::Verdict::ok}},
              "exactly MinTime apart");
}

TEST(PingEnforcer, ServerWritesResetStrikesWithoutJudgingThatPing) {
    PingEnforcer e{EnforcementPolicy{}};
    run_pings(e,
              {{1s, 1, PingEnforcer::Verdict::ok},
               {2s, 1, PingEnforcer::Verdict::strike},
               {3s, 1, PingEnforcer::Verdict::strike},
               {3100ms, 1, PingEnforcer::Verdict::ok, true},  // reset by a HEADERS/DATA write
               {3200ms, 1, PingEnforcer::Verdict::strike},
               {3300ms, 1, PingEnforcer::Verdict::strike},
               {3400ms, 1, PingEnforcer::Verdict::too_many_pings}},
              "reset");
}

TEST(PingEnforcer, StrikesNeverDecayWithTime) {
    PingEnforcer e{EnforcementPolicy{}};
    run_pings(e,
              {{0s, 0, PingEnforcer::Verdict::ok},
               {1s, 0, PingEnforcer::Verdict::strike},
               {1h, 0, PingEnforcer::Verdict::ok},
               {1h + 1s, 0, PingEnforcer::Verdict::strike},
               {1h + 2s, 0, PingEnforcer::Verdict::too_many_pings}},
              "decay");
}

// grpc-go's defaults (zrepl <= 0.2's server, issue #181): without permit and without calls,
// pings closer than 2 h strike, so a 5 s client is sent away on its 4th ping.
TEST(PingEnforcer, WithoutPermitIdlePingsCloserThanTwoHoursStrike) {
    EnforcementPolicy p;
    p.min_time = 5min;
    p.permit_without_stream = false;
    PingEnforcer e{p};
    run_pings(e,
              {{5s, 0, PingEnforcer::Verdict::ok},
               {10s, 0, PingEnforcer::Verdict::strike},
               {15s, 0, PingEnforcer::Verdict::strike},
               {20s, 0, PingEnforcer::Verdict::too_many_pings}},
              "zrepl #181");
    PingEnforcer with_call{p};
    run_pings(with_call, {{0s, 1, PingEnforcer::Verdict::ok}, {6min, 1, PingEnforcer::Verdict::ok}},
              "active call, MinTime 5 min");
}

}  // namespace
}  // namespace zferry::transport::grpc
