// The server half of the remote endpoints: one listener for zrepl's two connection kinds.
// Every connection comes from a transport's WireListener with its client identity (the
// transport closes and logs peers it cannot identify; an identity that is no valid dataset
// name component is refused here), then does the version handshake
// and reads its mux label under one deadline, and is served by
//  - `zrepl_control`: zrepl's Replication gRPC service (replication_service.hpp) on an
//    endpoint made for this connection's client identity;
//  - `zrepl_data`: the dataconn server (/v1/ping, /v1/send, /v1/recv) on an endpoint made for
//    the request's client identity.
// A source serves a Sender (its filesystem filter decides what a client may see and send), a
// sink a Receiver (below root_fs/<client identity>): the factory binds the identity, so a
// request can never reach another client's datasets. Every handler's log line carries the
// client identity and the method (gRPC) or request (dataconn).
//
// Connections in their preamble (handshake, label, a data connection's request) are bounded
// per source address and in total, served control connections per client identity and in
// total (EndpointServerOptions).
//
// stop(): the acceptor closes, control connections are drained (GOAWAY, calls in flight get
// the shutdown grace), then every connection task is cancelled and joined.
#pragma once

#include "core/io_engine.hpp"
#include "core/log.hpp"
#include "core/owned_task.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "transport/control_connections.hpp"
#include "transport/dataconn.hpp"
#include "transport/grpc/grpc_server.hpp"
#include "transport/pending_connections.hpp"
#include "transport/wire.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <list>
#include <memory>

namespace zferry::replication::remote {

// What the server serves to a client identity; exactly one of the two is set. `log` carries
// the client identity (and, for dataconn, the request). An error refuses the client.
struct ServedEndpoint {
    std::function<Result<std::unique_ptr<Sender>>(const std::string& identity, Logger log)> sender;
    std::function<Result<std::unique_ptr<Receiver>>(const std::string& identity, Logger log)> receiver;
};

struct EndpointServerOptions {
    transport::ConnOptions conn;
    // One deadline for the handshake and the label, counted from the accept (the transport's:
    // for TLS, the handshake before the banners is inside it too).
    std::chrono::milliseconds preamble_timeout{10000};
    // Connections in their handshake and label, in total and per source address: a newcomer
    // beyond a limit closes the oldest such connection, and so does an accept that failed for
    // lack of descriptors (EMFILE): a flood of slow or silent connections can neither take
    // every descriptor nor keep a legitimate client out.
    // With `min_age_to_shed`, one younger than that is not closed: at the total limit the
    // server takes no new connection from the listener until one is old enough or through its
    // preamble (a burst of clients waits instead of being cut off; the waiting ones sit in the
    // listener's backlog, outside the preamble deadline). 0 by default: a connection that
    // reached the preamble unauthenticated (tcp) goes as soon as a newcomer needs its slot. The
    // daemon sets 2 s behind tls, where only a client with a valid certificate gets this far.
    transport::PendingLimits pending;
    transport::DataconnOptions data;
    transport::grpc::ServerSessionOptions control;
    // Control connections past their label (authenticated, served), per client identity and in
    // total: a newcomer beyond a limit makes the oldest idle one (else the oldest) go with a
    // graceful GOAWAY, logged with its client; zferry's client connects again for its next
    // call. A connection that never calls is otherwise bounded only by keepalive.
    transport::ControlLimits control_limits;
    std::chrono::milliseconds shutdown_grace{5000};
    // Whether the banner advertises zferry/1 (coalesced steps in SendReq, data connections
    // kept for several requests). false: the server looks like zrepl to its clients.
    bool advertise_zferry = true;
};

class EndpointServer {
public:
    EndpointServer(boost::asio::io_context& ctx, IoEngine& engine,
                   std::unique_ptr<transport::WireListener> listener, ServedEndpoint served,
                   EndpointServerOptions options, Logger log);
    ~EndpointServer();
    EndpointServer(const EndpointServer&) = delete;
    EndpointServer& operator=(const EndpointServer&) = delete;

    // Starts accepting from the listener.
    void start();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return listener_->local_endpoint(); }
    boost::asio::awaitable<void> stop();
    // Connection tasks not yet joined.
    std::size_t active_connections() const noexcept;
    // Connections in their handshake and label (at most options.pending.max_pending).
    std::size_t pending_connections() const noexcept { return pending_.count(); }
    // `zrepl_data` connections served so far, and dataconn requests that came on a
    // connection kept from an earlier request (zferry/1 clients).
    std::uint64_t data_connections() const noexcept { return data_->connections_served(); }
    std::uint64_t reused_data_requests() const noexcept { return data_->reused_requests(); }

private:
    class DataHandler;

    boost::asio::awaitable<void> accept_loop();
    // Counts an accepted connection among the pending ones (closing the oldest as the limits
    // say); the slot's close function closes `conn`.
    transport::PendingConnections::Slot admit(transport::TcpConn& conn, const std::string& peer);
    boost::asio::awaitable<void> serve(std::unique_ptr<transport::TcpConn> accepted, std::string identity,
                                       std::string peer, transport::PendingConnections::Slot admitted);
    boost::asio::awaitable<void> serve_control(std::unique_ptr<transport::TcpConn> conn, std::string identity,
                                               Logger log);
    void reap();

    boost::asio::io_context& ctx_;
    IoEngine& engine_;
    ServedEndpoint served_;
    EndpointServerOptions options_;
    Logger log_;
    std::unique_ptr<DataHandler> handler_;
    std::unique_ptr<transport::DataconnServer> data_;
    std::unique_ptr<transport::WireListener> listener_;
    OwnedTask accept_task_;
    // Before conns_: the connection tasks' slots point into it.
    transport::PendingConnections pending_;
    transport::ControlConnections control_;
    std::list<std::unique_ptr<OwnedTask>> conns_;
    bool stopping_ = false;
};

}  // namespace zferry::replication::remote
