#include "core/backoff.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;
using zferry::Backoff;

TEST(Backoff, NominalPausesDoubleFromMinUpToMax) {
    Backoff b(1s, 30s, 1);
    std::vector<Backoff::duration> nominal;
    for (int i = 0; i < 8; ++i) {
        nominal.push_back(b.nominal());
        b.next();
    }
    EXPECT_EQ(nominal, (std::vector<Backoff::duration>{1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s}));
}

TEST(Backoff, EveryPauseLiesInTheUpperHalfOfItsNominalPause) {
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        Backoff b(1s, 30s, seed);
        for (int i = 0; i < 10; ++i) {
            const auto nominal = b.nominal();
            const auto pause = b.next();
            EXPECT_GE(pause, nominal / 2) << "seed " << seed << " try " << i;
            EXPECT_LE(pause, nominal) << "seed " << seed << " try " << i;
        }
    }
}

TEST(Backoff, ClientsWithDifferentSeedsSpreadTheirFirstRetry) {
    // A thousand clients that failed together: their first pauses cover the whole second half
    // of the interval instead of one instant (the herd the jitter is there to break up).
    std::set<long> tenths;  // which tenth of [0.5 s, 1 s] each first pause falls into
    Backoff::duration lo = 1s, hi = 0s;
    for (std::uint64_t seed = 0; seed < 1000; ++seed) {
        Backoff b(1s, 30s, seed * 7919 + 3);
        const auto p = b.next();
        lo = std::min(lo, p);
        hi = std::max(hi, p);
        tenths.insert(static_cast<long>((p - 500ms) * 10 / 500ms));
    }
    EXPECT_LT(lo, 550ms);
    EXPECT_GT(hi, 950ms);
    EXPECT_GE(tenths.size(), 10u);
}

TEST(Backoff, TheSameSeedGivesTheSamePausesAndResetStartsOver) {
    Backoff a(100ms, 10s, 42), b(100ms, 10s, 42);
    std::vector<Backoff::duration> first;
    for (int i = 0; i < 6; ++i) {
        first.push_back(a.next());
        EXPECT_EQ(first.back(), b.next());
    }
    a.reset();
    EXPECT_EQ(a.nominal(), 100ms);
    EXPECT_LE(a.next(), 100ms);
}

TEST(Backoff, MinEqualToMaxJittersOneInterval) {
    Backoff b(2s, 2s, 5);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(b.nominal(), 2s);
        const auto p = b.next();
        EXPECT_GE(p, 1s);
        EXPECT_LE(p, 2s);
    }
}

TEST(Backoff, RefusesAZeroMinOrAMaxBelowMin) {
    EXPECT_THROW(Backoff(0s, 1s, 1), std::invalid_argument);
    EXPECT_THROW(Backoff(2s, 1s, 1), std::invalid_argument);
}
