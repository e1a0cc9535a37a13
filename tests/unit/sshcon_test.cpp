// The sans-I/O pieces of ssh+stdinserver: the 31-byte SSHCON banners byte by byte and in every
// chunking, the SCM_RIGHTS message (encoded and parsed, every malformed variant), the
// stdinserver's feedback byte and what an ssh that ended before the banner means.
#include "transport/sshcon.hpp"

#include "transport/transport_error.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <cstring>
#include <string>

namespace {

using namespace zferry;
using namespace zferry::transport;

std::string bytes_of(SshconMessage m) {
    const auto a = encode_sshcon(m);
    return std::string(a.data(), a.size());
}

TEST(Sshcon, MessagesAreTheNameNulPaddedTo31Bytes) {
    EXPECT_EQ(bytes_of(SshconMessage::helo), std::string("SSHCON_HELO") + std::string(20, '\0'));
    EXPECT_EQ(bytes_of(SshconMessage::begin), std::string("SSHCON_BEGIN") + std::string(19, '\0'));
    EXPECT_EQ(bytes_of(SshconMessage::proxy_error),
              std::string("SSHCON_PROXY_ERROR") + std::string(13, '\0'));
}

TEST(Sshcon, ReaderAcceptsEachMessageInEveryChunkSize) {
    for (SshconMessage m : {SshconMessage::helo, SshconMessage::begin, SshconMessage::proxy_error}) {
        const std::string in = bytes_of(m);
        for (std::size_t chunk = 1; chunk <= kSshconMessageLen; ++chunk) {
            SshconReader r;
            std::size_t pos = 0;
            while (!r.done()) {
                ASSERT_GT(r.bytes_needed(), 0u);
                const std::size_t n = std::min(chunk, r.bytes_needed());
                ASSERT_TRUE(r.consume(std::span<const char>(in.data() + pos, n)));
                pos += n;
            }
            EXPECT_EQ(pos, kSshconMessageLen) << "the reader asks for no byte past the banner";
            EXPECT_EQ(r.message(), m) << sshcon_name(m) << " in chunks of " << chunk;
            EXPECT_EQ(r.bytes_needed(), 0u);
        }
    }
}

TEST(Sshcon, ReaderFailsOnTheFirstByteNoMessageHasThere) {
    struct Case {
        std::string input;
        std::size_t fails_at;  // bytes consumed when it fails
    };
    const Case cases[] = {
        {"Welcome to Debian\n", 1},               // a shell's motd
        {"SSHCON_HELX", 11},                      // wrong last letter
        {std::string("SSHCON_HELO") + "x", 12},   // padding must be NUL
        {"SSHCON_B" + std::string("EGIM"), 12},   // close to BEGIN
        {"0000000056 ZREPL_ZFS_REPLICATION", 1},  // the version banner, too early
        {std::string("SSHCON_PROXY_ERROR") + std::string(5, '\0') + "1", 24},
    };
    for (const auto& c : cases) {
        SshconReader r;
        Result<void> res;
        std::size_t i = 0;
        for (; i < c.input.size() && res; ++i) res = r.consume(std::span<const char>(c.input.data() + i, 1));
        ASSERT_FALSE(res) << "accepted " << c.input;
        EXPECT_EQ(i, c.fails_at) << c.input;
        EXPECT_EQ(res.error().code(), make_error_code(TransportErrc::handshake_malformed));
        EXPECT_FALSE(res.error().temporary());
        EXPECT_NE(res.error().message().find("unknown banner message"), std::string::npos)
            << res.error().message();
        EXPECT_TRUE(r.failed());
        EXPECT_EQ(r.bytes_needed(), 0u);
        EXPECT_FALSE(r.consume(std::span<const char>("S", 1))) << "a failed reader stays failed";
    }
}

TEST(Sshcon, ReaderRefusesMoreBytesThanItAskedFor) {
    SshconReader r;
    const std::string in = bytes_of(SshconMessage::helo) + "0";
    auto res = r.consume(std::span<const char>(in.data(), in.size()));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code(), make_error_code(Errc::invalid_argument));
    EXPECT_EQ(r.consumed(), 0u);
    EXPECT_TRUE(r.consume(std::span<const char>(in.data(), kSshconMessageLen)));
    EXPECT_EQ(r.message(), SshconMessage::helo);
}

TEST(Sshcon, CheckSaysWhatAnUnexpectedMessageMeans) {
    EXPECT_TRUE(check_sshcon(SshconMessage::helo, SshconMessage::helo));
    EXPECT_TRUE(check_sshcon(SshconMessage::begin, SshconMessage::begin));
    auto proxy = check_sshcon(SshconMessage::helo, SshconMessage::proxy_error);
    ASSERT_FALSE(proxy);
    EXPECT_EQ(proxy.error().code(), make_error_code(TransportErrc::connection_closed));
    EXPECT_TRUE(proxy.error().temporary()) << "the remote daemon may be restarting";
    EXPECT_NE(proxy.error().message().find("proxy error, check remote configuration"), std::string::npos);
    auto wrong = check_sshcon(SshconMessage::begin, SshconMessage::helo);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code(), make_error_code(TransportErrc::handshake_malformed));
}

std::span<const std::byte> span_of(const std::vector<std::byte>& v) { return {v.data(), v.size()}; }

TEST(FdPassing, EncodedMessageParsesBackToTheTwoDescriptors) {
    const auto control = encode_fd_passing(7, 9);
    EXPECT_EQ(control.size(), fd_passing_control_len());
    auto r = parse_fd_passing(span_of(control), 1, 0);
    ASSERT_TRUE(r.verdict) << r.verdict.error().message();
    ASSERT_EQ(r.fds.size(), 2u);
    EXPECT_EQ(r.fds[0], 7);
    EXPECT_EQ(r.fds[1], 9);
}

