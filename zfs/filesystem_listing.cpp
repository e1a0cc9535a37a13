#include "zfs/filesystem_listing.hpp"

#include "zfs/tsv.hpp"

namespace zferry::zfs {

std::vector<std::string> list_filesystems_argv(std::span<const std::string> props, std::string_view root,
                                               bool parsable) {
    std::string cols = "name";
    for (const auto& p : props) cols += "," + p;
    std::vector<std::string> argv = {"list", "-H"};
    if (parsable) argv.emplace_back("-p");
    for (const char* a : {"-o", cols.c_str(), "-r", "-t", "filesystem,volume", "--"}) argv.emplace_back(a);
    if (!root.empty()) argv.emplace_back(root);
    return argv;
}

Result<std::vector<FilesystemListEntry>> parse_filesystem_listing(std::string_view text, std::size_t nprops) {
    std::vector<FilesystemListEntry> out;
    Error err;
    tsv::for_each_line(text, [&](std::size_t n, std::string_view line) {
        if (line.empty()) return true;
        const auto fields = tsv::count_fields(line);
        if (fields != nprops + 1) {
            err = Error(Errc::parse_error, tsv::line_prefix(n) + "expected " + std::to_string(nprops + 1) +
                                               " TAB-separated fields, got " + std::to_string(fields) + ": " +
                                               tsv::quote_line(line));
            return false;
        }
        FilesystemListEntry e;
        std::size_t pos = 0;
        for (std::size_t i = 0; i <= nprops; ++i) {
            auto tab = line.find('\t', pos);
            auto field = line.substr(pos, tab == std::string_view::npos ? std::string_view::npos : tab - pos);
            if (i == 0)
                e.name.assign(field);
            else
                e.values.emplace_back(field);
            pos = tab + 1;
        }
        if (e.name.empty()) {
            err = Error(Errc::parse_error,
                        tsv::line_prefix(n) + "empty dataset name: " + tsv::quote_line(line));
            return false;
        }
        out.push_back(std::move(e));
        return true;
    });
    if (err) return err;
    return out;
}

}  // namespace zferry::zfs
