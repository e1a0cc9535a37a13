// Sans-I/O heartbeat rules: when the sending side writes an empty heartbeat frame, and what a
// received header means to the heartbeat layer. Times are data (the driver owns the clock
// and the timer), so the rules are table-tested without waiting.
#pragma once

#include "transport/frame_reader.hpp"

#include <chrono>
#include <iosfwd>
#include <variant>

namespace zferry::transport {

namespace heartbeat_action {

// Write an empty heartbeat frame now.
struct Send {
    friend bool operator==(const Send&, const Send&) = default;
};
// Nothing to write before `at` (the driver sleeps until then and asks again).
struct WaitUntil {
    std::chrono::steady_clock::time_point at;
    friend bool operator==(const WaitUntil&, const WaitUntil&) = default;
};
// A heartbeat arrived: the peer is alive, a write stuck on full buffers gets another idle
// timeout. The frame is not passed up.
struct PeerAlive {
    friend bool operator==(const PeerAlive&, const PeerAlive&) = default;
};

std::ostream& operator<<(std::ostream& os, const Send& a);
std::ostream& operator<<(std::ostream& os, const WaitUntil& a);
std::ostream& operator<<(std::ostream& os, const PeerAlive& a);

}  // namespace heartbeat_action

using HeartbeatDecision = std::variant<heartbeat_action::Send, heartbeat_action::WaitUntil>;
// What a received header is to the layers above: a heartbeat (PeerAlive), a frame for them
// (Deliver), or a protocol error (Fail).
using HeartbeatStep = std::variant<heartbeat_action::PeerAlive, frame_action::Deliver, frame_action::Fail>;

std::ostream& operator<<(std::ostream& os, const HeartbeatDecision& a);
std::ostream& operator<<(std::ostream& os, const HeartbeatStep& a);

struct HeartbeatSchedule {
    std::chrono::milliseconds interval{5000};

    // At `now`, with the last frame written at `last_write`: a heartbeat is due once a whole
    // interval passed without writes (any frame proves us alive, not only heartbeats). After a
    // heartbeat that failed to go out, `retry_after_failure` waits one interval from `now`.
    HeartbeatDecision decide(std::chrono::steady_clock::time_point last_write,
                             std::chrono::steady_clock::time_point now) const noexcept;
    HeartbeatDecision retry_after_failure(std::chrono::steady_clock::time_point now) const noexcept {
        return heartbeat_action::WaitUntil{now + interval};
    }
};

// Received header -> heartbeat layer's step. A heartbeat with a payload, and unknown types of
// the frame and heartbeat layers, are protocol errors.
HeartbeatStep on_received_header(FrameHeader h);

}  // namespace zferry::transport
