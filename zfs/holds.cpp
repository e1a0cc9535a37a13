#include "zfs/holds.hpp"

#include "zfs/tsv.hpp"

namespace zferry::zfs {

std::vector<std::string> holds_argv(std::string_view snapshot) {
    return {"holds", "-H", std::string(snapshot)};
}

Result<std::vector<Hold>> parse_holds(std::string_view text) {
    std::vector<Hold> out;
    Error err;
    tsv::for_each_line(text, [&](std::size_t n, std::string_view line) {
        if (line.empty()) return true;
        auto f = tsv::split_exact<3>(line);
        std::string what;
        if (!f)
            what = "expected 3 TAB-separated fields (name, tag, timestamp), got " +
                   std::to_string(tsv::count_fields(line));
        else if ((*f)[0].find('@') == std::string_view::npos)
            what = "name is not a snapshot";
        else if ((*f)[1].empty())
            what = "empty hold tag";
        if (!what.empty()) {
            err = Error(Errc::parse_error, tsv::line_prefix(n) + what + ": " + tsv::quote_line(line));
            return false;
        }
        out.push_back(Hold{std::string((*f)[0]), std::string((*f)[1]), std::string((*f)[2])});
        return true;
    });
    if (err) return err;
    return out;
}

}  // namespace zferry::zfs
