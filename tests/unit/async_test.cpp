// core/async.hpp: the semaphore's order, cancellation and release on exceptions; with_timeout.
#include "core/async.hpp"

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <vector>

namespace zferry {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;

// Records where a spawned coroutine ended, so that every test joins what it spawned.
struct Done {
    bool finished = false;
    std::exception_ptr error;
    auto handler() {
        return [this](std::exception_ptr e) {
            finished = true;
            error = e;
        };
    }
};

asio::awaitable<void> take_in_turn(AsyncSemaphore& sem, int id, std::vector<int>& order, error_code& result) {
    auto [ec, permit] = co_await sem.acquire();
    result = ec;
    if (ec) co_return;
    EXPECT_TRUE(permit);
    order.push_back(id);
    // Hold the permit across a suspension: a later waiter must not get in meanwhile.
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    EXPECT_EQ(sem.in_use(), 1u);
}

TEST(AsyncSemaphore, WaitersAreServedInTheOrderTheyCame) {
    asio::io_context ctx;
    AsyncSemaphore sem(ctx.get_executor(), 1);
    auto first = sem.try_acquire();
    ASSERT_TRUE(first);
    std::vector<int> order;
    std::vector<error_code> results(5);
    std::vector<Done> done(5);
    for (int i = 0; i < 5; ++i)
        asio::co_spawn(ctx, take_in_turn(sem, i, order, results[i]), done[i].handler());
    ctx.poll();
    EXPECT_TRUE(order.empty()) << "a waiter got a permit that was held";
    EXPECT_FALSE(sem.try_acquire()) << "try_acquire overtook queued waiters";
    first.release();
    ctx.run();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(done[i].finished);
        EXPECT_FALSE(results[i]) << results[i].message();
    }
    EXPECT_EQ(sem.in_use(), 0u);
}

TEST(AsyncSemaphore, CountsPermits) {
    asio::io_context ctx;
    AsyncSemaphore sem(ctx.get_executor(), 3);
    EXPECT_EQ(sem.max(), 3u);
    auto a = sem.try_acquire(), b = sem.try_acquire(), c = sem.try_acquire();
    EXPECT_TRUE(a && b && c);
    EXPECT_FALSE(sem.try_acquire());
    EXPECT_EQ(sem.in_use(), 3u);
    AsyncSemaphore::Permit moved = std::move(b);
    EXPECT_FALSE(b);
    EXPECT_EQ(sem.in_use(), 3u) << "moving a permit releases nothing";
    moved = {};
    EXPECT_EQ(sem.in_use(), 2u);
    EXPECT_TRUE(sem.try_acquire()) << "the permit given back is free again (and released at once)";
}

TEST(AsyncSemaphore, ACancelledWaiterLeavesTheQueueHoldingNothing) {
    asio::io_context ctx;
    AsyncSemaphore sem(ctx.get_executor(), 1);
    auto first = sem.try_acquire();
    std::vector<int> order;
    std::vector<error_code> results(3);
    std::vector<Done> done(3);
    asio::cancellation_signal cancel_second;
    asio::co_spawn(ctx, take_in_turn(sem, 0, order, results[0]), done[0].handler());
    asio::co_spawn(ctx, take_in_turn(sem, 1, order, results[1]),
                   asio::bind_cancellation_slot(cancel_second.slot(), done[1].handler()));
    asio::co_spawn(ctx, take_in_turn(sem, 2, order, results[2]), done[2].handler());
    ctx.poll();
    cancel_second.emit(asio::cancellation_type::terminal);
    ctx.poll();
    EXPECT_TRUE(done[1].finished) << "the cancelled waiter is still waiting";
    EXPECT_EQ(results[1], asio::error::operation_aborted) << results[1].message();
    EXPECT_EQ(sem.in_use(), 1u) << "the cancelled waiter took a permit";
    first.release();
    ctx.run();
    EXPECT_EQ(order, (std::vector<int>{0, 2}));
    EXPECT_FALSE(results[0]);
    EXPECT_FALSE(results[2]);
    EXPECT_EQ(sem.in_use(), 0u);
}

TEST(AsyncSemaphore, APermitIsReleasedWhenAnExceptionUnwindsItsHolder) {
    asio::io_context ctx;
    AsyncSemaphore sem(ctx.get_executor(), 1);
    Done thrower, next;
    std::vector<int> order;
    error_code next_result;
    auto throws = [&]() -> asio::awaitable<void> {
        auto [ec, permit] = co_await sem.acquire();
        EXPECT_FALSE(ec);
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        throw std::runtime_error("holder failed");
    };
    asio::co_spawn(ctx, throws(), thrower.handler());
    asio::co_spawn(ctx, take_in_turn(sem, 7, order, next_result), next.handler());
    ctx.run();
    ASSERT_TRUE(thrower.finished);
    EXPECT_TRUE(thrower.error) << "the holder did not throw";
    EXPECT_TRUE(next.finished) << "the permit of the holder that threw was never released";
    EXPECT_EQ(order, (std::vector<int>{7}));
    EXPECT_EQ(sem.in_use(), 0u);
}

asio::awaitable<int> answer_after(std::chrono::milliseconds d, bool& cancelled) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    auto [ec] = co_await t.async_wait(use_ec);
    cancelled = ec == asio::error::operation_aborted;
    co_return 42;
}

TEST(WithTimeout, ReturnsTheResultOfAnOperationThatFinishesInTime) {
    asio::io_context ctx;
    std::optional<int> got;
    bool cancelled = false;
    Done done;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> { got = co_await with_timeout(answer_after(1ms, cancelled), 10s); },
        done.handler());
    auto start = std::chrono::steady_clock::now();
    ctx.run();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "waited for the timeout";
    ASSERT_TRUE(done.finished);
    EXPECT_FALSE(done.error);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, 42);
    EXPECT_FALSE(cancelled);
}

TEST(WithTimeout, CancelsAndJoinsAnOperationThatTakesTooLong) {
    asio::io_context ctx;
    std::optional<int> got = 0;
    bool cancelled = false;
    bool finished_before_return = false;
    Done done;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            got = co_await with_timeout(answer_after(60s, cancelled), 20ms);
            finished_before_return = cancelled;
        },
        done.handler());
    auto start = std::chrono::steady_clock::now();
    ctx.run();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "the slow operation was not cancelled";
    ASSERT_TRUE(done.finished);
    EXPECT_FALSE(done.error);
    EXPECT_FALSE(got.has_value());
    EXPECT_TRUE(finished_before_return) << "with_timeout returned before the operation ended";
}

TEST(WithTimeout, VoidOperationsSayWhetherTheyCompleted) {
    asio::io_context ctx;
    std::vector<bool> results;
    Done done;
    auto sleep = [](std::chrono::milliseconds d) -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, d);
        co_await t.async_wait(use_ec);
    };
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            results.push_back(co_await with_timeout(sleep(1ms), 10s));
            results.push_back(co_await with_timeout(sleep(60s), 20ms));
        },
        done.handler());
    ctx.run();
    ASSERT_TRUE(done.finished);
    EXPECT_FALSE(done.error);
    EXPECT_EQ(results, (std::vector<bool>{true, false}));
}

}  // namespace
}  // namespace zferry
