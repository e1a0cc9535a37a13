// Many small incremental snapshots of one filesystem, replicated four ways on equal pools, so
// the figures compare: (a) the floor, a bare `zfs send -I first..last | zfs recv`; (b)
// zferry with coalescing (one `send -I` step with zrepl's guarantees); (c) zferry with
// `coalesce: false` (zrepl's one step per snapshot, each with its holds, cursor move and
// size estimate); and on zfs-fuse (d) syncoid from Debian's sanoid, which users run today
// (`--no-sync-snap --no-resume --no-privilege-elevation`; none of zrepl's guarantees).
//
// The remote variants measure what the network adds to a step: zferry per snapshot (as (c))
// pushed into a sink served by an EndpointServer in the same process over loopback, tcp or
// mutual TLS (certificates made by the openssl CLI), with the data connections of zferry peers
// kept for the next request (`-reuse`) or one per request (`-noreuse`, as with zrepl). Per
// step that is one /v1/recv request; ms/step minus (c)'s is the network's fixed cost.
//
// Each variant has fresh pools of its own (on zfs-sim a pair of hosts, on zfs-fuse a daemon,
// with the same pool names) and its own source filesystem: created, snapshot s0 replicated (not timed),
// then snapshots s1..sN taken (not timed), then the timed incremental replication. zfs
// invocations are counted by zferry's runners (and, for syncoid, by a `zfs` wrapper first in
// its PATH); per step = invocations / steps of the run.
//
//   replication_bench [--backend zfs-sim|zfs-fuse|all] [--snapshots N]
//                     [--per-snapshot-fuse M] [--json FILE] [--variants A,B,...]
//
// Variants: floor, zferry-coalesced, zferry-per-snapshot, syncoid (zfs-fuse only), and the
// remote ones, tcp-noreuse, tcp-reuse, tls-noreuse, tls-reuse (zfs-sim only; run only when
// named in --variants).
//
// Defaults: all back ends, N = 1000, M = 100 (zrepl's per-snapshot mode on zfs-fuse costs
// about a second per snapshot; the row says how many it ran). zfs-fuse is started privately
// for each variant with the platform tests' scripts (tests/platform/zfs_fuse_up.sh) and
// stopped after it. ZFERRY_BENCH_LOG=debug logs every zfs command with its duration.
#include "replication/driver/replication.hpp"
#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"
#include "replication/remote/endpoint_server.hpp"
#include "replication/remote/remote_endpoint.hpp"
#include "transport/tls_wire.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace zferry;
using namespace zferry::replication;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Backend {
    std::string name;                  // "zfs-sim" | "zfs-fuse"
    std::string zfs;                   // binary
    std::string src_state, dst_state;  // zfs-sim: two hosts; zfs-fuse: empty (one daemon)
    std::string src_pool, dst_pool;
    std::string fuse_scripts;  // zfs-fuse: directory of zfs_fuse_up.sh / zfs_fuse_down.sh
};

struct Row {
    std::string name, backend;
    unsigned snapshots = 0;
    double seconds = 0;
    std::size_t steps = 0, invocations = 0;
};

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// `zfs ARGS` on one side (prefix sets the zfs-sim state), as a shell word list.
std::string zfs_cmd(const Backend& b, bool src, const std::string& args) {
    const std::string& state = src ? b.src_state : b.dst_state;
    return (state.empty() ? "" : "ZFS_SIM_STATE=" + shell_quote(state) + " ") + shell_quote(b.zfs) + " " +
           args;
}

bool sh(const std::string& cmd) {
    const int rc = std::system(cmd.c_str());
    if (rc != 0) std::fprintf(stderr, "replication_bench: failed (%d): %s\n", rc, cmd.c_str());
    return rc == 0;
}

// Through a script file: a thousand snapshot commands exceed the 128 KiB of one argument.
bool sh_bash(const std::string& cmd) {
    char path[] = "/tmp/zferry-replication-bench-script-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) return false;
    const std::string text = "set -e -o pipefail\n" + cmd + "\n";
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    const bool ok = written && sh("bash " + std::string(path));
    ::unlink(path);
    return ok;
}

