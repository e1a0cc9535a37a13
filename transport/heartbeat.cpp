#include "transport/heartbeat.hpp"

#include <ostream>

namespace zferry::transport {

namespace heartbeat_action {

std::ostream& operator<<(std::ostream& os, const Send&) { return os << "Send{}"; }
std::ostream& operator<<(std::ostream& os, const WaitUntil& a) {
    return os << "WaitUntil{" << a.at.time_since_epoch().count() << "}";
}
std::ostream& operator<<(std::ostream& os, const PeerAlive&) { return os << "PeerAlive{}"; }

}  // namespace heartbeat_action

std::ostream& operator<<(std::ostream& os, const HeartbeatDecision& a) {
    std::visit([&os](const auto& x) { os << x; }, a);
    return os;
}

std::ostream& operator<<(std::ostream& os, const HeartbeatStep& a) {
    std::visit([&os](const auto& x) { os << x; }, a);
    return os;
}

HeartbeatDecision HeartbeatSchedule::decide(std::chrono::steady_clock::time_point last_write,
                                            std::chrono::steady_clock::time_point now) const noexcept {
    if (now - last_write >= interval) return heartbeat_action::Send{};
    return heartbeat_action::WaitUntil{last_write + interval};
}

HeartbeatStep on_received_header(FrameHeader h) {
    if (h.type == frame_type::heartbeat) {
        if (h.length != 0)
            return frame_action::Fail{Error(Errc::protocol_error, "heartbeat frame with a payload")};
        return heartbeat_action::PeerAlive{};
    }
    auto layer = frame_layer(h.type);
    if (layer == FrameLayer::frame || layer == FrameLayer::heartbeat)
        return frame_action::Fail{
            Error(TransportErrc::unexpected_frame_type, "unknown frame type " + frame_type_name(h.type))};
    return frame_action::Deliver{h};
}

}  // namespace zferry::transport
