#include "transport/ssh_wire.hpp"

#include "core/async.hpp"
#include "core/process.hpp"
#include "core/unique_fd.hpp"
#include "transport/relay_copy.hpp"
#include "transport/sshcon.hpp"
#include "transport/transport_error.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>

namespace zferry::transport {

using LocalSocket = asio::local::stream_protocol::socket;
using Descriptor = asio::posix::stream_descriptor;
using namespace std::chrono_literals;

namespace {

error_code errno_code(int e) { return error_code(e, boost::system::system_category()); }

Wire make_wire(asio::ip::tcp::socket socket, std::string identity, std::string peer) {
    return Wire{std::move(socket), std::move(identity), std::move(peer)};
}

// A local socket pair: one end for the relay, the other as the Wire's socket.
asio::awaitable<void> pipe_to_local(Descriptor& from, LocalSocket& local) {
    co_await copy_until_end(from, local);
    error_code ignored;
    local.shutdown(asio::socket_base::shutdown_send, ignored);
}

asio::awaitable<void> local_to_pipe(LocalSocket& local, Descriptor& to) {
    co_await copy_until_end(local, to);
    // Closing our write end is the half-close: the peer reads EOF once the other holders of
    // the pipe (ssh, sshd) pass it on.
    error_code ignored;
    to.close(ignored);
}

// Both directions until both ended.
asio::awaitable<void> relay_pipes(Descriptor& in, Descriptor& out, LocalSocket& local) {
    using namespace asio::experimental::awaitable_operators;
    co_await (pipe_to_local(in, local) && local_to_pipe(local, out));
}

asio::awaitable<Result<SshconMessage>> read_sshcon(Descriptor& from) {
    SshconReader reader;
    std::array<char, kSshconMessageLen> buf{};
    while (!reader.done()) {
        auto [ec, n] = co_await from.async_read_some(asio::buffer(buf.data(), reader.bytes_needed()), use_ec);
        if (n > 0) {
            auto consumed = reader.consume(std::span<const char>(buf.data(), n));
            if (!consumed) co_return consumed.error();
        }
        if (ec == asio::error::eof)
            co_return Error(
                TransportErrc::connection_closed,
                "closed after " + std::to_string(reader.consumed()) + " bytes of the SSHCON banner");
        if (ec) co_return Error(ec, "reading the SSHCON banner");
    }
    co_return reader.message();
}

asio::awaitable<bool> write_sshcon(Descriptor& to, SshconMessage m, std::chrono::milliseconds timeout) {
    const auto bytes = encode_sshcon(m);
    auto wrote = co_await with_timeout(asio::async_write(to, asio::buffer(bytes), use_ec), timeout);
    co_return wrote.has_value() && !std::get<0>(*wrote);
}

// ---------------------------------------------------------------------------- the ssh child

struct SshChild {
    SshChild(asio::any_io_executor ex, ChildProcess c) : child(std::move(c)), exited(ex, 1), waiter(ex) {}
    ChildProcess child;
    std::optional<Result<ProcessResult>> result;
    asio::experimental::channel<void(error_code)> exited;
    OwnedTask waiter;  // wait(): drains stderr while ssh runs; cancelled = TERM, KILL, reaped
};

asio::awaitable<void> wait_child(std::shared_ptr<SshChild> s) {
    auto r = co_await s->child.wait();
    s->result.emplace(std::move(r));
    error_code ok;
    (void)s->exited.try_send(ok);
}

// True when ssh exited within `bound`.
asio::awaitable<bool> await_exit(std::shared_ptr<SshChild> s, std::chrono::milliseconds bound) {
    if (!s->result && bound.count() > 0) (void)co_await with_timeout(s->exited.async_receive(use_ec), bound);
    co_return s->result.has_value();
}

// Gives ssh `grace` to exit by itself (its stdin is closed), then SIGTERM, SIGKILL a second
// later; returns once it is reaped.
asio::awaitable<void> end_child(std::shared_ptr<SshChild> s, std::chrono::milliseconds grace) {
    const bool exited = co_await await_exit(s, grace);
    if (!exited) s->waiter.cancel();
    co_await s->waiter.join();
}

std::string stderr_of(const SshChild& s) {
    if (!s.result || !*s.result) return {};
    std::string err = (*s.result)->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    return err;
}

asio::awaitable<void> client_relay(std::unique_ptr<Descriptor> to_ssh, std::unique_ptr<Descriptor> from_ssh,
                                   std::unique_ptr<LocalSocket> local, std::shared_ptr<SshChild> child,
                                   Logger log) {
    co_await asio::this_coro::throw_if_cancelled(false);
    try {
        co_await relay_pipes(*from_ssh, *to_ssh, *local);
    } catch (const std::exception&) {
        // cancellation at shutdown; everything closes below
    }
    auto cs = co_await asio::this_coro::cancellation_state;
    const bool cancelled = cs.cancelled() != asio::cancellation_type::none;
    if (cancelled) co_await asio::this_coro::reset_cancellation_state();
    error_code ignored;
    local->close(ignored);
    to_ssh->close(ignored);
    from_ssh->close(ignored);
    co_await end_child(child, cancelled ? std::chrono::milliseconds(0) : std::chrono::milliseconds(1000));
    if (child->result && *child->result && !(*child->result)->ok() && (*child->result)->signal == 0)
        log.info("ssh exited with {}: {}", (*child->result)->status(), stderr_of(*child));
}

}  // namespace

// ---------------------------------------------------------------------------- connector

std::vector<std::string> ssh_arguments(const SshConnectConfig& c) {
    std::vector<std::string> args = {"-p", std::to_string(c.port), "-T", "-i", c.identity_file,
                                     "-o", "BatchMode=yes"};
    for (const auto& o : c.options) {
        args.push_back("-o");
        args.push_back(o);
    }
    args.push_back(c.user + "@" + c.host);
    return args;
}

SshWireConnector::SshWireConnector(asio::any_io_executor ex, SshConnectConfig config, Logger log)
    : ex_(ex), config_(std::move(config)), log_(std::move(log)) {}

SshWireConnector::~SshWireConnector() {
    for (auto& r : relays_) r->cancel();
}

std::string SshWireConnector::describe() const {
    return "ssh:" + config_.user + "@" + config_.host + ":" + std::to_string(config_.port);
}

void SshWireConnector::reap() {
    relays_.remove_if([](const std::unique_ptr<OwnedTask>& t) { return !t->running(); });
}

asio::awaitable<Result<Wire>> SshWireConnector::connect(std::chrono::milliseconds timeout) {
    // A cancelled dial must still end and reap its ssh: inside dial() awaiting never throws.
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    auto wire = co_await dial(timeout);
    co_await asio::this_coro::throw_if_cancelled(throw_before);
    co_return wire;
}

asio::awaitable<Result<Wire>> SshWireConnector::dial(std::chrono::milliseconds timeout) {
    reap();
    const std::string where = config_.user + "@" + config_.host + ":" + std::to_string(config_.port);
    int a[2];
    int b[2];
    if (::pipe2(a, O_CLOEXEC) != 0)
        co_return Error(errno_code(errno), "ssh to " + where + ": creating a pipe");
    UniqueFd child_in(a[0]);
    UniqueFd to_ssh(a[1]);
    if (::pipe2(b, O_CLOEXEC) != 0)
        co_return Error(errno_code(errno), "ssh to " + where + ": creating a pipe");
    UniqueFd from_ssh(b[0]);
    UniqueFd child_out(b[1]);

    ProcessSpec spec;
    spec.program = config_.ssh_command;
    spec.args = ssh_arguments(config_);
    spec.stdin_fd = child_in.get();
    spec.stdout_fd = child_out.get();
    spec.max_stderr = std::size_t{16} << 10;
    spec.kill_grace = std::chrono::milliseconds(1000);
    auto spawned = ChildProcess::spawn(ex_, std::move(spec));
    child_in.reset();
    child_out.reset();
    if (!spawned) co_return Error(spawned.error()).wrap("ssh to " + where);
    auto child = std::make_shared<SshChild>(ex_, std::move(*spawned));
    child->waiter.start(wait_child(child));
    auto in = std::make_unique<Descriptor>(ex_, to_ssh.release());
    auto out = std::make_unique<Descriptor>(ex_, from_ssh.release());

    auto banner = co_await with_timeout(read_sshcon(*out), timeout);
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
        co_await end_child(child, std::chrono::milliseconds(0));
        co_return Error(asio::error::operation_aborted, "ssh to " + where + ": cancelled while connecting");
    }
    if (!banner) {
        co_await end_child(child, std::chrono::milliseconds(0));
        co_return Error(TransportErrc::timeout, "ssh to " + where +
                                                    ": no SSHCON_HELO banner within the dial timeout (" +
                                                    std::to_string(timeout.count()) + " ms)");
    }
    if (!*banner) {
        const Error failed = banner->error();
        error_code ignored;
        in->close(ignored);
        out->close(ignored);
        if (failed.code() == TransportErrc::connection_closed) {
            // ssh closed its stdout: it is ending, and its status and stderr say why.
            const bool exited = co_await await_exit(child, std::chrono::milliseconds(5000));
            if (exited && *child->result) {
                const ProcessResult& pr = **child->result;
                Error e = classify_ssh_exit(where, pr.signal != 0 ? -1 : pr.exit_code, pr.err);
                log_.warn("{}", e.message());
                co_await end_child(child, std::chrono::milliseconds(0));
                co_return e;
            }
        }
        co_await end_child(child, std::chrono::milliseconds(0));
        co_return Error(failed).wrap("ssh to " + where);
    }
    if (auto ok = check_sshcon(SshconMessage::helo, **banner); !ok) {
        // A proxy error: the remote `stdinserver` says why on ssh's stderr, then exits.
        error_code ignored;
        in->close(ignored);
        const bool exited = co_await await_exit(child, std::chrono::milliseconds(2000));
        co_await end_child(child, std::chrono::milliseconds(0));
        Error e = ok.error();
        if (exited) {
            const std::string said = stderr_of(*child);
            if (!said.empty()) e = Error(e.code(), e.context() + "; remote: " + said);
        }
        co_return e.wrap("ssh to " + where);
    }
    if (!co_await write_sshcon(*in, SshconMessage::begin, timeout)) {
        co_await end_child(child, std::chrono::milliseconds(0));
        co_return Error(TransportErrc::connection_closed,
                        "ssh to " + where + ": writing SSHCON_BEGIN failed");
    }
    auto pair = make_relay_pair(ex_, "ssh+stdinserver");
    if (!pair) {
        co_await end_child(child, std::chrono::milliseconds(0));
        co_return pair.error();
    }
    auto task = std::make_unique<OwnedTask>(ex_);
    task->start(client_relay(std::move(in), std::move(out), std::move(pair->relay), child,
                             log_.with("server", where)));
    relays_.push_back(std::move(task));
    co_return make_wire(std::move(pair->wire), std::string(), "ssh:" + where);
}

