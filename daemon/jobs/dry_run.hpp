// `zferry run --dry-run JOB`: what one invocation of a job would do now, changing nothing on
// either side: the snapshots its snapshotter would take (names at this instant; hooks are not
// run), the replication steps the planner makes from both sides' listings with the sender's
// size estimates, and what each pruner's keep rules would destroy with the replication state
// as it is now (before the planned steps). Only listings, `zfs send -nvP` and property reads
// run; no hold, bookmark, snapshot, receive or destroy.
#pragma once

#include "core/log.hpp"
#include "daemon/config/config.hpp"
#include "daemon/jobs/job_endpoints.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace zferry::daemon {

struct DryRunOutput {
    std::string text;  // one line per action, grouped by section
    bool ok = true;    // false when a listing or a plan failed (the text says which)
};

// `transport`: for jobs that connect over tcp or tls (null: those are reported as errors).
boost::asio::awaitable<DryRunOutput> dry_run_job(config::Job job, LocalListeners listeners,
                                                 zfs::ZfsRunner& runner, Logger log,
                                                 const TransportContext* transport = nullptr);

}  // namespace zferry::daemon
