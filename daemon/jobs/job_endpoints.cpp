#include "daemon/jobs/job_endpoints.hpp"

#include "daemon/config/tcp_client_map.hpp"
#include "daemon/jobs/job_settings.hpp"
#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"
#include "replication/remote/endpoint_server.hpp"
#include "replication/remote/remote_endpoint.hpp"
#include "transport/ssh_wire.hpp"
#include "transport/tls_wire.hpp"
#include "transport/wire.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace zferry::daemon {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

Error not_available(const config::Job& job, std::string_view section, std::string_view type) {
    return Error(Errc::invalid_argument,
                 "job \"" + job.name + "\": " + std::string(section) + " type \"" + std::string(type) +
                     "\" is not available in this zferry build yet (local, tcp and tls are); the daemon does "
                     "not start with this job");
}

// The remote side's Sender or Receiver over `connector`; `close` joins its connections.
// The dataconn observer that tells `t` the stream bytes of `job` (none if `t` counts nothing).
transport::StreamBytesObserver stream_bytes_of(const TransportContext& t, const std::string& job) {
    if (!t.on_stream_bytes) return {};
    return [count = t.on_stream_bytes, job](std::string_view endpoint, bool sent, std::uint64_t bytes) {
        count(job, endpoint, sent, bytes);
    };
}

template <class Remote>
std::unique_ptr<Remote> make_remote(const TransportContext& t, const std::string& job,
                                    std::shared_ptr<transport::WireConnector> connector,
                                    std::chrono::seconds dial_timeout,
                                    const config::ZferryConnectLimits& limits, const Logger& log,
                                    std::function<asio::awaitable<void>()>& close) {
    replication::remote::RemoteOptions o;
    apply_connect_limits(limits, o);
    o.connector = connector;
    o.data.on_stream_bytes = stream_bytes_of(t, job);
    o.data.frames.on_shutdown = t.on_frame_shutdown;
    o.connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(dial_timeout);
    auto r = std::make_unique<Remote>(t.ctx, t.engine, std::move(o), log);
    Remote* raw = r.get();
    close = [raw, connector]() -> asio::awaitable<void> {
        co_await raw->close();
        co_await connector->shutdown();
    };
    return r;
}

Result<std::shared_ptr<transport::WireConnector>> connector_of(const config::Job& job,
                                                               const config::Connect& c,
                                                               const TransportContext& t, const Logger& log,
                                                               std::string& peer,
                                                               std::chrono::seconds& dial_timeout) {
    if (const auto* tc = std::get_if<config::TcpConnect>(&c)) {
        auto ep = resolve_address(job.name, "connect.address", tc->address);
        if (!ep) return ep.error();
        peer = "tcp:" + transport::describe_endpoint(*ep);
        dial_timeout = tc->dial_timeout;
        return std::shared_ptr<transport::WireConnector>(std::make_shared<transport::TcpWireConnector>(*ep));
    }
    if (const auto* ssh = std::get_if<config::SshConnect>(&c)) {
        transport::SshConnectConfig sc;
        sc.ssh_command = ssh->ssh_command;
        sc.host = ssh->host;
        sc.user = ssh->user;
        sc.port = ssh->port;
        sc.identity_file = ssh->identity_file;
        sc.options = ssh->options;
        auto connector = std::make_shared<transport::SshWireConnector>(t.ctx.get_executor(), std::move(sc),
                                                                       log.with("transport", "ssh"));
        peer = connector->describe();
        dial_timeout = ssh->dial_timeout;
        return std::shared_ptr<transport::WireConnector>(std::move(connector));
    }
    const auto* tls = std::get_if<config::TlsConnect>(&c);
    if (!tls) return not_available(job, "connect", config::connect_type(c));
    auto ep = resolve_address(job.name, "connect.address", tls->address);
    if (!ep) return ep.error();
    peer = "tls:" + transport::describe_endpoint(*ep) + " (" + tls->server_cn + ")";
    dial_timeout = tls->dial_timeout;
    transport::TlsClientConfig cc{
        {tls->ca, tls->cert, tls->key}, tls->server_cn, std::chrono::milliseconds(10000)};
    auto connector = std::make_shared<transport::TlsWireConnector>(t.ctx.get_executor(), *ep, std::move(cc),
                                                                   log.with("transport", "tls"));
    if (auto r = connector->load(); !r) return Error(r.error()).wrap("job \"" + job.name + "\": connect");
    return std::shared_ptr<transport::WireConnector>(std::move(connector));
}

}  // namespace

