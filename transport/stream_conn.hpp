// Messages and streams over a HeartbeatConn (zrepl's stream layer): a message is frames of
// one type ended by End; a stream moves a pipe's bytes as frames, spliced (no copy by us)
// or read/written through pooled buffers. A source failure is sent as an error trailer and
// leaves the connection usable; any other error leaves it unusable.
#pragma once

#include "core/throttle.hpp"
#include "transport/heartbeat_conn.hpp"
#include "transport/stream_decoder.hpp"

#include <string>

namespace zferry::transport {

enum class PayloadMode { splice, readv };

// How stream payload moves between the local pipe and the socket, per direction. The
// defaults are the fastest pair measured on loopback (README, Performance): receiving,
// splice socket->pipe (no copy by us); sending, read the pipe into pooled buffers and
// writev header+payload in one call: splice pipe->socket per frame measured 30-40 % slower
// than that copy and used more CPU per GiB.
struct StreamOptions {
    PayloadMode send_mode = PayloadMode::readv;
    PayloadMode receive_mode = PayloadMode::splice;
    std::uint32_t chunk = 512 * 1024;  // data frame payload; zrepl's writers use 512 KiB too

    static StreamOptions both(PayloadMode m) {
        StreamOptions o;
        o.send_mode = o.receive_mode = m;
        return o;
    }
};

class StreamConn {
public:
    StreamConn(std::unique_ptr<HeartbeatConn> conn, BufferPool& pool, StreamOptions options = {});
    ~StreamConn();

    asio::awaitable<Result<std::string>> read_message(std::uint32_t type, std::size_t max);
    asio::awaitable<Result<void>> write_message(std::uint32_t type, std::string_view payload);

    // Reads a stream of `type` into `pipe` until End. A source error trailer yields
    // Errc::stream_source_error with the peer's text (connection still usable). A pipe whose
    // reader exited (the local consumer failed) yields its EPIPE and sink_failed(): the rest
    // of the stream is never read, but the connection can still carry a response.
    // `limit` (null: none) is a bandwidth limit: a data frame's payload is read only once it
    // has granted the frame's length.
    asio::awaitable<Result<std::uint64_t>> read_stream(std::uint32_t type, AsyncFd& pipe,
                                                       Throttle* limit = nullptr);
    // Writes frames of `type` with the pipe's bytes until the pipe's EOF; does not write End.
    // A frame goes out as soon as the pipe is empty for the moment (at most `chunk` bytes):
    // a source that pauses (a stalled zfs send) has every byte it produced delivered.
    // `stop`, if set, is checked before every wait for the pipe: when it is true the writer
    // ends with operation_aborted (whoever sets it also cancels the pipe's pending wait).
    // With `limit`, a frame carries at most what the limit grants (its bucket bounds it).
    asio::awaitable<Result<std::uint64_t>> write_stream_data(std::uint32_t type, AsyncFd& pipe,
                                                             const bool* stop = nullptr,
                                                             Throttle* limit = nullptr);
    asio::awaitable<Result<void>> write_end();
    // Error trailer + End: the stream failed at the source.
    asio::awaitable<Result<void>> write_error_trailer(std::string_view text);

    // The connection can still be written to (and, unless sink_failed(), read from).
    bool usable() const noexcept { return usable_; }
    bool sink_failed() const noexcept { return sink_failed_; }
    HeartbeatConn& heartbeat() noexcept { return *conn_; }
    asio::awaitable<void> close();
    const StreamOptions& options() const noexcept { return options_; }

private:
    asio::awaitable<Result<void>> write_all_to_pipe(AsyncFd& pipe, std::span<const std::byte> data);
    template <class T>
    T poison(T r) {
        if (!r) usable_ = false;
        return r;
    }

    std::unique_ptr<HeartbeatConn> conn_;
    BufferPool& pool_;
    StreamOptions options_;
    bool usable_ = true;
    bool sink_failed_ = false;
};

}  // namespace zferry::transport
