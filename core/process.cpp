#include "core/process.hpp"

// Boost.Process v2 with std::filesystem: no Boost.Filesystem library to link.
// Boost 1.81's headers then miss a few includes Boost.Filesystem used to bring in.
#define BOOST_PROCESS_USE_STD_FS 1
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/io/quoted.hpp>
#include <boost/optional.hpp>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>
#include <boost/type_traits/decay.hpp>
#include <boost/type_traits/is_convertible.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <string_view>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace zferry {

namespace asio = boost::asio;
namespace bp = boost::process::v2;
using namespace asio::experimental::awaitable_operators;

namespace {

// The soft RLIMIT_NOFILE the process started with, once raise_open_file_limit() raised it:
// what every child gets back before exec. Written once before any fork, read in children.
bool g_restore_open_file_limit = false;
rlimit g_original_open_file_limit{};

// Runs in the child between fork and exec: only async-signal-safe calls. The child gets its
// own process group (so cancellation reaches grandchildren, e.g. a shell wrapper's children),
// default signal dispositions (zferry ignores SIGPIPE; a zfs send must die of it), no blocked
// signals, and the environment prepared in the parent.
struct ChildSetup {
    const char* const* envp = nullptr;

    bp::error_code on_setup(bp::posix::default_launcher& launcher, const std::filesystem::path&,
                            const char* const*) {
        if (envp != nullptr) launcher.env = envp;
        return {};
    }
    // Runs after process_stdio's dup2s (inits run in order).
    bp::error_code on_exec_setup(bp::posix::default_launcher& launcher, const std::filesystem::path&,
                                 const char* const*) {
        if (::setpgid(0, 0) != 0) return {errno, boost::system::system_category()};
        // Boost 1.81's close_range loop compares each whitelisted fd with itself and so leaves
        // open every fd below the highest whitelisted one (sockets, pipes of other children).
        // Close the gaps here; the launcher's own pass then closes the rest.
        auto& keep = launcher.fd_whitelist;
        std::sort(keep.begin(), keep.end());
        int next = 0;
        for (int fd : keep) {
            if (fd > next) ::close_range(static_cast<unsigned>(next), static_cast<unsigned>(fd - 1), 0);
            next = std::max(next, fd + 1);
        }
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (g_restore_open_file_limit) ::setrlimit(RLIMIT_NOFILE, &g_original_open_file_limit);
        return {};
    }
};

// The execution context Boost.Process is told each fork about: never run, holding no descriptor
// of ours. The launcher notifies the context of the executor it is given, and in the child
// (fork_child) Asio's epoll reactor makes a new epoll set and registers every descriptor that
// context holds again; the child then closes them all before exec. With the daemon's own context
// a sink serving a thousand connections paid two thousand epoll_ctl calls and as many removals
// per zfs command, while its only thread waited in the launcher for the child's exec (the
// launcher reads a pipe until then), so every accept, TLS handshake and call waited too. The
// child execs at once and uses no Asio, so it needs no working reactor.
asio::io_context& fork_notification_context() {
    static asio::io_context ctx;
    return ctx;
}

// PATH lookup done in the parent, so a missing program is a clear error before any fork.
std::optional<std::string> find_program(const std::string& program) {
    if (program.find('/') != std::string::npos) {
        if (::access(program.c_str(), X_OK) == 0) return program;
        return std::nullopt;
    }
    const char* path = std::getenv("PATH");
    std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    while (true) {
        auto colon = rest.find(':');
        std::string_view dir = rest.substr(0, colon);
        if (dir.empty()) dir = ".";
        std::string candidate = fmt::format("{}/{}", dir, program);
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    return std::nullopt;
}

std::vector<std::string> build_environment(const std::vector<std::pair<std::string, std::string>>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view kv = *e;
        auto eq = kv.find('=');
        std::string_view key = kv.substr(0, eq);
        bool overridden = false;
        for (const auto& [k, v] : extra) overridden = overridden || k == key;
        if (!overridden) env.emplace_back(kv);
    }
    for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
    return env;
}

// Bindings are built as prvalues straight into process_stdio: they own pipe ends and must not
// be copied.
bp::detail::process_input_binding input_binding(int fd) {
    if (fd >= 0) return bp::detail::process_input_binding(fd);
    return bp::detail::process_input_binding(nullptr);
}

bp::detail::process_output_binding output_binding(int fd, std::optional<asio::readable_pipe>& capture) {
    if (fd >= 0) return bp::detail::process_output_binding(fd);
    return bp::detail::process_output_binding(*capture);
}

std::string describe_command(const ProcessSpec& spec) {
    std::string s = spec.program;
    for (const auto& a : spec.args) {
        s += ' ';
        s += a;
    }
    return s;
}

}  // namespace

