#include "transport/grpc/keepalive.hpp"

#include <algorithm>

namespace zferry::transport::grpc {

KeepaliveParams throttled_after_too_many_pings(const KeepaliveParams& used) {
    KeepaliveParams p = used;
    p.time = used.time * 2;
    return p;
}

KeepalivePinger::KeepalivePinger(KeepaliveParams params, TimePoint now)
    : params_(params), prev_read_mark_(now), next_(now + params.time) {}

void KeepalivePinger::on_stream_started(TimePoint now) noexcept {
    if (dormant_) {
        dormant_ = false;
        next_ = now;
    }
}

KeepalivePinger::Action KeepalivePinger::on_timer(TimePoint now, std::size_t active_streams) noexcept {
    if (!next_ || now < *next_) return Action::none;
    if (last_read_ && *last_read_ > prev_read_mark_) {
        outstanding_ = false;
        next_ = std::max(now, *last_read_ + params_.time);
        prev_read_mark_ = *last_read_;
        return Action::none;
    }
    if (outstanding_ && timeout_left_ <= Duration::zero()) {
        next_.reset();
        return Action::peer_dead;
    }
    if (active_streams == 0 && !params_.permit_without_stream) {
        dormant_ = true;
        next_.reset();
        return Action::none;
    }
    Action action = Action::none;
    if (!outstanding_) {
        action = Action::send_ping;
        timeout_left_ = params_.timeout;
        outstanding_ = true;
    }
    const Duration sleep = std::min(params_.time, timeout_left_);
    timeout_left_ -= sleep;
    next_ = now + sleep;
    return action;
}

PingEnforcer::Verdict PingEnforcer::on_ping(TimePoint now, std::size_t active_streams) noexcept {
    const std::optional<TimePoint> last = last_ping_;
    last_ping_ = now;
    if (reset_pending_) {
        reset_pending_ = false;
        strikes_ = 0;
        return Verdict::ok;
    }
    if (!last) return Verdict::ok;
    const Duration min_gap =
        (active_streams < 1 && !policy_.permit_without_stream) ? kNoStreamPingInterval : policy_.min_time;
    if (*last + min_gap <= now) return Verdict::ok;
    ++strikes_;
    return strikes_ > policy_.max_strikes ? Verdict::too_many_pings : Verdict::strike;
}

}  // namespace zferry::transport::grpc
