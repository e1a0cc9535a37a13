// Structured logging. A Logger carries fields (job, filesystem, peer, client identity,
// request, ...) and is passed by value into every coroutine and handler that serves a
// request, so every line a request causes carries the same fields. Output is human
// ("time [LEVEL] message  key=value ...") or JSON lines; spdlog stays out of this header.
#pragma once

#include <fmt/core.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zferry {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };
// human: "time [L] message   key=value ..."; json: one object per line; logfmt:
// "time=... level=... msg=... key=value ..." (values quoted where needed).
enum class LogFormat { human, json, logfmt };

// Where an outlet's lines go when it is none of the built-in kinds (the daemon's tcp outlet).
// write() is called from any thread, with the line formatted and without its newline, and must
// not block on the network: such a sink queues.
class LogLineSink {
public:
    virtual ~LogLineSink() = default;
    virtual void write(LogLevel level, std::string_view line) = 0;
};

// One destination with its own level and format (zrepl's logging outlets).
struct LogOutlet {
    enum class Kind { standard_error, standard_output, stream, syslog, custom };
    Kind kind = Kind::standard_error;
    LogLevel level = LogLevel::info;
    LogFormat format = LogFormat::human;
    bool time = true;                        // the timestamp (syslog adds its own: never)
    std::ostream* out = nullptr;             // Kind::stream
    std::string syslog_facility = "local0";  // Kind::syslog: kern, user, ..., local0-7
    std::shared_ptr<LogLineSink> sink;       // Kind::custom
};

struct LogOptions {
    LogLevel level = LogLevel::info;
    LogFormat format = LogFormat::human;
    // nullptr: stderr. Otherwise lines go to this stream (tests capture them).
    std::ostream* out = nullptr;
    // When not empty, these replace level, format and out: every line goes to each outlet whose
    // level it reaches, formatted as that outlet asks.
    std::vector<LogOutlet> outlets = {};
};

// Maps a syslog facility name (kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron,
// authpriv, ftp, local0 .. local7) to its code; -1 when unknown.
int syslog_facility_code(std::string_view name);

// Configures the process-wide log output. Safe to call again (tests do).
void log_init(const LogOptions& options);

// Parses "debug|info|warn|error"; false when unknown.
bool parse_log_level(std::string_view s, LogLevel& out);

// Lines written since the process started, per value of the "job" field ("" without one) and
// level: what the daemon exports as zrepl_daemon_log_entries. Counted are the lines at or
// above the lowest outlet level (a debug line no outlet wants is never made, nor counted).
struct LogEntryCount {
    std::string job;
    LogLevel level;
    std::uint64_t count;
};
std::vector<LogEntryCount> log_entry_counts();
// "debug", "info", "warn", "error" (zrepl's names).
std::string_view log_level_name(LogLevel level) noexcept;

// Escapes a string for inclusion in a JSON string literal (without the quotes).
std::string json_escape(std::string_view s);

class Logger {
public:
    using Field = std::pair<std::string, std::string>;

    Logger() = default;

    // A logger with one more field; the original is unchanged. Fields with the same key
    // replace the earlier value, so a nested handler can refine e.g. "request".
    [[nodiscard]] Logger with(std::string_view key, std::string_view value) const;

    template <class... A>
    void debug(fmt::format_string<A...> f, A&&... a) const {
        if (enabled(LogLevel::debug)) write(LogLevel::debug, fmt::vformat(f, fmt::make_format_args(a...)));
    }
    template <class... A>
    void info(fmt::format_string<A...> f, A&&... a) const {
        if (enabled(LogLevel::info)) write(LogLevel::info, fmt::vformat(f, fmt::make_format_args(a...)));
    }
    template <class... A>
    void warn(fmt::format_string<A...> f, A&&... a) const {
        if (enabled(LogLevel::warn)) write(LogLevel::warn, fmt::vformat(f, fmt::make_format_args(a...)));
    }
    template <class... A>
    void error(fmt::format_string<A...> f, A&&... a) const {
        if (enabled(LogLevel::error)) write(LogLevel::error, fmt::vformat(f, fmt::make_format_args(a...)));
    }

    static bool enabled(LogLevel level) noexcept;
    void write(LogLevel level, std::string_view message) const;

    // The value of a field, or empty.
    std::string_view field(std::string_view key) const noexcept;
    const std::vector<Field>& fields() const noexcept;

private:
    std::shared_ptr<const std::vector<Field>> fields_;
};

}  // namespace zferry