std::string ProcessResult::status() const {
    if (signal != 0) {
        const char* name = ::strsignal(signal);
        return fmt::format("killed by signal {} ({})", signal, name != nullptr ? name : "?");
    }
    return fmt::format("exit status {}", exit_code);
}

struct ChildProcess::Impl {
    ProcessSpec spec;
    std::vector<std::string> env_storage;
    std::vector<const char*> envp;
    std::optional<bp::process> proc;
    std::optional<asio::readable_pipe> out;
    std::optional<asio::readable_pipe> err;
    std::chrono::steady_clock::time_point started;
    // A pidfd of the child: readable once it exited (reap()).
    std::optional<asio::posix::stream_descriptor> exit_watch;
    bool no_pidfd = false;  // pidfd_open failed (old kernel): Boost.Process waits instead
    int pid = -1;
    int status = 0;  // wait status, once reaped
    struct rusage usage {};
    bool reaped = false;
    bool waited = false;

    ~Impl() {
        if (pid > 0 && !reaped) {
            // Nobody waited: kill the group and reap synchronously so no zombie or stray
            // child survives its owner.
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            int status = 0;
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            if (proc) proc->detach();
        }
    }
};

ChildProcess::ChildProcess(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChildProcess::ChildProcess(ChildProcess&&) noexcept = default;
ChildProcess& ChildProcess::operator=(ChildProcess&&) noexcept = default;
ChildProcess::~ChildProcess() = default;

int ChildProcess::pid() const noexcept { return impl_ ? impl_->pid : -1; }

void ChildProcess::signal(int sig) noexcept {
    if (impl_ && impl_->pid > 0 && !impl_->reaped) {
        ::kill(-impl_->pid, sig);
        ::kill(impl_->pid, sig);
    }
}

Result<OpenFileLimit> raise_open_file_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return Error(boost::system::error_code(errno, boost::system::system_category()),
                     "cannot read the open-file limit");
    OpenFileLimit out{.before = rl.rlim_cur, .after = rl.rlim_cur, .hard = rl.rlim_max};
    if (rl.rlim_cur >= rl.rlim_max) return out;
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0)
        return Error(boost::system::error_code(errno, boost::system::system_category()),
                     fmt::format("cannot raise the open-file limit from {} to the hard limit {}", rl.rlim_cur,
                                 rl.rlim_max));
    if (!g_restore_open_file_limit) {
        g_original_open_file_limit = rl;
        g_restore_open_file_limit = true;
    }
    out.after = raised.rlim_cur;
    return out;
}

Result<ChildProcess> ChildProcess::spawn(asio::any_io_executor ex, ProcessSpec spec) {
    auto impl = std::make_unique<Impl>();
    auto exe = find_program(spec.program);
    if (!exe) {
        return Error(boost::system::errc::make_error_code(boost::system::errc::no_such_file_or_directory),
                     fmt::format("cannot run '{}': no such executable{}", spec.program,
                                 spec.program.find('/') == std::string::npos ? " in PATH" : ""));
    }
    if (!spec.env.empty()) {
        impl->env_storage = build_environment(spec.env);
        for (const auto& e : impl->env_storage) impl->envp.push_back(e.c_str());
        impl->envp.push_back(nullptr);
    }
    impl->err.emplace(ex);
    if (spec.stdout_fd < 0) impl->out.emplace(ex);

    ChildSetup setup{impl->envp.empty() ? nullptr : impl->envp.data()};
    bp::error_code ec;
    impl->started = std::chrono::steady_clock::now();
    {
        bp::process_stdio io{input_binding(spec.stdin_fd), output_binding(spec.stdout_fd, impl->out),
                             bp::detail::process_error_binding(*impl->err)};
        bp::posix::default_launcher launcher;
        auto launched = launcher(fork_notification_context().get_executor(), ec, std::filesystem::path(*exe),
                                 spec.args, io, setup);
        if (ec) return Error(ec, fmt::format("cannot start '{}'", describe_command(spec)));
        impl->pid = launched.id();
        launched.detach();  // its pidfd belongs to the fork context; the child is ours on `ex`
        impl->proc.emplace(ex, impl->pid);
    }
    impl->spec = std::move(spec);
    return ChildProcess(std::move(impl));
}

