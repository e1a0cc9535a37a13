// `zferry test filesystems` and `zferry test placeholder`, the pure part: which filter a job
// has (or why it has none) and the lines zrepl prints, from the configuration and listings
// the command fetched. The command (cmd_test.cpp) only loads, runs zfs and prints.
#pragma once

#include "core/error.hpp"
#include "daemon/config/config.hpp"
#include "replication/logic/filesystem_filter.hpp"

#include <span>
#include <string>
#include <string_view>

namespace zferry::cli {

// The `filesystems` filter of job `job` (push, source, snap). An unknown job is
// Errc::not_found naming the jobs that exist; a sink or pull job is Errc::invalid_argument
// saying which job's filter decides instead. `config_file` only names the file in messages.
Result<const replication::FilesystemFilter*> job_filesystems_filter(const config::Config& c,
                                                                    std::string_view job,
                                                                    std::string_view config_file);

struct FilterReport {
    std::string text;        // one line per dataset, in the given order
    bool had_error = false;  // some name was no dataset path (an ERROR line)
};

// zrepl's lines: "ACCEPT\tFS\t", "REJECT\tFS\t" or "ERROR\tFS\tWHY" (always three fields).
FilterReport filter_report(const replication::FilesystemFilter& filter,
                           std::span<const std::string> datasets);

struct PlaceholderRow {
    std::string dataset;
    bool is_placeholder = false;
    std::string raw_local_value;  // `zrepl:placeholder` if set locally, else empty
};

// zrepl's table: the header "IS_PLACEHOLDER\tDATASET\tzrepl:placeholder", then
// "yes|no\tDATASET\tLOCAL_VALUE" per row.
std::string placeholder_report(std::span<const PlaceholderRow> rows);

}  // namespace zferry::cli
