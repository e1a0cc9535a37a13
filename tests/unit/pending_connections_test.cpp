// PendingConnections: which connection in its preamble is closed when a newcomer would exceed
// a limit or accept ran out of descriptors (the oldest, of the same address for the
// per-address limit), and that a slot stops counting when released, moved or destroyed.
#include "transport/pending_connections.hpp"

#include <gtest/gtest.h>

#include <boost/system/errc.hpp>

#include <string>
#include <vector>

namespace zferry::transport {
namespace {

// Admits connections named "address#n" and records which were closed, with the reason.
struct Harness {
    explicit Harness(PendingLimits limits) : pending(limits) {}
    PendingConnections::Slot admit(const std::string& address) {
        const std::string name = address + "#" + std::to_string(++n);
        return pending.admit(address, [this, name](std::string_view why) {
            closed.push_back(name);
            reasons.emplace_back(why);
        });
    }
    PendingConnections pending;
    std::vector<std::string> closed;
    std::vector<std::string> reasons;
    int n = 0;
};

TEST(PendingConnections, APerAddressFloodClosesItsOwnOldestNotOthers) {
    Harness h({.max_pending = 0, .max_pending_per_address = 2});
    std::vector<PendingConnections::Slot> slots;
    slots.push_back(h.admit("10.0.0.1"));  // #1, a legitimate client
    slots.push_back(h.admit("10.0.0.9"));  // #2
    slots.push_back(h.admit("10.0.0.9"));  // #3
    slots.push_back(h.admit("10.0.0.9"));  // #4: 10.0.0.9's oldest (#2) goes
    slots.push_back(h.admit("10.0.0.9"));  // #5: then #3
    EXPECT_EQ(h.closed, (std::vector<std::string>{"10.0.0.9#2", "10.0.0.9#3"}));
    EXPECT_EQ(h.reasons[0], "more than 2 connections in their preamble from 10.0.0.9");
    EXPECT_TRUE(slots[1].shed());
    EXPECT_FALSE(slots[0].shed());
    const std::string flood = "10.0.0.9";
    EXPECT_EQ(h.pending.count(&flood), 2u);
    EXPECT_EQ(h.pending.count(), 3u);
}

TEST(PendingConnections, TheTotalLimitClosesTheOldestOfAnyAddress) {
    Harness h({.max_pending = 3, .max_pending_per_address = 0});
    std::vector<PendingConnections::Slot> slots;
    for (const char* a : {"a", "b", "c", "d", "e"}) slots.push_back(h.admit(a));
    EXPECT_EQ(h.closed, (std::vector<std::string>{"a#1", "b#2"}));
    EXPECT_EQ(h.reasons[1], "more than 3 connections in their preamble");
    EXPECT_EQ(h.pending.count(), 3u);
}

TEST(PendingConnections, AConnectionThroughItsPreambleNoLongerCounts) {
    Harness h({.max_pending = 2, .max_pending_per_address = 0});
    auto first = h.admit("a");
    auto second = h.admit("a");
    first.release();  // through its handshake: a served connection is never shed
    auto third = h.admit("a");
    EXPECT_TRUE(h.closed.empty());
    {
        auto moved = std::move(second);
        EXPECT_FALSE(second.shed());
        EXPECT_EQ(h.pending.count(), 2u);
    }  // the moved-to slot goes: its connection's task ended
    EXPECT_EQ(h.pending.count(), 1u);
    auto fourth = h.admit("a");
    EXPECT_TRUE(h.closed.empty()) << "room was made by the slots that went";
}

TEST(PendingConnections, TheStageNamesWhereTheCountedConnectionsAre) {
    // The tls listener counts its handshakes with the same policy in a set of its own.
    PendingConnections pending({.max_pending = 2, .max_pending_per_address = 1}, "in their TLS handshake");
    std::vector<std::string> reasons;
    auto record = [&](std::string_view why) { reasons.emplace_back(why); };
    auto a1 = pending.admit("a", record);
    auto a2 = pending.admit("a", record);  // a1 goes: per address
    auto b1 = pending.admit("b", record);
    auto c1 = pending.admit("c", record);  // a2 goes: in total
    EXPECT_EQ(reasons, (std::vector<std::string>{"more than 1 connections in their TLS handshake from a",
                                                 "more than 2 connections in their TLS handshake"}));
    EXPECT_TRUE(a1.shed());
    EXPECT_TRUE(a2.shed());
    EXPECT_FALSE(b1.shed());
    EXPECT_EQ(pending.count(), 2u);
}

TEST(PendingConnections, AConnectionYoungerThanTheMinimumAgeIsNotShedAndTheOwnerWaits) {
    using std::chrono::seconds;
    const std::chrono::steady_clock::time_point t0{seconds(100)};
    PendingConnections pending(
        {.max_pending = 3, .max_pending_per_address = 2, .min_age_to_shed = seconds(2)});
    std::vector<std::string> closed;
    auto named = [&](std::string name) {
        return [&closed, name](std::string_view) { closed.push_back(name); };
    };
    auto a1 = pending.admit("a", named("a1"), t0);
    auto a2 = pending.admit("a", named("a2"), t0 + seconds(1));
    // A burst from one address: a1 is 1 s old, so a3 gets in over the per-address limit.
    auto a3 = pending.admit("a", named("a3"), t0 + seconds(1));
    EXPECT_TRUE(closed.empty());
    EXPECT_EQ(pending.count(), 3u);
    // At the total limit with nothing old enough to close: the owner waits until a1 is 2 s old.
    EXPECT_TRUE(pending.full(t0 + seconds(1)));
    ASSERT_TRUE(pending.sheddable_at());
    EXPECT_EQ(*pending.sheddable_at(), t0 + seconds(2));
    EXPECT_FALSE(pending.full(t0 + seconds(2)));
    // Then a newcomer closes the oldest of its address (a1), which is old enough now.
    auto a4 = pending.admit("a", named("a4"), t0 + seconds(2));
    EXPECT_EQ(closed, (std::vector<std::string>{"a1"}));
    EXPECT_TRUE(pending.full(t0 + seconds(2))) << "a2, a3, a4: all younger than 2 s";
    a2.release();
    EXPECT_FALSE(pending.full(t0 + seconds(2))) << "a slot went";
    // Another address at the total limit: the oldest of all goes once it is old enough.
    auto b1 = pending.admit("b", named("b1"), t0 + seconds(3));
    auto b2 = pending.admit("b", named("b2"), t0 + seconds(3));
    EXPECT_EQ(closed, (std::vector<std::string>{"a1", "a3"}));
    EXPECT_EQ(pending.count(), 3u) << "a4, b1, b2";
}

TEST(PendingConnections, OutOfDescriptorsShedsTheOldestUntilNoneIsLeft) {
    Harness h({});
    auto one = h.admit("a");
    auto two = h.admit("b");
    EXPECT_TRUE(h.pending.shed_oldest(nullptr, "Too many open files"));
    EXPECT_TRUE(h.pending.shed_oldest(nullptr, "Too many open files"));
    EXPECT_FALSE(h.pending.shed_oldest(nullptr, "Too many open files")) << "nothing left to close";
    EXPECT_EQ(h.closed, (std::vector<std::string>{"a#1", "b#2"}));
    EXPECT_EQ(h.pending.count(), 0u);
    EXPECT_TRUE(one.shed());
}

TEST(PendingConnections, PeerAddressAndResourceShortage) {
    EXPECT_EQ(peer_address("10.231.0.130:41234"), "10.231.0.130");
    EXPECT_EQ(peer_address("[::1]:7001"), "::1");
    EXPECT_EQ(peer_address("unix"), "unix");
    namespace errc = boost::system::errc;
    EXPECT_TRUE(is_resource_shortage(errc::make_error_code(errc::too_many_files_open)));
    EXPECT_TRUE(is_resource_shortage(errc::make_error_code(errc::too_many_files_open_in_system)));
    EXPECT_TRUE(is_resource_shortage(errc::make_error_code(errc::not_enough_memory)));
    EXPECT_FALSE(is_resource_shortage(errc::make_error_code(errc::connection_aborted)));
}

}  // namespace
}  // namespace zferry::transport
