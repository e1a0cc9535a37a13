// io_uring engine: readv/writev/splice as SQEs; completions are signalled on an eventfd that
// Asio waits on only while operations are pending (so an idle engine keeps no work alive).
#include "core/io_engine.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>
#include <vector>

namespace zferry {
namespace asio = boost::asio;

namespace {

class UringEngine;

struct UringOp {
    UringEngine* engine;
    IoHandler handler;
    bool is_wait = false;
};

class UringEngine final : public IoEngine {
public:
    explicit UringEngine(asio::io_context& ctx) : ctx_(ctx), efd_desc_(ctx) {}

    error_code init(unsigned entries) {
        int r = io_uring_queue_init(entries, &ring_, 0);
        if (r < 0) return error_code(-r, boost::system::system_category());
        ring_ok_ = true;
        int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd < 0) return error_code(errno, boost::system::system_category());
        r = io_uring_register_eventfd(&ring_, efd);
        if (r < 0) {
            ::close(efd);
            return error_code(-r, boost::system::system_category());
        }
        efd_desc_.assign(efd);
        return {};
    }

    ~UringEngine() override {
        if (!ring_ok_) return;
        // Ops still in the kernel reference caller memory: cancel them and wait for every
        // completion before the ring goes away. Their handlers are destroyed, not invoked.
        for (UringOp* op : pending_) {
            if (io_uring_sqe* sqe = get_sqe()) {
                io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(op), 0);
                io_uring_sqe_set_data64(sqe, 0);
            }
        }
        io_uring_submit(&ring_);
        while (!pending_.empty()) {
            io_uring_cqe* cqe = nullptr;
            if (io_uring_wait_cqe(&ring_, &cqe) < 0) break;
            auto* op = reinterpret_cast<UringOp*>(io_uring_cqe_get_data64(cqe));
            io_uring_cqe_seen(&ring_, cqe);
            if (op && pending_.erase(op)) delete op;
        }
        error_code ignored;
        efd_desc_.close(ignored);
        io_uring_queue_exit(&ring_);
    }

    EngineKind kind() const noexcept override { return EngineKind::uring; }
    std::unique_ptr<AsyncFd> attach(int fd) override;

    io_uring_sqe* get_sqe() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        if (!sqe) {
            io_uring_submit(&ring_);
            sqe = io_uring_get_sqe(&ring_);
        }
        return sqe;
    }

    // Prepares an op with `prep`, submits it, and arranges cancellation and completion.
    template <class Prep>
    void submit(IoHandler h, Prep prep, bool is_wait = false) {
        io_uring_sqe* sqe = get_sqe();
        if (!sqe) {
            asio::post(ctx_.get_executor(),
                       asio::append(std::move(h), error_code(EBUSY, boost::system::system_category()),
                                    std::size_t{0}));
            return;
        }
        auto* op = new UringOp{this, std::move(h), is_wait};
        prep(sqe);
        io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uint64_t>(op));
        pending_.insert(op);
        auto slot = op->handler.get_cancellation_slot();
        if (slot.is_connected()) {
            slot.assign([this, op](asio::cancellation_type_t) {
                if (!pending_.count(op)) return;
                if (io_uring_sqe* c = get_sqe()) {
                    io_uring_prep_cancel64(c, reinterpret_cast<std::uint64_t>(op), 0);
                    io_uring_sqe_set_data64(c, 0);
                    io_uring_submit(&ring_);
                }
            });
        }
        int r = io_uring_submit(&ring_);
        if (r < 0) {
            pending_.erase(op);
            if (slot.is_connected()) slot.clear();
            IoHandler hh = std::move(op->handler);
            delete op;
            asio::post(ctx_.get_executor(),
                       asio::append(std::move(hh), error_code(-r, boost::system::system_category()),
                                    std::size_t{0}));
            return;
        }
        arm();
    }

    void cancel_fd(int fd) {
        if (io_uring_sqe* c = get_sqe()) {
            io_uring_prep_cancel_fd(c, fd, IORING_ASYNC_CANCEL_ALL);
            io_uring_sqe_set_data64(c, 0);
            io_uring_submit(&ring_);
        }
    }

