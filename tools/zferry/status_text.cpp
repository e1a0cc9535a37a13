#include "tools/zferry/status_text.hpp"

#include "tools/zferry/status_json.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>

#include <ctime>

namespace zferry::cli {

namespace json = boost::json;

namespace {

using namespace status_json;

std::string timed_error(const json::value& v, std::string_view key) {
    const auto* e = field(v, key);
    if (!e) return {};
    return str(*e, "Err") + " (at " + str(*e, "Time") + ")";
}

void replication(std::string& out, const json::value& r) {
    const auto* attempts = field(r, "Attempts");
    const std::size_t n = attempts && attempts->is_array() ? attempts->as_array().size() : 0;
    out += fmt::format("  Replication: started {}, {}\n", str(r, "StartAt"),
                       field(r, "FinishAt") ? "finished " + str(r, "FinishAt") : std::string("running"));
    if (auto e = timed_error(r, "WaitReconnectError"); !e.empty())
        out += "    waiting to reconnect: " + e + "\n";
    if (n == 0) return;
    const auto& a = attempts->as_array().back();
    out += fmt::format("    attempt {} of this run: {}\n", n, str(a, "State"));
    if (auto e = timed_error(a, "PlanError"); !e.empty()) out += "    ERROR planning: " + e + "\n";
    const auto* fss = field(a, "Filesystems");
    if (!fss || !fss->is_array()) return;
    for (const auto& f : fss->as_array()) {
        const auto* steps = field(f, "Steps");
        std::uint64_t done = 0, expected = 0;
        std::size_t nsteps = 0;
        if (steps && steps->is_array()) {
            nsteps = steps->as_array().size();
            for (const auto& s : steps->as_array()) {
                const auto* info = field(s, "Info");
                if (!info) continue;
                done += num(*info, "BytesReplicated");
                expected += num(*info, "BytesExpected");
            }
        }
        const auto cur = num(f, "CurrentStep");
        std::string name = field(f, "Info") ? str(*field(f, "Info"), "Name") : std::string();
        out += fmt::format("    {:<30} {:<14} step {}/{}  {} / {}\n", name, str(f, "State"),
                           std::min<std::uint64_t>(cur + (cur < nsteps ? 1 : 0), nsteps), nsteps, bytes(done),
                           expected ? bytes(expected) : std::string("?"));
        if (auto e = timed_error(f, "PlanError"); !e.empty()) out += "      ERROR: " + e + "\n";
        if (auto e = timed_error(f, "StepError"); !e.empty()) out += "      ERROR: " + e + "\n";
    }
}

void pruning(std::string& out, const char* title, const json::value& p) {
    const auto* completed = field(p, "Completed");
    const auto* pending = field(p, "Pending");
    std::size_t destroyed = 0, errors = 0, nc = 0;
    if (completed && completed->is_array()) {
        nc = completed->as_array().size();
        for (const auto& c : completed->as_array()) {
            if (const auto* d = field(c, "DestroyList"); d && d->is_array())
                destroyed += d->as_array().size();
            if (!str(c, "LastError").empty()) ++errors;
        }
    }
    const std::size_t np = pending && pending->is_array() ? pending->as_array().size() : 0;
    out += fmt::format("  {}: {}, {}/{} filesystems, {} snapshot(s) to destroy{}\n", title, str(p, "State"),
                       nc, nc + np, destroyed, errors ? fmt::format(", {} error(s)", errors) : std::string());
    if (auto e = str(p, "Error"); !e.empty()) out += "    ERROR: " + e + "\n";
    if (completed && completed->is_array())
        for (const auto& c : completed->as_array()) {
            if (auto e = str(c, "LastError"); !e.empty())
                out += "    ERROR " + str(c, "Filesystem") + ": " + e + "\n";
            if (auto s = str(c, "SkipReason"); !s.empty())
                out += "    skipped " + str(c, "Filesystem") + ": " + s + "\n";
        }
}

void snapshotting(std::string& out, const json::value& s) {
    const auto* fss = field(s, "filesystems");
    std::size_t done = 0, n = 0;
    if (fss && fss->is_array()) {
        n = fss->as_array().size();
        for (const auto& f : fss->as_array())
            if (str(f, "state") == "done") ++done;
    }
    out += fmt::format("  Snapshotting: {}, last round {} ({}/{} filesystems), next {}\n", str(s, "state"),
                       unix_time(s, "last_run_started_unix"), done, n, unix_time(s, "next_run_unix"));
    if (auto e = str(s, "error"); !e.empty()) out += "    ERROR: " + e + "\n";
    if (fss && fss->is_array())
        for (const auto& f : fss->as_array())
            if (auto e = str(f, "error"); !e.empty())
                out += "    ERROR " + str(f, "filesystem") + ": " + e + "\n";
}

}  // namespace

std::string render_status(const json::value& status, const std::string& only_job) {
    std::string out;
    const auto* jobs = field(status, "Jobs");
    if (!jobs || !jobs->is_object()) return "no jobs\n";
    for (const auto& [name, job] : jobs->as_object()) {
        if (!only_job.empty() && name != only_job) continue;
        const std::string type = str(job, "type");
        const auto* inner = field(job, type);
        out += fmt::format("Job {} ({}): {}", std::string(name), type,
                           inner ? str(*inner, "State") : std::string("?"));
        if (inner && field(*inner, "Invocations"))
            out += fmt::format(", {} invocation(s)", num(*inner, "Invocations"));
        out += "\n";
        if (!inner) continue;
        if (const auto* s = field(*inner, "Snapshotting")) snapshotting(out, *s);
        if (const auto* s = field(*inner, "Snapper")) snapshotting(out, *s);
        if (const auto* r = field(*inner, "Replication")) replication(out, *r);
        if (const auto* p = field(*inner, "PruningSender")) pruning(out, "Pruning sender", *p);
        if (const auto* p = field(*inner, "PruningReceiver")) pruning(out, "Pruning receiver", *p);
        if (const auto* p = field(*inner, "Pruning")) pruning(out, "Pruning", *p);
    }
    if (out.empty()) out = only_job.empty() ? "no jobs\n" : "no job named " + only_job + "\n";
    return out;
}

}  // namespace zferry::cli
