#include "zfs/dry_send_info.hpp"

#include "zfs/tsv.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace zferry::zfs {
namespace {

bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_to(std::string_view to) {
    auto at = to.find('@');
    return at != std::string_view::npos && at > 0 && at + 1 < to.size();
}

}  // namespace

Result<DrySendInfo> parse_dry_send_info(std::string_view text, std::uint64_t incorrect_threshold) {
    std::optional<DrySendInfo> found;
    Error err;
    tsv::for_each_line(text, [&](std::size_t n, std::string_view line) {
        std::vector<std::string_view> f;
        std::size_t pos = 0;
        while (true) {
            auto tab = line.find('\t', pos);
            f.push_back(line.substr(pos, tab == std::string_view::npos ? std::string_view::npos : tab - pos));
            if (tab == std::string_view::npos) break;
            pos = tab + 1;
        }
        DrySendInfo info;
        std::string_view size;
        if (f[0] == "full" && (f.size() == 2 || f.size() == 3) && valid_to(f[1])) {
            info.type = DrySendInfo::Type::full;
            info.to.assign(f[1]);
            if (f.size() == 3) size = f[2];
        } else if (f[0] == "incremental" && (f.size() == 3 || f.size() == 4) && !f[1].empty() &&
                   valid_to(f[2])) {
            info.type = DrySendInfo::Type::incremental;
            info.from.assign(f[1]);
            info.to.assign(f[2]);
            if (f.size() == 4) size = f[3];
        } else {
            return true;
        }
        if (f.size() == (info.type == DrySendInfo::Type::full ? 3u : 4u) && !is_digits(size)) return true;
        if (!size.empty()) {
            auto v = tsv::parse_u64(size);
            if (!v) {
                err = Error(Errc::parse_error, tsv::line_prefix(n) + "size estimate '" + std::string(size) +
                                                   "' does not fit in 64 bits");
                return false;
            }
            info.size_estimate = *v >= incorrect_threshold ? 0 : *v;
        }
        info.filesystem = info.to.substr(0, info.to.find('@'));
        found = std::move(info);
        return false;
    });
    if (err) return err;
    if (!found)
        return Error(Errc::parse_error,
                     "zfs send -nvP output has no 'full' or 'incremental' line: " + tsv::quote_line(text));
    return *found;
}

Result<std::vector<DrySendInfo>> parse_dry_send_infos(std::string_view text,
                                                      std::uint64_t incorrect_threshold) {
    std::vector<DrySendInfo> out;
    Error err;
    tsv::for_each_line(text, [&](std::size_t n, std::string_view line) {
        if (!line.starts_with("full\t") && !line.starts_with("incremental\t")) return true;
        auto info = parse_dry_send_info(line, incorrect_threshold);
        if (!info) {
            // One line at a time: a line that is no estimate was skipped above, so this is one
            // whose size does not fit (or a malformed name); name the line.
            std::string why = info.error().message();
            if (why.starts_with(tsv::line_prefix(1))) why.erase(0, tsv::line_prefix(1).size());
            err = Error(Errc::parse_error, tsv::line_prefix(n) + why);
            return false;
        }
        out.push_back(std::move(*info));
        return true;
    });
    if (err) return err;
    if (out.empty())
        return Error(Errc::parse_error,
                     "zfs send -nvP output has no 'full' or 'incremental' line: " + tsv::quote_line(text));
    return out;
}

}  // namespace zferry::zfs
