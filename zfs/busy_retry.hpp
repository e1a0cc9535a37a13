// A bounded backoff for zfs commands that failed only because zfs still holds the dataset for a
// moment (ZfsErrc::dataset_busy: zfs-fuse tearing down an aborted receive or unmounting
// asynchronously). The schedule is a pure function; retry_while_busy is the one small driver
// that sleeps between attempts. Only dataset_busy is retried here: a held snapshot or a broken
// connection is someone else's decision (the pruner, the replication driver).
#pragma once

#include "core/async.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "zfs/zfs_error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace zferry::zfs {

struct BusyRetry {
    std::chrono::milliseconds first_delay{50};
    std::chrono::milliseconds max_delay{1000};
    // The total time spent waiting before the busy error is reported as it is. zfs-fuse frees
    // a dataset within a second of a torn-down receive; an unmount can take a few.
    std::chrono::milliseconds budget{10000};

    // The wait before retry number `retry` (1 for the first), `waited` having been spent on
    // earlier waits; nullopt once the budget would be exceeded. Doubles from first_delay up to
    // max_delay; the last wait is shortened to end exactly at the budget.
    std::optional<std::chrono::milliseconds> delay(unsigned retry, std::chrono::milliseconds waited) const;
};

inline bool is_dataset_busy(const Error& e) noexcept { return e.code() == ZfsErrc::dataset_busy; }

// Runs `op` (a callable returning awaitable<Result<T>>) until it succeeds, fails with anything
// but ZfsErrc::dataset_busy, or the policy's budget is spent (then the last busy error is
// returned, saying how long zferry waited). Each retry is logged once at info level.
template <class Op>
auto retry_while_busy(Op op, BusyRetry policy, const Logger& log, std::string_view what) -> decltype(op()) {
    std::chrono::milliseconds waited{0};
    for (unsigned retry = 1;; ++retry) {
        auto r = co_await op();
        if (r || !is_dataset_busy(r.error())) co_return r;
        auto d = policy.delay(retry, waited);
        if (!d) {
            auto e = r.error();
            e.wrap(std::string(what) + ": still busy after " + std::to_string(retry) + " attempts over " +
                   std::to_string(waited.count()) + " ms");
            co_return e;
        }
        log.info("{}: dataset busy, retry {} in {} ms", what, retry, d->count());
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, *d);
        auto [ec] = co_await timer.async_wait(use_ec);
        if (ec) {
            auto e = r.error();
            e.wrap(std::string(what) + ": waiting to retry was cancelled");
            co_return e;
        }
        waited += *d;
    }
}

}  // namespace zferry::zfs
