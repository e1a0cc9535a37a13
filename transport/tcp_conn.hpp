// A connected TCP socket for the framed protocol: full readv/writev with idle timeouts
// renewed on every progress (a deadline never loses a partial read or write), splice to and
// from pipes, half-close, and a deadline watchdog shared by both directions (one timer per
// connection instead of one per operation). A coroutine that was cancelled starts no new
// operation here (it gets operation_aborted), even when it turned exceptions off.
//
// Over TLS (a Wire with a TlsChannel) the same operations move plaintext: reads decrypt the
// records received into the caller's buffers, writes encrypt into records that leave with one
// write, and the splices become a copy through a buffer of this connection (the payload must
// pass through OpenSSL anyway). Deadlines, cancellation and half-close behave alike.
#pragma once

#include "core/error.hpp"
#include "core/io_engine.hpp"
#include "transport/tls_channel.hpp"
#include "transport/transport_error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <span>
#include <string>

namespace zferry::transport {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct ConnOptions {
    // No progress in a direction for this long fails that direction with TransportErrc::timeout. A
    // read that waits on a local pipe while the peer's bytes are queued is not timed out.
    std::chrono::milliseconds idle_timeout{10000};
};

class TcpConn {
public:
    // With `tls`, `socket` carries that channel's records (transport/tls_channel.hpp).
    TcpConn(IoEngine& engine, asio::ip::tcp::socket socket, ConnOptions options = {},
            std::shared_ptr<TlsChannel> tls = nullptr);
    ~TcpConn();
    TcpConn(const TcpConn&) = delete;
    TcpConn& operator=(const TcpConn&) = delete;

    // Reads until every iovec is full. At EOF returns the bytes read so far with
    // asio::error::eof (eof after 0 bytes is a clean end; after >0 bytes the caller decides).
    asio::awaitable<std::pair<error_code, std::size_t>> readv_full(std::span<const iovec> iov);
    // One read of at least one byte (or EOF/error).
    asio::awaitable<std::pair<error_code, std::size_t>> read_some(std::span<const iovec> iov);
    asio::awaitable<error_code> writev_full(std::span<const iovec> iov);

    // Moves exactly len bytes socket -> pipe / pipe -> socket with splice(2).
    asio::awaitable<error_code> splice_to(AsyncFd& pipe, std::size_t len);
    asio::awaitable<error_code> splice_from(AsyncFd& pipe, std::size_t len);

    // Half-close: the peer reads EOF after all data written so far.
    error_code close_write() noexcept;
    // Cancels pending operations and closes the socket. Idempotent.
    void close() noexcept;
    bool is_open() const noexcept { return raw_fd_ >= 0 && !closed_; }
    // Hands the socket back to Asio for a protocol driven by its own socket I/O (the gRPC
    // control channel after the preamble). No operation may be pending; the connection is
    // closed afterwards. Whatever this connection read was consumed exactly (the preamble
    // readers never read ahead), so the returned socket starts at the next protocol byte.
    // Over TLS the socket is the local end of a relay the transport owns.
    Result<asio::ip::tcp::socket> release_socket();
    // Bytes received that no read returned yet are buffered here (TLS), not only in the kernel.
    bool has_buffered_input() const noexcept { return tls_ && tls_->has_input(); }
    bool is_tls() const noexcept { return tls_ != nullptr; }

    // Progress made elsewhere (a heartbeat from the peer) proves the peer alive: grant the
    // pending write another idle timeout.
    void renew_write_deadline() noexcept;
    // Shutdown: from now on both directions end at `at`, no matter the progress.
    void set_absolute_deadline(Clock::time_point at) noexcept;
    // Back to idle timeouts renewed on progress (after a handshake with a total deadline).
    void clear_absolute_deadline() noexcept { absolute_ = false; }

    const std::string& peer() const noexcept { return peer_; }
    // The peer as the transport knows it, where the socket's own address says less (an
    // ssh+stdinserver connection relayed through a socketpair reports [::]:0).
    void set_peer(std::string peer) { peer_ = std::move(peer); }
    int native_handle() noexcept { return raw_fd_; }
    const asio::any_io_executor& get_executor() const noexcept { return executor_; }
    IoEngine& engine() noexcept { return engine_; }

private:
    struct Direction {
        asio::cancellation_signal signal;
        Clock::time_point deadline{};
        bool pending = false;
        bool timed_out = false;
    };
    enum class Dir { read, write };

    template <class Op>
    asio::awaitable<std::pair<error_code, std::size_t>> timed(Dir d, Op op);
    void arm_watchdog();
    void on_watchdog(error_code ec);
    // Bytes the peer sent that we have not read yet (the kernel's receive queue, or over TLS
    // plaintext of theirs we are handing to a local pipe).
    bool unread_bytes_queued() const noexcept;

    // The TLS paths (tls_ set).
    asio::awaitable<std::pair<error_code, std::size_t>> tls_read_some(std::span<const iovec> iov);
    asio::awaitable<error_code> tls_write(std::span<const iovec> iov);
    asio::awaitable<error_code> tls_flush();
    asio::awaitable<error_code> tls_splice_to(AsyncFd& pipe, std::size_t len);
    asio::awaitable<error_code> tls_splice_from(AsyncFd& pipe, std::size_t len);
    Direction& dir(Dir d) noexcept { return d == Dir::read ? read_ : write_; }

    IoEngine& engine_;
    asio::any_io_executor executor_;
    // The socket is released from Asio's reactor: the I/O engine owns its readiness.
    int raw_fd_ = -1;
    std::unique_ptr<AsyncFd> fd_;
    // close() was called. While an operation is still pending, the fd and the engine's state
    // for it stay (shut down) until that operation is back: its queued completion, a watchdog
    // expiring in the same round, or the caller's cancellation may still reach them.
    bool closed_ = false;
    void release_fd() noexcept;
    ConnOptions options_;
    std::string peer_;
    Direction read_, write_;
    bool absolute_ = false;
    Clock::time_point absolute_deadline_{};
    asio::steady_timer watchdog_;
    bool watchdog_armed_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

    std::shared_ptr<TlsChannel> tls_;
    error_code tls_read_failed_;                     // a record that did not decrypt: sticky
    error_code tls_write_failed_;                    // a record cut short or not encrypted: sticky
    bool tls_peer_eof_ = false;                      // TCP EOF read: what is left in the channel is the last
    bool tls_sink_backlog_ = false;                  // the peer's plaintext waits for our pipe
    std::vector<char> tls_out_;                      // ciphertext being written
    std::vector<char> tls_recv_buf_, tls_send_buf_;  // the splices' plaintext (growing)
    std::size_t tls_read_batch_ = 0;                 // ciphertext per socket read (growing)
};

}  // namespace zferry::transport
