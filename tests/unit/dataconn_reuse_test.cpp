// The reuse decisions and the client's idle pool, with time passed in.
#include "transport/dataconn_reuse.hpp"

#include <gtest/gtest.h>

#include <string>

namespace zferry::transport::dataconn {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

TEST(DataconnReuse, TheServerReadsAnotherRequestOnlyAfterACleanEndOnAZferryConnection) {
    const auto ok = answer(std::string("structured"));
    const auto end = send_outcome(std::uint64_t{10}, Result<void>{});
    const auto trailer = send_outcome(std::uint64_t{10}, Error(Errc::internal, "zfs send failed"));
    const auto refused = refuse(Error(Errc::invalid_argument, "no"));
    struct Case {
        const char* name;
        bool zferry, enabled, written;
        const ServerDecision* last;
        bool next;
    } cases[] = {
        {"OK response", true, true, true, &ok, true},         {"stream End", true, true, true, &end, true},
        {"error trailer", true, true, true, &trailer, false}, {"refusal", true, true, true, &refused, false},
        {"OK not written", true, true, false, &ok, false},    {"zrepl peer", false, true, true, &ok, false},
        {"reuse off", true, false, true, &end, false},
    };
    for (const auto& c : cases)
        EXPECT_EQ(server_serves_next(c.zferry, c.enabled, *c.last, c.written), c.next) << c.name;
}

TEST(DataconnReuse, TheClientKeepsOnlyCleanRequestsOfZferryConnections) {
    EXPECT_TRUE(client_keeps(true, true, true));
    EXPECT_FALSE(client_keeps(false, true, true)) << "zrepl peer: one request per connection";
    EXPECT_FALSE(client_keeps(true, false, true)) << "no pool";
    EXPECT_FALSE(client_keeps(true, true, false)) << "an error, a partial read, a cancellation";
}

TEST(DataconnIdlePool, GivesTheFreshestConnectionAndClosesExpiredOnes) {
    const TimePoint t0{};
    IdlePool<int> pool(3, 1000ms);
    EXPECT_TRUE(pool.put(1, t0).empty());
    EXPECT_TRUE(pool.put(2, t0 + 500ms).empty());
    EXPECT_TRUE(pool.put(3, t0 + 900ms).empty());
    auto t = pool.take(t0 + 1200ms);
    ASSERT_EQ(t.expired.size(), 1u) << "1 idled 1200 ms";
    EXPECT_EQ(t.expired[0], 1);
    ASSERT_TRUE(t.conn);
    EXPECT_EQ(*t.conn, 3) << "the most recently returned";
    EXPECT_EQ(pool.size(), 1u);
    t = pool.take(t0 + 1500ms);
    ASSERT_EQ(t.expired.size(), 1u) << "2 idled exactly the timeout";
    EXPECT_FALSE(t.conn);
    EXPECT_EQ(pool.size(), 0u);
}

TEST(DataconnIdlePool, SaysWhenTheOldestExpiresAndGivesEveryExpiredOne) {
    const TimePoint t0{};
    IdlePool<int> pool(3, 1000ms);
    EXPECT_FALSE(pool.next_expiry());
    EXPECT_TRUE(pool.put(1, t0).empty());
    EXPECT_TRUE(pool.put(2, t0 + 300ms).empty());
    EXPECT_TRUE(pool.put(3, t0 + 800ms).empty());
    ASSERT_TRUE(pool.next_expiry());
    EXPECT_EQ(*pool.next_expiry(), t0 + 1000ms);
    EXPECT_TRUE(pool.expire(t0 + 999ms).empty()) << "nothing is early";
    EXPECT_EQ(pool.expire(t0 + 1300ms), (std::vector<int>{1, 2}));
    EXPECT_EQ(*pool.next_expiry(), t0 + 1800ms);
    EXPECT_EQ(pool.size(), 1u);
    EXPECT_EQ(pool.expire(t0 + 1800ms), (std::vector<int>{3}));
    EXPECT_FALSE(pool.next_expiry());
}

TEST(DataconnIdlePool, IsBoundedAndZeroKeepsNothing) {
    const TimePoint t0{};
    IdlePool<int> pool(2, 1000ms);
    EXPECT_TRUE(pool.put(1, t0).empty());
    EXPECT_TRUE(pool.put(2, t0).empty());
    auto out = pool.put(3, t0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], 1) << "the oldest makes room";
    auto all = pool.drain();
    EXPECT_EQ(all, (std::vector<int>{2, 3}));
    EXPECT_EQ(pool.size(), 0u);

    IdlePool<int> none(0, 1000ms);
    out = none.put(7, t0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], 7);
    EXPECT_FALSE(none.take(t0).conn);
}

}  // namespace
}  // namespace zferry::transport::dataconn
