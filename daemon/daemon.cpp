#include "daemon/daemon.hpp"

#include "replication/endpoint/abstractions.hpp"
#include "zfs/listing_ops.hpp"

#include <map>

#include <boost/json.hpp>

#include <charconv>

namespace zferry::daemon {

namespace asio = boost::asio;
namespace json = boost::json;

Daemon::Daemon(asio::any_io_executor ex, config::Config config, DaemonOptions options, Logger log)
    : ex_(ex), config_(std::move(config)), options_(std::move(options)), log_(std::move(log)) {
    zfs::ZfsRunnerOptions ro;
    ro.binary = options_.zfs_binary;
    ro.log = log_.with("job", "_daemon").with("subsystem", "zfs.cmd");
    runner_ = std::make_unique<zfs::ZfsRunner>(ex_, std::move(ro));
}

Daemon::~Daemon() = default;

namespace {

// Go's "host:port" of `listen` ("" or no host: every interface); the host an IP address.
Result<asio::ip::tcp::endpoint> parse_listen(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos)
        return Error(Errc::invalid_argument,
                     "global.monitoring listen \"" + address + "\": expected host:port");
    std::string host = address.substr(0, colon);
    const std::string port_text = address.substr(colon + 1);
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535)
        return Error(Errc::invalid_argument,
                     "global.monitoring listen \"" + address + "\": the port is not a number up to 65535");
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) host = "0.0.0.0";
    boost::system::error_code aec;
    auto ip = asio::ip::make_address(host, aec);
    if (aec)
        return Error(Errc::invalid_argument, "global.monitoring listen \"" + address +
                                                 "\": the host must be an IP address (got \"" + host + "\")");
    return asio::ip::tcp::endpoint(ip, static_cast<unsigned short>(port));
}

}  // namespace

asio::awaitable<Result<void>> Daemon::check_root_fs() {
    for (const auto& j : config_.jobs) {
        std::string root_fs;
        if (const auto* s = std::get_if<config::SinkJob>(&j.spec)) root_fs = s->root_fs;
        if (const auto* p = std::get_if<config::PullJob>(&j.spec)) root_fs = p->root_fs;
        if (root_fs.empty()) continue;
        auto r = co_await zfs::list_filesystems(*runner_, root_fs);
        if (!r)
            co_return Error(r.error()).wrap(
                "job \"" + j.name + "\": root_fs \"" + root_fs +
                "\" must exist before the daemon starts (create it with zfs create)");
    }
    co_return Result<void>{};
}

asio::awaitable<void> Daemon::report_stale_abstractions() {
    // Holds and cursors of jobs this configuration does not have (a job renamed or removed):
    // they keep snapshots from being destroyed for ever. Reported, never released on our own.
    const replication::AbstractionQuery query;
    auto listing = co_await replication::list_abstractions(*runner_, query);
    if (!listing) {
        log_.warn("could not look for abstractions of jobs that are not configured: {}",
                  listing.error().message());
        co_return;
    }
    std::map<std::string, std::size_t> unknown;
    for (const auto& a : listing->found)
        if (a.job && !config_.find_job(a.job->str())) ++unknown[a.job->str()];
    for (const auto& [job, n] : unknown) {
        stale_jobs_.push_back(job);
        log_.warn(
            "{} hold(s) or cursor(s) of job \"{}\", which is not in the configuration (renamed or removed?), "
            "keep "
            "snapshots from being destroyed; `zferry zfs-abstraction list --job '{}'` shows them and "
            "`zferry zfs-abstraction release-all --job '{}'` removes them",
            n, job, job, job);
    }
}

