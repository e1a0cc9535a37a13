// dataconn_transfer: zferry's dataconn as a pipe-to-pipe transfer tool, for the side-by-side
// comparison (bench/compare.py) and throughput measurements.
//   dataconn_transfer server --port P [--address A] [--mode splice|readv] [--engine reactor|uring]
//       serves one /v1/recv request on A:P (default 127.0.0.1), writing the stream to stdout,
//       then exits.
//   dataconn_transfer client --port P [--address A] [--mode ...] [--engine ...]
//       sends stdin (until EOF) as one /v1/recv request to A:P.
// (--address is for the chaos tests, which run both ends in network namespaces of their own.)
//   --tls-ca F --tls-cert F --tls-key F --tls-peer CN (both roles): over zferry's tls transport
//       (mutual TLS, the peer's certificate must carry CN: the server's client_cns, the
//       client's server_cn), as a sink or push job configured for tls runs it. The cipher is
//       OpenSSL's choice; bench/compare.py picks it with an OPENSSL_CONF of its own.
//   --tls-records own|openssl: who protects the records after a TLS 1.3 handshake (default
//       own: transport/tls13_records; openssl: OpenSSL's record layer, for comparison).
// The full protocol runs: version handshake, mux label, frames, heartbeats, streams.
// Without --mode: zferry's defaults (send readv, receive splice); --mode forces one mode on
// both directions. Without --engine: kDefaultEngine.
#include "core/io_engine.hpp"
#include "core/log.hpp"
#include "transport/dataconn.hpp"
#include "transport/handshake_io.hpp"
#include "transport/tls_session.hpp"
#include "transport/tls_wire.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace asio = boost::asio;
using namespace zferry;
using namespace zferry::transport;

namespace {

// Serves exactly one recv request: the stream goes to stdout.
class StdoutSink : public DataconnHandler {
public:
    bool done = false;
    Result<std::uint64_t> outcome = std::uint64_t{0};

