// core/throttle.hpp: the bucket's driver on real timers. Two limits at once grant the smaller
// and give the rest back; a cancelled wait ends at once holding nothing; the rate holds.
#include "core/throttle.hpp"

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <chrono>
#include <optional>

namespace zferry {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::size_t run_acquire_all(asio::io_context& ctx, std::array<Throttle*, 2> limits, std::size_t want) {
    std::optional<std::size_t> got;
    asio::co_spawn(ctx, acquire_all(limits, want), [&](std::exception_ptr e, std::size_t n) {
        EXPECT_FALSE(e);
        got = n;
    });
    ctx.restart();
    ctx.run();
    EXPECT_TRUE(got.has_value());
    return got.value_or(0);
}

TEST(Throttle, TwoLimitsGrantTheSmallerAndGiveTheRestBack) {
    asio::io_context ctx;
    Throttle wide(1, 100), narrow(1, 10);  // 1 byte/s: the test's few milliseconds add nothing
    std::array<Throttle*, 2> both{&wide, &narrow};
    EXPECT_EQ(run_acquire_all(ctx, both, 50), 10u);
    EXPECT_NEAR(wide.tokens(), 90.0, 1.0) << "the wide limit kept only what the narrow one allowed";
    EXPECT_NEAR(narrow.tokens(), 0.0, 1.0);
    std::array<Throttle*, 2> one{nullptr, &wide};
    EXPECT_EQ(run_acquire_all(ctx, one, 40), 40u) << "a null entry is no limit";
    refund_all(both, 10, 4);
    EXPECT_NEAR(wide.tokens(), 56.0, 1.0) << "6 unused bytes went back";
    EXPECT_NEAR(narrow.tokens(), 6.0, 1.0);
}

TEST(Throttle, ACancelledWaitEndsAtOnceAndHoldsNothing) {
    asio::io_context ctx;
    Throttle wide(1, 100), narrow(1, 10);
    std::array<Throttle*, 2> both{&wide, &narrow};
    ASSERT_EQ(run_acquire_all(ctx, both, 10), 10u);  // narrow is empty now: the next ask waits ~10 s
    asio::cancellation_signal stop;
    std::optional<std::size_t> got;
    asio::co_spawn(
        ctx, acquire_all(both, 10),
        asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr, std::size_t n) { got = n; }));
    ctx.restart();
    ctx.poll();
    ASSERT_FALSE(got.has_value()) << "the narrow limit should make it wait";
    const auto t = std::chrono::steady_clock::now();
    stop.emit(asio::cancellation_type::all);
    ctx.run();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, 0u);
    EXPECT_LT(std::chrono::steady_clock::now() - t, 1s);
    EXPECT_NEAR(wide.tokens(), 90.0, 1.0) << "what the wide limit had granted went back";
}

// The only timing in these tests is a lower bound that no machine can undercut: with the
// bucket starting full, N bytes cannot pass sooner than (N - capacity) / rate.
TEST(Throttle, BytesNeverPassFasterThanTheRate) {
    asio::io_context ctx;
    Throttle t(4 << 20, 64 << 10);  // 4 MiB/s, 64 KiB
    std::size_t moved = 0;
    const std::size_t total = 2u << 20;
    const auto start = std::chrono::steady_clock::now();
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            while (moved < total) {
                const std::size_t g = co_await t.acquire(std::min<std::size_t>(1 << 20, total - moved));
                if (g == 0) co_return;
                moved += g;
            }
        },
        [](std::exception_ptr e) { EXPECT_FALSE(e); });
    ctx.run();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(moved, total);
    EXPECT_GE(seconds, (2.0 * 1024 - 64) / (4 * 1024));
}

}  // namespace
}  // namespace zferry