namespace {

// Reads a pipe to EOF (or error), keeping at most `limit` bytes; counts what it drops.
// With kill_on_overflow (captured stdout), more than `limit` kills the child's group: the
// output is useless and the child would block on a full pipe forever.
asio::awaitable<void> drain(asio::readable_pipe& pipe, std::string& into, std::size_t limit,
                            std::size_t& dropped, bool& overflow, int kill_on_overflow) {
    std::array<char, 64 * 1024> buf;
    while (true) {
        auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buf), use_ec);
        if (n > 0) {
            std::size_t room = limit > into.size() ? limit - into.size() : 0;
            std::size_t take = std::min(room, n);
            into.append(buf.data(), take);
            dropped += n - take;
            if (n > take && kill_on_overflow > 0) {
                overflow = true;
                ::kill(-kill_on_overflow, SIGKILL);
                ::kill(kill_on_overflow, SIGKILL);
                co_return;
            }
        }
        if (ec) co_return;
    }
}

asio::awaitable<void> drain_outputs(ChildProcess::Impl& impl, ProcessResult& r, bool& overflow) {
    if (impl.out) {
        const int kill_pid = impl.spec.kill_on_stdout_overflow ? impl.pid : 0;
        co_await (drain(*impl.out, r.out, impl.spec.max_stdout, r.out_dropped, overflow, kill_pid) &&
                  drain(*impl.err, r.err, impl.spec.max_stderr, r.err_dropped, overflow, 0));
    } else {
        co_await drain(*impl.err, r.err, impl.spec.max_stderr, r.err_dropped, overflow, 0);
    }
}

// Waits for the exit through the pidfd and reaps the child with wait4, which also says how
// much CPU it used (zrepl_zfscmd_usertime / _systemtime). Without a pidfd (old kernels):
// Boost.Process's waitpid, and no CPU times. Cancellable while waiting.
asio::awaitable<boost::system::error_code> reap(ChildProcess::Impl& impl) {
    if (!impl.exit_watch && !impl.no_pidfd) {
        // Our own pidfd, close-on-exec (Boost 1.81's process does not expose its own).
        const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, impl.pid, 0));
        if (pidfd < 0) {
            impl.no_pidfd = true;
        } else {
            impl.exit_watch.emplace(co_await asio::this_coro::executor, pidfd);
        }
    }
    if (impl.no_pidfd) {
        auto [ec, code] = co_await impl.proc->async_wait(use_ec);
        if (!ec) impl.status = code;
        co_return ec;
    }
    for (;;) {
        struct rusage ru;
        std::memset(&ru, 0, sizeof ru);
        int status = 0;
        const pid_t r = ::wait4(impl.pid, &status, WNOHANG, &ru);
        if (r == impl.pid) {
            impl.status = status;
            impl.usage = ru;
            co_return boost::system::error_code();
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) co_return boost::system::error_code(errno, boost::system::system_category());
        auto [ec] = co_await impl.exit_watch->async_wait(asio::posix::descriptor_base::wait_read, use_ec);
        if (ec) co_return ec;
    }
}

