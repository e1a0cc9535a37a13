#include "zfs/zfs_runner.hpp"

#include "core/async.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

namespace zferry::zfs {

namespace asio = boost::asio;

namespace {

std::string join_args(const std::string& binary, const std::vector<std::string>& args) {
    std::string s = binary;
    for (const auto& a : args) {
        s += ' ';
        s += a;
    }
    return s;
}

// The first lines of stderr, enough to say why without the usage text zfs appends to
// option errors.
std::string stderr_summary(std::string_view err) {
    constexpr std::size_t kMaxLines = 3;
    std::string out;
    std::size_t lines = 0;
    while (!err.empty() && lines < kMaxLines) {
        auto nl = err.find('\n');
        std::string_view line = err.substr(0, nl);
        if (!line.empty()) {
            if (!out.empty()) out += " / ";
            out += line;
            ++lines;
        }
        if (nl == std::string_view::npos) break;
        err.remove_prefix(nl + 1);
    }
    return out;
}

void log_finished(const Logger& log, const std::string& binary, const std::vector<std::string>& args,
                  const ProcessResult& r) {
    if (!Logger::enabled(LogLevel::debug)) return;
    auto ms = std::chrono::duration<double, std::milli>(r.duration).count();
    if (r.ok()) {
        log.debug("{} -> ok in {:.1f} ms", join_args(binary, args), ms);
    } else {
        log.debug("{} -> {} in {:.1f} ms: {}", join_args(binary, args), r.status(), ms,
                  stderr_summary(r.err));
    }
}

}  // namespace

std::string ZfsOutput::describe() const {
    std::string s = fmt::format("zfs {}: {}", fmt::join(args, " "), result.status());
    auto why = stderr_summary(result.err);
    if (!why.empty()) s += ": " + why;
    return s;
}

struct ZfsRunner::State {
    State(asio::any_io_executor e, ZfsRunnerOptions o)
        : ex(e),
          opts(std::move(o)),
          limiter(e, opts.max_concurrent),
          sending_limiter(e, opts.max_streaming),
          receiving_limiter(e, opts.max_streaming),
          probe_lock(e, 1) {}
    asio::any_io_executor ex;
    ZfsRunnerOptions opts;
    ProcessLimiter limiter;  // run()
    // start(), one per direction: a local push holds a send and a recv of the same runner, and
    // with one shared limit N concurrent steps could take every slot with their sends and
    // wait for ever for their recvs.
    ProcessLimiter sending_limiter;    // stdout to the caller: zfs send
    ProcessLimiter receiving_limiter;  // stdin from the caller: zfs recv
    std::size_t invocations = 0;
    std::optional<Capabilities> caps;
    // Held by the one caller that probes; the others wait for it and then read `caps`.
    AsyncSemaphore probe_lock;