// A control buffer of one SCM_RIGHTS (or another type) with `fds`.
std::vector<std::byte> rights(std::vector<int> fds, int level = SOL_SOCKET, int type = SCM_RIGHTS) {
    std::vector<std::byte> buf(CMSG_SPACE(fds.size() * sizeof(int)));
    auto* c = reinterpret_cast<cmsghdr*>(buf.data());
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    if (!fds.empty()) std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    return buf;
}

TEST(FdPassing, EveryMalformedMessageIsRefusedAndItsDescriptorsReturnedForClosing) {
    struct Case {
        const char* name;
        std::vector<std::byte> control;
        std::size_t data_bytes;
        int flags;
        std::vector<int> fds;  // what the caller must close
        const char* says;
    };
    auto two_messages = rights({3, 4});
    const auto second = rights({5});
    two_messages.insert(two_messages.end(), second.begin(), second.end());
    const Case cases[] = {
        {"closed without anything", {}, 0, 0, {}, "closed the unix socket without passing"},
        {"data but no descriptors", {}, 1, 0, {}, "0 control messages"},
        {"one descriptor", rights({3}), 1, 0, {3}, "1 descriptors arrived"},
        {"three descriptors", rights({3, 4, 5}), 1, 0, {3, 4, 5}, "3 descriptors arrived"},
        {"truncated", rights({3, 4}), 1, MSG_CTRUNC, {3, 4}, "truncated"},
        {"two messages", two_messages, 1, 0, {3, 4, 5}, "2 control messages"},
        {"credentials, not rights",
         rights({3, 4}, SOL_SOCKET, SCM_CREDENTIALS),
         1,
         0,
         {},
         "other than SCM_RIGHTS"},
        {"no data byte", rights({3, 4}), 0, 0, {3, 4}, "0 data bytes"},
    };
    for (const auto& c : cases) {
        auto r = parse_fd_passing(span_of(c.control), c.data_bytes, c.flags);
        ASSERT_FALSE(r.verdict) << c.name;
        EXPECT_EQ(r.fds, c.fds) << c.name;
        EXPECT_EQ(r.verdict.error().code(), make_error_code(TransportErrc::handshake_malformed)) << c.name;
        EXPECT_NE(r.verdict.error().message().find(c.says), std::string::npos)
            << c.name << ": " << r.verdict.error().message();
    }
}

TEST(FdPassing, ALengthPastTheBufferIsNotFollowed) {
    auto control = rights({3, 4});
    reinterpret_cast<cmsghdr*>(control.data())->cmsg_len = 4096;
    auto r = parse_fd_passing(span_of(control), 1, 0);
    EXPECT_FALSE(r.verdict);
    EXPECT_TRUE(r.fds.empty());
    // Every prefix of a valid message, too.
    const auto valid = encode_fd_passing(3, 4);
    for (std::size_t n = 0; n < valid.size(); ++n) {
        auto p = parse_fd_passing(std::span<const std::byte>(valid.data(), n), 1, 0);
        EXPECT_FALSE(p.verdict) << n << " bytes";
    }
}

TEST(ProxyFeedback, OnlyTheOneZeroByteIsANormalEnd) {
    EXPECT_TRUE(check_proxy_feedback(std::string(1, '\0')));
    auto closed = check_proxy_feedback("");
    ASSERT_FALSE(closed);
    EXPECT_NE(closed.error().message().find("without its end-of-connection byte"), std::string::npos);
    EXPECT_FALSE(check_proxy_feedback("\x01"));
    EXPECT_FALSE(check_proxy_feedback(std::string(2, '\0')));
}

TEST(SshExit, AuthenticationAndConfigurationArePermanentConnectivityTemporary) {
    struct Case {
        int exit_code;
        const char* stderr_text;
        bool temporary;
    };
    const Case cases[] = {
        {255, "user@127.0.0.1: Permission denied (publickey).\r\n", false},
        {255, "Received disconnect from 127.0.0.1 port 22:2: Too many authentication failures\n", false},
        {255, "Host key verification failed.\n", false},
        {255, "Warning: Identity file /nonexistent not accessible: No such file or directory.\n", false},
        {255, "command-line line 0: Bad configuration option: nosuchoption\n", false},
        {1, "zferry stdinserver: client identity \"../x\": bad\n", false},
        {255, "ssh: connect to host 127.0.0.1 port 1: Connection refused\n", true},
        {255, "ssh: connect to host 10.255.255.1 port 22: Connection timed out\n", true},
        {255, "kex_exchange_identification: Connection closed by remote host\n", true},
        {255, "ssh: Could not resolve hostname nowhere: Temporary failure in name resolution\n", true},
        {-1, "", true},
    };
    for (const auto& c : cases) {
        Error e = classify_ssh_exit("u@h:22", c.exit_code, c.stderr_text);
        EXPECT_EQ(e.temporary(), c.temporary) << c.stderr_text << " -> " << e.message();
        EXPECT_NE(e.message().find("ssh to u@h:22"), std::string::npos) << e.message();
        const std::string said(c.stderr_text);
        if (!said.empty()) {
            const std::string first = said.substr(0, said.find_first_of("\r\n"));
            EXPECT_NE(e.message().find(first), std::string::npos) << "ssh's message is in: " << e.message();
        }
    }
    EXPECT_EQ(classify_ssh_exit("u@h:22", 255, "Connection timed out").code(),
              make_error_code(TransportErrc::timeout));
    EXPECT_NE(classify_ssh_exit("u@h:22", 255, "").message().find("ssh printed nothing"), std::string::npos);
}

}  // namespace
