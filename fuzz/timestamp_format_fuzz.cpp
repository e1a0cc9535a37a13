// Timestamp formats (Go layouts): construction and formatting never crash, at offsets
// east and west of UTC and at instants before the epoch; formatting is deterministic.
#include "daemon/snapshotting/go_layout.hpp"
#include "daemon/snapshotting/timestamp_format.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace zferry::snapshotting;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    auto fmt = TimestampFormat::make(s, TimeZone::utc());
    if (fmt) {
        const Instant t{std::chrono::nanoseconds(1715721383123456789)};
        const auto a = fmt->format(t);
        if (a != fmt->format(t)) std::abort();
        (void)fmt->format(Instant{std::chrono::nanoseconds(-86'400'123'000'000)});
    }
    const GoLayout layout(s);
    for (std::int32_t offset : {0, 19800, -12600, 50400})
        (void)layout.format(ZonedReading{-2208988800 + offset, 999'999'999, offset, offset ? "" : "UTC"});
    return 0;
}