    ProcessSpec spec(std::vector<std::string> args, int stdin_fd, int stdout_fd) const {
        ProcessSpec s;
        s.program = opts.binary;
        s.args = std::move(args);
        s.env = opts.env;
        s.stdin_fd = stdin_fd;
        s.stdout_fd = stdout_fd;
        s.max_stdout = opts.max_stdout;
        s.kill_grace = opts.kill_grace;
        return s;
    }
};

ZfsRunner::ZfsRunner(asio::any_io_executor ex, ZfsRunnerOptions opts)
    : state_(std::make_shared<State>(ex, std::move(opts))) {}
ZfsRunner::~ZfsRunner() = default;

const ZfsRunnerOptions& ZfsRunner::options() const noexcept { return state_->opts; }
const Logger& ZfsRunner::log() const noexcept { return state_->opts.log; }
std::size_t ZfsRunner::invocations() const noexcept { return state_->invocations; }

void ZfsRunner::operation_finished(ZfsOperation op, std::string_view dataset_type,
                                   std::string_view filesystem, std::chrono::nanoseconds took) const {
    if (state_->opts.on_operation) state_->opts.on_operation(op, dataset_type, filesystem, took);
}

void ZfsRunner::unmatched_datasets(std::size_t unmatched) const {
    if (state_->opts.on_unmatched_datasets) state_->opts.on_unmatched_datasets(unmatched);
}

asio::awaitable<Result<ZfsOutput>> ZfsRunner::run(std::vector<std::string> args) {
    auto s = state_;
    auto permit = co_await s->limiter.acquire();
    if (!permit) co_return permit.error();
    ++s->invocations;
    auto r = co_await run_process(s->spec(args, -1, -1));
    if (!r) {
        s->opts.log.debug("{} -> {}", join_args(s->opts.binary, args), r.error().message());
        co_return std::move(r).error();
    }
    log_finished(s->opts.log, s->opts.binary, args, *r);
    if (s->opts.on_finished && !args.empty())
        s->opts.on_finished(args.front(), ZfsCommandTimes{r->duration, r->user_time, r->system_time});
    co_return ZfsOutput{std::move(args), std::move(*r)};
}

asio::awaitable<Result<ZfsProcess>> ZfsRunner::start(std::vector<std::string> args, int stdin_fd,
                                                     int stdout_fd) {
    auto s = state_;
    auto permit = co_await (stdin_fd >= 0 ? s->receiving_limiter : s->sending_limiter).acquire();
    if (!permit) co_return permit.error();
    ++s->invocations;
    auto started = std::chrono::steady_clock::now();
    auto child = ChildProcess::spawn(s->ex, s->spec(args, stdin_fd, stdout_fd));
    if (!child) {
        s->opts.log.debug("{} -> {}", join_args(s->opts.binary, args), child.error().message());
        co_return std::move(child).error();
    }
    s->opts.log.debug("{} started (pid {})", join_args(s->opts.binary, args), child->pid());
    co_return ZfsProcess(std::move(args), std::move(*child), std::move(*permit), s->opts.log, started,
                         s->opts.on_finished);
}

asio::awaitable<Result<Capabilities>> ZfsRunner::capabilities() {
    auto s = state_;
    if (s->caps) co_return *s->caps;
    auto [ec, permit] = co_await s->probe_lock.acquire();
    if (ec) co_return Error(ec, "waiting for the zfs capability probe");
    if (s->caps) co_return *s->caps;

    CapabilityProbes probes;
    const std::pair<Probe, ProbeResult*> order[] = {
        {Probe::send, &probes.send}, {Probe::receive, &probes.receive},   {Probe::destroy, &probes.destroy},
        {Probe::list, &probes.list}, {Probe::bookmark, &probes.bookmark}, {Probe::holds, &probes.holds},
    };
    for (const auto& [probe, into] : order) {
        auto out = co_await run(probe_argv(probe));
        if (!out) co_return std::move(out).error().wrap("probing zfs capabilities");
        into->exit_code = out->result.signal != 0 ? 128 + out->result.signal : out->result.exit_code;
        into->output = out->result.out + out->result.err;
        if (auto failure = probe_failure(*into)) {
            co_return Error(Errc::not_found,
                            fmt::format("probing zfs capabilities: `{}` did not reach ZFS: {}",
                                        join_args(s->opts.binary, out->args), *failure));
        }
    }
    Capabilities caps = derive_capabilities(probes);
    auto missing = describe_missing(caps);
    if (missing.empty()) {
        s->opts.log.info("zfs capabilities: all features zferry uses are available");
    } else {
        s->opts.log.info("zfs capabilities: degraded, this zfs lacks: {}", fmt::join(missing, "; "));
    }
    s->caps = caps;
    co_return caps;
}

// ---- ZfsProcess --------------------------------------------------------------------------------

ZfsProcess::ZfsProcess(std::vector<std::string> args, ChildProcess child, ProcessLimiter::Permit permit,
                       Logger log, std::chrono::steady_clock::time_point started,
                       std::function<void(std::string_view, const ZfsCommandTimes&)> on_finished)
    : args_(std::move(args)),
      on_finished_(std::move(on_finished)),
      child_(std::move(child)),
      permit_(std::move(permit)),
      log_(std::move(log)),
      started_(started) {}

ZfsProcess::~ZfsProcess() = default;

int ZfsProcess::pid() const noexcept { return child_ ? child_->pid() : -1; }

void ZfsProcess::signal(int sig) noexcept {
    if (child_) child_->signal(sig);
}

asio::awaitable<Result<ZfsOutput>> ZfsProcess::wait() {
    if (!child_) co_return Error(Errc::invalid_argument, "ZfsProcess::wait on a moved-from process");
    auto r = co_await child_->wait();
    if (!r) {
        log_.debug("zfs {} -> {}", fmt::join(args_, " "), r.error().message());
        co_return std::move(r).error();
    }
    log_finished(log_, "zfs", args_, *r);
    if (on_finished_ && !args_.empty())
        on_finished_(args_.front(), ZfsCommandTimes{r->duration, r->user_time, r->system_time});
    co_return ZfsOutput{args_, std::move(*r)};
}

}  // namespace zferry::zfs