std::unique_ptr<zfs::ZfsRunner> make_runner(asio::io_context& ctx, const Backend& b, bool src) {
    zfs::ZfsRunnerOptions o;
    o.binary = b.zfs;
    o.log = Logger().with("host", src ? "src" : "dst");
    const std::string& state = src ? b.src_state : b.dst_state;
    if (!state.empty()) o.env = {{"ZFS_SIM_STATE", state}};
    return std::make_unique<zfs::ZfsRunner>(ctx.get_executor(), std::move(o));
}

bool take_snapshots(const Backend& b, const std::string& fs, unsigned from, unsigned to) {
    // One snapshot per invocation: ZFS takes one snapshot of a filesystem per transaction group.
    std::string cmds;
    for (unsigned i = from; i <= to; ++i)
        cmds += zfs_cmd(b, true, "snapshot " + fs + "@s" + std::to_string(i)) + "\n";
    return sh_bash(cmds);
}

struct ZferryResult {
    bool ok = false;
    std::size_t steps = 0, invocations = 0;
    double seconds = 0;
};

// One ReplicationRun of `fs` into root_fs `root` with its own job name.
ZferryResult run_zferry(const Backend& b, const std::string& fs, const std::string& root,
                        const std::string& job, bool coalesce) {
    asio::io_context ctx;
    auto src = make_runner(ctx, b, true);
    auto dst = make_runner(ctx, b, false);
    SenderConfig sc{*JobId::make(job), {}, {}};
    (void)sc.filesystems.add(fs, true);
    LocalSender sender(*src, std::move(sc), Logger());
    LocalReceiver receiver(
        *dst,
        ReceiverConfig{
            *JobId::make(job + "-sink"), root, std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
        Logger());
    ReplicationOptions o;
    o.coalesce = coalesce;
    ReplicationRun run(sender, receiver, o, Logger());
    // Capabilities are probed once per runner, before the clock starts (a daemon does it at start).
    auto probe = [&](zfs::ZfsRunner& r) {
        auto f = asio::co_spawn(ctx, r.capabilities(), asio::use_future);
        ctx.restart();
        ctx.run();
        (void)f.get();
    };
    probe(*src);
    probe(*dst);
    const auto before = src->invocations() + dst->invocations();
    const auto t0 = Clock::now();
    auto f = asio::co_spawn(ctx, run.run(), asio::use_future);
    ctx.restart();
    ctx.run();
    f.get();
    ZferryResult r;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.invocations = src->invocations() + dst->invocations() - before;
    r.ok = run.succeeded();
    if (!r.ok)
        std::fprintf(stderr, "replication_bench: zferry run failed: %s\n", to_json(run.report()).c_str());
    for (const auto& f2 : run.report().attempts.back().filesystems) r.steps += f2.steps.size();
    return r;
}

// ---- remote: a push into a sink over loopback tcp or tls --------------------------------------

struct RemoteSetup {
    bool tls = false;
    bool reuse = false;
    fs::path certs;  // tls: ca.crt, server.crt/key (CN server.test), client.crt/key (CN bench)
};

bool make_certificates(const fs::path& dir) {
    fs::create_directories(dir);
    const std::string script = R"(set -e
cd "$1"
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $key -keyout ca.key -out ca.crt -subj /CN=bench-ca -days 2
issue() {
  openssl req $key -keyout $1.key -out $1.csr -subj /CN=$2
  printf 'subjectAltName=DNS:%s\n' "$2" > $1.ext
  openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $1.crt -days 2 -extfile $1.ext
}
issue server server.test
issue client bench
)";
    std::ofstream(dir / "certs.sh") << script;
    return sh("bash " + shell_quote((dir / "certs.sh").string()) + " " + shell_quote(dir.string()) +
              " >/dev/null 2>&1");
}

asio::awaitable<void> run_and_close(ReplicationRun* run, remote::RemoteReceiver* receiver,
                                    remote::EndpointServer* server, bool close) {
    if (run) co_await run->run();
    if (!close) co_return;
    co_await receiver->close();
    co_await server->stop();
}

// One ReplicationRun of `fs` (coalescing off) pushed into a sink at root_fs `root`, whose
// client identity is "bench"; `close` ends the client and the server afterwards.
struct RemoteBench {
    asio::io_context ctx;
    std::unique_ptr<IoEngine> engine = IoEngine::make_reactor(ctx);
    std::unique_ptr<zfs::ZfsRunner> src, dst;
    std::unique_ptr<remote::EndpointServer> server;
    std::unique_ptr<remote::RemoteReceiver> receiver;
    std::shared_ptr<transport::WireConnector> connector;

