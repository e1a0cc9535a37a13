// A coroutine with an owner: started once, cancellable, and joined before the owner goes
// away. zferry spawns nothing detached; every background task is one of these.
#pragma once

#include "core/async.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>

namespace zferry {

// Owned tasks of this process that have started and not yet finished (the daemon's
// zrepl_trace_active_tasks: zrepl counts its traced tasks, the goroutines it names; zferry's
// concurrent activities are these). Atomic: tests run several io_contexts on threads.
inline std::atomic<std::int64_t>& owned_tasks_running() noexcept {
    static std::atomic<std::int64_t> n{0};
    return n;
}

class OwnedTask {
public:
    explicit OwnedTask(boost::asio::any_io_executor ex) : ex_(ex), state_(std::make_shared<State>(ex)) {}
    OwnedTask(const OwnedTask&) = delete;
    OwnedTask& operator=(const OwnedTask&) = delete;

    void start(boost::asio::awaitable<void> task) {
        state_->running = true;
        owned_tasks_running().fetch_add(1, std::memory_order_relaxed);
        boost::asio::co_spawn(
            ex_, std::move(task),
            boost::asio::bind_cancellation_slot(state_->cancel.slot(), [s = state_](std::exception_ptr e) {
                owned_tasks_running().fetch_sub(1, std::memory_order_relaxed);
                s->running = false;
                s->error = e;
                s->done.try_send(boost::system::error_code{});
            }));
    }
    bool running() const noexcept { return state_->running; }
    // A finished task is not signalled: its cancellation handlers may point at freed state.
    void cancel() {
        if (state_->running) state_->cancel.emit(boost::asio::cancellation_type::terminal);
    }

    // Waits until the task has finished; rethrows nothing (the exception is kept in error()).
    // A cancelled joiner keeps waiting (its owner frees what the task uses right after), so
    // a joiner that may be cancelled turns this_coro::throw_if_cancelled off first.
    boost::asio::awaitable<void> join() {
        auto s = state_;
        while (s->running) co_await s->done.async_receive(use_ec);
    }
    // Cancel, then join.
    boost::asio::awaitable<void> stop() {
        cancel();
        co_await join();
    }
    std::exception_ptr error() const noexcept { return state_->error; }

private:
    struct State {
        explicit State(boost::asio::any_io_executor ex) : done(ex, 1) {}
        boost::asio::cancellation_signal cancel;
        boost::asio::experimental::channel<void(boost::system::error_code)> done;
        bool running = false;
        std::exception_ptr error;
    };
    boost::asio::any_io_executor ex_;
    std::shared_ptr<State> state_;
};

}  // namespace zferry
