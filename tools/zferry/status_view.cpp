#include "tools/zferry/status_view.hpp"

#include "tools/zferry/status_json.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace zferry::cli {

namespace json = boost::json;
using namespace status_json;

namespace {

enum class Style { plain, bold, error };

struct Line {
    std::string text;
    Style style = Style::plain;
};

// RFC 3339 without the fraction: "2026-11-30T19:02:03.123Z" -> "2026-11-30T19:02:03Z".
std::string whole_seconds(std::string t) {
    if (auto dot = t.find('.'); dot != std::string::npos) t = t.substr(0, dot) + "Z";
    return t;
}

// Times of today (UTC, the header's date) as "19:02:03Z", others as RFC 3339: lines stay short.
std::string short_time(const std::string& rfc3339, WallClock::time_point now) {
    std::string t = whole_seconds(rfc3339);
    const std::time_t secs = WallClock::to_time_t(now);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char today[16];
    std::strftime(today, sizeof today, "%Y-%m-%dT", &tm);
    if (t.size() > 11 && t.compare(0, 11, today) == 0) return t.substr(11);
    return t;
}

std::string wall_text(WallClock::time_point t) {
    const std::time_t secs = WallClock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
    return buf;
}

void timed_error(std::vector<Line>& out, WallClock::time_point now, const char* indent, const json::value& v,
                 std::string_view key, const std::string& what = {}) {
    const auto* e = field(v, key);
    if (!e) return;
    out.push_back({fmt::format("{}ERROR {}{}: {}", indent, short_time(str(*e, "Time"), now),
                               what.empty() ? std::string() : " " + what, str(*e, "Err")),
                   Style::error});
}

struct Renderer {
    const ViewOptions& opts;
    const RateSample* previous;
    WallClock::time_point now;
    std::vector<Line> out;
    RateSample sample;

    // Bytes per second since the previous sample; negative when unknown.
    double rate(const std::string& key, std::uint64_t bytes) const {
        if (!previous) return -1;
        auto it = previous->bytes.find(key);
        const double dt = std::chrono::duration<double>(now - previous->at).count();
        if (it == previous->bytes.end() || dt <= 0 || bytes < it->second) return -1;
        return static_cast<double>(bytes - it->second) / dt;
    }

    void filesystem(const std::string& job, const json::value& f) {
        const auto* steps = array(f, "Steps");
        std::uint64_t done = 0, expected = 0;
        bool expected_known = steps && !steps->empty();
        const std::size_t nsteps = steps ? steps->size() : 0;
        if (steps)
            for (const auto& s : *steps) {
                const auto* info = field(s, "Info");
                if (!info) continue;
                done += num(*info, "BytesReplicated");
                const auto e = num(*info, "BytesExpected");
                if (e == 0) expected_known = false;
                expected += e;
            }
        if (!expected_known) expected = 0;
        const std::string name = field(f, "Info") ? str(*field(f, "Info"), "Name") : std::string();
        const std::string state = str(f, "State");
        const auto cur = num(f, "CurrentStep");
        std::string step =
            fmt::format("step {}/{}", std::min<std::uint64_t>(cur + (cur < nsteps ? 1 : 0), nsteps), nsteps);
        if (state == "stepping" && cur < nsteps) {
            const auto* info = field((*steps)[cur], "Info");
            if (info) {
                const std::string from = str(*info, "From");
                step += "  " + (from.empty() ? std::string("full") : from) + " -> " + str(*info, "To");
            }
        }
        const std::size_t name_width = static_cast<std::size_t>(std::clamp(opts.width / 3, 8, 30));
        out.push_back({fmt::format("    {:<{}} {:<10} {}", name, name_width, state, step)});

        const std::string key = job + '\0' + name;
        sample.bytes[key] = done;
        std::string tail = percent(done, expected) + "  " + bytes(done) + " / " +
                           (expected ? bytes(expected) : std::string("?"));
        if (state == "stepping") {
            const double r = rate(key, done);
            tail += "  " + format_rate(r);
            if (auto eta = format_eta(done, expected, r); !eta.empty()) tail += "  " + eta;
        }
        const int bar_width = std::clamp(opts.width - 7 - static_cast<int>(tail.size()), 12, 42);
        out.push_back({"      " + progress_bar(done, expected, bar_width) + " " + tail});
        timed_error(out, now, "      ", f, "PlanError", "planning");
        timed_error(out, now, "      ", f, "StepError");
    }

