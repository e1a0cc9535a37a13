// What a replication run did and is doing, as plain data (zrepl's report structures,
// reference §3.5): attempts, filesystems, steps, bytes expected and replicated, errors with
// their times. The driver updates it in place while it runs (on its executor); the status
// view and the daemon's /status copy it. to_json writes zrepl's field names, so tools that
// read zrepl's status JSON read zferry's.
#pragma once

#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::replication {

using WallTime = std::chrono::system_clock::time_point;

struct TimedError {
    std::string message;
    WallTime time;
    friend bool operator==(const TimedError&, const TimedError&) = default;
};

enum class AttemptState { planning, planning_error, fan_out_filesystems, filesystem_error, done };
enum class FilesystemState { planning, planning_error, stepping, step_error, done };
std::string_view to_string(AttemptState s) noexcept;     // "planning", "planning-error", ...
std::string_view to_string(FilesystemState s) noexcept;  // "planning", "planning-error", ...

struct StepReport {
    std::string from;  // "" for a full send; "@snap" or "#bookmark" otherwise
    std::string to;    // "@snap"
    bool resumed = false;
    bool compound = false;             // zferry: a coalesced `send -I` step
    std::size_t intermediates = 0;     // snapshots it carries besides `to`
    std::uint64_t bytes_expected = 0;  // 0: unknown
    std::uint64_t bytes_replicated = 0;
};

struct FilesystemReport {
    std::string name;
    FilesystemState state = FilesystemState::planning;
    std::string blocked_on = "nothing";  // to_string(BlockedOn)
    std::optional<TimedError> plan_error, step_error;
    std::size_t current_step = 0;  // index of the step running or next to run; == size when done
    std::vector<StepReport> steps;

    // Sum of bytes; `expected_known` false when any step has no estimate (zrepl's BytesSum).
    std::uint64_t bytes_expected() const noexcept;
    std::uint64_t bytes_replicated() const noexcept;
    bool expected_known() const noexcept;
};

struct AttemptReport {
    AttemptState state = AttemptState::planning;
    WallTime start_at;
    std::optional<WallTime> finish_at;
    std::optional<TimedError> plan_error;
    std::vector<FilesystemReport> filesystems;
};

struct ReplicationReport {
    WallTime start_at;
    std::optional<WallTime> finish_at;
    std::optional<WallTime> wait_reconnect_since, wait_reconnect_until;
    std::optional<TimedError> wait_reconnect_error;
    std::vector<AttemptReport> attempts;

    // For zrepl_replication_filesystem_errors: 0 without attempts, -1 when the latest attempt
    // failed planning, else the number of filesystems of the latest attempt that failed.
    int failed_filesystems_in_latest_attempt() const noexcept;
};

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const TimedError& e);
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const StepReport& s);
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const FilesystemReport& f);
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const AttemptReport& a);
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const ReplicationReport& r);
// The whole report as one JSON document (serialized).
std::string to_json(const ReplicationReport& r);

// RFC 3339 in UTC with nanoseconds, as Go's time.Time marshals ("2026-11-30T12:00:00.5Z").
std::string format_rfc3339(WallTime t);

}  // namespace zferry::replication
