// `zferry stdinserver CLIENT_IDENTITY`: the command sshd runs for a client of an
// ssh+stdinserver transport (forced in authorized_keys:
// `command="zferry stdinserver host1",restrict ssh-ed25519 ...`). As zrepl's: it connects to
// the daemon's socket `<sockdir>/<identity>`, passes its stdin and stdout there in one
// SCM_RIGHTS message and waits until the daemon is done with them (the daemon's byte 0, then
// EOF: exit 0). When the daemon is not there it writes SSHCON_PROXY_ERROR to stdout, so the
// ssh client reports "proxy error, check remote configuration", and says why on stderr (which
// ssh carries to the client).
//
// Unlike zrepl's, once the descriptors are passed it lets go of its own stdin and stdout
// (replaced by /dev/null), so the daemon's half-close reaches sshd at once.
#include "tools/zferry/commands.hpp"

#include "daemon/config/config_loader.hpp"
#include "transport/ssh_wire.hpp"
#include "transport/sshcon.hpp"
#include "zfs/dataset_path.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace zferry::cli {
namespace {

void write_proxy_error() {
    const auto msg = transport::encode_sshcon(transport::SshconMessage::proxy_error);
    std::size_t done = 0;
    while (done < msg.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, msg.data() + done, msg.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

int fail(const std::string& why, bool proxy_error) {
    std::cerr << "zferry stdinserver: " << why << "\n";
    if (proxy_error) write_proxy_error();
    return 1;
}

int stdinserver(const std::string& config_path, const std::string& identity) {
    if (auto ok = zfs::component_namecheck(identity); !ok)
        return fail("client identity \"" + identity + "\": " + ok.error().message(), true);
    auto cfg = config::load_config(config_path);
    if (!cfg) return fail(cfg.error().message(), true);
    const std::string path = transport::stdinserver_socket_path(cfg->global.stdinserver_sockdir, identity);

    const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return fail(std::string("creating a unix socket: ") + std::strerror(errno), true);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return fail("socket path " + path + " is too long", true);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return fail(
            "cannot connect to the daemon's socket " + path + ": " + std::strerror(errno) +
                " (is the zferry daemon running with a sink or source that serves stdinserver for \"" +
                identity + "\"?)",
            true);

    // As zrepl's: the daemon reads and writes them without blocking.
    for (int fd : {STDIN_FILENO, STDOUT_FILENO}) {
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
            return fail(std::string("setting stdin/stdout non-blocking: ") + std::strerror(errno), true);
    }
    auto control = transport::encode_fd_passing(STDIN_FILENO, STDOUT_FILENO);
    char dummy = 0;
    iovec iov;
    iov.iov_base = &dummy;
    iov.iov_len = 1;
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t sent;
    do {
        sent = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent != 1)
        return fail("passing stdin and stdout to the daemon at " + path + ": " + std::strerror(errno), true);

    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::close(null);
    }

    // The daemon's byte 0 then EOF ends the connection normally.
    std::string feedback;
    char buf[2];
    for (;;) {
        const ssize_t n = ::read(sock, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(std::string("waiting for the daemon: ") + std::strerror(errno), false);
        if (n == 0) break;
        if (feedback.size() < 2) feedback.append(buf, static_cast<std::size_t>(n));
    }
    ::close(sock);
    if (auto ok = transport::check_proxy_feedback(feedback); !ok) return fail(ok.error().message(), false);
    return 0;
}

}  // namespace

void register_stdinserver(CLI::App& app, ExitCode& rc, const GlobalOptions& global) {
    struct Options {
        std::string config, identity;
    };
    auto o = std::make_shared<Options>();
    auto* cmd =
        app.add_subcommand("stdinserver",
                           "ssh forced command of the ssh+stdinserver transport: hands this ssh session to "
                           "the daemon as client CLIENT_IDENTITY");
    cmd->add_option("--config", o->config, "the configuration file (its global.serve.stdinserver.sockdir)");
    cmd->add_option("client_identity", o->identity, "the client identity (one dataset name component)")
        ->required();
    cmd->callback([o, &rc, &global]() {
        const std::string path = !o->config.empty()       ? o->config
                                 : !global.config.empty() ? global.config
                                                          : config::default_config_path();
        rc.value = stdinserver(path, o->identity);
    });
}

}  // namespace zferry::cli
