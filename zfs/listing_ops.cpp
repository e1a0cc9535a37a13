#include "zfs/listing_ops.hpp"

#include "zfs/command_errors.hpp"
#include "zfs/ops_support.hpp"
#include "zfs/tsv.hpp"

#include <algorithm>
#include <unordered_map>

namespace zferry::zfs {
namespace {

// Properties whose unparsable (`list` without -p) value is the same as the parsable one.
bool is_string_property(std::string_view p) {
    if (p.find(':') != std::string_view::npos) return true;  // user property
    static constexpr std::string_view kStrings[] = {
        "name",     "type",    "mountpoint", "canmount", "origin",  "compression",  "checksum",      "atime",
        "readonly", "mounted", "sharenfs",   "sharesmb", "snapdir", "dedup",        "exec",          "setuid",
        "devices",  "xattr",   "zoned",      "copies",   "logbias", "primarycache", "secondarycache"};
    return std::find(std::begin(kStrings), std::end(kStrings), p) != std::end(kStrings);
}

// `get -H -p -o name,property,value PROPS -r ROOT` lines into filesystem entries (snapshots
// and bookmarks dropped); every filesystem must carry every property once.
Result<std::vector<FilesystemListEntry>> parse_get_as_listing(std::string_view text,
                                                              const std::vector<std::string>& props) {
    std::vector<FilesystemListEntry> out;
    std::vector<std::vector<bool>> seen;
    std::unordered_map<std::string, std::size_t> index;
    Error err;
    tsv::for_each_line(text, [&](std::size_t n, std::string_view line) {
        if (line.empty()) return true;
        auto f = tsv::split_exact<3>(line);
        if (!f) {
            err = Error(Errc::parse_error, tsv::line_prefix(n) +
                                               "expected 3 TAB-separated fields (name, property, value): " +
                                               tsv::quote_line(line));
            return false;
        }
        const auto [name, prop, value] = *f;
        if (name.find_first_of("@#") != std::string_view::npos) return true;
        auto p = std::find(props.begin(), props.end(), prop);
        if (p == props.end()) {
            err = Error(Errc::parse_error, tsv::line_prefix(n) + "property '" + std::string(prop) +
                                               "' was not requested: " + tsv::quote_line(line));
            return false;
        }
        const auto i = static_cast<std::size_t>(p - props.begin());
        auto [it, inserted] = index.try_emplace(std::string(name), out.size());
        if (inserted) {
            out.push_back(FilesystemListEntry{std::string(name), std::vector<std::string>(props.size())});
            seen.emplace_back(props.size(), false);
        }
        if (seen[it->second][i]) {
            err = Error(Errc::parse_error, tsv::line_prefix(n) + "property '" + std::string(prop) +
                                               "' appears twice for " + std::string(name));
            return false;
        }
        seen[it->second][i] = true;
        out[it->second].values[i].assign(value);
        return true;
    });
    if (err) return err;
    for (std::size_t k = 0; k < out.size(); ++k)
        for (std::size_t i = 0; i < props.size(); ++i)
            if (!seen[k][i])
                return Error(Errc::parse_error,
                             "zfs get output lacks property '" + props[i] + "' of " + out[k].name);
    return out;
}

Error not_found(std::string_view what, std::string_view name) {
    return Error(make_error_code(ZfsErrc::dataset_not_found),
                 std::string(what) + ": " + std::string(name) + " does not exist");
}

}  // namespace

boost::asio::awaitable<Result<std::vector<FilesystemListEntry>>> list_filesystems(
    ZfsRunner& runner, std::string root, std::vector<std::string> props) {
    const std::string what = root.empty() ? "listing filesystems" : "listing filesystems under " + root;
    if (!root.empty())
        if (auto r = detail::check_name(what, root, EntityType::filesystem); !r) co_return r.error();
    for (const auto& p : props)
        if (auto r = property_namecheck(p); !r) co_return Error(r.error()).wrap(what);
    auto caps = co_await detail::capabilities(runner, what);
    if (!caps) co_return caps.error();

    std::vector<std::string> argv;
    bool via_get = false;
    if (caps->list_parsable) {
        argv = list_filesystems_argv(props, root, true);
    } else if (std::all_of(props.begin(), props.end(),
                           [](const std::string& p) { return is_string_property(p); })) {
        detail::log_degraded_once(
            runner, "list_filesystems",
            "no `zfs list -p`: filesystems are listed without -p (string properties only)");
        argv = list_filesystems_argv(props, root, false);
    } else {
        detail::log_degraded_once(
            runner, "list_filesystems_get",
            "no `zfs list -p`: filesystem properties are read with one `zfs get -Hp -r`");
        via_get = true;
        std::string list;
        for (const auto& p : props) list += (list.empty() ? "" : ",") + p;
        argv = {"get", "-H", "-p", "-o", "name,property,value", "-r", "--", list};
        if (!root.empty()) argv.push_back(root);
    }
    auto out = co_await runner.run(std::move(argv));
    if (!out) co_return Error(out.error()).wrap(what);
    if (!out->ok()) {
        if (!root.empty() && is_dataset_not_found(out->result.err, root)) co_return not_found(what, root);
        co_return detail::command_error(ZfsErrc::command_failed, what, *out);
    }
    auto parsed = via_get ? parse_get_as_listing(out->result.out, props)
                          : parse_filesystem_listing(out->result.out, props.size());
    if (!parsed) co_return Error(parsed.error()).wrap(what);
    co_return std::move(*parsed);
}

boost::asio::awaitable<Result<std::vector<FilesystemVersion>>> list_versions(ZfsRunner& runner,
                                                                             std::string filesystem,
                                                                             VersionsQuery q) {
    const std::string what = "listing versions of " + filesystem;
    if (auto r = detail::check_name(what, filesystem, EntityType::filesystem); !r) co_return r.error();
    detail::OperationTimer timer(runner, ZfsOperation::list_filesystem_versions, "", filesystem);
    auto caps = co_await detail::capabilities(runner, what);
    if (!caps) co_return caps.error();

    const bool bookmarks = q.bookmarks && caps->bookmarks;
    if (!q.snapshots && !bookmarks) co_return std::vector<FilesystemVersion>{};
    if (q.bookmarks && !caps->bookmarks)
        detail::log_degraded_once(runner, "list_versions_bookmarks",
                                  "no bookmarks on this zfs: versions are snapshots only");

    std::vector<std::string> argv;
    const bool via_get = !caps->list_parsable;
    if (!via_get) {
        argv = {"list", "-H", "-p", "-o", "name,guid,createtxg,creation,userrefs", "-r"};
        if (!q.recursive) argv.insert(argv.end(), {"-d", "1"});
        std::string types = bookmarks ? (q.snapshots ? "bookmark,snapshot" : "bookmark") : "snapshot";
        argv.insert(argv.end(), {"-t", types, "-s", "createtxg", "--", filesystem});
    } else {
        detail::log_degraded_once(
            runner, "list_versions_get",
            "no `zfs list -p`: versions are read with one `zfs get -Hp -r` per listing");
        argv = {"get", "-H", "-p", "-o", "name,property,value", "-r"};
        if (!q.recursive) argv.insert(argv.end(), {"-d", "1"});
        argv.insert(argv.end(), {"--", "guid,createtxg,creation,userrefs", filesystem});
    }
    auto out = co_await runner.run(std::move(argv));
    if (!out) co_return Error(out.error()).wrap(what);
    if (!out->ok()) {
        if (is_dataset_not_found(out->result.err, filesystem)) co_return not_found(what, filesystem);
        co_return detail::command_error(ZfsErrc::command_failed, what, *out);
    }
    auto parsed =
        via_get ? parse_versions_get_listing(out->result.out) : parse_versions_listing(out->result.out);
    if (!parsed) co_return Error(parsed.error()).wrap(what);
    auto versions = std::move(*parsed);
    if (!q.snapshots)
        std::erase_if(versions, [](const FilesystemVersion& v) { return v.type == VersionType::snapshot; });
    std::stable_sort(versions.begin(), versions.end(),
                     [](const FilesystemVersion& a, const FilesystemVersion& b) {
                         if (a.filesystem != b.filesystem) return a.filesystem < b.filesystem;
                         return a.createtxg < b.createtxg;
                     });
    co_return versions;
}

std::map<std::string, std::vector<FilesystemVersion>> group_by_filesystem(
    std::vector<FilesystemVersion> versions) {
    std::map<std::string, std::vector<FilesystemVersion>> out;
    for (auto& v : versions) {
        auto& list = out[v.filesystem];
        list.push_back(std::move(v));
    }
    for (auto& [fs, list] : out)
        std::stable_sort(
            list.begin(), list.end(),
            [](const FilesystemVersion& a, const FilesystemVersion& b) { return a.createtxg < b.createtxg; });
    return out;
}

}  // namespace zferry::zfs
