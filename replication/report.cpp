#include "replication/report.hpp"

#include <boost/json.hpp>

#include <fmt/format.h>

#include <ctime>

namespace zferry::replication {

namespace json = boost::json;

std::string_view to_string(AttemptState s) noexcept {
    switch (s) {
        case AttemptState::planning: return "planning";
        case AttemptState::planning_error: return "planning-error";
        case AttemptState::fan_out_filesystems: return "fan-out-filesystems";
        case AttemptState::filesystem_error: return "filesystem-error";
        case AttemptState::done: return "done";
    }
    return "unknown";
}

std::string_view to_string(FilesystemState s) noexcept {
    switch (s) {
        case FilesystemState::planning: return "planning";
        case FilesystemState::planning_error: return "planning-error";
        case FilesystemState::stepping: return "stepping";
        case FilesystemState::step_error: return "step-error";
        case FilesystemState::done: return "done";
    }
    return "unknown";
}

std::uint64_t FilesystemReport::bytes_expected() const noexcept {
    std::uint64_t n = 0;
    for (const auto& s : steps) n += s.bytes_expected;
    return n;
}

std::uint64_t FilesystemReport::bytes_replicated() const noexcept {
    std::uint64_t n = 0;
    for (const auto& s : steps) n += s.bytes_replicated;
    return n;
}

bool FilesystemReport::expected_known() const noexcept {
    for (const auto& s : steps)
        if (s.bytes_expected == 0) return false;
    return true;
}

int ReplicationReport::failed_filesystems_in_latest_attempt() const noexcept {
    if (attempts.empty()) return 0;
    const auto& a = attempts.back();
    if (a.state == AttemptState::planning_error) return -1;
    int n = 0;
    for (const auto& f : a.filesystems)
        if (f.state == FilesystemState::planning_error || f.state == FilesystemState::step_error) ++n;
    return n;
}

std::string format_rfc3339(WallTime t) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
    long frac = static_cast<long>(ns % 1'000'000'000);
    if (frac < 0) {
        frac += 1'000'000'000;
        --secs;
    }
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac != 0) {
        std::string f = fmt::format("{:09}", frac);
        while (f.back() == '0') f.pop_back();  // Go trims trailing zeros
        out += "." + f;
    }
    return out + "Z";
}

namespace {
json::value time_or_null(const std::optional<WallTime>& t) {
    if (!t) return nullptr;
    return json::value(format_rfc3339(*t));
}
json::value error_or_null(const std::optional<TimedError>& e) {
    if (!e) return nullptr;
    return json::value_from(*e);
}
}  // namespace

void tag_invoke(json::value_from_tag, json::value& jv, const TimedError& e) {
    jv = json::object{{"Err", e.message}, {"Time", format_rfc3339(e.time)}};
}

void tag_invoke(json::value_from_tag, json::value& jv, const StepReport& s) {
    json::object info{{"From", s.from},
                      {"To", s.to},
                      {"Resumed", s.resumed},
                      {"BytesExpected", s.bytes_expected},
                      {"BytesReplicated", s.bytes_replicated},
                      // zferry's additions, after zrepl's fields
                      {"Compound", s.compound},
                      {"Intermediates", s.intermediates}};
    jv = json::object{{"Info", std::move(info)}};
}

void tag_invoke(json::value_from_tag, json::value& jv, const FilesystemReport& f) {
    json::array steps;
    for (const auto& s : f.steps) steps.push_back(json::value_from(s));
    jv = json::object{{"Info", json::object{{"Name", f.name}}},
                      {"State", to_string(f.state)},
                      {"BlockedOn", f.blocked_on},
                      {"PlanError", error_or_null(f.plan_error)},
                      {"StepError", error_or_null(f.step_error)},
                      {"CurrentStep", f.current_step},
                      {"Steps", std::move(steps)}};
}

void tag_invoke(json::value_from_tag, json::value& jv, const AttemptReport& a) {
    json::array fss;
    for (const auto& f : a.filesystems) fss.push_back(json::value_from(f));
    jv = json::object{{"State", to_string(a.state)},
                      {"StartAt", format_rfc3339(a.start_at)},
                      {"FinishAt", time_or_null(a.finish_at)},
                      {"PlanError", error_or_null(a.plan_error)},
                      {"Filesystems", std::move(fss)}};
}

void tag_invoke(json::value_from_tag, json::value& jv, const ReplicationReport& r) {
    json::array attempts;
    for (const auto& a : r.attempts) attempts.push_back(json::value_from(a));
    jv = json::object{{"StartAt", format_rfc3339(r.start_at)},
                      {"FinishAt", time_or_null(r.finish_at)},
                      {"WaitReconnectSince", time_or_null(r.wait_reconnect_since)},
                      {"WaitReconnectUntil", time_or_null(r.wait_reconnect_until)},
                      {"WaitReconnectError", error_or_null(r.wait_reconnect_error)},
                      {"Attempts", std::move(attempts)}};
}

std::string to_json(const ReplicationReport& r) { return json::serialize(json::value_from(r)); }

}  // namespace zferry::replication
