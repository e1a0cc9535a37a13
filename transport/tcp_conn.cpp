#include "transport/tcp_conn.hpp"

#include "core/async.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace zferry::transport {
namespace {

std::string describe_peer(const asio::ip::tcp::socket& s) {
    error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "unconnected";
    std::string addr = ep.address().to_string();
    if (ep.address().is_v6()) addr = "[" + addr + "]";
    return addr + ":" + std::to_string(ep.port());
}

// Advances an iovec array past n consumed bytes.
void consume(std::vector<iovec>& v, std::size_t& first, std::size_t n) {
    while (n > 0 && first < v.size()) {
        if (n >= v[first].iov_len) {
            n -= v[first].iov_len;
            ++first;
        } else {
            v[first].iov_base = static_cast<char*>(v[first].iov_base) + n;
            v[first].iov_len -= n;
            n = 0;
        }
    }
    while (first < v.size() && v[first].iov_len == 0) ++first;
}

}  // namespace

TcpConn::TcpConn(IoEngine& engine, asio::ip::tcp::socket socket, ConnOptions options,
                 std::shared_ptr<TlsChannel> tls)
    : engine_(engine),
      executor_(socket.get_executor()),
      options_(options),
      peer_(describe_peer(socket)),
      watchdog_(socket.get_executor()),
      tls_(std::move(tls)) {
    error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    raw_fd_ = socket.release(ignored);
    if (raw_fd_ >= 0) {
        set_nonblocking(raw_fd_);
        fd_ = engine_.attach(raw_fd_);
    }
}

TcpConn::~TcpConn() {
    *alive_ = false;
    close();
    release_fd();
}

template <class Op>
asio::awaitable<std::pair<error_code, std::size_t>> TcpConn::timed(Dir d, Op op) {
    Direction& st = dir(d);
    auto now = Clock::now();
    st.deadline = absolute_ ? absolute_deadline_ : now + options_.idle_timeout;
    if (absolute_ && now >= absolute_deadline_)
        co_return std::pair{make_error_code(TransportErrc::timeout), std::size_t{0}};
    // A coroutine that was cancelled (and chose errors over exceptions) starts no new I/O:
    // the cancellation may have reached an operation that completed anyway.
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
        co_return std::pair{error_code(asio::error::operation_aborted), std::size_t{0}};
    st.pending = true;
    st.timed_out = false;
    arm_watchdog();
    // The operation is bound to this direction's signal (deadlines, close); forward the
    // calling coroutine's cancellation to it as well, so `||` and task cancellation work.
    auto outer = cs.slot();
    if (outer.is_connected()) outer.assign([&st](asio::cancellation_type_t t) { st.signal.emit(t); });
    auto [ec, n] = co_await op(asio::bind_cancellation_slot(st.signal.slot(), use_ec));
    if (outer.is_connected()) outer.clear();
    // The engine's handler left its cancellation state in the slot, pointing at the finished
    // operation (and at the fd's reactor state): a later emit (close) must not reach it.
    st.signal.slot().clear();
    st.pending = false;
    if (closed_ && !read_.pending && !write_.pending) release_fd();
    if (ec == asio::error::operation_aborted && st.timed_out && n == 0)
        ec = make_error_code(TransportErrc::timeout);
    co_return std::pair{ec, n};
}

void TcpConn::arm_watchdog() {
    if (watchdog_armed_) return;
    Clock::time_point earliest = Clock::time_point::max();
    for (Direction* d : {&read_, &write_})
        if (d->pending) earliest = std::min(earliest, d->deadline);
    if (earliest == Clock::time_point::max()) return;
    watchdog_armed_ = true;
    watchdog_.expires_at(earliest);
    watchdog_.async_wait([this, alive = alive_](error_code ec) {
        if (!*alive) return;
        on_watchdog(ec);
    });
}

void TcpConn::on_watchdog(error_code ec) {
    watchdog_armed_ = false;
    if (ec == asio::error::operation_aborted) return;
    auto now = Clock::now();
    for (Direction* d : {&read_, &write_}) {
        if (d->pending && !d->timed_out && now >= d->deadline) {
            // A read still pending while the peer's bytes wait in our receive queue waits on
            // our own consumer (a splice into a full pipe: a busy `zfs recv`), not on the
            // network: the peer is alive and throttled by our window. Deadlines measure the
            // network only, so both payload modes tolerate a slow local sink alike.
            if (d == &read_ && !absolute_ && unread_bytes_queued()) {
                d->deadline = now + options_.idle_timeout;
                continue;
            }
            d->timed_out = true;
            d->signal.emit(asio::cancellation_type::terminal);
        }
    }
    arm_watchdog();  // the other direction, or renewed deadlines
}

