#include "core/io_engine.hpp"
#include "core/log.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <mutex>

namespace zferry {
namespace asio = boost::asio;

namespace {

class ReactorFd;

// One readv/writev/splice/wait: try the syscall, wait for readiness on EAGAIN, retry.
// Completes inline only after a wait (never from inside the initiating call).
template <class Syscall>
struct ReactorOp {
    ReactorFd* self;  // valid until a wait completes with an error (the fd may be gone then)
    asio::io_context* ctx;
    Syscall call;
    IoHandler handler;

    void attempt(bool from_wait);
    void operator()(error_code ec);
    void complete(error_code ec, std::size_t n, bool from_wait);
};

class ReactorFd final : public AsyncFd {
public:
    ReactorFd(asio::io_context& ctx, int fd) : AsyncFd(fd), ctx_(ctx), desc_(ctx, fd) {}
    ~ReactorFd() override {
        error_code ignored;
        desc_.cancel(ignored);
        desc_.release();  // the owner closes the fd
    }

    void cancel() noexcept override {
        error_code ignored;
        desc_.cancel(ignored);
    }

    asio::io_context& ctx_;
    asio::posix::stream_descriptor desc_;

protected:
    void start_readv(std::span<const iovec> iov, IoHandler h) override {
        int fd = fd_;
        launch(
            [fd, iov]() -> std::pair<ssize_t, asio::posix::descriptor_base::wait_type> {
                return {::readv(fd, iov.data(), static_cast<int>(iov.size())),
                        asio::posix::descriptor_base::wait_read};
            },
            std::move(h));
    }
    void start_writev(std::span<const iovec> iov, IoHandler h) override {
        int fd = fd_;
        launch(
            [fd, iov]() -> std::pair<ssize_t, asio::posix::descriptor_base::wait_type> {
                return {::writev(fd, iov.data(), static_cast<int>(iov.size())),
                        asio::posix::descriptor_base::wait_write};
            },
            std::move(h));
    }
    void start_splice(AsyncFd& in, std::size_t len, IoHandler h) override;
    void start_wait_readable(IoHandler h) override {
        int fd = fd_;
        bool first = true;
        launch(
            [fd, first]() mutable -> std::pair<ssize_t, asio::posix::descriptor_base::wait_type> {
                // First attempt: poll without blocking; after a wait the fd is readable.
                if (!first) return {0, asio::posix::descriptor_base::wait_read};
                first = false;
                pollfd p{fd, POLLIN, 0};
                int r = ::poll(&p, 1, 0);
                if (r > 0) return {0, asio::posix::descriptor_base::wait_read};
                errno = EAGAIN;
                return {-1, asio::posix::descriptor_base::wait_read};
            },
            std::move(h));
    }

    template <class Syscall>
    void launch(Syscall call, IoHandler h) {
        ReactorOp<Syscall> op{this, &ctx_, std::move(call), std::move(h)};
        op.attempt(false);
    }

    template <class>
    friend struct ReactorOp;
};

template <class Syscall>
void ReactorOp<Syscall>::attempt(bool from_wait) {
    for (;;) {
        auto [n, wait] = call();
        if (n >= 0) return complete({}, static_cast<std::size_t>(n), from_wait);
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN) {
            auto slot = handler.get_cancellation_slot();
            ReactorFd* target = self;
            if constexpr (requires { call.wait_target; }) {
                if (call.wait_target) target = call.wait_target;
            }
            target->desc_.async_wait(wait, asio::bind_cancellation_slot(slot, std::move(*this)));
            return;
        }
        return complete(error_code(err, boost::system::system_category()), 0, from_wait);
    }
}

template <class Syscall>
void ReactorOp<Syscall>::operator()(error_code ec) {
    if (ec) return complete(ec, 0, true);
    attempt(true);
}

template <class Syscall>
void ReactorOp<Syscall>::complete(error_code ec, std::size_t n, bool from_wait) {
    if (from_wait)
        asio::dispatch(ctx->get_executor(), asio::append(std::move(handler), ec, n));
    else
        asio::post(ctx->get_executor(), asio::append(std::move(handler), ec, n));
}

// splice needs to know which side would block: on EAGAIN it polls both ends once and waits
// on the one that is not ready (the source for readability, the sink for writability).
struct SpliceCall {
    int in;
    int out;
    std::size_t len;
    ReactorFd* in_fd;
    ReactorFd* out_fd;
    ReactorFd* wait_target = nullptr;