asio::awaitable<void> SshWireConnector::shutdown() {
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    for (auto& r : relays_) r->cancel();
    for (auto& r : relays_) co_await r->join();
    relays_.clear();
    co_await asio::this_coro::throw_if_cancelled(throw_before);
}

// ---------------------------------------------------------------------------- listener

namespace {

// Creates the directory 0700 when it is missing (parents as the umask says); refuses one that
// others can reach: anyone who can connect to a socket in it is that client.
Result<void> prepare_sockdir(const std::string& dir) {
    const std::string what = "global.serve.stdinserver.sockdir " + dir;
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT) return Error(errno_code(errno), what);
        std::error_code fec;
        const auto parent = std::filesystem::path(dir).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent, fec);
        if (fec)
            return Error(error_code(fec.value(), boost::system::system_category()),
                         what + ": creating its parent " + parent.string());
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return Error(errno_code(errno), what + ": creating it (mode 0700)");
        if (::lstat(dir.c_str(), &st) != 0) return Error(errno_code(errno), what);
    }
    if (!S_ISDIR(st.st_mode))
        return Error(Errc::invalid_argument,
                     what + " is not a directory; remove it or configure another sockdir");
    if ((st.st_mode & 0007) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return Error(Errc::invalid_argument,
                     what + " is accessible by others (mode " + mode +
                         "): whoever can reach a socket in it connects as that client. `chmod o-rwx " + dir +
                         "` (zferry creates it 0700); the daemon does not start until then");
    }
    return {};
}