bool TcpConn::unread_bytes_queued() const noexcept {
    if (tls_sink_backlog_) return true;
    int queued = 0;
    return raw_fd_ >= 0 && ::ioctl(raw_fd_, FIONREAD, &queued) == 0 && queued > 0;
}

void TcpConn::renew_write_deadline() noexcept {
    if (!absolute_) write_.deadline = Clock::now() + options_.idle_timeout;
}

void TcpConn::set_absolute_deadline(Clock::time_point at) noexcept {
    absolute_ = true;
    absolute_deadline_ = at;
    for (Direction* d : {&read_, &write_}) d->deadline = at;
    if (watchdog_armed_) {
        watchdog_.cancel();
        watchdog_armed_ = false;
    }
    arm_watchdog();
}

asio::awaitable<std::pair<error_code, std::size_t>> TcpConn::read_some(std::span<const iovec> iov) {
    if (tls_) co_return co_await tls_read_some(iov);
    if (!fd_ || closed_) co_return std::pair{error_code(asio::error::bad_descriptor), std::size_t{0}};
    auto [ec, n] =
        co_await timed(Dir::read, [&](auto token) { return fd_->async_readv(iov, std::move(token)); });
    if (!ec && n == 0) ec = asio::error::eof;
    co_return std::pair{ec, n};
}

asio::awaitable<std::pair<error_code, std::size_t>> TcpConn::readv_full(std::span<const iovec> in) {
    std::vector<iovec> v(in.begin(), in.end());
    std::size_t first = 0, total = 0;
    consume(v, first, 0);
    while (first < v.size()) {
        if (!fd_ || closed_) co_return std::pair{error_code(asio::error::bad_descriptor), total};
        std::span<const iovec> rest(v.data() + first, v.size() - first);
        std::pair<error_code, std::size_t> got;
        if (tls_)
            got = co_await tls_read_some(rest);
        else
            got = co_await timed(Dir::read,
                                 [&](auto token) { return fd_->async_readv(rest, std::move(token)); });
        auto [ec, n] = got;
        total += n;
        consume(v, first, n);
        if (ec) co_return std::pair{ec, total};
        if (n == 0) co_return std::pair{error_code(asio::error::eof), total};
    }
    co_return std::pair{error_code{}, total};
}

asio::awaitable<error_code> TcpConn::writev_full(std::span<const iovec> in) {
    if (tls_) co_return co_await tls_write(in);
    std::vector<iovec> v(in.begin(), in.end());
    std::size_t first = 0;
    consume(v, first, 0);
    while (first < v.size()) {
        if (!fd_ || closed_) co_return error_code(asio::error::bad_descriptor);
        std::span<const iovec> rest(v.data() + first, v.size() - first);
        auto [ec, n] =
            co_await timed(Dir::write, [&](auto token) { return fd_->async_writev(rest, std::move(token)); });
        consume(v, first, n);
        if (ec) co_return ec;
    }
    co_return error_code{};
}

asio::awaitable<error_code> TcpConn::splice_to(AsyncFd& pipe, std::size_t len) {
    if (tls_) co_return co_await tls_splice_to(pipe, len);
    while (len > 0) {
        if (!fd_ || closed_) co_return error_code(asio::error::bad_descriptor);
        auto [ec, n] = co_await timed(
            Dir::read, [&](auto token) { return pipe.async_splice_from(*fd_, len, std::move(token)); });
        len -= n;
        if (ec) co_return ec;
        if (n == 0) co_return error_code(asio::error::eof);
    }
    co_return error_code{};
}

asio::awaitable<error_code> TcpConn::splice_from(AsyncFd& pipe, std::size_t len) {
    if (tls_) co_return co_await tls_splice_from(pipe, len);
    while (len > 0) {
        if (!fd_ || closed_) co_return error_code(asio::error::bad_descriptor);
        auto [ec, n] = co_await timed(
            Dir::write, [&](auto token) { return fd_->async_splice_from(pipe, len, std::move(token)); });
        len -= n;
        if (ec) co_return ec;
        if (n == 0) co_return make_error_code(TransportErrc::connection_closed);  // the pipe ended early
    }
    co_return error_code{};
}

error_code TcpConn::close_write() noexcept {
    if (raw_fd_ < 0 || closed_) return asio::error::bad_descriptor;
    if (::shutdown(raw_fd_, SHUT_WR) < 0) return error_code(errno, boost::system::system_category());
    return {};
}

