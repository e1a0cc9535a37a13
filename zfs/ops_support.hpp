// Shared plumbing of the zfs operations (listing, properties, holds, bookmarks, destroy,
// rollback): turning a failed ZfsOutput into an Error that names the dataset and quotes zfs,
// name checks before anything runs, and the once-per-runner log line of a degraded path.
// Internal to zferry_zfs_ops.
#pragma once

#include "core/error.hpp"
#include "zfs/capabilities.hpp"
#include "zfs/dataset_path.hpp"
#include "zfs/zfs_error.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs::detail {

// The first non-empty line of zfs's stderr (zfs puts the reason first), else of stdout, else
// the exit status.
std::string zfs_reason(const ZfsOutput& out);

// "<what>: <zfs reason> (zfs <args>: <status>)" with `code`.
Error command_error(ZfsErrc code, std::string_view what, const ZfsOutput& out);

// The dataset name check as an Error that says which operation refused it.
Result<void> check_name(std::string_view what, std::string_view name, EntityType type);

// Logs `message` at info once per (runner, key): the degraded path is announced, not repeated
// on every listing.
void log_degraded_once(const ZfsRunner& runner, std::string_view key, std::string_view message);

// The runner's capabilities; a failed probe is wrapped with `what`.
boost::asio::awaitable<Result<Capabilities>> capabilities(ZfsRunner& runner, std::string_view what);

// The dataset a zfs line says is missing: the last '...' of a line ending in "dataset does not
// exist" or "no such pool or dataset" ("cannot open 'X': ...", "cannot hold snapshot 'X': ...",
// "cannot release hold from snapshot 'X': ..."), from any line of `output`.
std::optional<std::string> missing_dataset(std::string_view output);

// True for an exec failure or a zfs message meaning the argument list was too long (E2BIG).
bool is_argument_list_too_long(const Error& e);
bool is_argument_list_too_long(const ZfsOutput& out);

// Times one operation on a filesystem and reports it to the runner when it goes out of scope
// (every co_return of the operation, failures included).
class OperationTimer {
public:
    OperationTimer(const ZfsRunner& runner, ZfsOperation op, std::string dataset_type, std::string filesystem)
        : runner_(runner),
          op_(op),
          dataset_type_(std::move(dataset_type)),
          filesystem_(std::move(filesystem)),
          started_(std::chrono::steady_clock::now()) {}
    ~OperationTimer() {
        runner_.operation_finished(op_, dataset_type_, filesystem_,
                                   std::chrono::steady_clock::now() - started_);
    }
    OperationTimer(const OperationTimer&) = delete;
    OperationTimer& operator=(const OperationTimer&) = delete;

private:
    const ZfsRunner& runner_;
    ZfsOperation op_;
    std::string dataset_type_;
    std::string filesystem_;
    std::chrono::steady_clock::time_point started_;
};

}  // namespace zferry::zfs::detail
