#include "daemon/snapshotting/zone_loader.hpp"

#include "daemon/snapshotting/tzif.hpp"

#include <fstream>
#include <iterator>
#include <vector>

namespace zferry::snapshotting {
namespace {

Result<TimeZone> load_file(std::string name, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error(Errc::not_found,
                     "unknown time zone '" + name + "' (timestamp_location or CRON_TZ): cannot read " + path +
                         " (expected UTC, Local or an IANA zone name such as Europe/Berlin; is "
                         "the tzdata package installed?)");
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_tzif(std::move(name), bytes);
}

}  // namespace

Result<TimeZone> load_time_zone(std::string_view name, std::string_view zoneinfo_dir,
                                std::string_view localtime_path) {
    if (name.empty() || name == "UTC") return TimeZone::utc();
    if (name == "Local") {
        std::ifstream probe{std::string(localtime_path)};
        if (!probe) return TimeZone::utc();
        return load_file("Local", std::string(localtime_path));
    }
    // Go's containsDotDot and absolute-path checks: a location must not escape the database.
    if (name.front() == '/' || name.find('\\') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos)
        return Error(Errc::invalid_argument, "time zone '" + std::string(name) +
                                                 "' (timestamp_location or CRON_TZ): expected an IANA zone "
                                                 "name such as Europe/Berlin, not a path");
    std::size_t start = 0;
    while (start <= name.size()) {
        auto end = name.find('/', start);
        if (end == std::string_view::npos) end = name.size();
        if (name.substr(start, end - start) == "..")
            return Error(
                Errc::invalid_argument,
                "time zone '" + std::string(name) +
                    "' (timestamp_location or CRON_TZ): '..' is not allowed in a zone name (expected an "
                    "IANA zone name such as Europe/Berlin)");
        start = end + 1;
    }
    return load_file(std::string(name), std::string(zoneinfo_dir) + "/" + std::string(name));
}

}  // namespace zferry::snapshotting
