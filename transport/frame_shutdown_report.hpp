// What FrameConn::shutdown reports, on its own so that the metrics need no transport headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace zferry::transport {

// How one shutdown went (zrepl_frameconn_shutdown_*): its whole time; when it got to
// draining, the drain's time and the bytes the drain discarded; when writing the RST frame or
// the half-close failed, that step, and the connection was closed at once instead.
struct FrameShutdownReport {
    std::chrono::nanoseconds took{};
    bool drained = false;
    std::chrono::nanoseconds drain_took{};
    std::uint64_t drain_bytes = 0;
    std::string_view hard_close_step;  // "write_frame", "close_write"; empty: none
};

}  // namespace zferry::transport
