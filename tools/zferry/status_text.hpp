// `zferry status`'s text view of the daemon's /status JSON: per job its type and state, the
// replication (attempt, per filesystem state, step, bytes replicated of expected, errors with
// their times), snapshotting and pruning progress. Pure: JSON in, text out.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace zferry::cli {

// `only_job` empty: every job.
std::string render_status(const boost::json::value& status, const std::string& only_job = {});

}  // namespace zferry::cli