    void replication(const std::string& job, const json::value& r) {
        const auto* attempts = array(r, "Attempts");
        const std::size_t n = attempts ? attempts->size() : 0;
        std::string head = "  Replication: ";
        if (n > 0) head += fmt::format("attempt {} {}, ", n, str(attempts->back(), "State"));
        head += "started " + short_time(str(r, "StartAt"), now);
        if (field(r, "FinishAt")) head += ", finished " + short_time(str(r, "FinishAt"), now);
        out.push_back({head});
        timed_error(out, now, "    ", r, "WaitReconnectError", "(waiting to reconnect)");
        if (n == 0) return;
        const auto& a = attempts->back();
        timed_error(out, now, "    ", a, "PlanError", "planning");
        if (const auto* fss = array(a, "Filesystems"))
            for (const auto& f : *fss) filesystem(job, f);
    }

    void pruning(const char* title, const json::value& p) {
        const auto* completed = array(p, "Completed");
        const auto* pending = array(p, "Pending");
        std::size_t destroyed = 0;
        const std::size_t nc = completed ? completed->size() : 0;
        const std::size_t np = pending ? pending->size() : 0;
        if (completed)
            for (const auto& c : *completed)
                if (const auto* d = array(c, "DestroyList")) destroyed += d->size();
        out.push_back({fmt::format("  {}: {}, {}/{} filesystems, {} snapshot(s) destroyed", title,
                                   str(p, "State"), nc, nc + np, destroyed)});
        if (auto e = str(p, "Error"); !e.empty()) out.push_back({"    ERROR: " + e, Style::error});
        if (completed)
            for (const auto& c : *completed)
                if (auto e = str(c, "LastError"); !e.empty())
                    out.push_back({"    ERROR " + str(c, "Filesystem") + ": " + e, Style::error});
    }

    void snapshotting(const json::value& s) {
        const auto* fss = array(s, "filesystems");
        std::size_t done = 0;
        const std::size_t n = fss ? fss->size() : 0;
        if (fss)
            for (const auto& f : *fss)
                if (str(f, "state") == "done") ++done;
        // The snapshotter reports no times with its errors: the round's start is when they happened.
        const std::string at = short_time(unix_time(s, "last_run_started_unix"), now);
        out.push_back({fmt::format("  Snapshotting: {}, {}/{} filesystems, last {}, next {}", str(s, "state"),
                                   done, n, at, short_time(unix_time(s, "next_run_unix"), now))});
        if (auto e = str(s, "error"); !e.empty()) out.push_back({"    ERROR " + at + ": " + e, Style::error});
        if (fss)
            for (const auto& f : *fss)
                if (auto e = str(f, "error"); !e.empty())
                    out.push_back({"    ERROR " + at + " " + str(f, "filesystem") + ": " + e, Style::error});
    }

    void jobs(const json::value& status) {
        const auto* js = field(status, "Jobs");
        bool any = false;
        if (js && js->is_object())
            for (const auto& [name_sv, job] : js->as_object()) {
                const std::string name(name_sv);
                if (!opts.only_job.empty() && name != opts.only_job) continue;
                any = true;
                const std::string type = str(job, "type");
                const auto* inner = field(job, type);
                std::string head = fmt::format("Job {} ({}): {}", name, type,
                                               inner ? str(*inner, "State") : std::string("?"));
                if (inner && field(*inner, "Invocations"))
                    head += fmt::format(", {} invocation(s)", num(*inner, "Invocations"));
                out.push_back({head, Style::bold});
                if (!inner) continue;
                if (const auto* s = field(*inner, "Snapshotting")) snapshotting(*s);
                if (const auto* s = field(*inner, "Snapper")) snapshotting(*s);
                if (const auto* r = field(*inner, "Replication")) replication(name, *r);
                if (const auto* p = field(*inner, "PruningSender")) pruning("Pruning sender", *p);
                if (const auto* p = field(*inner, "PruningReceiver")) pruning("Pruning receiver", *p);
                if (const auto* p = field(*inner, "Pruning")) pruning("Pruning", *p);
            }
        if (!any)
            out.push_back({opts.only_job.empty() ? std::string("no jobs") : "no job named " + opts.only_job,
                           Style::error});
    }
};

Line header(WallClock::time_point now) {
    return {"zferry status  " + wall_text(now) + "  (q: quit)", Style::bold};
}

std::vector<std::string> finish(std::vector<Line> in, const ViewOptions& opts) {
    // Errors are read in full: wrapped, where other lines are cut.
    std::vector<Line> lines;
    for (auto& l : in) {
        if (l.style != Style::error) {
            lines.push_back(std::move(l));
            continue;
        }
        for (auto& w : wrap_text(l.text, opts.width)) lines.push_back({std::move(w), Style::error});
    }
    const auto height = static_cast<std::size_t>(std::max(opts.height, 2));
    if (lines.size() > height) {
        const std::size_t more = lines.size() - (height - 1);
        lines.resize(height - 1);
        lines.push_back({fmt::format("… {} more line(s)", more)});
    }
    std::vector<std::string> out;
    out.reserve(lines.size());
    for (auto& l : lines) {
        std::string text = fit(l.text, opts.width);
        if (opts.colour && l.style == Style::bold) text = "\x1b[1m" + text + "\x1b[0m";
        if (opts.colour && l.style == Style::error) text = "\x1b[31m" + text + "\x1b[0m";
        out.push_back(std::move(text));
    }
    return out;
}

}  // namespace

