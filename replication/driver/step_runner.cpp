#include "replication/driver/step_runner.hpp"

#include "core/async.hpp"
#include "core/throttle.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <vector>

namespace zferry::replication {

namespace asio = boost::asio;

namespace {

struct CopyResult {
    std::uint64_t bytes = 0;
    boost::system::error_code read_error, write_error;
    bool cancelled = false;
};

// Copies until end of file or an error; the descriptors stay owned by the streams. Each read
// is at most what the bandwidth limits grant (their bucket capacity bounds a chunk), and what
// a short read leaves unused goes back to them.
asio::awaitable<CopyResult> copy(int in_fd, int out_fd, const std::function<void(std::uint64_t)>& progress,
                                 std::array<Throttle*, 2> limits) {
    auto ex = co_await asio::this_coro::executor;
    asio::posix::stream_descriptor in(ex, in_fd), out(ex, out_fd);
    std::vector<char> buf(std::size_t{1} << 20);
    const bool limited = limits[0] != nullptr || limits[1] != nullptr;
    CopyResult r;
    for (;;) {
        std::size_t want = buf.size();
        if (limited) {
            want = co_await acquire_all(limits, buf.size());
            if (want == 0) {
                r.cancelled = true;
                break;
            }
        }
        auto [rec, n] = co_await in.async_read_some(asio::buffer(buf.data(), want), use_ec);
        if (limited) refund_all(limits, want, n);
        if (n > 0) {
            auto [wec, m] = co_await asio::async_write(out, asio::buffer(buf.data(), n), use_ec);
            r.bytes += m;
            if (progress) progress(r.bytes);
            if (wec) {
                r.write_error = wec;
                r.cancelled = wec == asio::error::operation_aborted;
                break;
            }
        }
        if (rec) {
            if (rec != asio::error::eof) r.read_error = rec;
            r.cancelled = rec == asio::error::operation_aborted;
            break;
        }
    }
    in.release();
    out.release();
    co_return r;
}

}  // namespace

asio::awaitable<Result<StepOutcome>> run_step(Sender& sender, Receiver& receiver, std::string filesystem,
                                              Step step, Protection protection,
                                              std::function<void(std::uint64_t)> progress) {
    // Cancellation arrives as operation_aborted errors, never as an exception in the middle
    // of the step: every exit below stops what was started.
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    StepRequest sreq;
    sreq.filesystem = filesystem;
    sreq.from = step.from;
    sreq.to = step.to;
    sreq.resume_token = step.resume_token;
    sreq.protection = protection;
    sreq.intermediates = step.is_compound();
    auto sent = co_await sender.send(sreq);
    if (!sent) {
        co_await asio::this_coro::throw_if_cancelled(throw_before);
        co_return Error(sent.error()).wrap("sender");
    }
    // The sender did not use the token (or there was none): a partial receive is stale.
    ReceiveRequest rreq{filesystem, step.to, !sent->used_resume_token, protection, step.from.has_value()};
    auto session = co_await receiver.receive(rreq);
    if (!session) {
        co_await sent->stream.abort();
        co_await asio::this_coro::throw_if_cancelled(throw_before);
        co_return Error(session.error()).wrap("receiver");
    }
    std::array<Throttle*, 2> limits;  // (no braced temporaries in coroutines: GCC 12)
    limits[0] = sender.send_bandwidth_limit();
    limits[1] = receiver.recv_bandwidth_limit();
    auto copied = co_await copy(sent->stream.fd(), session->stream.fd(), progress, limits);
    // Cleanup runs to the end even when this coroutine was cancelled: a half-stopped transfer
    // would leave a zfs child or a busy dataset behind.
    Result<StepOutcome> outcome = StepOutcome{copied.bytes, sent->used_resume_token};
    if (copied.cancelled) {
        co_await session->stream.abort();
        co_await sent->stream.abort();
        outcome = Error(asio::error::operation_aborted, filesystem + ": step " + step.to.name +
                                                            " cancelled after " +
                                                            std::to_string(copied.bytes) + " bytes");
    } else if (copied.read_error) {
        // The sender's side broke: its own exit says why.
        co_await session->stream.abort();
        auto s = co_await sent->stream.finish();
        outcome = Error(s ? Error(copied.read_error, "reading the send stream") : s.error()).wrap("sender");
    } else {
        // End of stream, or the receiver stopped reading (write error): the receiver's exit
        // says why first; the sender is finished or stopped after.
        auto r = co_await receiver.finish_receive(*session);
        if (!r) {
            co_await sent->stream.abort();
            outcome = Error(r.error()).wrap("receiver");
        } else if (copied.write_error) {
            co_await sent->stream.abort();
            outcome = Error(copied.write_error, filesystem + ": the receiver stopped reading");
        } else if (auto s = co_await sent->stream.finish(); !s) {
            outcome = Error(s.error()).wrap("sender");
        } else if (auto c = co_await sender.send_completed(sreq); !c) {
            outcome = Error(c.error()).wrap("sender (SendCompleted)");
        }
    }
    co_await asio::this_coro::throw_if_cancelled(throw_before);
    co_return outcome;
}

}  // namespace zferry::replication