Result<tcp::endpoint> resolve_address(const std::string& job, const std::string& key,
                                      const std::string& address) {
    auto bad = [&](const std::string& why) {
        return Error(Errc::invalid_argument, "job \"" + job + "\": " + key + " \"" + address + "\": " + why);
    };
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return bad("expected host:port");
    std::string host = address.substr(0, colon);
    const std::string port = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned long p = 0;
    try {
        std::size_t used = 0;
        p = std::stoul(port, &used);
        if (used != port.size() || p > 65535) return bad("the port is not a number from 0 to 65535");
    } catch (const std::exception&) {
        return bad("the port is not a number from 0 to 65535");
    }
    if (host.empty()) return tcp::endpoint(tcp::v4(), static_cast<unsigned short>(p));
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(host, ec);
    if (!ec) return tcp::endpoint(ip, static_cast<unsigned short>(p));
    asio::io_context io;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, port, ec);
    if (ec || results.empty())
        return Error(make_error_code(Errc::not_found), "job \"" + job + "\": " + key + " \"" + address +
                                                           "\": cannot resolve " + host + ": " +
                                                           (ec ? ec.message() : std::string("no address")));
    return results.begin()->endpoint();
}

Result<void> LocalListeners::add(const config::Job& job) {
    const auto* serve = job.serve();
    const auto* local = serve ? std::get_if<config::LocalServe>(serve) : nullptr;
    if (!local) return Error(Errc::internal, "job \"" + job.name + "\" does not serve the local transport");
    auto [it, inserted] = by_name_.emplace(local->listener_name, &job);
    if (!inserted)
        return Error(Errc::invalid_argument, "job \"" + job.name + "\": serve.listener_name \"" +
                                                 local->listener_name + "\" is already used by job \"" +
                                                 it->second->name + "\"");
    return {};
}

const config::Job* LocalListeners::find(const std::string& listener_name) const {
    auto it = by_name_.find(listener_name);
    return it == by_name_.end() ? nullptr : it->second;
}

Result<void> check_serve(const config::Job& job) {
    const auto* serve = job.serve();
    if (!serve) return {};
    if (const auto* st = std::get_if<config::StdinserverServe>(serve); st && st->client_identities.empty())
        return Error(Errc::invalid_argument,
                     "job \"" + job.name + "\": serve.client_identities is empty: no client could connect");
    return {};
}