Result<asio::ip::tcp::socket> TcpConn::release_socket() {
    if (raw_fd_ < 0 || closed_)
        return Error(TransportErrc::connection_closed, "releasing the socket of " + peer_);
    if (read_.pending || write_.pending)
        return Error(Errc::internal, "releasing the socket of " + peer_ + " with an operation pending");
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(raw_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return Error(error_code(errno, boost::system::system_category()), "releasing the socket of " + peer_);
    const auto protocol = addr.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4();
    watchdog_.cancel();
    fd_.reset();
    const int fd = std::exchange(raw_fd_, -1);
    asio::ip::tcp::socket socket(executor_);
    error_code ec;
    socket.assign(protocol, fd, ec);
    if (ec) {
        ::close(fd);
        return Error(ec, "releasing the socket of " + peer_);
    }
    if (tls_) {
        // The protocol reads and writes the socket itself: TLS goes back to a relay.
        auto channel = std::move(tls_);
        auto relayed = channel->into_relay(std::move(socket));
        if (!relayed) return Error(relayed.error()).wrap("releasing the socket of " + peer_);
        return std::move(*relayed);
    }
    return socket;
}

void TcpConn::close() noexcept {
    if (closed_ || (!fd_ && raw_fd_ < 0)) return;  // closed already (or released)
    closed_ = true;
    if (fd_) fd_->cancel();
    read_.signal.emit(asio::cancellation_type::terminal);
    write_.signal.emit(asio::cancellation_type::terminal);
    watchdog_.cancel();
    if (read_.pending || write_.pending) {
        // The pending operation's completion is queued, but its cancellation handler still
        // points at the engine's state for this fd, and a watchdog that expired in the same
        // round (cancel() cannot recall it) emits into it: freeing that state now crashed a
        // sink shedding connections in a storm. timed() releases once the operation is back;
        // until then the socket is shut down, so the peer sees the close at once.
        if (raw_fd_ >= 0) ::shutdown(raw_fd_, SHUT_RDWR);
        return;
    }
    release_fd();
}

// ---------------------------------------------------------------------------- TLS

namespace {
// Ciphertext asked for per read of the socket (many records: one syscall, then decryption
// record by record straight into the caller's buffers), at most.
constexpr std::size_t kTlsReadBatch = std::size_t{256} << 10;
// The splices' plaintext buffer: what one read of a pipe encrypts, or what decryption hands to
// a pipe with one write, at most.
constexpr std::size_t kTlsSpliceChunk = std::size_t{256} << 10;
// Both start here and double while reads fill them: a connection that carries small messages
// (control, pings, a sink's thousand idle clients) keeps small buffers, a stream reaches the
// full batch after a few reads.
constexpr std::size_t kTlsFirstBatch = std::size_t{16} << 10;
}  // namespace

asio::awaitable<std::pair<error_code, std::size_t>> TcpConn::tls_read_some(std::span<const iovec> iov) {
    std::size_t room = 0;
    for (const iovec& v : iov) room += v.iov_len;
    if (room == 0) co_return std::pair{error_code{}, std::size_t{0}};  // nothing to read into
    for (;;) {
        if (!fd_ || closed_) co_return std::pair{error_code(asio::error::bad_descriptor), std::size_t{0}};
        if (tls_read_failed_) co_return std::pair{tls_read_failed_, std::size_t{0}};
        // What was received already is decrypted first, record by record into the caller's buffers.
        std::size_t total = 0;
        for (const iovec& v : iov) {
            if (v.iov_len == 0) continue;
            auto d = tls_->decrypt(std::span<char>(static_cast<char*>(v.iov_base), v.iov_len));
            if (!d) {  // a record that does not authenticate: the connection ends (after what came before it)
                tls_read_failed_ = d.error().code();
                break;
            }
            total += d->bytes;
            if (d->closed) tls_peer_eof_ = true;  // close_notify
            if (d->closed || d->bytes < v.iov_len) break;
        }
        if (total > 0) co_return std::pair{error_code{}, total};
        if (tls_read_failed_) co_return std::pair{tls_read_failed_, std::size_t{0}};
        // close_notify, or the TCP end: both zferry, the TCP half-close ends the data as the relay did.
        if (tls_peer_eof_) co_return std::pair{error_code(asio::error::eof), std::size_t{0}};
        if (tls_read_batch_ == 0) tls_read_batch_ = kTlsFirstBatch;
        auto space = tls_->input_space(tls_read_batch_);
        iovec in{space.data(), space.size()};
        std::span<const iovec> one(&in, 1);
        auto [ec, n] =
            co_await timed(Dir::read, [&](auto token) { return fd_->async_readv(one, std::move(token)); });
        tls_->commit_input(n);
        if (n >= tls_read_batch_ && tls_read_batch_ < kTlsReadBatch) tls_read_batch_ *= 2;
        if (ec) co_return std::pair{ec, std::size_t{0}};
        if (n == 0) tls_peer_eof_ = true;  // what is left decrypts first
    }
}

asio::awaitable<error_code> TcpConn::tls_write(std::span<const iovec> iov) {
    if (!fd_ || closed_) co_return error_code(asio::error::bad_descriptor);
    if (tls_write_failed_) co_return tls_write_failed_;
    for (const iovec& v : iov) {
        auto r = tls_->encrypt(std::span<const char>(static_cast<const char*>(v.iov_base), v.iov_len));
        if (!r) {
            tls_write_failed_ = r.error().code();
            co_return tls_write_failed_;
        }
    }
    co_return co_await tls_flush();
}

asio::awaitable<error_code> TcpConn::tls_flush() {
    // Also sends what decrypting produced (a TLS 1.3 key update's answer), as the next write.
    while (tls_->has_output()) {
        tls_->take_output(tls_out_);
        for (std::size_t off = 0; off < tls_out_.size();) {
            if (!fd_ || closed_) co_return error_code(asio::error::bad_descriptor);
            iovec out{tls_out_.data() + off, tls_out_.size() - off};
            std::span<const iovec> one(&out, 1);
            auto [ec, n] = co_await timed(
                Dir::write, [&](auto token) { return fd_->async_writev(one, std::move(token)); });
            off += n;
            if (ec) {
                // A record cut short: nothing written after it could be decrypted.
                tls_write_failed_ = ec;
                co_return ec;
            }
        }
    }
    co_return error_code{};
}

asio::awaitable<error_code> TcpConn::tls_splice_to(AsyncFd& pipe, std::size_t len) {
    if (tls_recv_buf_.empty()) tls_recv_buf_.resize(kTlsFirstBatch);
    while (len > 0) {
        iovec in{tls_recv_buf_.data(), std::min(len, tls_recv_buf_.size())};
        std::span<const iovec> into(&in, 1);
        auto [ec, n] = co_await tls_read_some(into);
        if (ec) co_return ec;
        len -= n;
        // The pipe may be full (a busy consumer): the watchdog counts these bytes as queued.
        tls_sink_backlog_ = true;
        for (std::size_t off = 0; off < n;) {
            if (!fd_ || closed_) {
                tls_sink_backlog_ = false;
                co_return error_code(asio::error::bad_descriptor);
            }
            iovec out{tls_recv_buf_.data() + off, n - off};
            std::span<const iovec> one(&out, 1);
            auto [wec, m] = co_await timed(
                Dir::read, [&](auto token) { return pipe.async_writev(one, std::move(token)); });
            off += m;
            if (wec) {
                tls_sink_backlog_ = false;
                co_return wec;  // EPIPE: the pipe's reader exited
            }
        }
        tls_sink_backlog_ = false;
        if (n == tls_recv_buf_.size() && n < kTlsSpliceChunk) tls_recv_buf_.resize(n * 2);
    }
    co_return error_code{};
}

asio::awaitable<error_code> TcpConn::tls_splice_from(AsyncFd& pipe, std::size_t len) {
    if (tls_send_buf_.empty()) tls_send_buf_.resize(kTlsFirstBatch);
    while (len > 0) {
        if (!fd_ || closed_) co_return error_code(asio::error::bad_descriptor);
        if (tls_write_failed_) co_return tls_write_failed_;
        iovec in{tls_send_buf_.data(), std::min(len, tls_send_buf_.size())};
        std::span<const iovec> one(&in, 1);
        auto [ec, n] =
            co_await timed(Dir::write, [&](auto token) { return pipe.async_readv(one, std::move(token)); });
        if (n > 0) {
            len -= n;
            iovec plain{tls_send_buf_.data(), n};
            std::span<const iovec> records(&plain, 1);
            if (auto wec = co_await tls_write(records)) co_return wec;
            if (n == tls_send_buf_.size() && n < kTlsSpliceChunk) tls_send_buf_.resize(n * 2);
        }
        if (ec) co_return ec;
        if (n == 0) co_return make_error_code(TransportErrc::connection_closed);  // the pipe ended early
    }
    co_return error_code{};
}

void TcpConn::release_fd() noexcept {
    fd_.reset();
    if (raw_fd_ >= 0) ::close(std::exchange(raw_fd_, -1));
}

}  // namespace zferry::transport
