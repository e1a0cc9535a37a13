// zrepl's `bandwidth_limit` as a token bucket, without I/O: the bucket holds at most
// `capacity` bytes of allowance, fills at `rate` bytes per second, and starts full. A caller
// asks to move up to N bytes at `now` and gets either a grant (move at most that many bytes,
// the allowance is taken) or how long to wait before asking again. Bytes granted but not
// moved go back with `refund`. Several transfers may share one bucket (zrepl limits a job's
// direction as a whole, not each transfer).
#pragma once

#include <chrono>
#include <cstddef>
#include <iosfwd>

namespace zferry {

class TokenBucket {
public:
    using clock = std::chrono::steady_clock;

    struct Decision {
        std::size_t bytes = 0;   // > 0: move at most this many bytes now
        clock::duration wait{};  // bytes == 0: ask again after this long
        friend bool operator==(const Decision&, const Decision&) = default;
        friend std::ostream& operator<<(std::ostream&, const Decision&);
    };

    // rate > 0 bytes/s; capacity >= 1 byte (a grant is at most the capacity, so the
    // capacity is also the largest chunk that moves at once).
    TokenBucket(double rate_bytes_per_second, double capacity_bytes, clock::time_point now);

    // A grant of min(want, capacity) bytes as soon as that much allowance is there (so a
    // transfer moves in chunks of the capacity rather than in dribbles of a few bytes), or
    // the wait until it will be.
    Decision take(std::size_t want, clock::time_point now);
    // Gives back allowance that was granted but not used (a short read).
    void refund(std::size_t bytes, clock::time_point now);

    double rate() const noexcept { return rate_; }
    double capacity() const noexcept { return capacity_; }
    double tokens(clock::time_point now);  // the allowance at `now` (for tests and status)

private:
    void refill(clock::time_point now);

    double rate_;
    double capacity_;
    double tokens_;
    clock::time_point last_;
};

}  // namespace zferry