// A socket file at `path` from an earlier daemon is removed; a live one (another daemon
// accepts on it) or anything that is not a socket is refused.
Result<void> clear_stale_socket(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return {};
    if (!S_ISSOCK(st.st_mode))
        return Error(Errc::invalid_argument, "stdinserver socket " + path + " exists and is not a socket");
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
        return Error(Errc::invalid_argument,
                     "stdinserver socket " + path + " is in use: another daemon serves this client identity");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return Error(errno_code(errno), "removing the stale stdinserver socket " + path);
    return {};
}

struct ReceivedNow {
    int err = 0;  // errno of recvmsg
    FdPassingResult parsed;
};

ReceivedNow receive_fds_now(int sock) {
    ReceivedNow r;
    std::vector<std::byte> control(fd_passing_control_len());
    char data = 0;
    iovec iov;
    iov.iov_base = &data;
    iov.iov_len = 1;
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
        r.err = errno;
        return r;
    }
    r.parsed = parse_fd_passing(std::span<const std::byte>(control.data(), msg.msg_controllen),
                                static_cast<std::size_t>(n), msg.msg_flags);
    return r;
}

// The forced command's stdin and stdout, passed on `control`.
asio::awaitable<Result<std::pair<UniqueFd, UniqueFd>>> receive_fds(LocalSocket& control) {
    for (;;) {
        auto [ec] = co_await control.async_wait(asio::socket_base::wait_read, use_ec);
        if (ec) co_return Error(ec, "waiting for the passed stdin and stdout");
        ReceivedNow got = receive_fds_now(control.native_handle());
        if (got.err == EAGAIN || got.err == EWOULDBLOCK || got.err == EINTR) continue;
        if (got.err != 0) co_return Error(errno_code(got.err), "receiving the passed stdin and stdout");
        std::vector<UniqueFd> owned;
        for (int fd : got.parsed.fds) owned.emplace_back(fd);
        if (!got.parsed.verdict) co_return got.parsed.verdict.error();
        co_return std::pair<UniqueFd, UniqueFd>(std::move(owned[0]), std::move(owned[1]));
    }
}

}  // namespace

