// Keepalive pinging and ping enforcement as pure policies with `now` passed in, following
// grpc-go 1.78 step by step (http2_client.go/http2_server.go keepalive(), handlePing) with
// zrepl's values. The sessions feed them; tests drive them with made-up times.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

namespace zferry::transport::grpc {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

// grpc-go's keepalive.ClientParameters / ServerParameters. zrepl: 5 s, 10 s, permit.
struct KeepaliveParams {
    Duration time = std::chrono::seconds(5);      // ping after this long without reading anything
    Duration timeout = std::chrono::seconds(10);  // peer dead this long after an unanswered ping
    bool permit_without_stream = true;            // ping with no call active (servers always do)
};

// grpc-go's keepalive.EnforcementPolicy. zrepl: MinTime 5 s / 2 ("avoid skew"), permit.
struct EnforcementPolicy {
    Duration min_time = std::chrono::milliseconds(2500);
    bool permit_without_stream = true;
    int max_strikes = 2;  // grpc-go's maxPingStrikes constant: the 3rd strike ends it
};

// grpc-go's defaultPingTimeout: with no stream and no permit, pings closer than this strike.
inline constexpr Duration kNoStreamPingInterval = std::chrono::hours(2);

// What a client told "too_many_pings" uses on its next connection to that peer: the interval
// that provoked it, doubled (grpc-go adjustParams; C-core does the same).
KeepaliveParams throttled_after_too_many_pings(const KeepaliveParams& used);

// The side that pings. Liveness is any byte read, not the ACK as such: every time the timer
// fires, a read since the previous check re-arms it at last_read + time; otherwise a ping is
// sent (unless one is outstanding) and the timer sleeps min(time, timeout left); an
// outstanding ping whose timeout is used up means the peer is dead.
class KeepalivePinger {
public:
    enum class Action { none, send_ping, peer_dead };

    KeepalivePinger(KeepaliveParams params, TimePoint now);

    void on_read(TimePoint now) noexcept { last_read_ = now; }
    // A call started: a dormant pinger (no calls, no permit) wakes and pings at once.
    void on_stream_started(TimePoint now) noexcept;
    // When on_timer wants to run; nullopt while dormant or after peer_dead.
    std::optional<TimePoint> next_fire() const noexcept { return next_; }
    // Call when now >= next_fire(); earlier calls do nothing.
    Action on_timer(TimePoint now, std::size_t active_streams) noexcept;
    bool ping_outstanding() const noexcept { return outstanding_; }
    const KeepaliveParams& params() const noexcept { return params_; }

private:
    KeepaliveParams params_;
    TimePoint prev_read_mark_;
    std::optional<TimePoint> last_read_;
    std::optional<TimePoint> next_;
    Duration timeout_left_{};
    bool outstanding_ = false;
    bool dormant_ = false;
};

// The server's judgement of pings it receives (handlePing). A ping closer than min_time to the
// previous one (2 h with no stream and no permit) is a strike; the first ping never is;
// strikes reset (without judging that ping) after the server wrote HEADERS or DATA, and never
// decay with time. More than max_strikes: GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings").
class PingEnforcer {
public:
    enum class Verdict { ok, strike, too_many_pings };

    explicit PingEnforcer(EnforcementPolicy policy) : policy_(policy) {}

    // A non-ACK PING arrived (ACKs are never judged).
    Verdict on_ping(TimePoint now, std::size_t active_streams) noexcept;
    // The server wrote a HEADERS or DATA frame.
    void on_headers_or_data_sent() noexcept { reset_pending_ = true; }
    int strikes() const noexcept { return strikes_; }

private:
    EnforcementPolicy policy_;
    std::optional<TimePoint> last_ping_;
    int strikes_ = 0;
    bool reset_pending_ = false;
};

}  // namespace zferry::transport::grpc
