// Fuzzes ssh+stdinserver's sans-I/O pieces. The first byte picks one:
//  - the SSHCON banner reader in chunks the input chooses: it must never ask for a byte past
//    the 31, fail only with a permanent error, and accept exactly the three messages;
//  - the SCM_RIGHTS parser on arbitrary control bytes: never read past the buffer, report a
//    descriptor only from SCM_RIGHTS messages, accept only one message of two descriptors (and
//    then agree with the encoder);
//  - the stdinserver's feedback check and the ssh exit classifier on arbitrary text.
#include "transport/sshcon.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

using namespace zferry;
using namespace zferry::transport;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "sshcon_fuzz: %s\n", what);
    std::abort();
}

void banner(std::string_view in) {
    SshconReader r;
    std::size_t pos = 0;
    for (std::size_t k = 0; !r.done() && !r.failed() && pos < in.size(); ++k) {
        const std::size_t need = r.bytes_needed();
        if (need == 0 || need > kSshconMessageLen) fail("reader asks for an impossible count");
        const std::size_t pick = static_cast<unsigned char>(in[k % std::min<std::size_t>(in.size(), 4)]);
        const std::size_t n = std::min({need, in.size() - pos, 1 + pick % 31});
        auto res = r.consume(std::span<const char>(in.data() + pos, n));
        pos += n;
        if (!res && res.error().temporary()) fail("a banner error is classified temporary");
    }
    if (r.done()) {
        if (r.consumed() != kSshconMessageLen) fail("done after other than 31 bytes");
        const auto want = encode_sshcon(r.message());
        if (!std::equal(want.begin(), want.end(), in.begin()))
            fail("accepted bytes that are not the message");
    }
}

void fds(std::string_view in) {
    if (in.empty()) return;
    const std::size_t data_bytes = static_cast<unsigned char>(in[0]) % 3;
    const int flags = (static_cast<unsigned char>(in[0]) & 0x80) ? MSG_CTRUNC : 0;
    in.remove_prefix(1);
    const auto* p = reinterpret_cast<const std::byte*>(in.data());
    auto r = parse_fd_passing(std::span<const std::byte>(p, in.size()), data_bytes, flags);
    if (r.fds.size() * sizeof(int) > in.size()) fail("more descriptors than the buffer holds");
    if (r.verdict) {
        if (r.fds.size() != kPassedFdCount) fail("accepted other than two descriptors");
        if (data_bytes != 1 || flags != 0) fail("accepted a truncated message or wrong data");
        const auto again = encode_fd_passing(r.fds[0], r.fds[1]);
        auto back = parse_fd_passing(std::span<const std::byte>(again.data(), again.size()), 1, 0);
        if (!back.verdict || back.fds != r.fds) fail("the encoder and the parser disagree");
    } else if (r.verdict.error().temporary()) {
        fail("a descriptor-passing error is classified temporary");
    }
}

void text(std::string_view in) {
    (void)check_proxy_feedback(in.substr(0, 2));
    const int code = in.empty() ? -1 : static_cast<unsigned char>(in[0]);
    Error e = classify_ssh_exit("u@h:22", code, in);
    if (!e) fail("an ssh that ended before the banner is no error");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: banner(in); break;
        case 1: fds(in); break;
        default: text(in); break;
    }
    return 0;
}
