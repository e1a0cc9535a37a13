#include "zfs/busy_retry.hpp"

#include <algorithm>

namespace zferry::zfs {

std::optional<std::chrono::milliseconds> BusyRetry::delay(unsigned retry,
                                                          std::chrono::milliseconds waited) const {
    if (retry == 0 || waited >= budget || first_delay.count() <= 0) return std::nullopt;
    auto d = first_delay;
    for (unsigned i = 1; i < retry && d < max_delay; ++i) d *= 2;
    d = std::min(d, max_delay);
    return std::min(d, budget - waited);
}

}  // namespace zferry::zfs
