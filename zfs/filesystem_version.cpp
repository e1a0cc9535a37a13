#include "zfs/filesystem_version.hpp"

#include "zfs/tsv.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace zferry::zfs {
namespace {

Error bad_line(std::size_t number, std::string_view line, std::string_view what) {
    return Error(Errc::parse_error,
                 tsv::line_prefix(number) + std::string(what) + ": " + tsv::quote_line(line));
}

// Splits "pool/fs@snap" / "pool/fs#bm"; false if neither or an empty half.
bool split_version_name(std::string_view full, FilesystemVersion& v) {
    auto d = full.find_first_of("@#");
    if (d == std::string_view::npos || d == 0 || d + 1 == full.size()) return false;
    if (full.find_first_of("@#", d + 1) != std::string_view::npos) return false;
    v.type = full[d] == '@' ? VersionType::snapshot : VersionType::bookmark;
    v.filesystem.assign(full.substr(0, d));
    v.name.assign(full.substr(d + 1));
    return true;
}

std::optional<std::int64_t> parse_creation(std::string_view s) {
    auto v = tsv::parse_u64(s);
    if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(*v);
}

}  // namespace

std::vector<std::string> list_versions_argv(std::string_view filesystem, bool with_bookmarks) {
    return {"list",
            "-H",
            "-p",
            "-o",
            "name,guid,createtxg,creation,userrefs",
            "-r",
            "-d",
            "1",
            "-t",
            with_bookmarks ? "bookmark,snapshot" : "snapshot",
            "-s",
            "createtxg",
            std::string(filesystem)};
}

std::vector<std::string> get_versions_argv(std::string_view filesystem) {
    return {"get",
            "-H",
            "-p",
            "-o",
            "name,property,value",
            "guid,createtxg,creation,userrefs",
            "-r",
            "-d",
            "1",
            std::string(filesystem)};
}

Result<std::vector<FilesystemVersion>> parse_versions_listing(std::string_view text) {
    std::vector<FilesystemVersion> out;
    out.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
    Error err;
    tsv::for_each_line(text, [&](std::size_t n, std::string_view line) {
        if (line.empty()) return true;
        auto f = tsv::split_exact<5>(line);
        if (!f) {
            err =
                bad_line(n, line,
                         "expected 5 TAB-separated fields (name, guid, createtxg, creation, userrefs), got " +
                             std::to_string(tsv::count_fields(line)));
            return false;
        }
        FilesystemVersion v;
        if (!split_version_name((*f)[0], v)) {
            err = bad_line(n, line, "name is neither a snapshot (fs@snap) nor a bookmark (fs#bm)");
            return false;
        }
        auto guid = tsv::parse_u64((*f)[1]);
        auto txg = tsv::parse_u64((*f)[2]);
        auto creation = parse_creation((*f)[3]);
        if (!guid)
            err = bad_line(n, line, "guid '" + std::string((*f)[1]) + "' is not a decimal uint64");
        else if (!txg)
            err = bad_line(n, line, "createtxg '" + std::string((*f)[2]) + "' is not a decimal uint64");
        else if (!creation)
            err = bad_line(n, line, "creation '" + std::string((*f)[3]) + "' is not unix seconds");
        if (err) return false;
        v.guid = *guid;
        v.createtxg = *txg;
        v.creation = *creation;
        const auto refs = (*f)[4];
        if (v.type == VersionType::bookmark) {
            // Bookmarks cannot be held; zfs prints '-'.
            if (refs != "-") {
                err = bad_line(n, line, "userrefs of a bookmark should be '-'");
                return false;
            }
        } else {
            auto r = tsv::parse_u64(refs);
            if (!r) {
                err = bad_line(n, line, "userrefs '" + std::string(refs) + "' of a snapshot is not a number");
                return false;
            }
            v.userrefs = *r;
        }
        out.push_back(std::move(v));
        return true;
    });
    if (err) return err;
    return out;
}

Result<std::vector<FilesystemVersion>> parse_versions_get_listing(std::string_view text) {
    struct Partial {
        FilesystemVersion v;
        unsigned seen = 0;  // bit per property
        std::size_t first_line = 0;
    };
    static constexpr std::string_view kProps[] = {"guid", "createtxg", "creation", "userrefs"};
    std::vector<Partial> parts;
    std::unordered_map<std::string, std::size_t> index;
    Error err;
    tsv::for_each_line(text, [&](std::size_t n, std::string_view line) {
        if (line.empty()) return true;
        auto f = tsv::split_exact<3>(line);
        if (!f) {
            err = bad_line(n, line,
                           "expected 3 TAB-separated fields (name, property, value), got " +
                               std::to_string(tsv::count_fields(line)));
            return false;
        }
        const auto [name, prop, value] = *f;
        if (name.find('@') == std::string_view::npos) return true;  // the filesystem or a child
        std::size_t p = std::size(kProps);
        for (std::size_t i = 0; i < std::size(kProps); ++i)
            if (kProps[i] == prop) p = i;
        if (p == std::size(kProps)) {
            err = bad_line(n, line, "unexpected property '" + std::string(prop) + "'");
            return false;
        }
        auto [it, inserted] = index.try_emplace(std::string(name), parts.size());
        if (inserted) {
            Partial np;
            np.first_line = n;
            if (!split_version_name(name, np.v) || np.v.type != VersionType::snapshot) {
                err = bad_line(n, line, "name is not a snapshot (fs@snap)");
                return false;
            }
            parts.push_back(std::move(np));
        }
        Partial& part = parts[it->second];
        if (part.seen & (1u << p)) {
            err = bad_line(n, line,
                           "property '" + std::string(prop) + "' appears twice for " + std::string(name));
            return false;
        }
        part.seen |= 1u << p;
        if (p == 2) {
            auto c = parse_creation(value);
            if (!c) {
                err = bad_line(n, line,
                               "creation '" + std::string(value) + "' is not unix seconds (was -p given?)");
                return false;
            }
            part.v.creation = *c;
            return true;
        }
        auto u = tsv::parse_u64(value);
        if (!u) {
            err = bad_line(n, line,
                           std::string(prop) + " '" + std::string(value) + "' is not a decimal uint64");
            return false;
        }
        if (p == 0) part.v.guid = *u;
        if (p == 1) part.v.createtxg = *u;
        if (p == 3) part.v.userrefs = *u;
        return true;
    });
    if (err) return err;
    std::vector<FilesystemVersion> out;
    out.reserve(parts.size());
    for (auto& part : parts) {
        if (part.seen != 0xf) {
            std::string missing;
            for (std::size_t i = 0; i < std::size(kProps); ++i)
                if (!(part.seen & (1u << i)))
                    missing += (missing.empty() ? "" : ", ") + std::string(kProps[i]);
            return Error(Errc::parse_error, tsv::line_prefix(part.first_line) + "snapshot " +
                                                part.v.full_name() + " lacks propert" +
                                                (missing.find(',') == std::string::npos ? "y " : "ies ") +
                                                missing);
        }
        out.push_back(std::move(part.v));
    }
    std::stable_sort(out.begin(), out.end(), [](const FilesystemVersion& a, const FilesystemVersion& b) {
        return a.createtxg < b.createtxg;
    });
    return out;
}

}  // namespace zferry::zfs