Result<JobEndpoints> connect_endpoints(const config::Job& job, const LocalListeners& listeners,
                                       zfs::ZfsRunner& runner, const TransportContext* transport,
                                       const Logger& log) {
    const auto* connect = job.connect();
    if (!connect) return Error(Errc::internal, "job \"" + job.name + "\" has no connect section");
    const auto* local = std::get_if<config::LocalConnect>(connect);
    if (!local) {
        if (!transport) return not_available(job, "connect", config::connect_type(*connect));
        JobEndpoints out;
        std::chrono::seconds dial_timeout{10};
        auto connector = connector_of(job, *connect, *transport, log, out.peer, dial_timeout);
        if (!connector) return connector.error();
        if (const auto* push = std::get_if<config::PushJob>(&job.spec)) {
            auto sc = sender_config(job.name, push->filesystems, push->send);
            if (!sc) return sc.error();
            out.sender = std::make_unique<replication::LocalSender>(runner, std::move(*sc),
                                                                    log.with("side", "sender"));
            out.receiver = make_remote<replication::remote::RemoteReceiver>(
                *transport, job.name, *connector, dial_timeout, config::zferry_limits(*connect),
                log.with("side", "receiver"), out.close);
            return out;
        }
        if (const auto* pull = std::get_if<config::PullJob>(&job.spec)) {
            auto rc = receiver_config(job.name, pull->root_fs, std::nullopt, pull->recv);
            if (!rc) return rc.error();
            out.sender = make_remote<replication::remote::RemoteSender>(
                *transport, job.name, *connector, dial_timeout, config::zferry_limits(*connect),
                log.with("side", "sender"), out.close);
            out.receiver = std::make_unique<replication::LocalReceiver>(runner, std::move(*rc),
                                                                        log.with("side", "receiver"));
            return out;
        }
        return Error(Errc::internal, "job \"" + job.name + "\" is not a push or pull job");
    }

    const config::Job* passive = listeners.find(local->listener_name);
    auto missing = [&](std::string_view wanted) {
        return Error(Errc::invalid_argument, "job \"" + job.name + "\": connect.listener_name \"" +
                                                 local->listener_name + "\": no " + std::string(wanted) +
                                                 " job in this configuration serves that local listener");
    };
    JobEndpoints out;
    out.peer = "local:" + local->listener_name + " as " + local->client_identity;
    if (const auto* push = std::get_if<config::PushJob>(&job.spec)) {
        const auto* sink = passive ? std::get_if<config::SinkJob>(&passive->spec) : nullptr;
        if (!sink) return missing("sink");
        auto sc = sender_config(job.name, push->filesystems, push->send);
        if (!sc) return sc.error();
        auto rc = receiver_config(passive->name, sink->root_fs, local->client_identity, sink->recv);
        if (!rc) return rc.error();
        out.sender =
            std::make_unique<replication::LocalSender>(runner, std::move(*sc), log.with("side", "sender"));
        out.receiver = std::make_unique<replication::LocalReceiver>(
            runner, std::move(*rc),
            log.with("side", "receiver").with("client_identity", local->client_identity));
        return out;
    }
    if (const auto* pull = std::get_if<config::PullJob>(&job.spec)) {
        const auto* source = passive ? std::get_if<config::SourceJob>(&passive->spec) : nullptr;
        if (!source) return missing("source");
        auto sc = sender_config(passive->name, source->filesystems, source->send);
        if (!sc) return sc.error();
        auto rc = receiver_config(job.name, pull->root_fs, std::nullopt, pull->recv);
        if (!rc) return rc.error();
        out.sender = std::make_unique<replication::LocalSender>(
            runner, std::move(*sc),
            log.with("side", "sender").with("client_identity", local->client_identity));
        out.receiver = std::make_unique<replication::LocalReceiver>(runner, std::move(*rc),
                                                                    log.with("side", "receiver"));
        return out;
    }
    return Error(Errc::internal, "job \"" + job.name + "\" is not a push or pull job");
}

// ---- PassiveServer ------------------------------------------------------------------------

PassiveServer::~PassiveServer() = default;

