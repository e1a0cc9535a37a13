#include "daemon/jobs/test_clock.hpp"

#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>

namespace zferry::daemon {

Result<std::chrono::seconds> parse_clock_offset(std::string_view text) {
    auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    std::string_view digits = text;
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    long long v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
        return Error(Errc::parse_error, "a clock offset is an integer number of seconds (e.g. 86400), not '" +
                                            std::string(text.substr(0, 40)) + "'");
    return std::chrono::seconds(v);
}

Result<std::chrono::seconds> read_clock_offset(const std::string& path) {
    std::ifstream f(path);
    if (!f) return Error(Errc::not_found, "cannot read the test clock file " + path);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto r = parse_clock_offset(text);
    if (!r) {
        auto e = r.error();
        return e.wrap("test clock file " + path);
    }
    return r;
}

Result<snapshotting::WallClock> make_test_clock(std::string path, Logger log) {
    auto first = read_clock_offset(path);
    if (!first) return first.error();
    struct Shared {
        std::mutex m;
        std::chrono::seconds offset;
        std::string last_problem;
    };
    auto shared = std::make_shared<Shared>();
    shared->offset = *first;
    return snapshotting::WallClock([shared, path = std::move(path), log = std::move(log)] {
        auto r = read_clock_offset(path);
        std::lock_guard l(shared->m);
        if (r) {
            if (*r != shared->offset)
                log.info("test clock: offset now {} s (was {} s)", r->count(), shared->offset.count());
            shared->offset = *r;
            shared->last_problem.clear();
        } else if (r.error().message() != shared->last_problem) {
            shared->last_problem = r.error().message();
            log.warn("test clock: {}; keeping the offset of {} s", shared->last_problem,
                     shared->offset.count());
        }
        return std::chrono::system_clock::now() + shared->offset;
    });
}

}  // namespace zferry::daemon
