#include "transport/frame_conn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace zferry::transport {

FrameConn::FrameConn(std::unique_ptr<TcpConn> conn, BufferPool& pool, FrameConnOptions options)
    : conn_(std::move(conn)), pool_(pool), options_(options), write_lock_(conn_->get_executor(), 1) {}

FrameConn::~FrameConn() { conn_->close(); }

Error FrameConn::conn_error(error_code ec, std::string_view what) const {
    if (ec == asio::error::eof) ec = make_error_code(Errc::connection_closed);
    return Error(ec, std::string(what) + " (peer " + conn_->peer() + ")");
}

asio::awaitable<error_code> FrameConn::lock_writes() {
    // A cancelled coroutine takes no lock: it might wait for a heartbeat's write stuck on a
    // peer that does not read, and a coroutine that throws on cancellation would throw here.
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return asio::error::operation_aborted;
    auto [ec] = co_await write_lock_.async_send(error_code{}, asio::as_tuple(asio::use_awaitable));
    co_return ec;
}

void FrameConn::unlock_writes() {
    write_lock_.try_receive([](error_code) {});
}

asio::awaitable<Result<FrameHeader>> FrameConn::read_header() {
    if (shutting_down_) co_return Error(Errc::shutdown, "reading frame: connection is shutting down");
    FrameHeader h;
    if (next_header_) {
        h = *next_header_;
        next_header_.reset();
    } else {
        if (eof_after_frame_) co_return Error(asio::error::eof, "peer closed the connection");
        std::array<std::byte, kFrameHeaderLen> buf;
        iovec iov{buf.data(), buf.size()};
        auto [ec, n] = co_await conn_->readv_full({&iov, 1});
        if (ec == asio::error::eof && n == 0) co_return Error(asio::error::eof, "peer closed the connection");
        if (ec)
            co_return conn_error(ec,
                                 n ? "reading frame header: peer closed mid-header" : "reading frame header");
        h = decode_frame_header(buf);
    }
    if (h.type == frame_type::rst) {
        co_await shutdown();
        co_return Error(Errc::shutdown, "peer reset the connection (RST frame)");
    }
    if (auto ok = check_frame_header(h, options_.max_payload); !ok) {
        Error e = ok.error();
        e.wrap("from peer " + conn_->peer());
        co_return e;
    }
    co_return h;
}

asio::awaitable<Result<BufferPool::Buffer>> FrameConn::read_payload(FrameHeader h) {
    auto buf = pool_.get(h.length);
    if (h.length == 0) co_return buf;  // an empty frame flushes: never wait for the next header
    std::array<std::byte, kFrameHeaderLen> next;
    iovec iov[2] = {{buf.data(), h.length}, {next.data(), next.size()}};
    auto [ec, n] = co_await conn_->readv_full(iov);
    if (!ec) {
        next_header_ = decode_frame_header(next);
        co_return buf;
    }
    if (ec == asio::error::eof && n >= h.length) {
        if (n == h.length) {
            eof_after_frame_ = true;
            co_return buf;
        }
        co_return conn_error(ec, "reading frame header: peer closed mid-header");
    }
    co_return conn_error(ec, "reading " + std::to_string(h.length) + "-byte payload of " +
                                 frame_type_name(h.type) + " frame" +
                                 (ec == asio::error::eof ? ": peer closed mid-frame" : ""));
}

asio::awaitable<Result<void>> FrameConn::read_payload_append(FrameHeader h, std::string& out,
                                                             std::size_t step) {
    step = std::max<std::size_t>(step, 1);
    std::size_t left = h.length;
    while (left > 0) {
        // Steps grow with what arrived (never more ahead of it than that), so a large message
        // from an honest peer takes few reads and a trickle costs one step.
        const std::size_t n = std::min(left, std::max(step, out.size()));
        const bool last = n == left;
        const std::size_t at = out.size();
        out.resize(at + n);
        std::array<std::byte, kFrameHeaderLen> next;
        iovec iov[2] = {{out.data() + at, n}, {next.data(), next.size()}};
        auto [ec, got] = co_await conn_->readv_full({iov, last ? 2u : 1u});
        if (!ec) {
            left -= n;
            if (last) next_header_ = decode_frame_header(next);
            continue;
        }
        if (ec == asio::error::eof && last && got >= n) {
            if (got == n) {
                eof_after_frame_ = true;
                co_return Result<void>{};
            }
            co_return conn_error(ec, "reading frame header: peer closed mid-header");
        }
        out.resize(at + std::min(got, n));
        co_return conn_error(ec, "reading " + std::to_string(h.length) + "-byte payload of " +
                                     frame_type_name(h.type) + " frame" +
                                     (ec == asio::error::eof ? ": peer closed mid-frame" : ""));
    }
    co_return Result<void>{};
}

