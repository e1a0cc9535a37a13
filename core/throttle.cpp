#include "core/throttle.hpp"

#include "core/async.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace zferry {

namespace asio = boost::asio;

Throttle::Throttle(double rate_bytes_per_second, double capacity_bytes)
    : bucket_(rate_bytes_per_second, capacity_bytes, TokenBucket::clock::now()) {}

asio::awaitable<std::size_t> Throttle::acquire(std::size_t want) {
    for (;;) {
        auto d = bucket_.take(want, TokenBucket::clock::now());
        if (d.bytes > 0 || want == 0) co_return d.bytes;
        asio::steady_timer timer(co_await asio::this_coro::executor, d.wait);
        auto [ec] = co_await timer.async_wait(use_ec);
        if (ec) co_return 0;
    }
}

void Throttle::refund(std::size_t bytes) { bucket_.refund(bytes, TokenBucket::clock::now()); }

double Throttle::tokens() { return bucket_.tokens(TokenBucket::clock::now()); }

asio::awaitable<std::size_t> acquire_all(std::span<Throttle* const> throttles, std::size_t want) {
    std::size_t granted = want;
    std::size_t holding = 0;  // throttles[0, holding) have granted `granted` bytes
    for (Throttle* t : throttles) {
        if (t == nullptr) {
            ++holding;
            continue;
        }
        const std::size_t g = co_await t->acquire(granted);
        // The earlier ones get back what this one did not allow (everything if cancelled).
        for (std::size_t i = 0; i < holding; ++i)
            if (throttles[i] != nullptr) throttles[i]->refund(granted - g);
        if (g == 0) co_return 0;
        granted = g;
        ++holding;
    }
    co_return granted;
}

void refund_all(std::span<Throttle* const> throttles, std::size_t granted, std::size_t moved) {
    if (moved >= granted) return;
    for (Throttle* t : throttles)
        if (t != nullptr) t->refund(granted - moved);
}

}  // namespace zferry