Result<std::unique_ptr<PassiveServer>> PassiveServer::make(const config::Job& job, zfs::ZfsRunner& runner,
                                                           const TransportContext& t, const Logger& log) {
    const auto* serve = job.serve();
    if (!serve) return Error(Errc::internal, "job \"" + job.name + "\" serves nothing");
    replication::remote::ServedEndpoint served;
    if (const auto* sink = std::get_if<config::SinkJob>(&job.spec)) {
        // Checked once now; each client gets its receiver below root_fs/<identity>. The
        // bandwidth limit is one for the job, shared by every client.
        auto probe = receiver_config(job.name, sink->root_fs, std::string("probe"), sink->recv);
        if (!probe) return probe.error();
        auto limit = probe->bandwidth_limit;
        served.receiver = [&runner, job_name = job.name, root_fs = sink->root_fs, recv = sink->recv, limit](
                              const std::string& identity,
                              Logger l) -> Result<std::unique_ptr<replication::Receiver>> {
            auto rc = receiver_config(job_name, root_fs, identity, recv);
            if (!rc) return rc.error();
            rc->bandwidth_limit = limit;
            return std::unique_ptr<replication::Receiver>(
                std::make_unique<replication::LocalReceiver>(runner, std::move(*rc), std::move(l)));
        };
    } else if (const auto* source = std::get_if<config::SourceJob>(&job.spec)) {
        auto sc = sender_config(job.name, source->filesystems, source->send);
        if (!sc) return sc.error();
        served.sender = [&runner, sc = std::move(*sc)](
                            const std::string&, Logger l) -> Result<std::unique_ptr<replication::Sender>> {
            return std::unique_ptr<replication::Sender>(
                std::make_unique<replication::LocalSender>(runner, sc, std::move(l)));
        };
    } else {
        return Error(Errc::internal, "job \"" + job.name + "\" is not a sink or source job");
    }

    std::unique_ptr<PassiveServer> ps(new PassiveServer());
    std::unique_ptr<transport::WireListener> listener;
    const Logger l = log.with("subsystem", "serve");
    if (const auto* tc = std::get_if<config::TcpServe>(serve)) {
        auto ep = resolve_address(job.name, "serve.listen", tc->listen);
        if (!ep) return ep.error();
        auto map = config::TcpClientMap::make(tc->clients);
        if (!map) return Error(map.error()).wrap("job \"" + job.name + "\": serve.clients");
        auto shared = std::make_shared<config::TcpClientMap>(std::move(*map));
        auto tl = std::make_unique<transport::TcpWireListener>(
            t.ctx.get_executor(),
            [shared](const asio::ip::address& a) { return shared->identity(a.to_string()); },
            l.with("transport", "tcp"));
        if (auto r = tl->listen(*ep); !r) return Error(r.error()).wrap("job \"" + job.name + "\": serve");
        ps->describe_ = "tcp " + transport::describe_endpoint(tl->local_endpoint());
        listener = std::move(tl);
    } else if (const auto* tls = std::get_if<config::TlsServe>(serve)) {
        auto ep = resolve_address(job.name, "serve.listen", tls->listen);
        if (!ep) return ep.error();
        transport::TlsServerConfig sc{
            {tls->ca, tls->cert, tls->key},
            tls->client_cns,
            std::chrono::duration_cast<std::chrono::milliseconds>(tls->handshake_timeout)};
        auto tl = std::make_unique<transport::TlsWireListener>(t.ctx.get_executor(), std::move(sc),
                                                               l.with("transport", "tls"));
        if (auto r = tl->listen(*ep); !r) return Error(r.error()).wrap("job \"" + job.name + "\": serve");
        ps->describe_ = "tls " + transport::describe_endpoint(tl->local_endpoint());
        listener = std::move(tl);
    } else if (const auto* st = std::get_if<config::StdinserverServe>(serve)) {
        transport::StdinserverConfig sc;
        sc.sockdir = t.stdinserver_sockdir;
        sc.client_identities = st->client_identities;
        auto sl = std::make_unique<transport::StdinserverWireListener>(t.ctx.get_executor(), std::move(sc),
                                                                       l.with("transport", "stdinserver"));
        if (auto r = sl->listen(); !r) return Error(r.error()).wrap("job \"" + job.name + "\": serve");
        ps->describe_ = sl->describe();
        listener = std::move(sl);
    } else {
        return not_available(job, "serve", config::serve_type(*serve));
    }
    replication::remote::EndpointServerOptions options;
    apply_serve_limits(config::zferry_limits(*serve), options);
    options.data.on_stream_bytes = stream_bytes_of(t, job.name);
    options.data.frames.on_shutdown = t.on_frame_shutdown;
    // Behind tls the preamble holds authenticated clients: a burst of them (many clients
    // starting their round at once) waits for a slot instead of being cut off oldest first.
    if (std::get_if<config::TlsServe>(serve)) options.pending.min_age_to_shed = std::chrono::seconds(2);
    ps->server_ = std::make_unique<replication::remote::EndpointServer>(
        t.ctx, t.engine, std::move(listener), std::move(served), std::move(options), l);
    return ps;
}

void PassiveServer::start() { server_->start(); }

asio::awaitable<void> PassiveServer::stop() { co_await server_->stop(); }

std::string PassiveServer::describe() const { return describe_; }

}  // namespace zferry::daemon
