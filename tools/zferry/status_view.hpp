// The live `zferry status` screen as a pure function: the daemon's /status JSON, the previous
// sample (for rates), the time and the terminal's size in; the screen's lines out. No
// terminal, socket or clock in here: `status_live.cpp` polls, draws and reads keys.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::cli {

using WallClock = std::chrono::system_clock;

struct ViewOptions {
    int width = 80;
    int height = 24;
    bool colour = false;   // ANSI colours (only when the output is a terminal)
    std::string only_job;  // empty: every job
};

// Bytes replicated per job and filesystem at one poll, for the next poll's rates.
struct RateSample {
    WallClock::time_point at{};
    std::map<std::string, std::uint64_t> bytes;  // key: job + '\0' + filesystem
};

struct LiveScreen {
    std::vector<std::string> lines;  // at most `height`, each at most `width` columns
    RateSample sample;               // pass to the next render
};

// `previous` null: the first poll (no rates yet).
LiveScreen render_live(const boost::json::value& status, const RateSample* previous,
                       WallClock::time_point now, const ViewOptions& opts);

// The screen while the control socket does not answer (the driver keeps polling).
std::vector<std::string> render_unreachable(std::string_view why, WallClock::time_point now,
                                            const ViewOptions& opts);

// One redraw in place: cursor home, every line cleared to its end, the rest of the screen
// cleared. The last line has no newline, so a full screen never scrolls.
std::string compose_frame(const std::vector<std::string>& lines);

// The pieces, exposed for their tables.
// "[#####.....]" of `width` columns (brackets included); expected 0 (unknown): "[?...?]".
std::string progress_bar(std::uint64_t done, std::uint64_t expected, int width);
// " 45%", "100%" (more than expected shows 100%), "  ?%" when expected is unknown.
std::string percent(std::uint64_t done, std::uint64_t expected);
// Bytes per second as "1.5 MiB/s"; negative: "-".
std::string format_rate(double bytes_per_second);
// "ETA 42s", "ETA 3m07s", "ETA 2h05m", "ETA >99h"; empty when it cannot be known (no rate,
// nothing expected) or nothing is left.
std::string format_eta(std::uint64_t done, std::uint64_t expected, double bytes_per_second);
// `text` in lines of at most `width` columns, broken at spaces where one is near; lines after
// the first indented two more than the first.
std::vector<std::string> wrap_text(std::string_view text, int width);
// `text` cut to `width` columns (one column per UTF-8 code point), "…" marking the cut.
std::string fit(std::string_view text, int width);

}  // namespace zferry::cli
