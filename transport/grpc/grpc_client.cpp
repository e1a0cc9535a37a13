#include "transport/grpc/grpc_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <map>

namespace zferry::transport::grpc {

namespace {
using asio::use_awaitable;
using asio::experimental::awaitable_operators::operator||;
constexpr auto tuple_awaitable = asio::as_tuple(use_awaitable);
using Signal = asio::experimental::channel<void(error_code)>;
// Built outside the coroutine bodies: GCC 12 mishandles braced initializers holding string
// literals inside coroutines.
Status status(StatusCode code, const char* text) { return Status{code, text}; }
// Attempts on one connection for a call the server keeps refusing.
constexpr int kRefusedAttempts = 4;
}  // namespace

struct GrpcClientConnection::Impl {
    struct Pending {
        explicit Pending(asio::any_io_executor ex) : done(ex, 1) {}
        Signal done;
        std::optional<CallResult> result;
    };

    Impl(asio::ip::tcp::socket s, ClientSessionOptions o, Logger l)
        : socket(std::move(s)),
          keepalive(o.keepalive),
          log(std::move(l)),
          session(std::move(o), Clock::now()),
          wake(socket.get_executor(), 1),
          timer(socket.get_executor()) {}

    asio::ip::tcp::socket socket;
    KeepaliveParams keepalive;
    Logger log;
    ClientSession session;
    Signal wake;
    asio::steady_timer timer;
    std::map<std::int32_t, std::shared_ptr<Pending>> pending;
    bool closing = false;
    bool ended = false;
    std::uint64_t refused_retries = 0;
    Error error;

    void kick() { wake.try_send(error_code{}); }

    void deliver() {
        for (auto& r : session.take_results()) {
            auto it = pending.find(r.stream_id);
            if (it == pending.end()) continue;
            it->second->result = std::move(r);
            it->second->done.try_send(error_code{});
            pending.erase(it);
        }
    }

    asio::awaitable<void> reader() {
        std::array<std::uint8_t, 16384> buf;
        for (;;) {
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), tuple_awaitable);
            if (ec) {
                if (ec != asio::error::eof && ec != asio::error::connection_reset &&
                    ec != asio::error::operation_aborted)
                    error = Error(ec, "gRPC client connection: read");
                co_return;
            }
            session.receive({buf.data(), n}, Clock::now());
            deliver();
            timer.cancel();
            kick();
        }
    }

    asio::awaitable<void> writer() {
        co_await asio::this_coro::throw_if_cancelled(false);
        std::string out;
        for (;;) {
            if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
                co_return;
            out.clear();
            session.produce_output(out);
            deliver();
            if (!out.empty()) {
                auto [ec, n] = co_await asio::async_write(socket, asio::buffer(out), tuple_awaitable);
                if (ec) {
                    if (ec != asio::error::broken_pipe && ec != asio::error::connection_reset &&
                        ec != asio::error::operation_aborted)
                        error = Error(ec, "gRPC client connection: write");
                    co_return;
                }
                continue;
            }
            if (closing || session.done()) co_return;
            (void)co_await wake.async_receive(tuple_awaitable);
        }
    }

    asio::awaitable<CallResult> call_once(std::string path, std::string request,
                                          std::optional<Duration> timeout) {
        CallResult r;
        if (ended || closing) {
            r.status = status(StatusCode::unavailable, "the connection is closed");
            r.unsent = true;
            co_return r;
        }
        auto id = session.start_call(path, request, timeout, Clock::now());
        if (!id) {
            r.status = status(StatusCode::unavailable, "the connection accepts no new calls");
            r.unsent = true;
            co_return r;
        }
        auto p = std::make_shared<Pending>(socket.get_executor());
        pending[*id] = p;
        timer.cancel();  // the new deadline may be the earliest
        kick();
        (void)co_await p->done.async_receive(tuple_awaitable);
        if (p->result) co_return std::move(*p->result);
        // The caller was cancelled: reset the stream; its result is dropped.
        session.cancel(*id);
        pending.erase(*id);
        kick();
        r.stream_id = *id;
        r.status = status(StatusCode::cancelled, "context canceled");
        co_return r;
    }

    asio::awaitable<void> ticker() {
        for (;;) {
            const auto next = session.next_timer();
            timer.expires_at(next ? *next : TimePoint::max());
            (void)co_await timer.async_wait(tuple_awaitable);
            if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
                co_return;
            const auto now = Clock::now();
            if (next && *next <= now) {
                session.on_timer(now);
                deliver();
                kick();
            }
        }
    }
};

