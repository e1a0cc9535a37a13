#include "daemon/logging/log_outlets.hpp"

#include "core/overloaded.hpp"
#include "daemon/logging/tcp_log_sink.hpp"

namespace zferry::daemon {
namespace {

zferry::LogLevel to_level(config::LogLevel l) {
    switch (l) {
        case config::LogLevel::debug: return zferry::LogLevel::debug;
        case config::LogLevel::info: return zferry::LogLevel::info;
        case config::LogLevel::warn: return zferry::LogLevel::warn;
        case config::LogLevel::error: return zferry::LogLevel::error;
    }
    return zferry::LogLevel::info;
}

zferry::LogFormat to_format(config::LogFormat f) {
    switch (f) {
        case config::LogFormat::human: return zferry::LogFormat::human;
        case config::LogFormat::logfmt: return zferry::LogFormat::logfmt;
        case config::LogFormat::json: return zferry::LogFormat::json;
    }
    return zferry::LogFormat::human;
}

}  // namespace

LogOptions log_options_from(const config::Global& global) {
    LogOptions out;
    for (const auto& c : global.logging) {
        LogOutlet o;
        o.level = to_level(c.level);
        o.format = to_format(c.format);
        std::visit(Overloaded{[&](const config::StdoutOutlet& s) {
                                  o.kind = LogOutlet::Kind::standard_output;
                                  o.time = s.time;
                              },
                              [&](const config::SyslogOutlet& s) {
                                  o.kind = LogOutlet::Kind::syslog;
                                  o.syslog_facility = s.facility;
                              },
                              [&](const config::TcpOutlet& t) {
                                  TcpLogSinkOptions so;
                                  so.address = t.address;
                                  so.net = t.net;
                                  so.retry_interval = t.retry_interval;
                                  if (t.tls)
                                      so.tls = TcpLogSinkOptions::Tls{t.tls->ca, t.tls->cert, t.tls->key};
                                  o.kind = LogOutlet::Kind::custom;
                                  o.sink = std::make_shared<TcpLogSink>(std::move(so));
                              }},
                   c.outlet);
        out.outlets.push_back(std::move(o));
    }
    if (out.outlets.empty()) {
        // No outlet configured (an empty list): errors still reach stderr.
        LogOutlet o;
        o.level = zferry::LogLevel::error;
        out.outlets.push_back(std::move(o));
    }
    return out;
}

}  // namespace zferry::daemon
