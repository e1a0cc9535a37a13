#include "tools/zfs-sim/faults.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <string>

namespace zfssim {
namespace {

volatile std::sig_atomic_t g_terminated = 0;

void on_signal(int) { g_terminated = 1; }

std::optional<std::uint64_t> env_u64(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::strtoull(v, nullptr, 10);
}

}  // namespace

ByteFault ByteFault::from_env(const char* what) {
    ByteFault f;
    f.fail_after = env_u64(std::string("ZFS_SIM_FAIL_") + what + "_AFTER");
    f.stall_after = env_u64(std::string("ZFS_SIM_STALL_") + what + "_AFTER");
    return f;
}

std::uint64_t ByteFault::allowance(std::uint64_t done, std::uint64_t n) const {
    std::uint64_t limit = UINT64_MAX;
    if (fail_after) limit = std::min(limit, *fail_after);
    if (stall_after) limit = std::min(limit, *stall_after);
    if (done >= limit) return 0;
    return std::min(n, limit - done);
}

bool ByteFault::tripped(std::uint64_t done) const {
    return (fail_after && done >= *fail_after) || (stall_after && done >= *stall_after);
}

void stall_forever() {
    // Block the signals while testing the flag so that one arriving in between is not lost.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGINT);
    while (!g_terminated) sigsuspend(&wait_mask);
    sigprocmask(SIG_SETMASK, &old, nullptr);
}

bool terminated() { return g_terminated != 0; }

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace zfssim
