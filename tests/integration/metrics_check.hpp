// Prometheus scrapes in integration tests: curl fetches a listener's /metrics into a file, and
// Debian's promtool (package prometheus) checks the exposition, allowing only the lint findings
// that zrepl's own metric names cause.
#pragma once

#include "tests/integration/shell.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

namespace zferry::test {

// GET http://127.0.0.1:PORT/metrics into `out` (curl -f: an HTTP error status fails); the test
// fails with curl's message when the scrape does. The scraped text ("" on failure).
inline std::string scrape_metrics(int port, const std::filesystem::path& out) {
    auto r =
        shell("curl -sS -f -o " + out.string() + " http://127.0.0.1:" + std::to_string(port) + "/metrics",
              out.string() + ".err");
    EXPECT_EQ(r.rc, 0) << "scraping 127.0.0.1:" << port << "/metrics failed: " << r.err;
    return r.rc == 0 ? read_file(out) : std::string();
}

// promtool's lint findings that zrepl's own names cause (kept so that its Grafana dashboard
// keeps working): counters without _total, a gauge whose name ends in _count.
inline bool zrepl_lint_finding(const std::string& line) {
    for (const char* counter : {"zrepl_replication_bytes_replicated", "zrepl_daemon_log_entries",
                                "zrepl_control_request_begin", "zrepl_frameconn_shutdown_hard_closes"})
        if (line == std::string(counter) + " counter metrics should have \"_total\" suffix") return true;
    return line ==
           "zrepl_zfs_list_unmatched_user_specified_dataset_count non-histogram and non-summary "
           "metrics should not have \"_count\" suffix";
}

// `promtool check metrics` on `file`: the test fails unless promtool is there, parses the file
// and every line it prints is one of zrepl's own lint findings. The number of findings (-1 when
// promtool is missing or could not parse the exposition).
inline int expect_promtool_accepts(const std::filesystem::path& file) {
    auto check = shell("promtool check metrics < " + file.string(), file.string() + ".err");
    check.out += check.err;  // promtool writes its findings to standard error
    if (check.rc == 127) {
        ADD_FAILURE() << "promtool is missing (Debian package prometheus; tools/dev/deps.sh installs it)";
        return -1;
    }
    if (check.rc == 1) {
        ADD_FAILURE() << "promtool could not parse the exposition of " << file << ": " << check.out;
        return -1;
    }
    int findings = 0;
    std::istringstream lines(check.out);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        ++findings;
        EXPECT_TRUE(zrepl_lint_finding(line)) << line;
    }
    return findings;
}

}  // namespace zferry::test
