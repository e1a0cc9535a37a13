// The bandwidth limit's bucket on a clock the test moves: grants, waits, refill, refunds, and
// a whole transfer's duration, exactly.
#include "core/token_bucket.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace zferry {
namespace {

using namespace std::chrono_literals;
using D = TokenBucket::Decision;
const TokenBucket::clock::time_point t0{};

TEST(TokenBucket, StartsFullAndGrantsAtMostItsCapacity) {
    TokenBucket b(1000, 100, t0);
    EXPECT_EQ(b.take(30, t0), (D{30, {}}));
    EXPECT_EQ(b.take(500, t0), (D{0, 30ms}))
        << "a chunk is capped at the capacity (100); 70 left, 30 to wait for";
    EXPECT_EQ(b.take(70, t0), (D{70, {}}));
    EXPECT_EQ(b.take(1, t0), (D{0, 1ms}));
}

TEST(TokenBucket, RefillsWithTimeUpToTheCapacity) {
    TokenBucket b(1000, 100, t0);
    ASSERT_EQ(b.take(100, t0), (D{100, {}}));
    EXPECT_DOUBLE_EQ(b.tokens(t0 + 50ms), 50.0);
    EXPECT_DOUBLE_EQ(b.tokens(t0 + 10s), 100.0) << "idle time does not bank more than the capacity";
    EXPECT_DOUBLE_EQ(b.tokens(t0 + 5s), 100.0) << "an older `now` adds and removes nothing";
}

TEST(TokenBucket, RefundsWhatAShortReadDidNotUse) {
    TokenBucket b(1000, 100, t0);
    ASSERT_EQ(b.take(100, t0), (D{100, {}}));
    b.refund(60, t0);
    EXPECT_EQ(b.take(60, t0), (D{60, {}}));
    b.refund(1000, t0);
    EXPECT_DOUBLE_EQ(b.tokens(t0), 100.0) << "a refund never overfills";
}

TEST(TokenBucket, WaitsAreRoundedUpSoTheNextAskSucceeds) {
    TokenBucket b(3, 2, t0);  // 1/3 s per byte
    ASSERT_EQ(b.take(2, t0), (D{2, {}}));
    auto d = b.take(1, t0);
    ASSERT_EQ(d.bytes, 0u);
    EXPECT_EQ(d.wait, 333334us);
    EXPECT_EQ(b.take(1, t0 + d.wait).bytes, 1u);
}

// Driving the bucket as the copy loop does, the clock only jumping by the waits it is told:
// N bytes take (N - capacity) / rate, to the microsecond, whatever the chunk size asked.
TEST(TokenBucket, AWholeTransferTakesExactlyBytesBeyondTheCapacityOverTheRate) {
    for (std::size_t ask : {4096u, 65536u, 1u << 20}) {
        TokenBucket b(1 << 20, 128 << 10, t0);  // 1 MiB/s, 128 KiB bucket (zrepl's default)
        auto now = t0;
        std::size_t moved = 0;
        const std::size_t total = 10u << 20;
        while (moved < total) {
            auto d = b.take(std::min(ask, total - moved), now);
            if (d.bytes == 0) {
                now += d.wait;
                continue;
            }
            moved += d.bytes;
        }
        const double seconds = std::chrono::duration<double>(now - t0).count();
        EXPECT_NEAR(seconds, (10.0 * 1024 - 128) / 1024, 0.001) << "chunks of " << ask;
    }
}

TEST(TokenBucket, DecisionsReadAsSentences) {
    std::ostringstream a, b;
    a << D{5, {}};
    b << D{0, 1500us};
    EXPECT_EQ(a.str(), "move 5 bytes now");
    EXPECT_EQ(b.str(), "wait 1500 us");
}

}  // namespace
}  // namespace zferry