    bool start(const Backend& b, const std::string& root, const RemoteSetup& setup) {
        src = make_runner(ctx, b, true);
        dst = make_runner(ctx, b, false);
        remote::ServedEndpoint served;
        served.receiver = [this, root](const std::string& id,
                                       Logger log) -> Result<std::unique_ptr<Receiver>> {
            ReceiverConfig rc{*JobId::make("bench-sink"), root, id, PlaceholderEncryptionPolicy::inherit, {}};
            return std::unique_ptr<Receiver>(
                std::make_unique<LocalReceiver>(*dst, std::move(rc), std::move(log)));
        };
        const asio::ip::tcp::endpoint any{asio::ip::make_address("127.0.0.1"), 0};
        std::unique_ptr<transport::WireListener> listener;
        if (setup.tls) {
            auto f = [&](const std::string& n) {
                return transport::TlsFiles{(setup.certs / "ca.crt").string(),
                                           (setup.certs / (n + ".crt")).string(),
                                           (setup.certs / (n + ".key")).string()};
            };
            auto l = std::make_unique<transport::TlsWireListener>(
                ctx.get_executor(),
                transport::TlsServerConfig{f("server"), {"bench"}, std::chrono::seconds(10)}, Logger());
            if (auto r = l->listen(any); !r) {
                std::fprintf(stderr, "replication_bench: %s\n", r.error().message().c_str());
                return false;
            }
            listener = std::move(l);
        } else {
            auto l = std::make_unique<transport::TcpWireListener>(
                ctx.get_executor(),
                [](const asio::ip::address&) -> std::optional<std::string> { return std::string("bench"); },
                Logger());
            if (auto r = l->listen(any); !r) {
                std::fprintf(stderr, "replication_bench: %s\n", r.error().message().c_str());
                return false;
            }
            listener = std::move(l);
        }
        server = std::make_unique<remote::EndpointServer>(
            ctx, *engine, std::move(listener), std::move(served), remote::EndpointServerOptions{}, Logger());
        server->start();
        remote::RemoteOptions o;
        if (setup.tls) {
            auto c = std::make_shared<transport::TlsWireConnector>(
                ctx.get_executor(), server->local_endpoint(),
                transport::TlsClientConfig{transport::TlsFiles{(setup.certs / "ca.crt").string(),
                                                               (setup.certs / "client.crt").string(),
                                                               (setup.certs / "client.key").string()},
                                           "server.test", std::chrono::seconds(10)},
                Logger());
            if (auto r = c->load(); !r) {
                std::fprintf(stderr, "replication_bench: %s\n", r.error().message().c_str());
                return false;
            }
            connector = c;
        } else {
            connector = std::make_shared<transport::TcpWireConnector>(server->local_endpoint());
        }
        o.connector = connector;
        o.data.reuse.client_max_idle = setup.reuse ? 4 : 0;
        receiver = std::make_unique<remote::RemoteReceiver>(ctx, *engine, std::move(o), Logger());
        return true;
    }

    // The server's and the connections' tasks keep the context busy: run until `f` is ready.
    void run_until(std::future<void>& f) {
        ctx.restart();
        while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) ctx.run_one();
        f.get();
    }

    ZferryResult run(const std::string& fs, bool close) {
        SenderConfig sc{*JobId::make("bench-remote"), {}, {}};
        (void)sc.filesystems.add(fs, true);
        LocalSender sender(*src, std::move(sc), Logger());
        ReplicationOptions o;
        o.coalesce = false;
        ReplicationRun run(sender, *receiver, o, Logger());
        const auto before = src->invocations() + dst->invocations();
        const auto t0 = Clock::now();
        auto f =
            asio::co_spawn(ctx, run_and_close(&run, receiver.get(), server.get(), false), asio::use_future);
        run_until(f);
        ZferryResult r;
        r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        r.invocations = src->invocations() + dst->invocations() - before;
        r.ok = run.succeeded();
        if (!r.ok)
            std::fprintf(stderr, "replication_bench: remote run failed: %s\n", to_json(run.report()).c_str());
        for (const auto& f2 : run.report().attempts.back().filesystems) r.steps += f2.steps.size();
        if (close) {
            auto g = asio::co_spawn(ctx, run_and_close(nullptr, receiver.get(), server.get(), true),
                                    asio::use_future);
            run_until(g);
        }
        return r;
    }
};

