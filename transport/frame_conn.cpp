#include "transport/frame_conn.hpp"

#include <algorithm>

namespace zferry::transport {

FrameConn::FrameConn(std::unique_ptr<TcpConn> conn, BufferPool& pool, FrameConnOptions options)
    : conn_(std::move(conn)),
      pool_(pool),
      options_(options),
      reader_(options.max_payload),
      write_lock_(conn_->get_executor(), 1) {}

FrameConn::~FrameConn() { conn_->close(); }

Error FrameConn::conn_error(error_code ec, std::string_view what) const {
    if (ec == asio::error::eof) ec = make_error_code(TransportErrc::connection_closed);
    return Error(ec, std::string(what) + " (peer " + conn_->peer() + ")");
}

Error FrameConn::read_error(const Error& e) const {
    if (e.code() == asio::error::eof || e.code() == boost::system::errc::broken_pipe) return e;
    return Error(e.code(), e.context() + " (peer " + conn_->peer() + ")");
}

asio::awaitable<Result<FrameHeader>> FrameConn::read_header() {
    if (shutting_down_)
        co_return Error(TransportErrc::shutdown, "reading frame: connection is shutting down");
    for (;;) {
        auto act = reader_.next();
        if (auto* r = std::get_if<frame_action::ReadHeader>(&act)) {
            iovec iov{reader_.header_space().data(), r->bytes};
            auto [ec, n] = co_await conn_->readv_full({&iov, 1});
            reader_.on_read(ec, n);
        } else if (auto* d = std::get_if<frame_action::Deliver>(&act)) {
            co_return d->header;
        } else if (std::holds_alternative<frame_action::Shutdown>(act)) {
            co_await shutdown();
            co_return Error(TransportErrc::shutdown, "peer reset the connection (RST frame)");
        } else if (auto* f = std::get_if<frame_action::Fail>(&act)) {
            co_return read_error(f->error);
        } else {
            co_return Error(Errc::internal, "reading frame header: a payload is still being read");
        }
    }
}

asio::awaitable<Result<void>> FrameConn::read_payload_into(std::byte* base) {
    while (reader_.payload_remaining() > 0) {
        auto act = reader_.next();
        auto* rv = std::get_if<frame_action::ReadvPayload>(&act);
        if (!rv) break;
        iovec iov[2] = {{base + reader_.payload_offset(), rv->payload},
                        {reader_.header_space().data(), rv->header}};
        auto [ec, n] = co_await conn_->readv_full({iov, rv->header ? 2u : 1u});
        reader_.on_read(ec, n);
    }
    // An EOF right after the payload ends the connection at a frame boundary: the payload is
    // whole, the next read_header reports the EOF.
    if (reader_.failed() && reader_.error().code() != asio::error::eof) co_return read_error(reader_.error());
    co_return Result<void>{};
}

asio::awaitable<Result<BufferPool::Buffer>> FrameConn::read_payload(FrameHeader h) {
    auto buf = pool_.get(h.length);
    if (h.length == 0) co_return buf;  // an empty frame flushes: never wait for the next header
    reader_.read_payload();
    auto r = co_await read_payload_into(buf.data());
    if (!r) co_return r.error();
    co_return buf;
}

asio::awaitable<Result<void>> FrameConn::read_payload_append(FrameHeader, std::string& out,
                                                             std::size_t step) {
    step = std::max<std::size_t>(step, 1);
    while (reader_.payload_remaining() > 0) {
        // Steps grow with what arrived (never more ahead of it than that), so a large message
        // from an honest peer takes few reads and a trickle costs one step.
        reader_.read_payload(std::max(step, out.size()));
        auto act = reader_.next();
        auto* rv = std::get_if<frame_action::ReadvPayload>(&act);
        if (!rv) break;
        const std::size_t at = out.size();
        out.resize(at + rv->payload);
        iovec iov[2] = {{out.data() + at, rv->payload}, {reader_.header_space().data(), rv->header}};
        auto [ec, got] = co_await conn_->readv_full({iov, rv->header ? 2u : 1u});
        reader_.on_read(ec, got);
        if (got < rv->payload) out.resize(at + got);
    }
    if (reader_.failed() && reader_.error().code() != asio::error::eof) co_return read_error(reader_.error());
    co_return Result<void>{};
}

asio::awaitable<Result<void>> FrameConn::splice_payload(FrameHeader h, AsyncFd& pipe) {
    if (h.length == 0) co_return Result<void>{};
    reader_.splice_payload();
    while (reader_.payload_remaining() > 0) {
        auto act = reader_.next();
        auto* s = std::get_if<frame_action::Splice>(&act);
        if (!s) break;
        error_code ec = co_await conn_->splice_to(pipe, s->bytes);
        reader_.on_splice(ec, ec ? 0 : s->bytes);
    }
    if (reader_.failed()) co_return read_error(reader_.error());
    co_return Result<void>{};
}

asio::awaitable<Result<void>> FrameConn::write_frame(std::uint32_t type, std::span<const std::byte> payload) {
    if (type == frame_type::rst)
        co_return Error(TransportErrc::reserved_frame_type, "RST is written by shutdown only");
    if (shutting_down_)
        co_return Error(TransportErrc::shutdown, "writing frame: connection is shutting down");
    auto hdr = encode_frame_header({type, static_cast<std::uint32_t>(payload.size())});
    iovec iov[2] = {{hdr.data(), hdr.size()}, {const_cast<std::byte*>(payload.data()), payload.size()}};
    error_code ec;
    {
        auto [lock_ec, permit] = co_await write_lock_.acquire();
        if (lock_ec) co_return conn_error(lock_ec, "writing " + frame_type_name(type) + " frame");
        ec = co_await conn_->writev_full({iov, payload.empty() ? 1u : 2u});
    }
    last_write_ = Clock::now();
    if (ec) co_return conn_error(ec, "writing " + frame_type_name(type) + " frame");
    co_return Result<void>{};
}

asio::awaitable<Result<void>> FrameConn::write_frame_spliced(std::uint32_t type, AsyncFd& pipe,
                                                             std::uint32_t len) {
    if (shutting_down_)
        co_return Error(TransportErrc::shutdown, "writing frame: connection is shutting down");
    auto hdr = encode_frame_header({type, len});
    iovec iov{hdr.data(), hdr.size()};
    error_code ec;
    {
        auto [lock_ec, permit] = co_await write_lock_.acquire();
        if (lock_ec) co_return conn_error(lock_ec, "writing spliced " + frame_type_name(type) + " frame");
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
    const auto started = Clock::now();
    FrameShutdownReport report;
    conn_->set_absolute_deadline(started + options_.shutdown_timeout);
    auto hdr = encode_frame_header({frame_type::rst, 0});
    iovec iov{hdr.data(), hdr.size()};
    // Errors here are expected (the peer may be gone); the drain below bounds the wait.
    error_code ec;
    {
        auto [lock_ec, permit] = co_await write_lock_.acquire();
        ec = lock_ec;
        if (!ec) ec = co_await conn_->writev_full({&iov, 1});
    }
    if (ec) {
        report.hard_close_step = "write_frame";
    } else if ((ec = conn_->close_write())) {
        report.hard_close_step = "close_write";
    } else {
        report.drained = true;
        const auto drain_started = Clock::now();
        std::array<std::byte, 64 * 1024> sink;
        iovec d{sink.data(), sink.size()};
        for (;;) {
            auto [rec, n] = co_await conn_->read_some({&d, 1});
            report.drain_bytes += n;
            if (rec) break;  // EOF (the peer closed too), reset, or the deadline
        }
        conn_->close();
        report.drain_took = Clock::now() - drain_started;
    }
    conn_->close();
    report.took = Clock::now() - started;
    if (options_.on_shutdown) options_.on_shutdown(report);
}

}  // namespace zferry::transport