private:
    void arm() {
        if (waiting_ || pending_.empty()) return;
        waiting_ = true;
        efd_desc_.async_wait(asio::posix::descriptor_base::wait_read, [this](error_code ec) {
            waiting_ = false;
            if (ec == asio::error::operation_aborted) return;
            reap();
        });
    }

    void reap() {
        std::uint64_t count;
        (void)::read(efd_desc_.native_handle(), &count, sizeof count);
        std::vector<Completed> batch;
        batch.swap(spare_);
        batch.clear();
        io_uring_cqe* cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            ++seen;
            auto* op = reinterpret_cast<UringOp*>(io_uring_cqe_get_data64(cqe));
            if (op && pending_.erase(op)) batch.push_back({op, cqe->res});
        }
        io_uring_cq_advance(&ring_, seen);
        // Handlers run after the CQ is consumed: they resume coroutines that submit new ops.
        for (auto& d : batch) {
            auto slot = d.op->handler.get_cancellation_slot();
            if (slot.is_connected()) slot.clear();
            IoHandler h = std::move(d.op->handler);
            bool is_wait = d.op->is_wait;
            delete d.op;
            error_code ec;
            std::size_t n = 0;
            if (d.res < 0) {
                ec = d.res == -ECANCELED ? error_code(asio::error::operation_aborted)
                                         : error_code(-d.res, boost::system::system_category());
            } else if (!is_wait) {
                n = static_cast<std::size_t>(d.res);
            }
            asio::dispatch(ctx_.get_executor(), asio::append(std::move(h), ec, n));
        }
        batch.clear();
        spare_.swap(batch);
        arm();
    }

    struct Completed {
        UringOp* op;
        int res;
    };

    asio::io_context& ctx_;
    io_uring ring_{};
    bool ring_ok_ = false;
    asio::posix::stream_descriptor efd_desc_;
    bool waiting_ = false;
    std::unordered_set<UringOp*> pending_;
    std::vector<Completed> spare_;
};

class UringFd final : public AsyncFd {
public:
    UringFd(UringEngine& e, int fd) : AsyncFd(fd), engine_(e) {}
    ~UringFd() override = default;
    void cancel() noexcept override { engine_.cancel_fd(fd_); }

protected:
    void start_readv(std::span<const iovec> iov, IoHandler h) override {
        int fd = fd_;
        engine_.submit(std::move(h), [&](io_uring_sqe* sqe) {
            io_uring_prep_readv(sqe, fd, iov.data(), static_cast<unsigned>(iov.size()), -1);
        });
    }
    void start_writev(std::span<const iovec> iov, IoHandler h) override {
        int fd = fd_;
        engine_.submit(std::move(h), [&](io_uring_sqe* sqe) {
            io_uring_prep_writev(sqe, fd, iov.data(), static_cast<unsigned>(iov.size()), -1);
        });
    }
    void start_splice(AsyncFd& in, std::size_t len, IoHandler h) override {
        int fd_in = in.native_handle(), fd_out = fd_;
        engine_.submit(std::move(h), [&](io_uring_sqe* sqe) {
            io_uring_prep_splice(sqe, fd_in, -1, fd_out, -1, static_cast<unsigned>(len), SPLICE_F_MOVE);
        });
    }
    void start_wait_readable(IoHandler h) override {
        int fd = fd_;
        engine_.submit(
            std::move(h), [&](io_uring_sqe* sqe) { io_uring_prep_poll_add(sqe, fd, POLLIN); }, true);
    }

private:
    UringEngine& engine_;
};

std::unique_ptr<AsyncFd> UringEngine::attach(int fd) {
    // io_uring waits for readiness itself, but only on blocking files: with O_NONBLOCK a
    // splice that would block completes with -EAGAIN instead of being retried.
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK)) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return std::make_unique<UringFd>(*this, fd);
}

}  // namespace

Result<std::unique_ptr<IoEngine>> IoEngine::make_uring(asio::io_context& ctx, unsigned entries) {
    ignore_sigpipe();
    auto e = std::make_unique<UringEngine>(ctx);
    if (error_code ec = e->init(entries))
        return Error(ec, "io_uring is unavailable (io_uring_queue_init/register_eventfd)");
    return std::unique_ptr<IoEngine>(std::move(e));
}

}  // namespace zferry
