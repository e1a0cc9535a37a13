// Coroutine building blocks every layer shares: the error-code completion token, an async
// semaphore whose permits are RAII objects, one way to bound an awaitable by a timeout, and
// one way to run two at once.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace zferry {

// Completion token for coroutines that want error codes as values instead of exceptions:
// `auto [ec, n] = co_await sock.async_read_some(buf, use_ec);`. Hot paths use it because an
// exception per failed operation costs far more than the operation.
inline constexpr auto use_ec = boost::asio::as_tuple(boost::asio::use_awaitable);

// A counting semaphore for coroutines. Waiters are served first come, first served; a waiter
// that is cancelled leaves the queue and holds nothing; a permit goes back when its Permit is
// destroyed, also when an exception unwinds the holder. Single-threaded (one executor).
class AsyncSemaphore {
    struct State {
        State(boost::asio::any_io_executor ex, std::size_t n) : slots(ex, n), max(n) {}
        // A permit is a message in the buffer: acquiring sends (and waits while the buffer is
        // full), releasing receives one. The channel queues waiting senders in order and
        // supports per-operation cancellation, which is exactly a fair semaphore.
        boost::asio::experimental::channel<void(boost::system::error_code)> slots;
        std::size_t max;
        std::size_t used = 0;
    };

public:
    class Permit {
    public:
        Permit() = default;
        Permit(Permit&& o) noexcept : state_(std::move(o.state_)) {}
        Permit& operator=(Permit&& o) noexcept {
            if (this != &o) {
                release();
                state_ = std::move(o.state_);
            }
            return *this;
        }
        Permit(const Permit&) = delete;
        Permit& operator=(const Permit&) = delete;
        ~Permit() { release(); }

        explicit operator bool() const noexcept { return state_ != nullptr; }
        void release() noexcept {
            if (!state_) return;
            state_->used--;
            state_->slots.try_receive([](boost::system::error_code) {});
            state_.reset();
        }

    private:
        friend class AsyncSemaphore;
        explicit Permit(std::shared_ptr<State> s) noexcept : state_(std::move(s)) {}
        std::shared_ptr<State> state_;  // a permit may outlive its semaphore
    };

    AsyncSemaphore(boost::asio::any_io_executor ex, std::size_t permits)
        : state_(std::make_shared<State>(ex, permits == 0 ? 1 : permits)) {}
    AsyncSemaphore(const AsyncSemaphore&) = delete;
    AsyncSemaphore& operator=(const AsyncSemaphore&) = delete;

    // Waits for a permit. A coroutine that is (or was already) cancelled gets
    // operation_aborted and an empty permit: it might otherwise wait behind a holder that is
    // stuck, and it could not use the permit anyway.
    boost::asio::awaitable<std::pair<boost::system::error_code, Permit>> acquire() {
        auto s = state_;
        auto cs = co_await boost::asio::this_coro::cancellation_state;
        if (cs.cancelled() != boost::asio::cancellation_type::none)
            co_return std::pair{boost::system::error_code(boost::asio::error::operation_aborted), Permit()};
        auto [ec] = co_await s->slots.async_send(boost::system::error_code{}, use_ec);
        // The channel says "channel_cancelled"; callers of a semaphore expect what every other
        // cancelled operation says.
        if (ec == boost::asio::experimental::error::channel_cancelled)
            ec = boost::asio::error::operation_aborted;
        if (ec) co_return std::pair{ec, Permit()};
        s->used++;
        co_return std::pair{boost::system::error_code{}, Permit(std::move(s))};
    }

    // A permit if one is free and nobody waits for one (never overtakes a waiter).
    Permit try_acquire() {
        if (!state_->slots.try_send(boost::system::error_code{})) return Permit();
        state_->used++;
        return Permit(state_);
    }

    std::size_t max() const noexcept { return state_->max; }
    std::size_t in_use() const noexcept { return state_->used; }

private:
    std::shared_ptr<State> state_;
};

// Runs `op` for at most `timeout`: its result, or nullopt when the time ran out first (`op` is
// then cancelled and has finished before this returns). An awaitable<void> yields a bool:
// true when it completed in time.
template <class T, class Rep, class Period>
boost::asio::awaitable<std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>> with_timeout(
    boost::asio::awaitable<T> op, std::chrono::duration<Rep, Period> timeout) {
    using namespace boost::asio::experimental::awaitable_operators;
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, timeout);
    auto r = co_await (std::move(op) || timer.async_wait(use_ec));
    if constexpr (std::is_void_v<T>) {
        co_return r.index() == 0;
    } else {
        if (r.index() == 1) co_return std::optional<T>();
        co_return std::optional<T>(std::move(std::get<0>(r)));
    }
}

namespace detail {
template <class T>
boost::asio::awaitable<T> without_cancel_exceptions(boost::asio::awaitable<T> inner) {
    co_await boost::asio::this_coro::throw_if_cancelled(false);
    co_return co_await std::move(inner);
}
}  // namespace detail

// Runs `a` and `b` at once and returns both results when both have finished (neither is
// abandoned). Each runs as a coroutine of its own, in which awaiting after a cancellation does
// not throw: for operations that report cancellation in their results (zfs commands, steps),
// as their callers' bodies do. Results, not void: a branch that throws rethrows here after the
// other was cancelled and finished.
template <class A, class B>
boost::asio::awaitable<std::tuple<A, B>> in_parallel(boost::asio::awaitable<A> a,
                                                     boost::asio::awaitable<B> b) {
    using namespace boost::asio::experimental::awaitable_operators;
    co_return co_await (detail::without_cancel_exceptions(std::move(a)) &&
                        detail::without_cancel_exceptions(std::move(b)));
}

}  // namespace zferry
