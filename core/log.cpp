#include "core/log.hpp"

#include "core/text.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <syslog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>

namespace zferry {
namespace {

struct Outlet {
    LogOutlet spec;
    spdlog::sink_ptr stream;  // standard_error, standard_output, stream
};

struct State {
    std::mutex mu;
    std::mutex counts_mu;  // written from any thread that logs
    std::map<std::string, std::array<std::uint64_t, 4>, std::less<>> counts;  // by job, then level
    std::shared_ptr<const std::vector<Outlet>> outlets;
    std::atomic<int> level{static_cast<int>(LogLevel::info)};
};

State& state() {
    static State s;
    return s;
}

spdlog::sink_ptr stream_sink(const LogOutlet& o) {
    spdlog::sink_ptr sink;
    switch (o.kind) {
        case LogOutlet::Kind::standard_output:
            sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
            break;
        case LogOutlet::Kind::stream:
            if (o.out) {
                sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*o.out, true);
                break;
            }
            [[fallthrough]];
        default: sink = std::make_shared<spdlog::sinks::stderr_sink_mt>(); break;
    }
    sink->set_pattern("%v");
    sink->set_level(spdlog::level::trace);
    return sink;
}

std::shared_ptr<const std::vector<Outlet>> make_outlets(const LogOptions& options) {
    std::vector<LogOutlet> specs = options.outlets;
    if (specs.empty()) {
        LogOutlet o;
        o.kind = options.out ? LogOutlet::Kind::stream : LogOutlet::Kind::standard_error;
        o.out = options.out;
        o.level = options.level;
        o.format = options.format;
        specs.push_back(std::move(o));
    }
    auto out = std::make_shared<std::vector<Outlet>>();
    for (auto& spec : specs) {
        Outlet o{std::move(spec), nullptr};
        if (o.spec.kind == LogOutlet::Kind::syslog) o.spec.time = false;  // syslog stamps its own
        if (o.spec.kind != LogOutlet::Kind::syslog && o.spec.kind != LogOutlet::Kind::custom)
            o.stream = stream_sink(o.spec);
        out->push_back(std::move(o));
    }
    return out;
}

std::shared_ptr<const std::vector<Outlet>> current() {
    auto& s = state();
    std::lock_guard lock(s.mu);
    if (!s.outlets) s.outlets = make_outlets(LogOptions{});
    return s.outlets;
}

const std::vector<Logger::Field>& no_fields() {
    static const std::vector<Logger::Field> empty;
    return empty;
}

// Local time with milliseconds (or microseconds) and the offset, e.g.
// 2026-11-30T18:41:53.211+00:00.
std::string timestamp(std::chrono::system_clock::time_point now, bool micros) {
    const auto since = now.time_since_epoch();
    const std::time_t t = std::chrono::duration_cast<std::chrono::seconds>(since).count();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(since).count() % 1000000;
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    const long off = tm.tm_gmtoff;
    const long aoff = off < 0 ? -off : off;
    return fmt::format("{}.{:0{}}{}{:02}:{:02}", date, micros ? us : us / 1000, micros ? 6 : 3,
                       off < 0 ? '-' : '+', aoff / 3600, (aoff % 3600) / 60);
}

char level_letter(LogLevel l) {
    switch (l) {
        case LogLevel::debug: return 'D';
        case LogLevel::info: return 'I';
        case LogLevel::warn: return 'W';
        case LogLevel::error: return 'E';
        case LogLevel::off: break;
    }
    return '?';
}

// spdlog's names, which the JSON lines have always carried.
std::string_view level_name(LogLevel l) {
    switch (l) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warning";
        case LogLevel::error: return "error";
        case LogLevel::off: break;
    }
    return "off";
}

int syslog_priority(LogLevel l) {
    switch (l) {
        case LogLevel::debug: return LOG_DEBUG;
        case LogLevel::info: return LOG_INFO;
        case LogLevel::warn: return LOG_WARNING;
        default: return LOG_ERR;
    }
}

}  // namespace

int syslog_facility_code(std::string_view name) {
    static constexpr std::pair<std::string_view, int> kFacilities[] = {
        {"kern", LOG_KERN},     {"user", LOG_USER},     {"mail", LOG_MAIL},         {"daemon", LOG_DAEMON},
        {"auth", LOG_AUTH},     {"syslog", LOG_SYSLOG}, {"lpr", LOG_LPR},           {"news", LOG_NEWS},
        {"uucp", LOG_UUCP},     {"cron", LOG_CRON},     {"authpriv", LOG_AUTHPRIV}, {"ftp", LOG_FTP},
        {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},     {"local3", LOG_LOCAL3},
        {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},     {"local7", LOG_LOCAL7}};
    for (const auto& [n, code] : kFacilities)
        if (n == name) return code;
    return -1;
}

void log_init(const LogOptions& options) {
    auto outlets = make_outlets(options);
    LogLevel lowest = LogLevel::off;
    bool syslog = false;
    for (const auto& o : *outlets) {
        lowest = std::min(lowest, o.spec.level);
        syslog = syslog || o.spec.kind == LogOutlet::Kind::syslog;
    }
    if (syslog) ::openlog("zferry", LOG_PID, LOG_DAEMON);
    auto& s = state();
    std::lock_guard lock(s.mu);
    s.outlets = std::move(outlets);
    s.level.store(static_cast<int>(lowest));
}

