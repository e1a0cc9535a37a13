// The configuration's job sections turned into the options of the parts a job runs
// (snapshotter, pruners, replication run, endpoints). The loader has checked every value;
// what can still fail here is what needs the machine (time zones) or what zferry does not
// support yet (database hooks), and those errors name the job and the key.
#pragma once

#include "core/error.hpp"
#include "daemon/config/config.hpp"
#include "daemon/pruning/keep_rule.hpp"
#include "daemon/snapshotting/snapshotter.hpp"
#include "replication/driver/replication.hpp"
#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"
#include "replication/remote/endpoint_server.hpp"
#include "replication/remote/remote_endpoint.hpp"

#include <vector>

namespace zferry::daemon {

Result<snapshotting::SnapshotterConfig> snapshotter_config(const std::string& job,
                                                           const config::Snapshotting& s,
                                                           const replication::FilesystemFilter& filesystems);

// `key` names the section in errors (keep_sender, keep_receiver, pruning.keep).
Result<std::vector<pruning::KeepRule>> keep_rules(const std::string& job, const std::string& key,
                                                  const config::KeepRules& rules);

replication::ReplicationOptions replication_options(const config::ReplicationOptions& r,
                                                    replication::InitialReplicationPolicy initial);

Result<replication::SenderConfig> sender_config(const std::string& job,
                                                const replication::FilesystemFilter& fs,
                                                const config::SendOptions& send);

Result<replication::ReceiverConfig> receiver_config(const std::string& job, const std::string& root_fs,
                                                    std::optional<std::string> client_identity,
                                                    const config::RecvOptions& recv);

// zferry's own connection limits (`connect.zferry`, `serve.zferry`) put on the remote client's
// and on the endpoint server's options; everything else in them stays as it is.
void apply_connect_limits(const config::ZferryConnectLimits& limits, replication::remote::RemoteOptions& o);
void apply_serve_limits(const config::ZferryServeLimits& limits,
                        replication::remote::EndpointServerOptions& o);

}  // namespace zferry::daemon