LiveScreen render_live(const json::value& status, const RateSample* previous, WallClock::time_point now,
                       const ViewOptions& opts) {
    Renderer r{opts, previous, now, {}, {}};
    r.sample.at = now;
    r.out.push_back(header(now));
    r.jobs(status);
    return {finish(std::move(r.out), opts), std::move(r.sample)};
}

std::vector<std::string> render_unreachable(std::string_view why, WallClock::time_point now,
                                            const ViewOptions& opts) {
    std::vector<Line> lines{
        header(now), {"daemon not reachable: " + std::string(why), Style::error}, {"retrying every second"}};
    return finish(std::move(lines), opts);
}

std::string compose_frame(const std::vector<std::string>& lines) {
    std::string out = "\x1b[H";
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out += lines[i];
        out += "\x1b[K";
        if (i + 1 < lines.size()) out += "\r\n";
    }
    return out + "\x1b[J";
}

std::string progress_bar(std::uint64_t done, std::uint64_t expected, int width) {
    const int inner = std::max(width - 2, 1);
    if (expected == 0) return "[" + std::string(static_cast<std::size_t>(inner), '?') + "]";
    const double f = std::min(1.0, static_cast<double>(done) / static_cast<double>(expected));
    const int filled = static_cast<int>(std::floor(f * inner));
    return "[" + std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(inner - filled), '.') + "]";
}

std::string percent(std::uint64_t done, std::uint64_t expected) {
    if (expected == 0) return "  ?%";
    const double f = std::min(1.0, static_cast<double>(done) / static_cast<double>(expected));
    return fmt::format("{:>3}%", static_cast<int>(std::floor(f * 100)));
}

std::string format_rate(double bytes_per_second) {
    if (bytes_per_second < 0) return "- B/s";
    return bytes(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
}

std::string format_eta(std::uint64_t done, std::uint64_t expected, double bytes_per_second) {
    if (expected == 0 || done >= expected || bytes_per_second <= 0) return {};
    const double secs = std::ceil(static_cast<double>(expected - done) / bytes_per_second);
    if (secs >= 100.0 * 3600) return "ETA >99h";
    const auto s = static_cast<long>(secs);
    if (s < 60) return fmt::format("ETA {}s", s);
    if (s < 3600) return fmt::format("ETA {}m{:02}s", s / 60, s % 60);
    return fmt::format("ETA {}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::vector<std::string> wrap_text(std::string_view text, int width) {
    std::vector<std::string> out;
    if (width <= 0) return out;
    const std::size_t indent = std::min(text.find_first_not_of(' '), text.size());
    // Byte offsets of the code points, and one past the end.
    std::vector<std::size_t> cp;
    for (std::size_t i = 0; i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) cp.push_back(i);
    const std::size_t n = cp.size();
    cp.push_back(text.size());
    for (std::size_t at = 0;;) {
        std::string lead = out.empty() ? std::string() : std::string(indent + 2, ' ');
        if (lead.size() + 8 > static_cast<std::size_t>(width)) lead.clear();  // too narrow to indent
        const std::size_t room = static_cast<std::size_t>(width) - lead.size();
        if (n - at <= room) {
            out.push_back(lead + std::string(text.substr(cp[at])));
            return out;
        }
        // Break at the last space that leaves the line at least half full, else inside the word.
        std::size_t end = at + room;
        for (std::size_t k = at + room; k > at + room / 2; --k)
            if (text[cp[k]] == ' ') {
                end = k;
                break;
            }
        out.push_back(lead + std::string(text.substr(cp[at], cp[end] - cp[at])));
        at = end;
        while (at < n && text[cp[at]] == ' ') ++at;
        if (at == n) return out;
    }
}

std::string fit(std::string_view text, int width) {
    if (width <= 0) return {};
    // Code point starts (bytes that are not UTF-8 continuation bytes).
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
    if (starts.size() <= static_cast<std::size_t>(width)) return std::string(text);
    return std::string(text.substr(0, starts[static_cast<std::size_t>(width - 1)])) + "…";
}

}  // namespace zferry::cli
