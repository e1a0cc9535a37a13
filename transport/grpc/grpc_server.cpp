#include "transport/grpc/grpc_server.hpp"

#include "core/owned_task.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <memory>

namespace zferry::transport::grpc {

Status ServiceDispatch::unknown_method(std::string_view path) const {
    std::string_view p = path;
    if (!p.empty() && p.front() == '/') p.remove_prefix(1);
    const auto slash = p.rfind('/');
    if (path.empty() || path.front() != '/' || slash == std::string_view::npos)
        return {StatusCode::unimplemented, "malformed method name: \"" + std::string(path) + "\""};
    const std::string service(p.substr(0, slash));
    const std::string method(p.substr(slash + 1));
    const std::string prefix = "/" + service + "/";
    for (const auto& [known, h] : handlers_)
        if (known.compare(0, prefix.size(), prefix) == 0)
            return {StatusCode::unimplemented, "unknown method " + method + " for service " + service};
    return {StatusCode::unimplemented, "unknown service " + service};
}

struct DrainSignal::Impl {
    explicit Impl(asio::any_io_executor ex) : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;  // never expires: cancel() wakes every waiter
};

DrainSignal::DrainSignal(asio::any_io_executor ex) : impl_(std::make_unique<Impl>(ex)) {}
DrainSignal::~DrainSignal() = default;

void DrainSignal::drain() {
    draining_ = true;
    impl_->timer.cancel();
}

asio::awaitable<std::tuple<error_code>> DrainSignal::wait_once() const {
    return impl_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

namespace {

using asio::use_awaitable;
using asio::experimental::awaitable_operators::operator||;
constexpr auto tuple_awaitable = asio::as_tuple(use_awaitable);

class Connection {
public:
    Connection(asio::ip::tcp::socket socket, const ServiceDispatch& dispatch, GrpcServerOptions options,
               Logger log)
        : socket_(std::move(socket)),
          dispatch_(dispatch),
          options_(std::move(options)),
          log_(std::move(log)),
          session_(options_.session, Clock::now()),
          wake_(socket_.get_executor(), 1),
          timer_(socket_.get_executor()) {}

    asio::awaitable<Result<void>> run() {
        co_await asio::this_coro::throw_if_cancelled(false);
        try {
            if (options_.drain)
                co_await (reader() || writer() || ticker() || drainer());
            else
                co_await (reader() || writer() || ticker());
        } catch (const std::exception& e) {
            if (!error_) error_ = Error(Errc::internal, std::string("gRPC connection: ") + e.what());
        }
        // Handlers still running lose their call with the connection.
        for (auto& [id, task] : tasks_) task->cancel();
        for (auto& [id, task] : tasks_) co_await task->join();
        tasks_.clear();
        count_calls();
        error_code ignored;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
        if (!session_.close_reason().empty() && !error_) {
            const std::string& why = session_.close_reason();
            error_ = Error(why.rfind("keepalive", 0) == 0 ? Errc::timeout : Errc::protocol_error,
                           "gRPC connection ended: " + why);
        }
        if (error_) {
            log_.info("gRPC connection closed: {}", error_.message());
            co_return error_;
        }
        log_.debug("gRPC connection closed by the peer");
        co_return Result<void>{};
    }

private:
    void kick() { wake_.try_send(error_code{}); }

    void process_events() {
        for (auto& call : session_.take_calls()) start_handler(std::move(call));
        for (auto id : session_.take_cancelled())
            if (auto it = tasks_.find(id); it != tasks_.end()) it->second->cancel();
        // A new call may carry an earlier deadline than the timer's.
        timer_.cancel();
        kick();
    }

    void start_handler(IncomingCall call) {
        const UnaryHandler* h = dispatch_.find(call.path);
        if (!h) {
            const Status st = dispatch_.unknown_method(call.path);
            log_.with("method", call.path).debug("gRPC call refused: {}", st.message);
            session_.fail(call.stream_id, st);
            return;
        }
        CallContext ctx;
        ctx.log = log_.with("method", call.path);
        if (!options_.client_identity.empty()) ctx.log = ctx.log.with("client", options_.client_identity);
        ctx.method = call.path;
        ctx.client_identity = options_.client_identity;
        ctx.deadline = call.deadline;
        auto task = std::make_unique<OwnedTask>(socket_.get_executor());
        task->start(run_handler(*h, std::move(ctx), std::move(call.message), call.stream_id));
        tasks_.emplace(call.stream_id, std::move(task));
        count_calls();
    }

    void count_calls() {
        if (options_.calls_in_flight) *options_.calls_in_flight = tasks_.size();
    }

    // Parameters by value: the task outlives the caller's frame.
    asio::awaitable<void> run_handler(UnaryHandler handler, CallContext ctx, std::string request,
                                      std::int32_t id) {
        UnaryReply reply;
        bool aborted = false;
        try {
            reply = co_await handler(ctx, std::move(request));
        } catch (const boost::system::system_error& e) {
            aborted = e.code() == asio::error::operation_aborted;
            reply = UnaryReply::error(StatusCode::unknown, e.what());
        } catch (const std::exception& e) {
            reply = UnaryReply::error(StatusCode::unknown, e.what());
        }
        if (!aborted) {
            if (reply.status.ok())
                session_.respond(id, reply.message);
            else
                session_.fail(id, reply.status);
        }
        finished_.push_back(id);
        kick();
    }

    asio::awaitable<void> reader() {
        std::array<std::uint8_t, 16384> buf;
        for (;;) {
            auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), tuple_awaitable);
            if (ec) {
                if (ec != asio::error::eof && ec != asio::error::connection_reset &&
                    ec != asio::error::operation_aborted)
                    error_ = Error(ec, "gRPC connection: read");
                co_return;
            }
            session_.receive({buf.data(), n}, Clock::now());
            process_events();
        }
    }

    // Cancellation (the reader or the timer ended the connection) must not throw out of a
    // join: a task that has finished but not yet signalled is waited for, and the writer
    // returns at the next step.
    asio::awaitable<void> writer() {
        co_await asio::this_coro::throw_if_cancelled(false);
        std::string out;
        for (;;) {
            if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
                co_return;
            out.clear();
            session_.produce_output(out);
            if (!out.empty()) {
                auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out), tuple_awaitable);
                if (ec) {
                    if (ec != asio::error::broken_pipe && ec != asio::error::connection_reset &&
                        ec != asio::error::operation_aborted)
                        error_ = Error(ec, "gRPC connection: write");
                    co_return;
                }
                continue;  // writing may have made room for more (flow control, trailers)
            }
            if (session_.done()) co_return;
            while (!finished_.empty()) {
                const std::int32_t id = finished_.back();
                finished_.pop_back();
                if (auto it = tasks_.find(id); it != tasks_.end()) {
                    co_await it->second->join();
                    tasks_.erase(it);
                    count_calls();
                }
            }
            (void)co_await wake_.async_receive(tuple_awaitable);
        }
    }

    // On drain: the graceful GOAWAY; the connection then ends when its calls are done (the
    // writer sees done()), or when the grace runs out (this returns and the calls are
    // cancelled).
    asio::awaitable<void> drainer() {
        while (!options_.drain->draining()) {
            (void)co_await options_.drain->wait_once();
            if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
                co_return;
        }
        log_.debug("gRPC connection draining: {} calls in flight", session_.active_calls());
        session_.begin_shutdown(Clock::now());
        timer_.cancel();
        kick();
        asio::steady_timer grace(socket_.get_executor(), options_.shutdown_grace);
        (void)co_await grace.async_wait(tuple_awaitable);
        if ((co_await asio::this_coro::cancellation_state).cancelled() == asio::cancellation_type::none)
            log_.info("gRPC connection: calls still running after the shutdown grace are cancelled");
    }

    asio::awaitable<void> ticker() {
        for (;;) {
            const auto next = session_.next_timer();
            timer_.expires_at(next ? *next : TimePoint::max());
            (void)co_await timer_.async_wait(tuple_awaitable);
            if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
                co_return;
            const auto now = Clock::now();
            if (next && *next <= now) {
                session_.on_timer(now);
                for (auto id : session_.take_cancelled())
                    if (auto it = tasks_.find(id); it != tasks_.end()) it->second->cancel();
                kick();
            }
        }
    }

    asio::ip::tcp::socket socket_;
    const ServiceDispatch& dispatch_;
    GrpcServerOptions options_;
    Logger log_;
    ServerSession session_;
    asio::experimental::channel<void(error_code)> wake_;
    asio::steady_timer timer_;
    std::map<std::int32_t, std::unique_ptr<OwnedTask>> tasks_;
    std::vector<std::int32_t> finished_;
    Error error_;
};

}  // namespace

asio::awaitable<Result<void>> serve_grpc_connection(asio::ip::tcp::socket socket,
                                                    const ServiceDispatch& dispatch,
                                                    GrpcServerOptions options, Logger log) {
    Connection conn(std::move(socket), dispatch, std::move(options), std::move(log));
    co_return co_await conn.run();
}

}  // namespace zferry::transport::grpc
