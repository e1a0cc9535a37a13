#include "transport/sshcon.hpp"

#include "core/text.hpp"
#include "transport/transport_error.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace zferry::transport {
namespace {

constexpr std::array<SshconMessage, 3> kAll = {SshconMessage::helo, SshconMessage::proxy_error,
                                               SshconMessage::begin};

// Peer bytes go into error messages: printable, NULs shown as such, and bounded.
std::string shown(std::string_view bytes) {
    const auto end = bytes.find_last_not_of('\0');
    const std::string_view text =
        end == std::string_view::npos ? std::string_view() : bytes.substr(0, end + 1);
    std::string out = quote_log_value(text);
    if (text.size() < bytes.size()) out += " + " + std::to_string(bytes.size() - text.size()) + " NUL";
    return out;
}

bool contains(std::string_view hay, std::string_view needle) {
    return hay.find(needle) != std::string_view::npos;
}

std::string trimmed(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return escape_controls(s.substr(b, e - b + 1));
}

}  // namespace

std::string_view sshcon_name(SshconMessage m) noexcept {
    switch (m) {
        case SshconMessage::helo: return "SSHCON_HELO";
        case SshconMessage::proxy_error: return "SSHCON_PROXY_ERROR";
        case SshconMessage::begin: return "SSHCON_BEGIN";
    }
    return "SSHCON_?";
}

std::array<char, kSshconMessageLen> encode_sshcon(SshconMessage m) noexcept {
    std::array<char, kSshconMessageLen> out{};
    const auto name = sshcon_name(m);
    std::copy(name.begin(), name.end(), out.begin());
    return out;
}

Result<void> SshconReader::consume(std::span<const char> bytes) {
    if (error_) return error_;
    if (bytes.size() > bytes_needed())
        return Error(Errc::invalid_argument, "SSHCON banner reader: more bytes than asked for");
    for (char c : bytes) {
        buf_[got_++] = c;
        const bool possible = std::any_of(kAll.begin(), kAll.end(), [&](SshconMessage m) {
            const auto want = encode_sshcon(m);
            return std::equal(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(got_), want.begin());
        });
        if (!possible) {
            error_ = Error(
                TransportErrc::handshake_malformed,
                "ssh+stdinserver: unknown banner message " + shown({buf_.data(), got_}) +
                    " (expected SSHCON_HELO, SSHCON_BEGIN or SSHCON_PROXY_ERROR, NUL-padded to 31 bytes; "
                    "does the remote authorized_keys force `stdinserver IDENTITY` as the command?)");
            return error_;
        }
    }
    if (got_ == kSshconMessageLen) {
        for (SshconMessage m : kAll)
            if (encode_sshcon(m) == buf_) message_ = m;
        done_ = true;
    }
    return {};
}

Result<void> check_sshcon(SshconMessage wanted, SshconMessage got) {
    if (got == wanted) return {};
    if (got == SshconMessage::proxy_error)
        return Error(
            TransportErrc::connection_closed,
            "ssh+stdinserver: proxy error, check remote configuration (the remote `stdinserver` could not "
            "reach its daemon: is it running, serving stdinserver for this identity, with the same "
            "sockdir?)");
    return Error(TransportErrc::handshake_malformed, "ssh+stdinserver: got " + std::string(sshcon_name(got)) +
                                                         " where " + std::string(sshcon_name(wanted)) +
                                                         " belongs");
}

std::size_t fd_passing_control_len() noexcept { return CMSG_SPACE(kPassedFdCount * sizeof(int)); }

std::vector<std::byte> encode_fd_passing(int in, int out) {
    std::vector<std::byte> buf(fd_passing_control_len());
    msghdr msg{};
    msg.msg_control = buf.data();
    msg.msg_controllen = buf.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(kPassedFdCount * sizeof(int));
    const int fds[kPassedFdCount] = {in, out};
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    return buf;
}