    asio::awaitable<Result<std::string>> ping(RequestContext&, std::string r) override { co_return r; }
    asio::awaitable<Result<SendReply>> send(RequestContext&, std::string) override {
        co_return Error(Errc::invalid_argument, "this benchmark server only receives");
    }
    asio::awaitable<Result<RecvSession>> recv(RequestContext&, std::string) override {
        RecvSession s;
        s.stream = UniqueFd(::dup(STDOUT_FILENO));
        s.finish = [this](Result<std::uint64_t> t) -> asio::awaitable<Result<std::string>> {
            done = true;
            outcome = t;
            if (!t) co_return t.error();
            co_return std::to_string(*t);
        };
        co_return s;
    }
};

int usage() {
    std::fprintf(
        stderr,
        "usage: dataconn_transfer server|client --port P [--address A] [--mode splice|readv] [--engine "
        "reactor|uring] [--tls-ca F --tls-cert F --tls-key F --tls-peer CN [--tls-records own|openssl]]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    std::string role = argv[1];
    int port = -1;
    std::string address = "127.0.0.1";
    DataconnOptions options;  // defaults unless --mode / --engine say otherwise
    EngineKind engine_kind = kDefaultEngine;
    TlsFiles tls;
    std::string tls_peer;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--port")
            port = std::stoi(v);
        else if (k == "--address")
            address = v;
        else if (k == "--mode" && (v == "splice" || v == "readv"))
            options.stream = StreamOptions::both(v == "splice" ? PayloadMode::splice : PayloadMode::readv);
        else if (k == "--tls-ca")
            tls.ca = v;
        else if (k == "--tls-cert")
            tls.cert = v;
        else if (k == "--tls-key")
            tls.key = v;
        else if (k == "--tls-peer")
            tls_peer = v;
        else if (k == "--tls-records" && (v == "own" || v == "openssl"))
            TlsSession::set_default_record_layer(v == "own" ? TlsSession::RecordLayer::own
                                                            : TlsSession::RecordLayer::openssl);
        else if (k == "--engine" && parse_engine_kind(v, engine_kind)) {
        } else
            return usage();
    }
    if (port < 0 || (role != "server" && role != "client")) return usage();
    const bool over_tls = !tls_peer.empty();
    if (over_tls && (tls.ca.empty() || tls.cert.empty() || tls.key.empty())) return usage();
    log_init({LogLevel::warn});

    asio::io_context ctx;
    Error fell_back;
    auto engine = IoEngine::make(ctx, engine_kind, &fell_back);
    boost::system::error_code bad;
    auto ip = asio::ip::make_address(address, bad);
    if (bad) {
        std::fprintf(stderr, "dataconn_transfer: --address %s: %s\n", address.c_str(), bad.message().c_str());
        return 2;
    }
    asio::ip::tcp::endpoint ep(ip, static_cast<unsigned short>(port));
    int rc = 1;

    if (role == "server") {
        StdoutSink sink;
        DataconnServer server(ctx, *engine, sink, options, Logger().with("role", "server"));
        std::unique_ptr<TlsWireListener> listener;
        bool served = !over_tls;  // the tls connection's task has ended (the watcher joins it)
        if (over_tls) {
            listener = std::make_unique<TlsWireListener>(ctx.get_executor(), TlsServerConfig{tls, {tls_peer}},
                                                         Logger().with("role", "server"));
            if (auto r = listener->listen(ep); !r) {
                std::fprintf(stderr, "%s\n", r.error().message().c_str());
                return 1;
            }
            // One connection, served as the endpoint server serves a tls data connection.
            asio::co_spawn(
                ctx,
                [&]() -> asio::awaitable<void> {
                    struct Ended {
                        bool& flag;
                        ~Ended() { flag = true; }
                    } ended{served};
                    auto wire = co_await listener->accept();
                    if (!wire) {
                        std::fprintf(stderr, "%s\n", wire.error().message().c_str());
                        sink.done = true;
                        sink.outcome = wire.error();
                        co_return;
                    }
                    auto conn = std::make_unique<TcpConn>(*engine, std::move(wire->socket), options.conn,
                                                          std::move(wire->tls));
                    auto hs = co_await exchange_banners(*conn, options.handshake_timeout);
                    Result<MuxLabel> label = MuxLabel::zrepl_control;
                    if (hs)
                        label = co_await read_label(*conn, options.handshake_timeout);
                    else
                        label = hs.error();
                    if (!label || *label != MuxLabel::zrepl_data) {
                        sink.done = true;
                        if (label)
                            sink.outcome = Error(Errc::invalid_argument, "not a data connection");
                        else
                            sink.outcome = label.error();
                        co_return;
                    }
                    co_await server.serve_connection(std::move(conn), wire->identity,
                                                     PendingConnections::Slot{}, hs->zferry_extensions);
                },
                asio::detached);
        } else if (auto r = server.listen(ep); !r) {
            std::fprintf(stderr, "%s\n", r.error().message().c_str());
            return 1;
        }
        asio::co_spawn(
            ctx,
            [&]() -> asio::awaitable<void> {
                asio::steady_timer t(ctx);
                while (!sink.done || !served || server.active_connections() > 0) {
                    t.expires_after(std::chrono::milliseconds(2));
                    co_await t.async_wait(asio::use_awaitable);
                }
                if (listener) {
                    listener->close();
                    co_await listener->shutdown();
                }
                co_await server.stop();
            },
            asio::detached);
        ctx.run();
        if (!sink.outcome) std::fprintf(stderr, "%s\n", sink.outcome.error().message().c_str());
        rc = sink.outcome ? 0 : 1;
    } else {
        std::shared_ptr<TlsWireConnector> connector;
        if (over_tls) {
            connector = std::make_shared<TlsWireConnector>(
                ctx.get_executor(), ep, TlsClientConfig{tls, tls_peer}, Logger().with("role", "client"));
            if (auto r = connector->load(); !r) {
                std::fprintf(stderr, "%s\n", r.error().message().c_str());
                return 1;
            }
        }
        auto client = connector ? std::make_unique<DataconnClient>(ctx, *engine, connector, options,
                                                                   Logger().with("role", "client"))
                                : std::make_unique<DataconnClient>(ctx, *engine, ep, options,
                                                                   Logger().with("role", "client"));
        int in = ::dup(STDIN_FILENO);
        asio::co_spawn(
            ctx,
            [&]() -> asio::awaitable<void> {
                auto r = co_await client->recv("bench", in);
                if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str());
                rc = r ? 0 : 1;
                if (connector) co_await connector->shutdown();
            },
            asio::detached);
        ctx.run();
        ::close(in);
    }
    engine.reset();
    return rc;
}
