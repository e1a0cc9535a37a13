// The TZif format (RFC 8536) of /usr/share/zoneinfo, parsed from bytes: no file access
// here, so the parser is fuzzable and the loader (zone_loader.hpp) stays trivial.
#pragma once

#include "core/error.hpp"
#include "daemon/snapshotting/time_zone.hpp"

#include <cstdint>
#include <span>
#include <string>

namespace zferry::snapshotting {

// Versions 1 to 4. For version 2+ the 64-bit block and the footer TZ rule are used; leap
// second records are skipped (zoneinfo's "right/" zones are not meant for civil time).
// Counts are checked against the input size before anything is allocated.
Result<TimeZone> parse_tzif(std::string name, std::span<const std::uint8_t> data);

}  // namespace zferry::snapshotting