std::optional<Row> remote_variant(const Backend& b, unsigned n, const std::string& name, RemoteSetup setup,
                                  const fs::path& tmp) {
    const std::string leaf = "remote";
    const std::string fs = b.src_pool + "/" + leaf, root = b.dst_pool + "/" + leaf + "_sink";
    if (setup.tls && !make_certificates(tmp / (name + "-certs"))) return std::nullopt;
    setup.certs = tmp / (name + "-certs");
    if (!sh_bash(zfs_cmd(b, true, "create " + fs) + " && " + zfs_cmd(b, true, "snapshot " + fs + "@s0") +
                 " && " + zfs_cmd(b, false, "create " + root)))
        return std::nullopt;
    RemoteBench bench;
    if (!bench.start(b, root, setup)) return std::nullopt;
    // Capabilities probed and s0 replicated before the clock starts (the connections of that
    // run are kept when reuse is on, as a daemon's would be from its previous step).
    if (!bench.run(fs, false).ok) return std::nullopt;
    if (!take_snapshots(b, fs, 1, n)) return std::nullopt;
    auto r = bench.run(fs, true);
    if (!r.ok) return std::nullopt;
    const auto connections = bench.server->data_connections();
    std::fprintf(stderr, "replication_bench: %s: %llu data connection(s) for %zu + 1 steps\n", name.c_str(),
                 static_cast<unsigned long long>(connections), r.steps);
    return Row{name, b.name, n, r.seconds, r.steps, r.invocations};
}

std::optional<Row> floor_variant(const Backend& b, unsigned n) {
    const std::string fs = b.src_pool + "/floor", target = b.dst_pool + "/floor";
    if (!sh_bash(zfs_cmd(b, true, "create " + fs) + " && " + zfs_cmd(b, true, "snapshot " + fs + "@s0") +
                 " && " + zfs_cmd(b, true, "send " + fs + "@s0") + " | " +
                 zfs_cmd(b, false, "recv -u " + target)))
        return std::nullopt;
    if (!take_snapshots(b, fs, 1, n)) return std::nullopt;
    const auto t0 = Clock::now();
    if (!sh_bash(zfs_cmd(b, true, "send -I @s0 " + fs + "@s" + std::to_string(n)) + " | " +
                 zfs_cmd(b, false, "recv -u " + target)))
        return std::nullopt;
    return Row{"floor", b.name, n, std::chrono::duration<double>(Clock::now() - t0).count(), 1, 2};
}

std::optional<Row> zferry_variant(const Backend& b, unsigned n, bool coalesce) {
    const std::string leaf = coalesce ? "coalesced" : "per_snapshot";
    const std::string fs = b.src_pool + "/" + leaf, root = b.dst_pool + "/" + leaf + "_sink";
    if (!sh_bash(zfs_cmd(b, true, "create " + fs) + " && " + zfs_cmd(b, true, "snapshot " + fs + "@s0") +
                 " && " + zfs_cmd(b, false, "create " + root)))
        return std::nullopt;
    if (!run_zferry(b, fs, root, "bench-" + leaf, coalesce).ok) return std::nullopt;  // s0, not timed
    if (!take_snapshots(b, fs, 1, n)) return std::nullopt;
    auto r = run_zferry(b, fs, root, "bench-" + leaf, coalesce);
    if (!r.ok) return std::nullopt;
    return Row{
        coalesce ? "zferry-coalesced" : "zferry-per-snapshot", b.name, n, r.seconds, r.steps, r.invocations};
}

