// The protocol pieces of zrepl's ssh+stdinserver transport (go-netssh), sans-I/O:
//
//  - the banner messages, each NUL-padded to 31 bytes: the daemon writes SSHCON_HELO into the
//    stdout it was passed, the ssh client answers SSHCON_BEGIN; a `stdinserver` that cannot
//    reach its daemon writes SSHCON_PROXY_ERROR instead;
//  - the one message that passes the forced command's stdin and stdout to the daemon: a
//    `sendmsg` on the unix socket with one SCM_RIGHTS control message of two descriptors and
//    one data byte (Go's Sendmsg adds that byte to a stream socket's empty message; Linux
//    delivers no descriptors without data);
//  - the feedback byte the daemon writes to the unix socket when the connection ends (0 =
//    normal end; the `stdinserver` exits 0 only after that byte and EOF);
//  - what ssh's exit and stderr say about a connection that never reached the banner.
//
// Everything here is a plain function or class over bytes: the transport (ssh_wire) performs
// the I/O, the tests and the fuzzer feed bytes.
#pragma once

#include "core/error.hpp"

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::transport {

constexpr std::size_t kSshconMessageLen = 31;

enum class SshconMessage { helo, proxy_error, begin };

std::string_view sshcon_name(SshconMessage m) noexcept;  // "SSHCON_HELO", ...

// The 31 bytes of a message: its name, NUL-padded.
std::array<char, kSshconMessageLen> encode_sshcon(SshconMessage m) noexcept;

// Reads one 31-byte message, never asking for a byte past it (the version banner follows).
// Input is checked byte by byte: the first byte that no known message has at that position
// fails at once (an sshd that runs a shell instead of the forced command prints a motd or a
// prompt, never a banner). Failures are TransportErrc::handshake_malformed, permanent.
//
//   SshconReader r;
//   while (!r.done()) {
//       n = read_some(fd, buf, r.bytes_needed());
//       if (n == 0) -> the peer closed before the banner
//       if (auto res = r.consume({buf, n}); !res) return res.error();
//   }
//   use(r.message());
class SshconReader {
public:
    std::size_t bytes_needed() const noexcept { return done_ || error_ ? 0 : kSshconMessageLen - got_; }
    // Takes 0..bytes_needed() bytes; more is a caller bug (Errc::invalid_argument, nothing
    // consumed). After a failure every call returns that failure.
    Result<void> consume(std::span<const char> bytes);
    bool done() const noexcept { return done_; }
    bool failed() const noexcept { return static_cast<bool>(error_); }
    std::size_t consumed() const noexcept { return got_; }
    // Valid when done().
    SshconMessage message() const noexcept { return message_; }

private:
    std::array<char, kSshconMessageLen> buf_{};
    std::size_t got_ = 0;
    bool done_ = false;
    SshconMessage message_ = SshconMessage::helo;
    Error error_;
};

// What the reader's message means to a side waiting for `wanted`: Ok when it is `wanted`;
// SSHCON_PROXY_ERROR is TransportErrc::connection_closed, temporary ("proxy error, check remote
// configuration": the remote `stdinserver` did not reach its daemon, which may be restarting,
// as a tcp sink that is down refuses connections); any other message handshake_malformed.
Result<void> check_sshcon(SshconMessage wanted, SshconMessage got);

// ---- passing stdin and stdout -------------------------------------------------------------

// Descriptors in the one message.
constexpr std::size_t kPassedFdCount = 2;
// Bytes of control buffer that message needs (CMSG_SPACE of two ints).
std::size_t fd_passing_control_len() noexcept;
// The control buffer for sendmsg (with one data byte): one SCM_RIGHTS with `in` and `out`.
std::vector<std::byte> encode_fd_passing(int in, int out);

// What recvmsg returned, judged. `fds` lists every descriptor any SCM_RIGHTS message carried,
// in order, whatever the verdict: the caller owns them and closes those it does not use.
// Ok only for: data_bytes == 1, no MSG_CTRUNC in msg_flags, exactly one control message, of
// SOL_SOCKET/SCM_RIGHTS, with exactly two descriptors. data_bytes == 0 with no control data
// is the peer closing without passing anything. Errors are TransportErrc::handshake_malformed
// (permanent: the same peer will send the same thing again) and say what arrived.
struct FdPassingResult {
    std::vector<int> fds;
    Result<void> verdict;
};
FdPassingResult parse_fd_passing(std::span<const std::byte> control, std::size_t data_bytes, int msg_flags);

// ---- the stdinserver's end ---------------------------------------------------------------

// The byte the daemon writes to the unix socket once it is done with the connection.
constexpr char kProxyFeedbackOk = 0;

// What the `stdinserver` read on the unix socket until EOF (at most 2 bytes are kept by the
// reader): Ok for exactly the one 0 byte; otherwise an error saying the daemon ended the
// connection abnormally (closed without feedback, or another byte).
Result<void> check_proxy_feedback(std::string_view received);

// ---- ssh's own failures ------------------------------------------------------------------

// An ssh client that ended (or closed its stdout) before the SSHCON_HELO banner: what to
// report. `stderr_text` is what it printed (trimmed into the message), `exit_code` its exit
// status (-1: killed by a signal). Permanent (TransportErrc::refused): authentication failures
// ("Permission denied", "Too many authentication failures"), host key problems ("Host key
// verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED"), a bad identity file or
// option, and a remote command that ran and exited (ssh's status is then not 255: the forced
// command is wrong). Temporary (TransportErrc::connection_closed, or timeout for "timed out"):
// everything else ssh reports with status 255: connection refused, no route, a reset, a name
// that does not resolve now.
Error classify_ssh_exit(std::string_view where, int exit_code, std::string_view stderr_text);

}  // namespace zferry::transport
