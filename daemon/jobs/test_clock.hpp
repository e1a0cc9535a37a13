// A faked wall clock for tests of a running daemon: the system clock plus an offset in seconds
// that a file holds, read again at every look, so a test jumps the daemon's clock by rewriting
// one file (zfs-sim's ZFS_SIM_CLOCK_FILE takes the same file, so the simulated host's snapshot
// creation times jump with it).
//
// Only `zferry daemon` enables it, and only when the environment variable
// ZFERRY_TEST_CLOCK_FILE names such a file (tools/zferry/cmd_daemon.cpp); nothing below reads
// the environment. It cannot be switched on by accident: the variable's name says what it is,
// a file that is missing or holds anything but an integer stops the daemon from starting,
// every start with it logs a warning with the offset, and the systemd unit unsets it. What
// reads this clock: the snapshotter (its schedule, and the names of the snapshots it takes).
// Pruning does not read any clock (the grid measures from the newest snapshot's creation).
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "daemon/snapshotting/snapshotter.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace zferry::daemon {

// The environment variable `zferry daemon` looks at.
inline constexpr const char* kTestClockEnv = "ZFERRY_TEST_CLOCK_FILE";

// The file's content: an optionally signed integer number of seconds, surrounding white space
// allowed ("86400\n", "-3600"). Anything else is Errc::parse_error saying what was found.
Result<std::chrono::seconds> parse_clock_offset(std::string_view text);

// Reads and parses the file (Errc::not_found when it cannot be read).
Result<std::chrono::seconds> read_clock_offset(const std::string& path);

// The clock: system_clock::now() plus the file's offset at each call. A file that becomes
// unreadable or malformed while the daemon runs keeps the last good offset (a test rewriting
// it non-atomically must not make time jump back to the real clock) and logs a warning each
// time the problem changes. Fails when the file is not usable at the start.
Result<snapshotting::WallClock> make_test_clock(std::string path, Logger log);

}  // namespace zferry::daemon
