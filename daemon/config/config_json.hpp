// The loaded configuration as JSON, with zrepl's key names, for `zferry configcheck` and, later,
// the daemon's status. Every section carries its `type`; durations are seconds, sizes bytes.
#pragma once

#include "daemon/config/config.hpp"

#include <boost/json/value.hpp>

namespace zferry::config {

boost::json::value to_json(const Job& job);
boost::json::value jobs_to_json(const Config& c);     // [job, ...]
boost::json::value logging_to_json(const Global& g);  // [outlet, ...]
boost::json::value to_json(const Config& c);          // {global, jobs, include}

}  // namespace zferry::config
