// Fault injection from the environment (see README.md): fail or stall a send after N bytes
// written, a receive after N bytes read.
#pragma once

#include <cstdint>
#include <optional>

namespace zfssim {

struct ByteFault {
    std::optional<std::uint64_t> fail_after, stall_after;
    // Reads ZFS_SIM_FAIL_<WHAT>_AFTER / ZFS_SIM_STALL_<WHAT>_AFTER (WHAT = SEND or RECV).
    static ByteFault from_env(const char* what);
    // How many of `n` more bytes may pass when `done` already passed.
    std::uint64_t allowance(std::uint64_t done, std::uint64_t n) const;
    bool tripped(std::uint64_t done) const;
};

// Sleeps until a signal sets the termination flag (or forever if none arrives).
void stall_forever();
// Set by SIGTERM/SIGINT (installed by main without SA_RESTART so blocking reads return EINTR).
bool terminated();
void install_signal_handlers();

}  // namespace zfssim
