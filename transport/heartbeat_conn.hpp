// Heartbeats over a FrameConn: an empty heartbeat frame after `interval` without writes;
// a received heartbeat proves the peer alive and renews our write deadline; heartbeats are
// never seen by the layers above. No frame at all for the idle timeout is Errc::timeout
// (temporary: the driver reconnects).
#pragma once

#include "core/owned_task.hpp"
#include "transport/frame_conn.hpp"

namespace zferry::transport {

struct HeartbeatOptions {
    std::chrono::milliseconds interval{5000};
    std::chrono::milliseconds peer_timeout{10000};  // the TcpConn idle timeout
};

class HeartbeatConn {
public:
    HeartbeatConn(std::unique_ptr<FrameConn> frames, HeartbeatOptions options = {});
    ~HeartbeatConn();

    // Next non-heartbeat header. Unknown types of the frame or heartbeat layers are errors.
    asio::awaitable<Result<FrameHeader>> read_header();
    FrameConn& frames() noexcept { return *frames_; }

    // Stops the heartbeat task and shuts the frame conn down. Must be awaited before the
    // object is destroyed; safe to call twice.
    asio::awaitable<void> close();

private:
    asio::awaitable<void> send_heartbeats();

    std::unique_ptr<FrameConn> frames_;
    HeartbeatOptions options_;
    OwnedTask heartbeat_task_;
    bool closed_ = false;
};

}  // namespace zferry::transport
