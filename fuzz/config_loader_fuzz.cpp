// The configuration loader on arbitrary text (no file system: includes are refused, only the
// UTC zone exists): it never crashes, an accepted configuration has unique job names and
// renders as JSON, and a rejection names the file and says something.
#include "daemon/config/config_json.hpp"
#include "daemon/config/config_loader.hpp"

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

using namespace zferry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    static const config::LoadEnvironment env = [] {
        config::LoadEnvironment e;
        e.load_zone = [](std::string_view name) -> Result<snapshotting::TimeZone> {
            if (name.empty() || name == "UTC") return snapshotting::TimeZone::utc();
            return Error(Errc::not_found, "no time zones while fuzzing");
        };
        return e;
    }();
    auto c = config::parse_config(text, "fuzz.yml", env);
    if (!c) {
        const auto msg = c.error().message();
        if (msg.rfind("fuzz.yml", 0) != 0 || c.error().what.empty()) std::abort();
        return 0;
    }
    std::set<std::string> names;
    for (const auto& j : c->jobs)
        if (!names.insert(j.name).second) std::abort();
    if (boost::json::serialize(config::to_json(*c)).empty()) std::abort();
    return 0;
}
