#include "zfs/ops_support.hpp"

#include "zfs/tsv.hpp"

#include <cerrno>
#include <mutex>
#include <set>
#include <utility>

namespace zferry::zfs::detail {
namespace {

std::string first_nonempty_line(std::string_view text) {
    std::string out;
    tsv::for_each_line(text, [&](std::size_t, std::string_view line) {
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        if (line.empty()) return true;
        out.assign(line);
        return false;
    });
    return out;
}

}  // namespace

std::string zfs_reason(const ZfsOutput& out) {
    auto r = first_nonempty_line(out.result.err);
    if (r.empty()) r = first_nonempty_line(out.result.out);
    if (r.empty()) r = out.result.status();
    return r;
}

Error command_error(ZfsErrc code, std::string_view what, const ZfsOutput& out) {
    std::string cmd = "zfs";
    for (const auto& a : out.args) cmd += " " + a;
    return Error(make_error_code(code),
                 std::string(what) + ": " + zfs_reason(out) + " (" + cmd + ": " + out.result.status() + ")");
}

Result<void> check_name(std::string_view what, std::string_view name, EntityType type) {
    auto r = entity_namecheck(name, type);
    if (!r) {
        Error e = r.error();
        e.wrap(std::string(what) + ": refusing invalid name");
        return e;
    }
    return {};
}

void log_degraded_once(const ZfsRunner& runner, std::string_view key, std::string_view message) {
    static std::mutex mu;
    static std::set<std::pair<const void*, std::string>, std::less<>> logged;
    {
        std::lock_guard lock(mu);
        if (!logged.emplace(static_cast<const void*>(&runner), std::string(key)).second) return;
    }
    runner.log().info("zfs {}: {}", runner.options().binary, message);
}

boost::asio::awaitable<Result<Capabilities>> capabilities(ZfsRunner& runner, std::string_view what) {
    std::string w(what);
    auto caps = co_await runner.capabilities();
    if (!caps) {
        Error e = caps.error();
        e.wrap(w + ": cannot probe zfs capabilities");
        co_return e;
    }
    co_return *caps;
}

std::optional<std::string> missing_dataset(std::string_view output) {
    std::optional<std::string> found;
    tsv::for_each_line(output, [&](std::size_t, std::string_view line) {
        while (!line.empty() && (line.back() == ' ' || line.back() == '.')) line.remove_suffix(1);
        for (std::string_view reason : {"': dataset does not exist", "': no such pool or dataset"}) {
            if (line.size() < reason.size() || line.substr(line.size() - reason.size()) != reason) continue;
            auto head = line.substr(0, line.size() - reason.size());
            auto open = head.rfind('\'');
            if (open == std::string_view::npos) continue;
            found = std::string(head.substr(open + 1));
            return false;
        }
        return true;
    });
    return found;
}

bool is_argument_list_too_long(const Error& e) {
    const auto& c = e.code();
    return (c == boost::system::errc::argument_list_too_long) ||
           e.message().find("Argument list too long") != std::string::npos;
}

bool is_argument_list_too_long(const ZfsOutput& out) {
    return out.result.err.find("Argument list too long") != std::string::npos;
}

}  // namespace zferry::zfs::detail
