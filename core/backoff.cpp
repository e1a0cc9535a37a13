#include "core/backoff.hpp"

#include <algorithm>
#include <stdexcept>

namespace zferry {

Backoff::Backoff(duration min, duration max, std::uint64_t seed)
    : min_(min), max_(max), nominal_(min), rng_(seed) {
    if (min <= duration::zero() || max < min) throw std::invalid_argument("Backoff: need 0 < min <= max");
}

Backoff::duration Backoff::next() {
    const duration nominal = nominal_;
    const duration half = nominal / 2;
    std::uniform_int_distribution<duration::rep> upper(0, (nominal - half).count());
    const duration pause = half + duration(upper(rng_));
    nominal_ = nominal >= max_ / 2 ? max_ : nominal * 2;
    return pause;
}

}  // namespace zferry
