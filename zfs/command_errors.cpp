#include "zfs/command_errors.hpp"

#include "zfs/tsv.hpp"

#include <cctype>

namespace zferry::zfs {
namespace {

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// "<prefix>'X'<suffix...>": X (up to the last "'" before what follows).
std::optional<std::string> quoted_after(std::string_view output, std::string_view prefix) {
    auto p = output.find(prefix);
    if (p == std::string_view::npos) return std::nullopt;
    auto rest = output.substr(p + prefix.size());
    auto end = rest.find('\'');
    if (end == std::string_view::npos) return std::nullopt;
    return std::string(rest.substr(0, end));
}

bool is_held_reason(std::string_view reason) {
    return contains(reason, "dataset is busy") || contains(reason, "it's being held");
}

}  // namespace

bool is_hold_tag_exists(std::string_view output) {
    return contains(output, "tag already exists on this dataset");
}

std::vector<std::string> release_unexpected_lines(std::string_view output) {
    std::vector<std::string> out;
    tsv::for_each_line(output, [&](std::size_t, std::string_view line) {
        if (!trim(line).empty() && !contains(line, "no such tag on this dataset")) out.emplace_back(line);
        return true;
    });
    return out;
}

std::optional<std::string> dataset_not_found_path(std::string_view output) {
    std::optional<std::string> found;
    tsv::for_each_line(output, [&](std::size_t, std::string_view line) {
        constexpr std::string_view kPrefix = "cannot open '";
        if (line.substr(0, kPrefix.size()) != kPrefix) return true;
        auto rest = line.substr(kPrefix.size());
        for (std::string_view reason : {"': dataset does not exist", "': no such pool or dataset"}) {
            auto p = rest.rfind(reason);
            if (p != std::string_view::npos && p + reason.size() == trim(rest).size()) {
                found = std::string(rest.substr(0, p));
                return false;
            }
        }
        return true;
    });
    return found;
}

bool is_dataset_not_found(std::string_view output, std::string_view expected_path) {
    auto p = dataset_not_found_path(output);
    return p && *p == expected_path;
}

DestroyFailure classify_destroy_failure(std::string_view arg, std::string_view output) {
    DestroyFailure f;
    if (contains(output, "could not find any snapshots to destroy; check snapshot names.") ||
        trim(output) == "bookmark '" + std::string(arg) + "' does not exist" ||
        is_dataset_not_found(output, arg)) {
        f.kind = DestroyFailure::Kind::not_exists;
        return f;
    }
    const auto at = arg.find('@');
    if (at == std::string_view::npos) return f;
    const auto fs = arg.substr(0, at);
    bool all_matched = true;
    tsv::for_each_line(output, [&](std::size_t, std::string_view line) {
        if (trim(line).empty()) return true;
        // OpenZFS: "cannot destroy snapshot fs@snap: reason" (one per snapshot of a batch);
        // zfs-fuse and single destroys: "cannot destroy 'fs@snap': reason".
        std::string_view name, reason;
        constexpr std::string_view kBatch = "cannot destroy snapshot ", kSingle = "cannot destroy '";
        if (line.substr(0, kBatch.size()) == kBatch) {
            auto rest = line.substr(kBatch.size());
            // Greedy like zrepl's regex: snapshot names may contain ':' but reasons do not
            // contain ": ".
            auto sep = rest.rfind(": ");
            if (sep == std::string_view::npos) return all_matched = false;
            name = rest.substr(0, sep);
            reason = rest.substr(sep + 2);
        } else if (line.substr(0, kSingle.size()) == kSingle) {
            auto rest = line.substr(kSingle.size());
            auto sep = rest.rfind("': ");
            if (sep == std::string_view::npos) return all_matched = false;
            name = rest.substr(0, sep);
            reason = rest.substr(sep + 3);
        } else {
            return all_matched = false;
        }
        auto nat = name.find('@');
        if (nat == std::string_view::npos || name.substr(0, nat) != fs) return all_matched = false;
        f.snapshots.push_back(UndestroyableSnapshot{std::string(name.substr(nat + 1)), std::string(reason),
                                                    is_held_reason(reason)});
        return true;
    });
    if (all_matched && !f.snapshots.empty())
        f.kind = DestroyFailure::Kind::undestroyable;
    else
        f.snapshots.clear();
    return f;
}

bool is_bookmark_exists(std::string_view output) {
    auto t = trim(output);
    constexpr std::string_view kSuffix = "bookmark exists";
    return t.size() >= kSuffix.size() && t.substr(t.size() - kSuffix.size()) == kSuffix;
}

bool is_recv_abort_nothing_to_abort(std::string_view output) {
    return contains(output, "does not have any resumable receive state to abort");
}

RecvFailure classify_recv_failure(std::string_view output) {
    RecvFailure f;
    // ENOSPC: libzfs's "cannot receive new filesystem stream: out of space" (or "incremental
    // stream"), the same words on OpenZFS and zfs-fuse. A `recv -s` keeps what was written as
    // resumable state but prints no resume hint; should a hint come too, the full pool is
    // still the reason to report.
    if (contains(output, "stream: out of space")) {
        f.kind = RecvFailure::Kind::out_of_space;
        return f;
    }
    constexpr std::string_view kHint = "A resuming stream can be generated on the sending system by running:";
    if (auto p = output.find(kHint); p != std::string_view::npos) {
        auto rest = output.substr(p + kHint.size());
        auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
        std::size_t i = 0;
        auto skip_space = [&] {
            std::size_t start = i;
            while (i < rest.size() && is_space(rest[i])) ++i;
            return i > start;
        };
        auto word = [&](std::string_view w) {
            if (rest.substr(i, w.size()) != w) return false;
            i += w.size();
            return true;
        };
        if (skip_space() && word("zfs") && skip_space() && word("send") && skip_space() && word("-t") &&
            skip_space()) {
            std::size_t start = i;
            while (i < rest.size() && !is_space(rest[i])) ++i;
            if (i > start) {
                f.kind = RecvFailure::Kind::resumable;
                f.resume_token.assign(rest.substr(start, i - start));
                return f;
            }
        }
    }
    if (contains(output,
                 "zfs receive -F cannot be used to destroy an encrypted filesystem or overwrite an "
                 "unencrypted one with an encrypted one")) {
        f.kind = RecvFailure::Kind::encrypted_overwrite_refused;
    } else if (contains(output, "failed to read from stream") || contains(output, "invalid backup stream")) {
        // "invalid backup stream" is how zfs-fuse (and OpenZFS on a stream cut mid-record)
        // reports a truncated stream: a dropped connection, which the driver must retry. A
        // truly corrupt stream is retried too, and fails again within the retry budget.
        f.kind = RecvFailure::Kind::stream_read_failed;
    } else if (contains(output, "dataset is busy")) {
        // zfs-fuse after an aborted receive whose teardown it has not finished, or during an
        // asynchronous unmount: the target is free again moments later.
        f.kind = RecvFailure::Kind::dataset_busy;
    }
    return f;
}

std::optional<std::string> invalid_option(std::string_view output) {
    return quoted_after(output, "invalid option '");
}

std::optional<std::string> invalid_property(std::string_view output) {
    return quoted_after(output, "invalid property '");
}

std::optional<std::string> unrecognized_command(std::string_view output) {
    return quoted_after(output, "unrecognized command '");
}

}  // namespace zferry::zfs
