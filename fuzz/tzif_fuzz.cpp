// TZif files and POSIX TZ strings: parsing never crashes nor allocates beyond the input's
// size; an accepted zone answers lookups and wall-clock conversions at any instant.
#include "daemon/snapshotting/posix_tz.hpp"
#include "daemon/snapshotting/tzif.hpp"

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

using namespace zferry::snapshotting;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto z = parse_tzif("fuzz", std::span<const std::uint8_t>(data, size));
    const std::int64_t probes[] = {-4'000'000'000, -1, 0, 1'715'721'383, 4'102'444'800, 32'503'680'000};
    if (z) {
        for (auto t : probes) {
            const auto info = z->lookup(t);
            (void)z->to_utc(t + info.utc_offset);
        }
    }
    auto tz = PosixTz::parse(std::string_view(reinterpret_cast<const char*>(data), size));
    if (tz)
        for (auto t : probes) (void)tz->lookup(t);
    return 0;
}