asio::awaitable<Result<void>> Daemon::start() {
    started_ = std::chrono::system_clock::now();
    zrepl_metrics_ = std::make_unique<ZreplMetrics>(
        registry_, std::chrono::duration<double>(started_.time_since_epoch()).count(), options_.version);
    if (options_.io) {
        Error fell_back;
        engine_ = IoEngine::make(*options_.io, kDefaultEngine, &fell_back);
        transport_.emplace(*options_.io, *engine_, config_.global.stdinserver_sockdir);
        transport_->on_stream_bytes =
            [m = zrepl_metrics_.get()](const std::string& job, std::string_view endpoint, bool sent,
                                       std::uint64_t bytes) { m->stream_bytes(job, endpoint, sent, bytes); };
        transport_->on_frame_shutdown = [m = zrepl_metrics_.get()](const transport::FrameShutdownReport& r) {
            m->frame_shutdown(r);
        };
        options_.jobs.transport = &*transport_;
    }
    for (const auto& j : config_.jobs) {
        const auto* serve = j.serve();
        if (serve && std::holds_alternative<config::LocalServe>(*serve))
            if (auto r = listeners_.add(j); !r) co_return r.error();
    }
    for (const auto& j : config_.jobs) {
        // One runner per job, so every zfs command line it logs carries the job.
        zfs::ZfsRunnerOptions ro;
        ro.binary = options_.zfs_binary;
        ro.log = log_.with("job", j.name).with("subsystem", "zfs.cmd");
        ro.on_finished = [m = zrepl_metrics_.get(), job = j.name, binary = options_.zfs_binary](
                             std::string_view verb, const zfs::ZfsCommandTimes& t) {
            using Seconds = std::chrono::duration<double>;
            m->zfs_command(job, binary, verb, Seconds(t.runtime).count(), Seconds(t.user).count(),
                           Seconds(t.system).count());
        };
        ro.on_operation = [m = zrepl_metrics_.get()](zfs::ZfsOperation op, std::string_view dataset_type,
                                                     std::string_view filesystem,
                                                     std::chrono::nanoseconds took) {
            m->zfs_operation(op, dataset_type, filesystem, std::chrono::duration<double>(took).count());
        };
        ro.on_unmatched_datasets = [m = zrepl_metrics_.get(), job = j.name](std::size_t unmatched) {
            m->unmatched_datasets(job, unmatched);
        };
        runners_.push_back(std::make_unique<zfs::ZfsRunner>(ex_, std::move(ro)));
        auto job = Job::make(j, listeners_, *runners_.back(), options_.jobs, log_);
        if (!job) co_return job.error();
        (*job)->set_metrics(zrepl_metrics_.get());
        jobs_.push_back(std::move(*job));
    }
    if (auto r = co_await check_root_fs(); !r) co_return r.error();
    co_await report_stale_abstractions();

    ControlHandlers h;
    h.status = [this] { return status(); };
    h.signal = [this](const std::string& job, const std::string& op) { return signal(job, op); };
    h.version = options_.version;
    h.request_begin = [m = zrepl_metrics_.get()](std::string_view endpoint) {
        m->control_request_begin(endpoint);
    };
    h.request_finished = [m = zrepl_metrics_.get()](std::string_view endpoint, double seconds) {
        m->control_request_finished(endpoint, seconds);
    };
    auto control = ControlServer::listen(ex_, config_.global.control_sockpath, std::move(h),
                                         log_.with("job", "_control"));
    if (!control) co_return control.error();
    control_ = std::move(*control);
    for (const auto& m : config_.global.monitoring) {
        auto ep = parse_listen(m.listen);
        if (!ep) co_return ep.error();
        auto server = std::make_unique<MetricsServer>(
            ex_, [this] { return metrics(); }, log_.with("job", "_prometheus"));
        if (auto bound = server->listen(*ep); !bound) co_return bound.error();
        metrics_servers_.push_back(std::move(server));
    }
    control_->start();
    for (auto& m : metrics_servers_) m->start();
    for (auto& j : jobs_) j->start(ex_);
    log_.info("daemon started with {} job(s) from {}", jobs_.size(), config_.file);
    co_return Result<void>{};
}

asio::awaitable<void> Daemon::stop() {
    log_.info("stopping");
    if (control_) co_await control_->stop();
    for (auto& m : metrics_servers_) co_await m->stop();
    // Active jobs first, so a push stops replicating before its sink's side goes.
    for (auto& j : jobs_)
        if (j->type() == "push" || j->type() == "pull") co_await j->stop();
    for (auto& j : jobs_)
        if (j->type() != "push" && j->type() != "pull") co_await j->stop();
    control_.reset();
    metrics_servers_.clear();
    log_.info("stopped");
}

json::value Daemon::status() const {
    json::object jobs;
    for (const auto& j : jobs_) jobs[j->name()] = j->status();
    json::object global;
    global["Version"] = options_.version;
    global["ConfigFile"] = config_.file;
    json::array stale;
    for (const auto& j : stale_jobs_) stale.emplace_back(j);
    global["StaleAbstractionJobs"] = std::move(stale);
    global["StartedAt"] =
        std::chrono::duration_cast<std::chrono::seconds>(started_.time_since_epoch()).count();
    json::object out;
    out["Jobs"] = std::move(jobs);
    out["Global"] = std::move(global);
    return out;
}

Result<void> Daemon::signal(const std::string& job, const std::string& op) {
    for (auto& j : jobs_)
        if (j->name() == job) return j->signal(op);
    return Error(Errc::not_found, "no job named \"" + job + "\" in this daemon");
}

}  // namespace zferry::daemon
