// Cron specs: the parser never crashes; for an accepted spec the next activation is
// strictly after the given instant, and asking again from it moves forward.
#include "daemon/snapshotting/cron_spec.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace zferry::snapshotting;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    auto spec = CronSpec::parse(s);
    if (!spec) return 0;
    const TimeZone utc;
    std::chrono::sys_seconds t{std::chrono::seconds(1658538000)};  // 2022-07-23T01:00:00Z
    for (int i = 0; i < 3; ++i) {
        auto next = spec->next(t, utc);
        if (!next) break;
        if (*next <= t) std::abort();
        t = *next;
    }
    return 0;
}