std::string stdinserver_socket_path(const std::string& sockdir, const std::string& identity) {
    std::string dir = sockdir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir + "/" + identity;
}

StdinserverWireListener::StdinserverWireListener(asio::any_io_executor ex, StdinserverConfig config,
                                                 Logger log)
    : ex_(ex), config_(std::move(config)), log_(std::move(log)), signal_(ex, 1) {}

StdinserverWireListener::~StdinserverWireListener() { close(); }

std::string StdinserverWireListener::describe() const {
    std::string ids;
    for (const auto& i : config_.client_identities) ids += (ids.empty() ? "" : ", ") + i;
    return "stdinserver " + config_.sockdir + " (" + ids + ")";
}

Result<void> StdinserverWireListener::listen() {
    if (auto r = prepare_sockdir(config_.sockdir); !r) return r;
    for (const auto& identity : config_.client_identities) {
        const std::string path = stdinserver_socket_path(config_.sockdir, identity);
        if (path.size() >= sizeof(sockaddr_un::sun_path))
            return Error(Errc::invalid_argument, "stdinserver socket " + path +
                                                     " is longer than a unix socket path may be (" +
                                                     std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                                     " bytes); configure a shorter sockdir");
        if (auto r = clear_stale_socket(path); !r) return r;
        auto acceptor = std::make_unique<Acceptor>(ex_);
        error_code ec;
        const asio::local::stream_protocol::endpoint ep(path);
        acceptor->open(ep.protocol(), ec);
        if (!ec) acceptor->bind(ep, ec);
        if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) return Error(ec, "listening on the stdinserver socket " + path);
        paths_.push_back(path);
        acceptors_.push_back(std::move(acceptor));
    }
    for (std::size_t i = 0; i < acceptors_.size(); ++i) {
        auto task = std::make_unique<OwnedTask>(ex_);
        task->start(accept_loop(*acceptors_[i], config_.client_identities[i]));
        accept_tasks_.push_back(std::move(task));
    }
    return {};
}

void StdinserverWireListener::reap() {
    tasks_.remove_if([](const std::unique_ptr<OwnedTask>& t) { return !t->running(); });
}