asio::awaitable<Result<void>> FrameConn::splice_payload(FrameHeader h, AsyncFd& pipe) {
    if (h.length == 0) co_return Result<void>{};
    error_code ec = co_await conn_->splice_to(pipe, h.length);
    if (ec == boost::system::errc::broken_pipe) {
        // Reading a socket never fails with EPIPE: the pipe's reader (our consumer) is gone.
        co_return Error(ec, "splicing the received " + frame_type_name(h.type) +
                                " payload into the local pipe: its reader exited");
    }
    if (ec) {
        co_return conn_error(ec, "splicing " + std::to_string(h.length) + "-byte payload of " +
                                     frame_type_name(h.type) + " frame" +
                                     (ec == asio::error::eof ? ": peer closed mid-frame" : ""));
    }
    co_return Result<void>{};
}

asio::awaitable<Result<void>> FrameConn::write_frame(std::uint32_t type, std::span<const std::byte> payload) {
    if (type == frame_type::rst)
        co_return Error(Errc::reserved_frame_type, "RST is written by shutdown only");
    if (shutting_down_) co_return Error(Errc::shutdown, "writing frame: connection is shutting down");
    auto hdr = encode_frame_header({type, static_cast<std::uint32_t>(payload.size())});
    iovec iov[2] = {{hdr.data(), hdr.size()}, {const_cast<std::byte*>(payload.data()), payload.size()}};
    error_code ec = co_await lock_writes();
    if (ec) co_return conn_error(ec, "writing " + frame_type_name(type) + " frame");
    {
        WriteLock locked{this};
        ec = co_await conn_->writev_full({iov, payload.empty() ? 1u : 2u});
    }
    last_write_ = Clock::now();
    if (ec) co_return conn_error(ec, "writing " + frame_type_name(type) + " frame");
    co_return Result<void>{};
}

asio::awaitable<Result<void>> FrameConn::write_frame_spliced(std::uint32_t type, AsyncFd& pipe,
                                                             std::uint32_t len) {
    if (shutting_down_) co_return Error(Errc::shutdown, "writing frame: connection is shutting down");
    auto hdr = encode_frame_header({type, len});
    iovec iov{hdr.data(), hdr.size()};
    error_code ec = co_await lock_writes();
    if (ec) co_return conn_error(ec, "writing spliced " + frame_type_name(type) + " frame");
    {
        WriteLock locked{this};
        ec = co_await conn_->writev_full({&iov, 1});
        if (!ec) ec = co_await conn_->splice_from(pipe, len);
    }
    last_write_ = Clock::now();
    if (ec) co_return conn_error(ec, "writing spliced " + frame_type_name(type) + " frame");
    co_return Result<void>{};
}

asio::awaitable<void> FrameConn::shutdown() {
    if (shutting_down_) co_return;
    shutting_down_ = true;
    conn_->set_absolute_deadline(Clock::now() + options_.shutdown_timeout);
    auto hdr = encode_frame_header({frame_type::rst, 0});
    iovec iov{hdr.data(), hdr.size()};
    // Errors here are expected (the peer may be gone); the drain below bounds the wait.
    error_code ec = co_await lock_writes();
    if (!ec) {
        WriteLock locked{this};
        ec = co_await conn_->writev_full({&iov, 1});
    }
    if (!ec) ec = conn_->close_write();
    if (!ec) {
        std::array<std::byte, 64 * 1024> sink;
        iovec d{sink.data(), sink.size()};
        for (;;) {
            auto [rec, n] = co_await conn_->read_some({&d, 1});
            if (rec) break;  // EOF (the peer closed too), reset, or the deadline
        }
    }
    conn_->close();
}

}  // namespace zferry::transport
