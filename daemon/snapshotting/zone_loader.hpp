// Resolves a timestamp_location ("UTC", "Local", "Europe/Berlin") to a TimeZone by reading
// the zoneinfo database. This is the one function here that touches the file system; the
// daemon calls it once while loading its configuration.
#pragma once

#include "core/error.hpp"
#include "daemon/snapshotting/time_zone.hpp"

#include <string>
#include <string_view>

namespace zferry::snapshotting {

inline constexpr std::string_view kDefaultZoneinfoDir = "/usr/share/zoneinfo";

// As Go's time.LoadLocation: "" and "UTC" are UTC; "Local" is /etc/localtime (UTC if the
// machine has none; the TZ variable is not consulted, since library code reads no
// environment); anything else is a file under `zoneinfo_dir`. Names must be relative paths
// without ".." components. Needs the Debian package tzdata.
Result<TimeZone> load_time_zone(std::string_view name, std::string_view zoneinfo_dir = kDefaultZoneinfoDir,
                                std::string_view localtime_path = "/etc/localtime");

}  // namespace zferry::snapshotting