GrpcClientConnection::GrpcClientConnection(asio::ip::tcp::socket socket, ClientSessionOptions options,
                                           Logger log)
    : impl_(std::make_unique<Impl>(std::move(socket), std::move(options), std::move(log))) {}

GrpcClientConnection::~GrpcClientConnection() = default;

asio::awaitable<Result<void>> GrpcClientConnection::run() {
    auto& me = *impl_;
    co_await asio::this_coro::throw_if_cancelled(false);
    try {
        co_await (me.reader() || me.writer() || me.ticker());
    } catch (const std::exception& e) {
        if (!me.error) me.error = Error(Errc::internal, std::string("gRPC client connection: ") + e.what());
    }
    me.ended = true;
    me.session.connection_lost(me.closing ? "connection closed by the client" : "connection closed");
    me.deliver();
    error_code ignored;
    me.socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    me.socket.close(ignored);
    if (!me.error && !me.closing && !me.session.close_reason().empty() &&
        me.session.close_reason() != "connection closed") {
        const std::string& why = me.session.close_reason();
        me.error = Error(why.rfind("keepalive", 0) == 0 ? Errc::timeout : Errc::connection_closed,
                         "gRPC client connection ended: " + why);
    }
    if (me.session.told_too_many_pings())
        me.log.warn("the server sent GOAWAY too_many_pings: keepalive interval for it doubled to {} ms",
                    std::chrono::duration_cast<std::chrono::milliseconds>(next_keepalive().time).count());
    if (me.error) co_return me.error;
    co_return Result<void>{};
}

asio::awaitable<CallResult> GrpcClientConnection::call(std::string path, std::string request,
                                                       std::optional<Duration> timeout) {
    auto& me = *impl_;
    const auto deadline = timeout ? std::optional<TimePoint>(Clock::now() + *timeout) : std::nullopt;
    for (int attempt = 1;; ++attempt) {
        std::optional<Duration> left;
        if (deadline) {
            left = *deadline - Clock::now();
            if (*left <= Duration::zero()) {
                CallResult r;
                r.status = status(StatusCode::deadline_exceeded, "context deadline exceeded");
                co_return r;
            }
        }
        CallResult r = co_await me.call_once(path, request, left);
        if (!r.refused) co_return r;
        // Refused unprocessed (RFC 9113 §8.7): again here while this connection takes calls
        // (nghttp2 now holds it back until the server's limit has room), else the owner makes it
        // on a new connection as it does for a call a GOAWAY left unsent.
        if (!accepting_calls()) {
            r.unsent = true;
            co_return r;
        }
        if (attempt >= kRefusedAttempts) co_return r;
        ++me.refused_retries;
        me.log.debug("{} refused by the server ({}), attempt {} of {} on the same connection", path,
                     r.status.message, attempt + 1, kRefusedAttempts);
    }
}

void GrpcClientConnection::close() {
    impl_->closing = true;
    impl_->kick();
}

bool GrpcClientConnection::accepting_calls() const {
    return !impl_->ended && !impl_->closing && impl_->session.accepting_calls();
}

std::uint64_t GrpcClientConnection::refused_retries() const { return impl_->refused_retries; }

bool GrpcClientConnection::told_too_many_pings() const { return impl_->session.told_too_many_pings(); }

KeepaliveParams GrpcClientConnection::next_keepalive() const {
    return impl_->session.told_too_many_pings() ? throttled_after_too_many_pings(impl_->keepalive)
                                                : impl_->keepalive;
}

}  // namespace zferry::transport::grpc
