#include "daemon/daemon.hpp"

#include "zfs/listing_ops.hpp"

#include <boost/json.hpp>

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

asio::awaitable<Result<void>> Daemon::start() {
    started_ = std::chrono::system_clock::now();
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
        runners_.push_back(std::make_unique<zfs::ZfsRunner>(ex_, std::move(ro)));
        auto job = Job::make(j, listeners_, *runners_.back(), options_.jobs, log_);
        if (!job) co_return job.error();
        jobs_.push_back(std::move(*job));
    }
    if (auto r = co_await check_root_fs(); !r) co_return r.error();

    ControlHandlers h;
    h.status = [this] { return status(); };
    h.signal = [this](const std::string& job, const std::string& op) { return signal(job, op); };
    h.version = options_.version;
    auto control = ControlServer::listen(ex_, config_.global.control_sockpath, std::move(h),
                                         log_.with("job", "_control"));
    if (!control) co_return control.error();
    control_ = std::move(*control);
    control_->start();
    for (auto& j : jobs_) j->start(ex_);
    log_.info("daemon started with {} job(s) from {}", jobs_.size(), config_.file);
    co_return Result<void>{};
}

asio::awaitable<void> Daemon::stop() {
    log_.info("stopping");
    if (control_) co_await control_->stop();
    // Active jobs first, so a push stops replicating before its sink's side goes.
    for (auto& j : jobs_)
        if (j->type() == "push" || j->type() == "pull") co_await j->stop();
    for (auto& j : jobs_)
        if (j->type() != "push" && j->type() != "pull") co_await j->stop();
    control_.reset();
    log_.info("stopped");
}

json::value Daemon::status() const {
    json::object jobs;
    for (const auto& j : jobs_) jobs[j->name()] = j->status();
    json::object global;
    global["Version"] = options_.version;
    global["ConfigFile"] = config_.file;
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