    std::pair<ssize_t, asio::posix::descriptor_base::wait_type> operator()() {
        for (;;) {
            ssize_t n = ::splice(in, nullptr, out, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n >= 0 || errno != EAGAIN) {
                wait_target = nullptr;
                return {n, asio::posix::descriptor_base::wait_read};
            }
            pollfd p[2] = {{in, POLLIN, 0}, {out, POLLOUT, 0}};
            if (::poll(p, 2, 0) < 0) return {-1, asio::posix::descriptor_base::wait_read};
            bool in_ready = p[0].revents & (POLLIN | POLLHUP | POLLERR);
            bool out_ready = p[1].revents & (POLLOUT | POLLHUP | POLLERR);
            if (!in_ready) {
                wait_target = in_fd;
                errno = EAGAIN;
                return {-1, asio::posix::descriptor_base::wait_read};
            }
            if (!out_ready) {
                wait_target = out_fd;
                errno = EAGAIN;
                return {-1, asio::posix::descriptor_base::wait_write};
            }
            // Both ready but splice said EAGAIN (raced with the peer): try again.
        }
    }
};

void ReactorFd::start_splice(AsyncFd& in, std::size_t len, IoHandler h) {
    auto* src = dynamic_cast<ReactorFd*>(&in);
    if (!src) {
        asio::post(ctx_.get_executor(),
                   asio::append(std::move(h), make_error_code(Errc::invalid_argument), std::size_t{0}));
        return;
    }
    launch(SpliceCall{src->fd_, fd_, len, src, this}, std::move(h));
}

class ReactorEngine final : public IoEngine {
public:
    explicit ReactorEngine(asio::io_context& ctx) : ctx_(ctx) {}
    EngineKind kind() const noexcept override { return EngineKind::reactor; }
    std::unique_ptr<AsyncFd> attach(int fd) override { return std::make_unique<ReactorFd>(ctx_, fd); }

private:
    asio::io_context& ctx_;
};

}  // namespace

void ignore_sigpipe() noexcept {
    // A peer that closes its end must surface as EPIPE from write/splice, not kill us.
    static std::once_flag once;
    std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

std::unique_ptr<IoEngine> IoEngine::make_reactor(asio::io_context& ctx) {
    ignore_sigpipe();
    return std::make_unique<ReactorEngine>(ctx);
}

std::unique_ptr<IoEngine> IoEngine::make(asio::io_context& ctx, EngineKind preferred, Error* fell_back) {
    Logger log;
    if (preferred == EngineKind::uring) {
        auto u = make_uring(ctx);
        if (u) {
            log.info("I/O engine: uring (io_uring: splice, readv, writev; Asio for timers and control)");
            return std::move(*u);
        }
        log.warn("I/O engine: io_uring unavailable ({}); using the reactor instead", u.error().message());
        if (fell_back) *fell_back = u.error();
    }
    log.info("I/O engine: reactor (non-blocking splice, readv, writev on Asio's epoll)");
    return make_reactor(ctx);
}

std::string_view engine_name(EngineKind k) noexcept {
    switch (k) {
        case EngineKind::reactor: return "reactor";
        case EngineKind::uring: return "uring";
    }
    return "unknown";
}

bool parse_engine_kind(std::string_view s, EngineKind& out) noexcept {
    if (s == "reactor" || s == "epoll")
        out = EngineKind::reactor;
    else if (s == "uring" || s == "io_uring")
        out = EngineKind::uring;
    else
        return false;
    return true;
}

error_code set_nonblocking(int fd) noexcept {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return error_code(errno, boost::system::system_category());
    return {};
}

std::size_t raise_pipe_capacity(int fd, std::size_t want) noexcept {
    std::size_t max = 1 << 20;
    if (std::ifstream f("/proc/sys/fs/pipe-max-size"); f) f >> max;
    std::size_t target = want < max ? want : max;
    int r = ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(target));
    if (r < 0) r = ::fcntl(fd, F_GETPIPE_SZ);
    return r < 0 ? 0 : static_cast<std::size_t>(r);
}

}  // namespace zferry
