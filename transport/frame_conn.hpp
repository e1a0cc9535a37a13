// Frames over a TcpConn: the driver of the sans-I/O FrameReader (frame_reader.hpp), which
// decides every read; reads fetch a payload and the next header with one readv; payloads
// can instead be spliced into a pipe. Writes are serialised (heartbeats and stream data share
// the connection). Shutdown follows the zrepl protocol: RST frame, half-close, drain until the
// peer closes (bounded by a deadline), close; ECONNRESET while closing is not an error.
#pragma once

#include "core/async.hpp"
#include "core/buffer_pool.hpp"
#include "transport/frame_codec.hpp"
#include "transport/frame_reader.hpp"
#include "transport/frame_shutdown_report.hpp"
#include "transport/tcp_conn.hpp"

#include <functional>

namespace zferry::transport {

struct FrameConnOptions {
    std::uint32_t max_payload = kDefaultMaxFramePayload;
    std::chrono::milliseconds shutdown_timeout{10000};
    // Told of every finished shutdown (metrics); null: not reported.
    std::function<void(const FrameShutdownReport&)> on_shutdown;
};

class FrameConn {
public:
    FrameConn(std::unique_ptr<TcpConn> conn, BufferPool& pool, FrameConnOptions options = {});
    ~FrameConn();

    // The next frame header. A RST from the peer starts our shutdown and yields
    // TransportErrc::shutdown; EOF at a frame boundary yields asio::error::eof.
    asio::awaitable<Result<FrameHeader>> read_header();
    // The payload of the header just read (pooled buffer). Non-empty payloads also fetch
    // the following header in the same readv.
    asio::awaitable<Result<BufferPool::Buffer>> read_payload(FrameHeader h);
    // The payload of the header just read, appended to `out` in steps of `step` bytes or, if
    // larger, of out's size (the last step also fetches the next header), so that memory
    // grows with the bytes that arrived, not with the length a peer announced and may never
    // send.
    asio::awaitable<Result<void>> read_payload_append(FrameHeader h, std::string& out,
                                                      std::size_t step = 16 * 1024);
    // The payload of the header just read, spliced into `pipe` (never copied by us). A pipe
    // whose reader exited fails with EPIPE; the frame is then cut, no more frames can be read.
    asio::awaitable<Result<void>> splice_payload(FrameHeader h, AsyncFd& pipe);

    asio::awaitable<Result<void>> write_frame(std::uint32_t type, std::span<const std::byte> payload);
    // Header, then `len` bytes spliced from `pipe` (which must already hold them).
    asio::awaitable<Result<void>> write_frame_spliced(std::uint32_t type, AsyncFd& pipe, std::uint32_t len);

    // RST, half-close, drain, close. Safe to call twice or concurrently; the second call
    // returns at once.
    asio::awaitable<void> shutdown();
    bool shutting_down() const noexcept { return shutting_down_; }

    TcpConn& conn() noexcept { return *conn_; }
    Clock::time_point last_write() const noexcept { return last_write_; }
    const FrameConnOptions& options() const noexcept { return options_; }

private:
    Error conn_error(error_code ec, std::string_view what) const;
    // The reader's error with the peer named (not for a clean EOF or our own pipe's EPIPE).
    Error read_error(const Error& e) const;
    // Performs the reader's ReadvPayload actions into `base` until the payload is complete;
    // an error unless it completed (EOF right after it is not an error here).
    asio::awaitable<Result<void>> read_payload_into(std::byte* base);

    std::unique_ptr<TcpConn> conn_;
    BufferPool& pool_;
    FrameConnOptions options_;
    FrameReader reader_;
    bool shutting_down_ = false;
    Clock::time_point last_write_ = Clock::now();
    // One writer at a time (heartbeats and stream data share the connection). A cancelled
    // writer takes no permit: it might wait behind a heartbeat stuck on a peer that does not
    // read.
    AsyncSemaphore write_lock_;
};

}  // namespace zferry::transport