FdPassingResult parse_fd_passing(std::span<const std::byte> control, std::size_t data_bytes, int msg_flags) {
    FdPassingResult r;
    auto fail = [&](std::string what) {
        r.verdict =
            Error(TransportErrc::handshake_malformed, "ssh+stdinserver: passing stdin and stdout: " + what);
        return r;
    };
    // CMSG_* need an aligned buffer they may walk; copy into one.
    std::vector<cmsghdr> aligned(control.size() / sizeof(cmsghdr) + 1);
    std::copy(control.begin(), control.end(), reinterpret_cast<std::byte*>(aligned.data()));
    msghdr msg{};
    msg.msg_control = aligned.data();
    msg.msg_controllen = control.size();
    std::size_t messages = 0;
    bool other = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_len < CMSG_LEN(0)) break;
        // The kernel never writes a length past the buffer; a fuzzer does.
        const auto offset =
            reinterpret_cast<const std::byte*>(c) - reinterpret_cast<const std::byte*>(aligned.data());
        // (Compared without adding: a huge cmsg_len would wrap offset + cmsg_len around.)
        if (static_cast<std::size_t>(offset) > control.size() ||
            c->cmsg_len > control.size() - static_cast<std::size_t>(offset))
            break;
        ++messages;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            other = true;
            continue;
        }
        const std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < n; ++i) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            r.fds.push_back(fd);
        }
    }
    if (data_bytes == 0 && control.empty())
        return fail("the peer closed the unix socket without passing anything");
    if (msg_flags & MSG_CTRUNC)
        return fail("the control data was truncated (the peer passed more than stdin and stdout)");
    if (other) return fail("a control message other than SCM_RIGHTS arrived");
    if (messages != 1) return fail(std::to_string(messages) + " control messages arrived where one belongs");
    if (r.fds.size() != kPassedFdCount)
        return fail(std::to_string(r.fds.size()) + " descriptors arrived where stdin and stdout (2) belong");
    if (data_bytes != 1)
        return fail(std::to_string(data_bytes) +
                    " data bytes arrived with the descriptors where one belongs");
    return r;
}

Result<void> check_proxy_feedback(std::string_view received) {
    if (received.size() == 1 && received[0] == kProxyFeedbackOk) return {};
    if (received.empty())
        return Error(TransportErrc::connection_closed,
                     "stdinserver: the daemon closed the connection without its end-of-connection byte");
    return Error(TransportErrc::handshake_malformed,
                 "stdinserver: the daemon indicates abnormal termination (feedback " + shown(received) + ")");
}

Error classify_ssh_exit(std::string_view where, int exit_code, std::string_view stderr_text) {
    std::string said = trimmed(stderr_text);
    std::string status =
        exit_code < 0 ? std::string("killed by a signal") : "exit status " + std::to_string(exit_code);
    std::string text = "ssh to " + std::string(where) + " ended before the SSHCON banner (" + status + ")";
    text += said.empty() ? std::string(": ssh printed nothing") : ": " + said;
    static constexpr std::string_view permanent[] = {
        "Permission denied",
        "Too many authentication failures",
        "Host key verification failed",
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "No such file or directory",  // the identity file
        "Bad configuration option",
        "bad permissions",
        "UNPROTECTED PRIVATE KEY FILE",
        "command-line line",
    };
    for (auto p : permanent)
        if (contains(stderr_text, p)) return Error(TransportErrc::refused, text);
    // 255 is ssh's own failure; anything else is the remote command's status: it ran, so
    // ssh got in, and the forced command is not a working `stdinserver`.
    if (exit_code >= 0 && exit_code != 255)
        return Error(TransportErrc::refused,
                     text + " (the remote command ran and exited: check the forced command)");
    if (contains(stderr_text, "timed out")) return Error(TransportErrc::timeout, text);
    return Error(TransportErrc::connection_closed, text);
}

}  // namespace zferry::transport
