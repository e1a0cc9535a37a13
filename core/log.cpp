#include "core/log.hpp"

#include "core/text.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

namespace zferry {
namespace {

struct State {
    std::mutex mu;
    std::shared_ptr<spdlog::logger> logger;
    std::atomic<int> level{static_cast<int>(LogLevel::info)};
    LogFormat format = LogFormat::human;
};

State& state() {
    static State s;
    return s;
}

spdlog::level::level_enum to_spd(LogLevel l) {
    switch (l) {
        case LogLevel::debug: return spdlog::level::debug;
        case LogLevel::info: return spdlog::level::info;
        case LogLevel::warn: return spdlog::level::warn;
        case LogLevel::error: return spdlog::level::err;
        case LogLevel::off: return spdlog::level::off;
    }
    return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> current(LogFormat& format) {
    auto& s = state();
    std::lock_guard lock(s.mu);
    if (!s.logger) {
        s.logger =
            std::make_shared<spdlog::logger>("zferry", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        s.logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [%L] %v");
        s.logger->set_level(spdlog::level::trace);
    }
    format = s.format;
    return s.logger;
}

const std::vector<Logger::Field>& no_fields() {
    static const std::vector<Logger::Field> empty;
    return empty;
}

}  // namespace

void log_init(const LogOptions& options) {
    auto& s = state();
    spdlog::sink_ptr sink;
    if (options.out)
        sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*options.out, true);
    else
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("zferry", sink);
    if (options.format == LogFormat::json)
        logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%l",%v})");
    else
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [%L] %v");
    logger->set_level(spdlog::level::trace);
    logger->flush_on(spdlog::level::trace);
    std::lock_guard lock(s.mu);
    s.logger = std::move(logger);
    s.format = options.format;
    s.level.store(static_cast<int>(options.level));
    (void)to_spd;
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

void Logger::write(LogLevel level, std::string_view message) const {
    LogFormat format;
    auto logger = current(format);
    std::string line;
    if (format == LogFormat::json) {
        line += "\"msg\":\"";
        line += json_escape(message);
        line += '"';
        for (const auto& [k, v] : fields()) {
            line += ",\"";
            line += json_escape(k);
            line += "\":\"";
            line += json_escape(v);
            line += '"';
        }
    } else {
        // Messages and values carry peer-chosen text (endpoint names, zfs output): escaped,
        // none of it can start a line of its own or pass for another field.
        line = escape_controls(message);
        if (!fields().empty()) line += "   ";
        for (const auto& [k, v] : fields()) {
            line += ' ';
            line += k;
            line += '=';
            line += quote_log_value(v);
        }
    }
    logger->log(to_spd(level), "{}", line);
}

}  // namespace zferry
