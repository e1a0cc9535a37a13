// Heartbeats over a FrameConn: an empty heartbeat frame after `interval` without writes;
// a received heartbeat proves the peer alive and renews our write deadline; heartbeats are
// never seen by the layers above. No frame at all for the idle timeout is TransportErrc::timeout
// (temporary: the driver reconnects).
#pragma once

#include "core/owned_task.hpp"
#include "transport/frame_conn.hpp"

#include <functional>
#include <optional>

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

    // While this side only writes (the server of a /v1/send), the peer's heartbeats are the
    // only proof that a write stuck on full buffers has a slow reader, not a dead one: read
    // them in the background (as zrepl does). Any other frame, EOF or an error ends the
    // reader; a dead peer still fails our writes at their deadline. `on_peer_gone`, if set, is
    // called when the reader ends with an error (EOF, a reset, an RST frame, the peer timeout),
    // not when cancelled or ended by a frame (kept for the next read_header()): a writer
    // waiting for data of its own (a stalled source) learns that nobody is there to read it.
    void start_background_reads(std::function<void()> on_peer_gone = {});
    // Cancels and joins the background reader, if any. Needed before reading again.
    asio::awaitable<void> stop_background_reads();
    // Waits until the background reader ended by itself (not cancelled, so the frame reader
    // stays at a frame boundary): the frame that ended it, which on a connection kept for
    // another request is the next request's header, is what the next read_header() returns
    // (as is the error or EOF that ended it). Bound the wait with the connection's deadline.
    asio::awaitable<void> join_background_reads();

    // Stops and joins every task of this connection and shuts the frame conn down. Must be
    // awaited before the object is destroyed, also by a cancelled owner (with
    // this_coro::throw_if_cancelled off, or the co_await itself throws); safe to call twice.
    asio::awaitable<void> close();

private:
    asio::awaitable<void> send_heartbeats();
    asio::awaitable<void> read_heartbeats(std::function<void()> on_peer_gone);

    std::unique_ptr<FrameConn> frames_;
    HeartbeatOptions options_;
    OwnedTask heartbeat_task_;
    OwnedTask reader_task_;
    // What the background reader read last, for the next read_header().
    std::optional<Result<FrameHeader>> held_;
    bool closed_ = false;
};

}  // namespace zferry::transport
