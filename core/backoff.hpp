// Pauses between retries that double up to a maximum, each pause jittered ("equal jitter": a
// uniformly random point in the upper half of the nominal pause), without I/O. Clients that lost
// their peer at the same moment (a sink restarted under a thousand pushers, a link back after a
// cut) then spread their checks over half of each interval instead of arriving together at every
// doubling. The nominal sequence is zrepl's: min, 2 min, 4 min, ..., max.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace zferry {

class Backoff {
public:
    using duration = std::chrono::steady_clock::duration;

    // min > 0, max >= min. Pauses come from a generator seeded with `seed` (the same seed gives
    // the same pauses: tests fix it; a daemon seeds from std::random_device).
    Backoff(duration min, duration max, std::uint64_t seed);

    // The pause before the next try: in [nominal / 2, nominal], where the nominal pause is min at
    // the first call and doubles at each later one up to max.
    duration next();
    // The nominal pause the next call jitters (for log lines and tests).
    duration nominal() const noexcept { return nominal_; }
    // Back to min (after a success).
    void reset() noexcept { nominal_ = min_; }

private:
    duration min_;
    duration max_;
    duration nominal_;
    std::mt19937_64 rng_;
};

}  // namespace zferry
