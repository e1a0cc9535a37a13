// Loads zrepl.yml into config::Config, strictly as zrepl does: an unknown key, a wrong type,
// a missing required key or an invalid value is a ConfigError naming the file, line and
// column, the job and the key, and saying what is expected. Nothing starts on an invalid
// configuration. yaml-cpp stays inside config_loader.cpp.
#pragma once

#include "core/error.hpp"
#include "daemon/config/config.hpp"
#include "daemon/snapshotting/time_zone.hpp"

#include <boost/system/result.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::config {

enum class ConfigErrc {
    io = 1,               // a file could not be read
    syntax,               // not YAML
    unknown_key,          // a key zrepl (and zferry) does not know at that place
    wrong_type,           // e.g. a list where a map is expected, text where a number is
    missing_key,          // a required key is absent
    invalid_value,        // the value does not parse or is out of range
    duplicate_key,        // a map names the same key twice
    duplicate_job_name,   // two jobs share a name (also across includes)
    internal_job_name,    // a job name starting with '_' (reserved for internal jobs)
    invalid_job_name,     // not usable in hold tags and bookmark names
    overlapping_root_fs,  // two receiving jobs' root_fs, one inside the other
    invalid_include,      // include: not a .yml file or directory, or keys besides jobs
};
std::string_view to_string(ConfigErrc e) noexcept;
const boost::system::error_category& config_category() noexcept;
inline error_code make_error_code(ConfigErrc e) noexcept { return {static_cast<int>(e), config_category()}; }

struct ConfigError {
    ConfigErrc kind = ConfigErrc::invalid_value;
    Mark mark;         // line/column 0 when the error concerns the whole file
    std::string job;   // the job's name (or "jobs[i]" before its name is known); empty outside jobs
    std::string key;   // dotted path inside the job or from the top: "snapshotting.interval"
    std::string what;  // what is wrong and what is expected

    // "file:line:col: job "name": key "a.b": what"
    std::string message() const;
    Error to_error() const { return Error(make_error_code(kind), message()); }
};

[[noreturn]] void throw_exception_from_error(const ConfigError& e, const boost::source_location& loc);

template <class T>
using ConfigResult = boost::system::result<T, ConfigError>;

// What the loader needs from outside: the text of included files and time zones for
// `timestamp_location`. The defaults read the file system; the fuzzer and tests give their own.
struct LoadEnvironment {
    struct IncludedFile {
        std::string path;  // as shown in errors
        std::string text;
    };
    // An include entry (as written) of the file `from`: the files it stands for, in order.
    std::function<ConfigResult<std::vector<IncludedFile>>(const std::string& from, const std::string& entry,
                                                          const Mark& mark)>
        resolve_include;
    std::function<Result<snapshotting::TimeZone>(std::string_view name)> load_zone;

    // Files and directories relative to the including file's directory; zoneinfo from tzdata.
    static LoadEnvironment file_system();
};

// Parses `text` as the main configuration file named `file` (for messages).
ConfigResult<Config> parse_config(std::string_view text, const std::string& file, const LoadEnvironment& env);

// Reads and parses the file at `path` with LoadEnvironment::file_system().
ConfigResult<Config> load_config(const std::string& path);

// zferry's own place first, then zrepl's two.
inline const std::vector<std::string>& default_config_paths() {
    static const std::vector<std::string> paths{"/etc/zferry/zferry.yml", "/etc/zrepl/zrepl.yml",
                                                "/usr/local/etc/zrepl/zrepl.yml"};
    return paths;
}

// The configuration file to use when none is given: the first of `candidates` that exists;
// the second (zrepl's /etc/zrepl/zrepl.yml) when none does, so the error names the usual place.
std::string default_config_path(const std::vector<std::string>& candidates = default_config_paths());

}  // namespace zferry::config

template <>
struct boost::system::is_error_code_enum<zferry::config::ConfigErrc> : std::true_type {};