bool parse_log_level(std::string_view s, LogLevel& out) {
    if (s == "debug")
        out = LogLevel::debug;
    else if (s == "info")
        out = LogLevel::info;
    else if (s == "warn")
        out = LogLevel::warn;
    else if (s == "error")
        out = LogLevel::error;
    else
        return false;
    return true;
}

std::string json_escape(std::string_view in) {
    std::string out;
    out.reserve(in.size() + 8);
    for (unsigned char c : in) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    static const char* hex = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xf];
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out;
}

Logger Logger::with(std::string_view key, std::string_view value) const {
    auto next = std::make_shared<std::vector<Field>>(fields_ ? *fields_ : no_fields());
    for (auto& f : *next) {
        if (f.first == key) {
            f.second = std::string(value);
            Logger l;
            l.fields_ = std::move(next);
            return l;
        }
    }
    next->emplace_back(std::string(key), std::string(value));
    Logger l;
    l.fields_ = std::move(next);
    return l;
}

bool Logger::enabled(LogLevel level) noexcept {
    return static_cast<int>(level) >= state().level.load(std::memory_order_relaxed);
}

std::string_view Logger::field(std::string_view key) const noexcept {
    for (const auto& f : fields()) {
        if (f.first == key) return f.second;
    }
    return {};
}

const std::vector<Logger::Field>& Logger::fields() const noexcept { return fields_ ? *fields_ : no_fields(); }

std::vector<LogEntryCount> log_entry_counts() {
    auto& s = state();
    std::lock_guard lock(s.counts_mu);
    std::vector<LogEntryCount> out;
    out.reserve(s.counts.size());
    for (const auto& [job, by_level] : s.counts)
        for (std::size_t l = 0; l < by_level.size(); ++l)
            if (by_level[l] > 0) out.push_back(LogEntryCount{job, static_cast<LogLevel>(l), by_level[l]});
    return out;
}

std::string_view log_level_name(LogLevel level) noexcept {
    return level == LogLevel::warn ? "warn" : level_name(level);  // zrepl's: "warn", not spdlog's
}

void Logger::write(LogLevel level, std::string_view message) const {
    {
        auto& s = state();
        const std::string_view job = field("job");
        std::lock_guard lock(s.counts_mu);
        auto it = s.counts.find(job);
        if (it == s.counts.end())
            it = s.counts.emplace(std::string(job), std::array<std::uint64_t, 4>{}).first;
        if (level < LogLevel::off) ++it->second[static_cast<std::size_t>(level)];
    }
    auto outlets = current();
    const auto now = std::chrono::system_clock::now();
    // Each format's line is built once, for the first outlet that wants it.
    std::string human, json, logfmt;
    auto human_body = [&]() -> const std::string& {
        if (human.empty()) {
            // Messages and values carry peer-chosen text (endpoint names, zfs output): escaped,
            // none of it can start a line of its own or pass for another field.
            human = escape_controls(message);
            if (!fields().empty()) human += "   ";
            for (const auto& [k, v] : fields()) {
                human += ' ';
                human += k;
                human += '=';
                human += quote_log_value(v);
            }
        }
        return human;
    };
    auto json_body = [&]() -> const std::string& {
        if (json.empty()) {
            json += "\"msg\":\"";
            json += json_escape(message);
            json += '"';
            for (const auto& [k, v] : fields()) {
                json += ",\"";
                json += json_escape(k);
                json += "\":\"";
                json += json_escape(v);
                json += '"';
            }
        }
        return json;
    };
    auto logfmt_body = [&]() -> const std::string& {
        if (logfmt.empty()) {
            logfmt += "msg=";
            logfmt += quote_log_value(message);
            for (const auto& [k, v] : fields()) {
                logfmt += ' ';
                logfmt += k;
                logfmt += '=';
                logfmt += quote_log_value(v);
            }
        }
        return logfmt;
    };
    std::string line;
    for (const auto& o : *outlets) {
        if (level < o.spec.level) continue;
        line.clear();
        switch (o.spec.format) {
            case LogFormat::human:
                if (o.spec.time) line = timestamp(now, false) + " ";
                line += '[';
                line += level_letter(level);
                line += "] ";
                line += human_body();
                break;
            case LogFormat::json:
                line = "{";
                if (o.spec.time) line += "\"time\":\"" + timestamp(now, true) + "\",";
                line += "\"level\":\"";
                line += level_name(level);
                line += "\",";
                line += json_body();
                line += '}';
                break;
            case LogFormat::logfmt:
                if (o.spec.time) line = "time=" + timestamp(now, false) + " ";
                line += "level=";
                line += level_name(level);
                line += ' ';
                line += logfmt_body();
                break;
        }
        switch (o.spec.kind) {
            case LogOutlet::Kind::syslog: {
                const int facility = syslog_facility_code(o.spec.syslog_facility);
                ::syslog((facility < 0 ? LOG_DAEMON : facility) | syslog_priority(level), "%s", line.c_str());
                break;
            }
            case LogOutlet::Kind::custom:
                if (o.spec.sink) o.spec.sink->write(level, line);
                break;
            default: {
                spdlog::details::log_msg msg("zferry", spdlog::level::info, line);
                o.stream->log(msg);
                o.stream->flush();
                break;
            }
        }
    }
}

}  // namespace zferry
