#include "transport/stream_conn.hpp"

#include "core/async.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/ioctl.h>

namespace zferry::transport {
StreamConn::StreamConn(std::unique_ptr<HeartbeatConn> conn, BufferPool& pool, StreamOptions options)
    : conn_(std::move(conn)), pool_(pool), options_(options) {}

StreamConn::~StreamConn() = default;

asio::awaitable<void> StreamConn::close() { co_await conn_->close(); }

asio::awaitable<Result<std::string>> StreamConn::read_message(std::uint32_t type, std::size_t max) {
    StreamDecoder dec(type, max);
    std::string out;
    for (;;) {
        auto h = co_await conn_->read_header();
        if (!h) co_return poison(Result<std::string>(h.error()));
        auto step = dec.on_header(*h);
        switch (step.kind) {
            case StreamDecoder::Kind::data: {
                // Appended as it arrives: a frame announced large and sent slowly (or never)
                // costs what arrived, not what was announced.
                auto p = co_await conn_->frames().read_payload_append(*h, out);
                if (!p) co_return poison(Result<std::string>(p.error()));
                break;
            }
            case StreamDecoder::Kind::trailer: {
                auto p = co_await conn_->frames().read_payload(*h);
                if (!p) co_return poison(Result<std::string>(p.error()));
                dec.add_trailer(p->bytes());
                break;
            }
            case StreamDecoder::Kind::end: co_return out;
            case StreamDecoder::Kind::source_error:
                co_return Error(Errc::stream_source_error, "peer: " + dec.source_error());
            case StreamDecoder::Kind::error: co_return poison(Result<std::string>(dec.error()));
        }
    }
}

asio::awaitable<Result<void>> StreamConn::write_message(std::uint32_t type, std::string_view payload) {
    auto bytes = std::as_bytes(std::span(payload.data(), payload.size()));
    while (!bytes.empty()) {
        auto n = std::min<std::size_t>(bytes.size(), options_.chunk);
        auto r = co_await conn_->frames().write_frame(type, bytes.first(n));
        if (!r) co_return poison(r);
        bytes = bytes.subspan(n);
    }
    co_return poison(co_await conn_->frames().write_frame(frame_type::stream_end, {}));
}

asio::awaitable<Result<void>> StreamConn::write_all_to_pipe(AsyncFd& pipe, std::span<const std::byte> data) {
    while (!data.empty()) {
        iovec iov{const_cast<std::byte*>(data.data()), data.size()};
        auto [ec, n] = co_await pipe.async_writev({&iov, 1}, use_ec);
        if (ec) co_return Error(ec, "writing received stream into the local pipe");
        data = data.subspan(n);
    }
    co_return Result<void>{};
}

namespace {

// Waits until `limit` has granted `bytes` in all (its bucket may grant less at a time).
// False if the wait was cancelled.
asio::awaitable<bool> pay(Throttle* limit, std::uint64_t bytes) {
    while (limit != nullptr && bytes > 0) {
        const std::size_t g = co_await limit->acquire(static_cast<std::size_t>(bytes));
        if (g == 0) co_return false;
        bytes -= g;
    }
    co_return true;
}

}  // namespace

asio::awaitable<Result<std::uint64_t>> StreamConn::read_stream(std::uint32_t type, AsyncFd& pipe,
                                                               Throttle* limit) {
    StreamDecoder dec(type);
    for (;;) {
        auto h = co_await conn_->read_header();
        if (!h) co_return poison(Result<std::uint64_t>(h.error()));
        auto step = dec.on_header(*h);
        switch (step.kind) {
            case StreamDecoder::Kind::data:
                if (!co_await pay(limit, h->length))
                    co_return poison(Result<std::uint64_t>(
                        Error(asio::error::operation_aborted, "receiving stream data (bandwidth limit)")));
                // The local consumer failing is not the connection failing: the peer is owed
                // an answer that says why (e.g. zfs recv's message), not a reset.
                if (options_.receive_mode == PayloadMode::splice) {
                    auto r = co_await conn_->frames().splice_payload(*h, pipe);
                    if (!r && r.error().code() == boost::system::errc::broken_pipe) {
                        sink_failed_ = true;
                        co_return r.error();
                    }
                    if (!r) co_return poison(Result<std::uint64_t>(r.error()));
                } else {
                    auto p = co_await conn_->frames().read_payload(*h);
                    if (!p) co_return poison(Result<std::uint64_t>(p.error()));
                    auto w = co_await write_all_to_pipe(pipe, p->bytes());
                    if (!w && w.error().code() == asio::error::operation_aborted)
                        co_return poison(Result<std::uint64_t>(w.error()));
                    if (!w) {
                        sink_failed_ = true;
                        co_return w.error();
                    }
                }
                break;
            case StreamDecoder::Kind::trailer: {
                auto p = co_await conn_->frames().read_payload(*h);
                if (!p) co_return poison(Result<std::uint64_t>(p.error()));
                dec.add_trailer(p->bytes());
                break;
            }
            case StreamDecoder::Kind::end: co_return dec.total();
            case StreamDecoder::Kind::source_error:
                co_return Error(Errc::stream_source_error, "sending side failed: " + dec.source_error());
            case StreamDecoder::Kind::error: co_return poison(Result<std::uint64_t>(dec.error()));
        }
    }
}

asio::awaitable<Result<std::uint64_t>> StreamConn::write_stream_data(std::uint32_t type, AsyncFd& pipe,
                                                                     const bool* stop, Throttle* limit) {
    std::uint64_t total = 0;
    // Cancellation that reached a completed operation must still stop the next wait for an
    // idle source (socket writes check it themselves).
    auto cs = co_await asio::this_coro::cancellation_state;
    auto cancelled = [&] { return cs.cancelled() != asio::cancellation_type::none || (stop && *stop); };
    if (options_.send_mode == PayloadMode::splice) {
        for (;;) {
            int avail = 0;
            if (::ioctl(pipe.native_handle(), FIONREAD, &avail) < 0) avail = 0;
            if (avail == 0) {
                if (cancelled()) co_return Error(asio::error::operation_aborted, "sending stream data");
                auto [ec, n] = co_await pipe.async_wait_readable(use_ec);
                if (ec) co_return Error(ec, "waiting for stream data on the local pipe");
                if (::ioctl(pipe.native_handle(), FIONREAD, &avail) < 0) avail = 0;
                if (avail == 0) co_return total;  // readable and empty: the writer closed it
            }
            auto len = std::min<std::uint32_t>(static_cast<std::uint32_t>(avail), options_.chunk);
            if (limit != nullptr) {
                const std::size_t g = co_await limit->acquire(len);
                if (g == 0) co_return Error(asio::error::operation_aborted, "sending stream data");
                len = static_cast<std::uint32_t>(g);
            }
            auto r = co_await conn_->frames().write_frame_spliced(type, pipe, len);
            if (!r) co_return poison(Result<std::uint64_t>(r.error()));
            total += len;
        }
    }
    for (;;) {
        auto buf = pool_.get(options_.chunk);
        std::size_t want = buf.size();
        if (limit != nullptr) {
            want = co_await limit->acquire(want);
            if (want == 0) co_return Error(asio::error::operation_aborted, "sending stream data");
        }
        std::size_t filled = 0;
        bool eof = false;
        while (filled < want) {
            if (cancelled()) co_return Error(asio::error::operation_aborted, "sending stream data");
            iovec iov{buf.data() + filled, want - filled};
            auto [ec, n] = co_await pipe.async_readv({&iov, 1}, use_ec);
            if (ec) co_return Error(ec, "reading stream data from the local pipe");
            if (n == 0) {
                eof = true;
                break;
            }
            filled += n;
            // Nothing more in the pipe right now: send what we have instead of waiting for a
            // full chunk (a source stalled 1 MB into its stream delivered only the first
            // 512 KiB, the rest waiting in this buffer for bytes that never came).
            int avail = 0;
            if (filled < want && ::ioctl(pipe.native_handle(), FIONREAD, &avail) == 0 && avail == 0)
                break;
        }
        if (limit != nullptr && filled < want) limit->refund(want - filled);
        if (filled > 0) {
            auto r = co_await conn_->frames().write_frame(type, buf.bytes().first(filled));
            if (!r) co_return poison(Result<std::uint64_t>(r.error()));
            total += filled;
        }
        if (eof) co_return total;
    }
}

asio::awaitable<Result<void>> StreamConn::write_end() {
    co_return poison(co_await conn_->frames().write_frame(frame_type::stream_end, {}));
}

asio::awaitable<Result<void>> StreamConn::write_error_trailer(std::string_view text) {
    // The peer rejects a trailer that is not UTF-8: never cut inside a character.
    text = utf8_prefix(text, StreamDecoder::kMaxTrailer);
    auto bytes = std::as_bytes(std::span(text.data(), text.size()));
    auto r = co_await conn_->frames().write_frame(frame_type::stream_err_trailer, bytes);
    if (!r) co_return poison(r);
    co_return co_await write_end();
}

}  // namespace zferry::transport
