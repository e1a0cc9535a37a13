#include "transport/heartbeat_conn.hpp"

#include "core/async.hpp"
#include "transport/heartbeat.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace zferry::transport {

HeartbeatConn::HeartbeatConn(std::unique_ptr<FrameConn> frames, HeartbeatOptions options)
    : frames_(std::move(frames)),
      options_(options),
      heartbeat_task_(frames_->conn().get_executor()),
      reader_task_(frames_->conn().get_executor()) {
    heartbeat_task_.start(send_heartbeats());
}

HeartbeatConn::~HeartbeatConn() {
    // close() must have been awaited: a task still running here resumes on freed memory.
    // Cancelling at least keeps a forgotten close from sending more heartbeats.
    heartbeat_task_.cancel();
    reader_task_.cancel();
}

asio::awaitable<void> HeartbeatConn::send_heartbeats() {
    const HeartbeatSchedule schedule{options_.interval};
    asio::steady_timer timer(co_await asio::this_coro::executor);
    HeartbeatDecision decision = schedule.decide(frames_->last_write(), Clock::now());
    for (;;) {
        if (auto* wait = std::get_if<heartbeat_action::WaitUntil>(&decision)) {
            timer.expires_at(wait->at);
            auto [ec] = co_await timer.async_wait(use_ec);
            if (ec || frames_->shutting_down()) co_return;
            decision = schedule.decide(frames_->last_write(), Clock::now());
            continue;
        }
        // A failed heartbeat is not fatal by itself: the reader notices a dead peer.
        auto r = co_await frames_->write_frame(frame_type::heartbeat, {});
        if (!r && !frames_->conn().is_open()) co_return;
        decision = r ? schedule.decide(frames_->last_write(), Clock::now())
                     : schedule.retry_after_failure(Clock::now());
    }
}

asio::awaitable<Result<FrameHeader>> HeartbeatConn::read_header() {
    if (held_) {
        auto h = std::move(*held_);
        held_.reset();
        co_return h;
    }
    for (;;) {
        auto h = co_await frames_->read_header();
        if (!h) co_return h;
        auto step = on_received_header(*h);
        if (std::holds_alternative<heartbeat_action::PeerAlive>(step)) {
            frames_->conn().renew_write_deadline();
            continue;
        }
        if (auto* f = std::get_if<frame_action::Fail>(&step))
            co_return Error(f->error.code(), f->error.context() + " (peer " + frames_->conn().peer() + ")");
        co_return std::get<frame_action::Deliver>(step).header;
    }
}

void HeartbeatConn::start_background_reads(std::function<void()> on_peer_gone) {
    if (closed_ || reader_task_.running()) return;
    reader_task_.start(read_heartbeats(std::move(on_peer_gone)));
}

asio::awaitable<void> HeartbeatConn::stop_background_reads() { co_await reader_task_.stop(); }

asio::awaitable<void> HeartbeatConn::join_background_reads() { co_await reader_task_.join(); }

asio::awaitable<void> HeartbeatConn::read_heartbeats(std::function<void()> on_peer_gone) {
    // Cancelled, the read returns an error instead of throwing: an RST from the peer may have
    // us inside the frame conn's shutdown, which must release its lock and close the socket.
    co_await asio::this_coro::throw_if_cancelled(false);
    // read_header renews our write deadline on every heartbeat and returns anything else,
    // which is kept: a connection carrying another request reads it next.
    auto h = co_await read_header();
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    // EOF, a reset, an RST frame or the peer timeout: nobody is there to read what we write.
    // (A frame, on a kept connection the next request's header, is no sign of that.)
    const bool peer_gone = !h;
    held_ = std::move(h);
    if (peer_gone && on_peer_gone && !closed_) on_peer_gone();
}

asio::awaitable<void> HeartbeatConn::close() {
    if (closed_) co_return;
    closed_ = true;
    heartbeat_task_.cancel();
    // Before the shutdown drains the socket: one reader at a time.
    co_await reader_task_.stop();
    co_await frames_->shutdown();
    co_await heartbeat_task_.join();
}

}  // namespace zferry::transport
