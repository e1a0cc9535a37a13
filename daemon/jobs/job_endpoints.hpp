// The transport factory of active jobs: from a job's `connect` section, the Sender and
// Receiver it replicates between.
//  - `local` (zrepl's: a push job and a sink job, or a pull job and a source job, in the same
//    daemon, the passive job found by its `listener_name`, the sink's receiver below
//    root_fs/<client_identity>);
//  - `tcp` and `tls`: the remote endpoints (replication/remote) over that transport, the
//    job's own side local (a push coalesces as a local one does: the receiver takes a
//    `send -I` stream like any other; a pull cannot, zrepl's SendReq has no field for it);
//  - `ssh+stdinserver`: the same remote endpoints over an `ssh` child (transport/ssh_wire).
// And for passive jobs (sink, source) that serve `tcp`, `tls` or `stdinserver`: PassiveServer, the endpoint
// server on that listener, serving a receiver below root_fs/<client identity> (sink) or the
// job's filesystems (source) to each identified client.
#pragma once

#include "core/error.hpp"
#include "core/io_engine.hpp"
#include "core/log.hpp"
#include "daemon/config/config.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace zferry::replication::remote {
class EndpointServer;
}
namespace zferry::transport {
struct FrameShutdownReport;
}

namespace zferry::daemon {

// What the remote transports run on: the daemon's io_context and data-path engine.
struct TransportContext {
    boost::asio::io_context& ctx;
    IoEngine& engine;
    // global.serve.stdinserver.sockdir: where `stdinserver` serves put their sockets.
    std::string stdinserver_sockdir = "/var/run/zrepl/stdinserver";
    // Told the ZFS stream bytes of every finished dataconn request of a job, on either side
    // (the daemon's metrics); null: not counted.
    std::function<void(const std::string& job, std::string_view endpoint, bool sent, std::uint64_t bytes)>
        on_stream_bytes;
    // Told how every dataconn connection's frame-layer shutdown went (the daemon's metrics);
    // null: not reported.
    std::function<void(const transport::FrameShutdownReport&)> on_frame_shutdown;
};

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
    std::string peer;  // for logs: "local:LISTENER as IDENTITY", "tcp:HOST:PORT"
    // Remote endpoints: closes their connections and joins their tasks (the owner awaits it
    // after the last use, before the endpoints go). Empty for local ones.
    std::function<boost::asio::awaitable<void>()> close;
};

// The endpoints of an active (push or pull) job; errors name the job and the transport.
// `transport` is needed for tcp and tls (null: those are refused).
Result<JobEndpoints> connect_endpoints(const config::Job& job, const LocalListeners& listeners,
                                       zfs::ZfsRunner& runner, const TransportContext* transport,
                                       const Logger& log);

// Startup check of a passive job's `serve`: a `stdinserver` needs at least one identity.
Result<void> check_serve(const config::Job& job);

// A sink's or source's endpoint server on its tcp, tls or stdinserver listener.
class PassiveServer {
public:
    // Binds the listener (errors name the job and the address), ready to start.
    static Result<std::unique_ptr<PassiveServer>> make(const config::Job& job, zfs::ZfsRunner& runner,
                                                       const TransportContext& transport, const Logger& log);
    ~PassiveServer();
    void start();
    boost::asio::awaitable<void> stop();
    std::string describe() const;  // "tcp 127.0.0.1:8888"

private:
    PassiveServer() = default;
    std::string describe_;
    std::unique_ptr<replication::remote::EndpointServer> server_;
};

// "host:port", "[v6]:port", ":port" (every address) as zrepl writes them; the host is resolved
// now (numeric or by name). Errors name the job and the key.
Result<boost::asio::ip::tcp::endpoint> resolve_address(const std::string& job, const std::string& key,
                                                       const std::string& address);

}  // namespace zferry::daemon
