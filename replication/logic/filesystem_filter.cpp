#include "replication/logic/filesystem_filter.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace zferry::replication {
namespace {

constexpr char kSubtreeMarker = '<';

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string pattern_of(const FilesystemFilter::Entry& e) {
    return e.path.to_string() + (e.subtree ? std::string(1, kSubtreeMarker) : std::string());
}

Result<bool> parse_result(std::string_view result) {
    std::string lower(result);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "ok") return true;
    if (lower == "!") return false;
    // result<bool, Error> needs the error spelled out: an Error also converts to bool.
    return Result<bool>(boost::system::in_place_error, Errc::invalid_argument,
                        quoted(result) + " is not a valid filter result (expected 'ok' or '!')");
}

}  // namespace

Result<void> FilesystemFilter::add(std::string_view pattern, bool accept) {
    const auto fail = [&](const std::string& why) {
        return Error(Errc::invalid_argument,
                     "invalid filesystem filter pattern " + quoted(pattern) + ": " + why);
    };
    const auto markers = std::count(pattern.begin(), pattern.end(), kSubtreeMarker);
    if (markers > 1 || (markers == 1 && pattern.back() != kSubtreeMarker))
        return fail("only one '<', at the end of the pattern, is allowed");
    const bool subtree = markers == 1;
    auto path = zfs::DatasetPath::parse(subtree ? pattern.substr(0, pattern.size() - 1) : pattern);
    if (!path) return fail("not a dataset path: " + path.error().context());
    for (const auto& e : entries_)
        if (e.subtree == subtree && e.path == *path) return fail("the pattern is given twice");
    entries_.push_back(Entry{std::move(*path), subtree, accept});
    return {};
}

Result<FilesystemFilter> FilesystemFilter::from_config(
    std::span<const std::pair<std::string, bool>> entries) {
    FilesystemFilter f;
    for (const auto& [pattern, accept] : entries)
        if (auto r = f.add(pattern, accept); !r) return r.error();
    return f;
}

Result<FilesystemFilter> FilesystemFilter::from_results(
    std::span<const std::pair<std::string, std::string>> entries) {
    FilesystemFilter f;
    for (const auto& [pattern, result] : entries) {
        auto accept = parse_result(result);
        if (!accept)
            return Error(Errc::invalid_argument, "invalid filesystem filter entry " + quoted(pattern) + ": " +
                                                     accept.error().context());
        if (auto r = f.add(pattern, *accept); !r) return r.error();
    }
    return f;
}

Result<FilesystemFilter> FilesystemFilter::parse_spec(std::string_view spec) {
    FilesystemFilter f;
    std::size_t start = 0;
    while (true) {
        const auto comma = spec.find(',', start);
        const auto item =
            spec.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        const auto colon = item.rfind(':');  // dataset names may contain ':', results never do
        if (colon == std::string_view::npos)
            return Error(
                Errc::invalid_argument,
                "expecting a comma-separated list of <dataset-pattern>:<ok|!> pairs, got " + quoted(item));
        auto accept = parse_result(item.substr(colon + 1));
        if (!accept)
            return Error(Errc::invalid_argument,
                         "in filesystem filter item " + quoted(item) + ": " + accept.error().context());
        if (auto r = f.add(item.substr(0, colon), *accept); !r) return r.error();
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return f;
}

bool FilesystemFilter::passes(const zfs::DatasetPath& dataset) const noexcept {
    const Entry* exact = nullptr;
    const Entry* longest_subtree = nullptr;
    for (const auto& e : entries_) {
        if (!e.subtree) {
            if (e.path == dataset) exact = &e;
        } else if (dataset.has_prefix(e.path) &&
                   (!longest_subtree || e.path.length() > longest_subtree->path.length())) {
            longest_subtree = &e;
        }
    }
    if (exact) return exact->accept;
    if (longest_subtree) return longest_subtree->accept;
    return false;
}

std::size_t FilesystemFilter::unmatched_entries(std::span<const std::string> listed) const {
    std::set<std::string> names(listed.begin(), listed.end());
    std::size_t n = 0;
    for (const auto& e : entries_)
        if (!e.path.empty() && !names.contains(e.path.to_string())) ++n;
    return n;
}

Result<bool> FilesystemFilter::passes(std::string_view dataset) const {
    auto path = zfs::DatasetPath::parse(dataset);
    if (!path) return Result<bool>(boost::system::in_place_error, path.error());
    return passes(*path);
}

std::ostream& operator<<(std::ostream& os, const FilesystemFilter& f) {
    os << "{";
    const char* sep = "";
    for (const auto& e : f.entries()) {
        os << sep << pattern_of(e) << ": " << (e.accept ? "ok" : "!");
        sep = ", ";
    }
    return os << "}";
}

}  // namespace zferry::replication