asio::awaitable<void> StdinserverWireListener::accept_loop(Acceptor& acceptor, std::string identity) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_ec);
        if (closed_ || ec == asio::error::operation_aborted) co_return;
        if (ec) {
            log_.warn("stdinserver: accepting on the socket of {} failed: {}; retrying in 100 ms", identity,
                      ec.message());
            asio::steady_timer t(ex_, std::chrono::milliseconds(100));
            co_await t.async_wait(use_ec);
            continue;
        }
        reap();
        auto task = std::make_unique<OwnedTask>(ex_);
        task->start(serve(std::move(socket), identity));
        tasks_.push_back(std::move(task));
    }
}

asio::awaitable<void> StdinserverWireListener::serve(LocalSocket control, std::string identity) {
    co_await asio::this_coro::throw_if_cancelled(false);
    Logger log = log_.with("client", identity);
    auto fds = co_await with_timeout(receive_fds(control), config_.handshake_timeout);
    if (!fds) {
        log.warn("refusing stdinserver connection: no descriptors passed within {} ms",
                 config_.handshake_timeout.count());
        co_return;
    }
    if (!*fds) {
        log.warn("refusing stdinserver connection: {}", fds->error().message());
        co_return;
    }
    auto in = std::make_unique<Descriptor>(ex_, (*fds)->first.release());
    auto out = std::make_unique<Descriptor>(ex_, (*fds)->second.release());
    if (!co_await write_sshcon(*out, SshconMessage::helo, config_.handshake_timeout)) {
        log.warn("refusing stdinserver connection: writing SSHCON_HELO failed (the ssh session ended)");
        co_return;
    }
    auto begin = co_await with_timeout(read_sshcon(*in), config_.handshake_timeout);
    if (!begin) {
        log.warn("refusing stdinserver connection: no SSHCON_BEGIN within {} ms",
                 config_.handshake_timeout.count());
        co_return;
    }
    if (!*begin) {
        log.warn("refusing stdinserver connection: {}", begin->error().message());
        co_return;
    }
    if (auto ok = check_sshcon(SshconMessage::begin, **begin); !ok) {
        log.warn("refusing stdinserver connection: {}", ok.error().message());
        co_return;
    }
    auto pair = make_relay_pair(ex_, "ssh+stdinserver");
    if (!pair) {
        log.warn("refusing stdinserver connection: {}", pair.error().message());
        co_return;
    }
    if (closed_) co_return;
    ready_.push_back(make_wire(std::move(pair->wire), identity, "stdinserver:" + identity));
    error_code ok;
    (void)signal_.try_send(ok);
    auto local = std::move(pair->relay);
    try {
        co_await relay_pipes(*in, *out, *local);
    } catch (const std::exception&) {
        // cancellation at shutdown
    }
    error_code ignored;
    local->close(ignored);
    in->close(ignored);
    out->close(ignored);
    // The connection ended normally: the `stdinserver` may exit 0.
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_await asio::this_coro::reset_cancellation_state();
    const char feedback = kProxyFeedbackOk;
    (void)co_await with_timeout(asio::async_write(control, asio::buffer(&feedback, 1), use_ec),
                                std::chrono::milliseconds(1000));
    control.close(ignored);
}

asio::awaitable<Result<Wire>> StdinserverWireListener::accept() {
    for (;;) {
        if (!ready_.empty()) {
            Wire w = std::move(ready_.front());
            ready_.pop_front();
            co_return w;
        }
        if (closed_) co_return Error(asio::error::operation_aborted, "stdinserver listener closed");
        auto [ec] = co_await signal_.async_receive(use_ec);
        if (ec)
            co_return Error(asio::error::operation_aborted, "stdinserver listener: waiting for a connection");
    }
}

void StdinserverWireListener::close() noexcept {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    for (auto& a : acceptors_) a->close(ignored);
    for (const auto& p : paths_) ::unlink(p.c_str());
    (void)signal_.try_send(ignored);
}

asio::awaitable<void> StdinserverWireListener::shutdown() {
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    close();
    for (auto& t : accept_tasks_) co_await t->join();
    for (auto& t : tasks_) t->cancel();
    for (auto& t : tasks_) co_await t->join();
    tasks_.clear();
    ready_.clear();
    co_await asio::this_coro::throw_if_cancelled(throw_before);
}

}  // namespace zferry::transport
