// An OpenSSH sshd of a test's own on 127.0.0.1, for the ssh+stdinserver transport: host,
// client and stranger keys made by ssh-keygen, authorized_keys forcing a command for the client
// key, a known_hosts for strict host key checking. Used by the integration tests (zfs-sim) and
// the platform tests (zfs-fuse).
#pragma once

#include "tests/integration/daemon_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace zferry::test {

// A free TCP port on 127.0.0.1 (bound and released; the caller binds it next).
inline int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

inline bool accepts(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// An sshd of the test's own on 127.0.0.1 (a free port) for the current user, keys made by
// ssh-keygen in `dir`: authorized_keys forces `command` for the client key (not for the
// stranger key); known_hosts holds the host key, so the client checks it strictly. stop()
// (also the destructor) ends it with SIGTERM and reaps it.
class Sshd {
public:
    explicit Sshd(std::filesystem::path dir) : dir_(std::move(dir)) {}
    ~Sshd() { stop(); }
    Sshd(const Sshd&) = delete;
    Sshd& operator=(const Sshd&) = delete;

    std::filesystem::path client_key() const { return dir_ / "client_key"; }
    std::filesystem::path stranger_key() const { return dir_ / "stranger_key"; }
    std::filesystem::path known_hosts() const { return dir_ / "known_hosts"; }
    int port() const { return port_; }
    std::string user() const { return ::getpwuid(::geteuid())->pw_name; }
    std::string log() const { return read_file(dir_ / "sshd.log"); }

    // True once sshd accepts connections (within 10 s).
    bool start(const std::string& command) {
        std::filesystem::create_directories(dir_);
        // As root, sshd needs its privilege separation directory, which the package creates at
        // boot and a container may lack; it is left in place (other tests' sshds may use it).
        if (::geteuid() == 0 && !std::filesystem::exists("/run/sshd")) {
            std::filesystem::create_directories("/run/sshd");
            std::filesystem::permissions(
                "/run/sshd", std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                 std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                 std::filesystem::perms::others_exec);
        }
        for (const char* k : {"host_key", "client_key", "stranger_key"}) {
            const std::string cmd = "ssh-keygen -q -t ed25519 -N '' -C zferry-test -f " +
                                    (dir_ / k).string() + " >/dev/null 2>&1 </dev/null";
            if (std::system(cmd.c_str()) != 0) return false;
        }
        port_ = free_loopback_port();
        std::ofstream(dir_ / "sshd_config") << "ListenAddress 127.0.0.1\n"
                                               "HostKey "
                                            << (dir_ / "host_key").string()
                                            << "\nPidFile none\n"
                                               "AuthorizedKeysFile "
                                            << (dir_ / "authorized_keys").string()
                                            << "\nStrictModes no\n"
                                               "UsePAM no\n"
                                               "PasswordAuthentication no\n"
                                               "KbdInteractiveAuthentication no\n"
                                               "PubkeyAuthentication yes\n"
                                               "PermitRootLogin prohibit-password\n"
                                               "LogLevel VERBOSE\n";
        std::ofstream(dir_ / "authorized_keys")
            << "command=\"" << command << "\",restrict " << read_file(client_key().string() + ".pub");
        std::ofstream(known_hosts()) << "[127.0.0.1]:" << port_ << " "
                                     << read_file((dir_ / "host_key.pub").string());
        std::vector<std::string> args = {
            "/usr/sbin/sshd", "-D", "-e", "-f", (dir_ / "sshd_config").string(), "-p", std::to_string(port_)};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        const std::string log = (dir_ / "sshd.log").string();
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        const int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) return false;
        return wait_for([&] { return accepts(port_); }, std::chrono::seconds(10));
    }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    std::filesystem::path dir_;
    int port_ = -1;
    pid_t pid_ = -1;
};

}  // namespace zferry::test
