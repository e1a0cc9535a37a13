// The driver of a TokenBucket for coroutines: `acquire(want)` waits (on a steady_timer of the
// caller's executor) until the bucket grants up to `want` bytes. One Throttle may be shared
// by every transfer of a job direction; single-threaded (one executor), like the rest of a
// job.
#pragma once

#include "core/token_bucket.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <span>

namespace zferry {

class Throttle {
public:
    Throttle(double rate_bytes_per_second, double capacity_bytes);

    // Up to `want` bytes that may move now (> 0), or 0 if the waiting coroutine was cancelled
    // (or want is 0).
    boost::asio::awaitable<std::size_t> acquire(std::size_t want);
    void refund(std::size_t bytes);

    double tokens();
    double rate() const noexcept { return bucket_.rate(); }
    double capacity() const noexcept { return bucket_.capacity(); }

private:
    TokenBucket bucket_;
};

// Up to `want` bytes that every throttle in `throttles` allows (null entries are no limit):
// what the first grants is asked of the next, and the difference goes back. 0 = cancelled.
boost::asio::awaitable<std::size_t> acquire_all(std::span<Throttle* const> throttles, std::size_t want);

// After moving `moved` of `granted` bytes: the rest goes back to every throttle.
void refund_all(std::span<Throttle* const> throttles, std::size_t granted, std::size_t moved);

}  // namespace zferry