std::optional<Row> syncoid_variant(const Backend& b, unsigned n, const fs::path& tmp) {
    // A `zfs` first in syncoid's PATH that counts invocations and runs the real one.
    const fs::path wrap = tmp / "syncoid-path";
    fs::create_directories(wrap);
    const fs::path log = tmp / "syncoid-zfs.log";
    // The wrapper is `zfs` first in PATH, so it must run the real one by its absolute path.
    std::string real = b.zfs;
    if (real.find('/') == std::string::npos) {
        std::istringstream path(std::getenv("PATH") ? std::getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin");
        for (std::string dir; std::getline(path, dir, ':');)
            if (!dir.empty() && ::access((dir + "/" + real).c_str(), X_OK) == 0) {
                real = dir + "/" + real;
                break;
            }
    }
    std::ofstream(wrap / "zfs") << "#!/bin/sh\necho x >> " << shell_quote(log.string()) << "\nexec "
                                << shell_quote(real) << " \"$@\"\n";
    fs::permissions(wrap / "zfs", fs::perms::owner_all);
    const std::string fs_name = b.src_pool + "/syncoid", target = b.dst_pool + "/syncoid";
    const std::string syncoid =
        "PATH=" + shell_quote(wrap.string()) +
        ":$PATH syncoid --quiet --no-sync-snap --no-resume --no-privilege-elevation " + fs_name + " " +
        target;
    if (!sh_bash(zfs_cmd(b, true, "create " + fs_name) + " && " +
                 zfs_cmd(b, true, "snapshot " + fs_name + "@s0") + " && " + syncoid))
        return std::nullopt;
    if (!take_snapshots(b, fs_name, 1, n)) return std::nullopt;
    fs::remove(log);
    const auto t0 = Clock::now();
    if (!sh_bash(syncoid)) return std::nullopt;
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::size_t calls = 0;
    std::ifstream in(log);
    for (std::string l; std::getline(in, l);) ++calls;
    return Row{"syncoid", b.name, n, secs, 1, calls};
}

void print(const Row& r, const Row* floor, std::FILE* json) {
    const double per_s = r.seconds > 0 ? r.snapshots / r.seconds : 0;
    const double per_step = r.steps ? double(r.invocations) / double(r.steps) : 0;
    const double ms_per_step = r.steps ? 1000.0 * r.seconds / double(r.steps) : 0;
    std::printf("%-20s %-9s %6u snapshots %8.2f s %9.1f snapshots/s %6zu steps %6.1f zfs/step %7.2f ms/step",
                r.name.c_str(), r.backend.c_str(), r.snapshots, r.seconds, per_s, r.steps, per_step,
                ms_per_step);
    if (floor && floor->seconds > 0)
        std::printf("  %.2fx the floor's rate", per_s / (floor->snapshots / floor->seconds));
    std::printf("\n");
    if (json)
        std::fprintf(
            json,
            "{\"name\": \"%s\", \"backend\": \"%s\", \"snapshots\": %u, \"seconds\": %.3f, "
            "\"snapshots_per_s\": %.2f, \"zfs_invocations_per_step\": %.2f, \"ms_per_step\": %.3f}\n",
            r.name.c_str(), r.backend.c_str(), r.snapshots, r.seconds, per_s, per_step, ms_per_step);
}

int bench_backend(const Backend& b, unsigned n, unsigned per_snapshot_n, const fs::path& tmp, std::FILE* json,
                  const std::string& variants) {
    auto wanted = [&](const std::string& name) {
        return variants.empty() || ("," + variants + ",").find("," + name + ",") != std::string::npos;
    };
    std::vector<Row> rows;
    auto add = [&](std::optional<Row> r, const char* what) {
        if (!r) {
            std::fprintf(stderr, "replication_bench: %s on %s failed\n", what, b.name.c_str());
            return false;
        }
        rows.push_back(*r);
        return true;
    };
    // Each variant gets hosts of its own (same pool names), so no variant pays for another's
    // thousands of snapshots: zfs-sim rewrites a host's whole state file at every change (a
    // receive of 1 000 snapshots took 40% more CPU beside another 1 000), and zfs-fuse slows
    // down as a pool fills (a coalesced receive of 1 000 snapshots took 42 s on pools that
    // already held the floor's 1 000, against 28 s on fresh ones). On zfs-fuse that is a fresh
    // daemon with fresh pools per variant.
    bool ok = true;
    auto run = [&](const char* variant, const std::function<std::optional<Row>(const Backend&)>& body) {
        if (!wanted(variant)) return;
        std::optional<Row> r;
        if (b.fuse_scripts.empty()) {
            Backend v = b;
            v.src_state = (tmp / variant / "src").string();
            v.dst_state = (tmp / variant / "dst").string();
            fs::create_directories(tmp / variant);
            if (sh(zfs_cmd(v, true, "sim-create-pool " + v.src_pool) + " && " +
                   zfs_cmd(v, false, "sim-create-pool " + v.dst_pool)))
                r = body(v);
        } else {
            const std::string env = (tmp / (std::string(variant) + ".zfs-fuse.env")).string();
            if (!sh("bash " + b.fuse_scripts + "zfs_fuse_up.sh " + env + " >&2")) {
                std::fprintf(stderr,
                             "replication_bench: could not start zfs-fuse (is another daemon running?)\n");
            } else {
                std::map<std::string, std::string> kv;
                std::ifstream in(env);
                for (std::string l; std::getline(in, l);)
                    if (auto eq = l.find('='); eq != std::string::npos)
                        kv[l.substr(0, eq)] = l.substr(eq + 1);
                Backend v = b;
                v.src_pool = kv["ZF_SRC_POOL"];
                v.dst_pool = kv["ZF_DST_POOL"];
                r = body(v);
                sh("bash " + b.fuse_scripts + "zfs_fuse_down.sh " + env + " >&2");
            }
        }
        ok = add(r, variant) && ok;
    };
    run("floor", [&](const Backend& v) { return floor_variant(v, n); });
    run("zferry-coalesced", [&](const Backend& v) { return zferry_variant(v, n, true); });
    run("zferry-per-snapshot", [&](const Backend& v) { return zferry_variant(v, per_snapshot_n, false); });
    if (!b.fuse_scripts.empty()) run("syncoid", [&](const Backend& v) { return syncoid_variant(v, n, tmp); });
    // The network's share of a step; only when asked for (--variants), on zfs-sim.
    if (b.fuse_scripts.empty() && !variants.empty())
        for (const char* v : {"tcp-noreuse", "tcp-reuse", "tls-noreuse", "tls-reuse"}) {
            const std::string name = v;
            RemoteSetup setup{name.starts_with("tls"), name.ends_with("-reuse"), {}};
            run(v, [&, name, setup](const Backend& bv) {
                return remote_variant(bv, per_snapshot_n, name, setup, tmp);
            });
        }
    const Row* floor = rows.empty() || rows[0].name != "floor" ? nullptr : &rows[0];
    for (const auto& r : rows) print(r, floor, json);
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    std::string backend = "all", json_path, variants;
    unsigned n = 1000, per_snapshot_fuse = 100;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "replication_bench: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--backend")
            backend = value();
        else if (a == "--snapshots")
            n = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--per-snapshot-fuse")
            per_snapshot_fuse = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--json")
            json_path = value();
        else if (a == "--variants")
            variants = value();
        else {
            std::fprintf(
                stderr,
                "usage: replication_bench [--backend zfs-sim|zfs-fuse|all] [--snapshots N] "
                "[--per-snapshot-fuse M] [--json FILE] [--variants floor,zferry-coalesced,...]\n"
                "variants: floor zferry-coalesced zferry-per-snapshot syncoid (zfs-fuse), and on zfs-sim\n"
                "when named: tcp-noreuse tcp-reuse tls-noreuse tls-reuse (per-snapshot steps pushed\n"
                "into a sink over loopback, data connections one per request or kept)\n");
            return 2;
        }
    }
    // ZFERRY_BENCH_LOG=debug logs every zfs command with its duration (to see where a run's
    // time goes); the figures are taken at the default, warn.
    LogOptions lo;
    lo.level = LogLevel::warn;
    if (const char* l = std::getenv("ZFERRY_BENCH_LOG"); l && !parse_log_level(l, lo.level)) {
        std::fprintf(stderr, "ZFERRY_BENCH_LOG: unknown level '%s'\n", l);
        return 2;
    }
    log_init(lo);
    char tmpl[] = "/tmp/zferry-replication-bench-XXXXXX";
    const fs::path tmp = ::mkdtemp(tmpl);
    std::FILE* json = json_path.empty() ? nullptr : std::fopen(json_path.c_str(), "w");
    int rc = 0;
    if (backend == "all" || backend == "zfs-sim") {
        // (each variant creates its own hosts with these pools below tmp)
        Backend b{"zfs-sim", ZFS_SIM_BIN, (tmp / "src").string(), (tmp / "dst").string(), "p", "q"};
        rc |= bench_backend(b, n, n, tmp, json, variants);
    }
    if (backend == "all" || backend == "zfs-fuse") {
        Backend b{"zfs-fuse", "zfs", "", "", "", ""};
        b.fuse_scripts = std::string(ZFERRY_SOURCE_DIR) + "/tests/platform/";
        rc |= bench_backend(b, n, std::min(n, per_snapshot_fuse), tmp, json, variants);
    }
    if (json) std::fclose(json);
    fs::remove_all(tmp);
    return rc;
}
