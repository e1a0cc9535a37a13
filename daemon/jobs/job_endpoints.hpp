// The transport factory of active jobs: from a job's `connect` section, the Sender and
// Receiver it replicates between. Today zferry has the `local` transport (zrepl's: a push
// job and a sink job, or a pull job and a source job, in the same daemon, the passive job
// found by its `listener_name`, the sink's receiver below root_fs/<client_identity>). The
// remote transports (tcp, tls, ssh+stdinserver) plug in here as further cases; until then a
// job that names one is refused at startup with an error that says so.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "daemon/config/config.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "zfs/zfs_runner.hpp"

#include <map>
#include <memory>
#include <string>

namespace zferry::daemon {

// Passive jobs that serve the `local` transport, by listener name.
class LocalListeners {
public:
    // Registers `job` (a sink or source whose serve is local). Error: the name is taken.
    Result<void> add(const config::Job& job);
    const config::Job* find(const std::string& listener_name) const;

private:
    std::map<std::string, const config::Job*> by_name_;
};

struct JobEndpoints {
    std::unique_ptr<replication::Sender> sender;
    std::unique_ptr<replication::Receiver> receiver;
    std::string peer;  // for logs: "local:LISTENER as IDENTITY"
};

// The endpoints of an active (push or pull) job; errors name the job and the transport.
Result<JobEndpoints> connect_endpoints(const config::Job& job, const LocalListeners& listeners,
                                       zfs::ZfsRunner& runner, const Logger& log);

// Startup check of a passive job's `serve`: Ok for `local`; an error naming the job and the
// transport for the ones this build does not have.
Result<void> check_serve(const config::Job& job);

}  // namespace zferry::daemon
