// I/O engines for the bulk data path. The stream payload moves with readv/writev/splice on
// raw file descriptors; an engine performs those as Asio asynchronous operations, so
// coroutines, timers, cancellation and the rest of the control flow stay in Asio.
//
//  - reactor: tries the syscall first and waits for readiness through Asio's epoll reactor
//    only when it would block. Works everywhere.
//  - uring:   submits IORING_OP_READV/WRITEV/SPLICE to an io_uring whose completions are
//    signalled through an eventfd that Asio waits on.
//
// An operation completes with (error_code, n): n > 0 bytes moved, or n == 0 at end of file,
// or an error. Per-operation cancellation (Asio cancellation slots) is supported by both;
// a cancelled operation that already moved data reports that data, never loses it.
// Engines are single-threaded: one thread runs the io_context.
#pragma once

#include "core/error.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace zferry {

using IoHandler = boost::asio::any_completion_handler<void(error_code, std::size_t)>;

enum class EngineKind { reactor, uring };
// The engine zferry uses unless told otherwise: the faster one in bench/compare.py's
// side-by-side runs (README, Performance).
inline constexpr EngineKind kDefaultEngine = EngineKind::reactor;
std::string_view engine_name(EngineKind k) noexcept;
bool parse_engine_kind(std::string_view s, EngineKind& out) noexcept;

// A file descriptor attached to an engine. Does not own the fd: the owner closes it after
// destroying the AsyncFd (which must happen with no operation pending).
class AsyncFd {
public:
    virtual ~AsyncFd() = default;
    AsyncFd(const AsyncFd&) = delete;
    AsyncFd& operator=(const AsyncFd&) = delete;

    int native_handle() const noexcept { return fd_; }

    template <class Token>
    auto async_readv(std::span<const iovec> iov, Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto h, std::span<const iovec> v) { start_readv(v, IoHandler(std::move(h))); }, token,
            iov);
    }
    template <class Token>
    auto async_writev(std::span<const iovec> iov, Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto h, std::span<const iovec> v) { start_writev(v, IoHandler(std::move(h))); }, token,
            iov);
    }
    // splice(2) up to len bytes from `in` into this fd; one of the two must be a pipe.
    template <class Token>
    auto async_splice_from(AsyncFd& in, std::size_t len, Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto h, AsyncFd* src, std::size_t n) { start_splice(*src, n, IoHandler(std::move(h))); },
            token, &in, len);
    }
    // Completes when the fd is readable (data or EOF); n is always 0.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto h) { start_wait_readable(IoHandler(std::move(h))); }, token);
    }

    // Cancels every pending operation on this fd (they complete with operation_aborted).
    virtual void cancel() noexcept = 0;

protected:
    explicit AsyncFd(int fd) noexcept : fd_(fd) {}
    virtual void start_readv(std::span<const iovec> iov, IoHandler h) = 0;
    virtual void start_writev(std::span<const iovec> iov, IoHandler h) = 0;
    virtual void start_splice(AsyncFd& in, std::size_t len, IoHandler h) = 0;
    virtual void start_wait_readable(IoHandler h) = 0;

    int fd_;
};

class IoEngine {
public:
    virtual ~IoEngine() = default;
    virtual EngineKind kind() const noexcept = 0;
    std::string_view name() const noexcept { return engine_name(kind()); }

    // Attaches a non-blocking fd. The AsyncFd must not outlive the engine.
    virtual std::unique_ptr<AsyncFd> attach(int fd) = 0;

    static std::unique_ptr<IoEngine> make_reactor(boost::asio::io_context& ctx);
    // Fails (e.g. ENOSYS, EPERM when io_uring is disabled) with an error saying why.
    static Result<std::unique_ptr<IoEngine>> make_uring(boost::asio::io_context& ctx, unsigned entries = 256);
    // The requested engine, or the reactor with `fell_back` set when io_uring is unavailable.
    // Logs which engine runs (info) and why it fell back (warning).
    static std::unique_ptr<IoEngine> make(boost::asio::io_context& ctx, EngineKind preferred = kDefaultEngine,
                                          Error* fell_back = nullptr);
};

// Engines ignore SIGPIPE process-wide (once): a closed peer is an EPIPE error, which
// splice(2) cannot request per call the way send(MSG_NOSIGNAL) can.
void ignore_sigpipe() noexcept;

// Sets O_NONBLOCK (engines require it). Returns the error, if any.
error_code set_nonblocking(int fd) noexcept;

// Raises a pipe's capacity to min(want, /proc/sys/fs/pipe-max-size); returns the capacity.
std::size_t raise_pipe_capacity(int fd, std::size_t want) noexcept;

}  // namespace zferry
