// ControlConnections: which authenticated control connection is told to go (GOAWAY) when a
// newcomer would exceed the per-identity or the total limit: the oldest idle one (of the same
// identity for the per-identity limit), the oldest busy one only when none is idle; a slot
// stops counting when it goes; close_all tells every connection.
#include "transport/control_connections.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace zferry::transport {
namespace {

// Admits connections named "identity#n" (idle unless marked busy) and records which were
// told to go, with the reason.
struct Harness {
    explicit Harness(ControlLimits limits) : conns(limits) {}
    ControlConnections::Slot admit(const std::string& identity) {
        const std::string name = identity + "#" + std::to_string(++n);
        return conns.admit(
            identity,
            [this, name](std::string_view why) {
                closed.push_back(name);
                reasons.emplace_back(why);
            },
            [this, name] { return !busy[name]; });
    }
    ControlConnections conns;
    std::map<std::string, bool> busy;
    std::vector<std::string> closed;
    std::vector<std::string> reasons;
    int n = 0;
};

using Names = std::vector<std::string>;

// The defaults let a sink serve 1 000 clients with one control connection each, and each of
// them a second one while it reconnects, without sending any away.
TEST(ControlConnections, TheDefaultsServeAThousandClientsReconnectingWithoutClosingAny) {
    Harness h(ControlLimits{});
    std::vector<ControlConnections::Slot> slots;
    for (int round = 0; round < 2; ++round)
        for (int i = 0; i < 1000; ++i) slots.push_back(h.admit("c" + std::to_string(i)));
    EXPECT_EQ(h.closed, Names{});
    EXPECT_EQ(h.conns.count(), 2000u);
}

TEST(ControlConnections, AnIdentityBeyondItsLimitLosesItsOwnOldestIdleConnection) {
    Harness h({.max_connections = 0, .max_per_identity = 2});
    std::vector<ControlConnections::Slot> slots;
    slots.push_back(h.admit("alice"));  // alice#1
    slots.push_back(h.admit("bob"));    // bob#2
    slots.push_back(h.admit("bob"));    // bob#3
    EXPECT_EQ(h.closed, Names{});
    slots.push_back(h.admit("bob"));  // bob#4: bob's oldest idle (#2) goes, not alice's
    EXPECT_EQ(h.closed, Names{"bob#2"});
    EXPECT_EQ(h.reasons.back(), "more than 2 control connections of client bob");
    h.busy["bob#3"] = true;
    slots.push_back(h.admit("bob"));  // bob#5: #3 is busy, so the idle #4 goes
    EXPECT_EQ(h.closed, (Names{"bob#2", "bob#4"}));
    std::string bob = "bob", alice = "alice";
    EXPECT_EQ(h.conns.count(&bob), 2u);
    EXPECT_EQ(h.conns.count(&alice), 1u);
    EXPECT_TRUE(slots[1].closing());
    EXPECT_FALSE(slots[2].closing());
}

TEST(ControlConnections, WhenEveryCandidateIsBusyTheOldestGoes) {
    Harness h({.max_connections = 0, .max_per_identity = 2});
    std::vector<ControlConnections::Slot> slots;
    slots.push_back(h.admit("bob"));  // bob#1
    slots.push_back(h.admit("bob"));  // bob#2
    h.busy["bob#1"] = h.busy["bob#2"] = true;
    slots.push_back(h.admit("bob"));  // bob#3
    EXPECT_EQ(h.closed, Names{"bob#1"});
}

TEST(ControlConnections, TheTotalLimitTakesTheOldestIdleOfAnyone) {
    Harness h({.max_connections = 3, .max_per_identity = 0});
    std::vector<ControlConnections::Slot> slots;
    slots.push_back(h.admit("alice"));  // alice#1 (busy)
    slots.push_back(h.admit("bob"));    // bob#2
    slots.push_back(h.admit("carol"));  // carol#3
    h.busy["alice#1"] = true;
    slots.push_back(h.admit("dave"));  // dave#4: the oldest idle is bob#2
    EXPECT_EQ(h.closed, Names{"bob#2"});
    EXPECT_EQ(h.reasons.back(), "more than 3 control connections");
    EXPECT_EQ(h.conns.count(), 3u);
}

TEST(ControlConnections, ASlotThatGoesFreesItsPlace) {
    Harness h({.max_connections = 2, .max_per_identity = 0});
    {
        auto a = h.admit("alice");
        auto b = h.admit("bob");
        EXPECT_EQ(h.conns.count(), 2u);
        auto moved = std::move(b);
        EXPECT_EQ(h.conns.count(), 2u) << "a moved slot still counts once";
    }
    EXPECT_EQ(h.conns.count(), 0u);
    auto c = h.admit("carol");
    auto d = h.admit("dave");
    EXPECT_EQ(h.closed, Names{});
    auto e = h.admit("erin");
    EXPECT_EQ(h.closed, Names{"carol#3"});
    EXPECT_TRUE(c.closing());
    c.release();
    EXPECT_FALSE(c.closing());
    EXPECT_EQ(h.conns.count(), 2u);
}

TEST(ControlConnections, CloseAllTellsEveryConnectionOnce) {
    Harness h({.max_connections = 0, .max_per_identity = 0});
    auto a = h.admit("alice");
    auto b = h.admit("bob");
    EXPECT_EQ(h.conns.close_all("the server stops"), 2u);
    EXPECT_EQ(h.closed, (Names{"alice#1", "bob#2"}));
    EXPECT_EQ(h.reasons, (Names{"the server stops", "the server stops"}));
    EXPECT_EQ(h.conns.close_all("again"), 0u);
    EXPECT_EQ(h.conns.count(), 0u);
}

}  // namespace
}  // namespace zferry::transport