// Waits for the exit, then gives the pipes drain_grace to reach EOF (a grandchild may hold
// them open), then completes so that the || in wait() stops the drains.
asio::awaitable<void> exit_then_grace(ChildProcess::Impl& impl, boost::system::error_code& wait_ec) {
    auto ec = co_await reap(impl);
    if (ec) {
        // Aborted: the drains finished first (or the caller cancelled); wait() decides.
        if (ec != asio::error::operation_aborted) wait_ec = ec;
        co_return;
    }
    impl.reaped = true;
    asio::steady_timer t(co_await asio::this_coro::executor, impl.spec.drain_grace);
    co_await t.async_wait(use_ec);
}

// Sends TERM to the group, KILL after kill_grace, and reaps.
asio::awaitable<void> kill_and_reap(ChildProcess::Impl& impl) {
    if (impl.reaped) co_return;
    ::kill(-impl.pid, SIGTERM);
    ::kill(impl.pid, SIGTERM);
    auto exited = co_await with_timeout(reap(impl), impl.spec.kill_grace);
    if (exited && !*exited) {
        impl.reaped = true;
        ::kill(-impl.pid, SIGKILL);  // stragglers of the group
        co_return;
    }
    ::kill(-impl.pid, SIGKILL);
    ::kill(impl.pid, SIGKILL);
    if (!co_await reap(impl)) impl.reaped = true;
}

std::chrono::microseconds to_duration(const timeval& tv) {
    return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

void fill_status(ChildProcess::Impl& impl, ProcessResult& r) {
    r.user_time = to_duration(impl.usage.ru_utime);
    r.system_time = to_duration(impl.usage.ru_stime);
    const int status = impl.status;
    if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
        r.exit_code = -1;
    } else if (WIFEXITED(status)) {
        r.exit_code = WEXITSTATUS(status);
    } else {
        r.exit_code = -1;
    }
}

}  // namespace

asio::awaitable<Result<ProcessResult>> ChildProcess::wait() {
    auto& impl = *impl_;
    if (impl.waited) co_return Error(Errc::invalid_argument, "ChildProcess::wait called twice");
    impl.waited = true;

    ProcessResult r;
    bool overflow = false;
    boost::system::error_code wait_ec;
    co_await (drain_outputs(impl, r, overflow) || exit_then_grace(impl, wait_ec));

    auto cs = co_await asio::this_coro::cancellation_state;
    bool cancelled = cs.cancelled() != asio::cancellation_type::none;
    if (cancelled) co_await asio::this_coro::reset_cancellation_state();

    if (!impl.reaped && !cancelled && !overflow && !wait_ec) {
        // The pipes reached EOF before the exit: wait for it.
        auto ec = co_await reap(impl);
        if (!ec) {
            impl.reaped = true;
        } else {
            wait_ec = ec;
        }
    }
    if (!impl.reaped) co_await kill_and_reap(impl);
    r.duration = std::chrono::steady_clock::now() - impl.started;
    impl.out.reset();
    impl.err.reset();

    std::string cmd = describe_command(impl.spec);
    if (cancelled) co_return Error(asio::error::operation_aborted, fmt::format("'{}' cancelled", cmd));
    if (overflow) {
        co_return Error(Errc::message_too_large,
                        fmt::format("'{}' wrote more than {} bytes to stdout", cmd, impl.spec.max_stdout));
    }
    if (!impl.reaped) {
        co_return Error(wait_ec ? wait_ec : make_error_code(Errc::internal),
                        fmt::format("cannot wait for '{}' (pid {})", cmd, impl.pid));
    }
    fill_status(impl, r);
    co_return r;
}

asio::awaitable<Result<ProcessResult>> run_process(ProcessSpec spec) {
    auto child = ChildProcess::spawn(co_await asio::this_coro::executor, std::move(spec));
    if (!child) co_return child.error();
    co_return co_await child->wait();
}

// ---- ProcessLimiter ---------------------------------------------------------------------------

asio::awaitable<Result<ProcessLimiter::Permit>> ProcessLimiter::acquire() {
    auto [ec, permit] = co_await slots_.acquire();
    if (ec) co_return Error(ec, "waiting for a free process slot");
    co_return std::move(permit);
}

}  // namespace zferry
