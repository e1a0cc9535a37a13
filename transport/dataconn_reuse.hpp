// dataconn connection reuse between two zferry peers (both advertised zferry/1), as pure
// decisions: which connection may carry another request, and the client's bounded pool of
// idle connections with their age. zrepl's dataconn is one request per connection; with a
// zrepl peer nothing here ever keeps a connection.
//
// A connection is kept only in a state both sides know exactly: the request completed as the
// protocol says (the response and any stream read to their End, the server's last frame an
// OK response or a stream's End). Any error, an error trailer, a cancelled or partially read
// request closes it: a connection in an unknown state is never reused.
#pragma once

#include "transport/dataconn_protocol.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

namespace zferry::transport::dataconn {

// The server: after carrying out `last` (written: it reached the socket), whether it reads
// another request on this connection. Only for a zferry/1 connection with reuse on, and only
// after RespondOk (ping, recv) or WriteEnd (a send's stream ended cleanly).
bool server_serves_next(bool zferry_negotiated, bool reuse_enabled, const ServerDecision& last,
                        bool written) noexcept;

// The client: whether a finished request's connection goes back to the pool. `clean`: the
// request succeeded and everything the server sent for it was read to its end.
bool client_keeps(bool zferry_negotiated, bool reuse_enabled, bool clean) noexcept;

// The client's idle connections to one endpoint: at most `max_idle`, each reused only within
// `idle_timeout` of its return (well under the server's wait for a next request, so the
// server does not close a connection as the client takes it). Time is passed in.
template <class T>
class IdlePool {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    IdlePool(std::size_t max_idle, std::chrono::milliseconds idle_timeout)
        : max_idle_(max_idle), idle_timeout_(idle_timeout) {}

    // Returns a connection to the pool; what no longer fits (the oldest, or `c` itself when
    // the pool holds none) comes back for closing.
    std::vector<T> put(T c, TimePoint now) {
        std::vector<T> out;
        if (max_idle_ == 0) {
            out.push_back(std::move(c));
            return out;
        }
        while (idle_.size() >= max_idle_) {
            out.push_back(std::move(idle_.front().conn));
            idle_.pop_front();
        }
        idle_.push_back(Entry{std::move(c), now});
        return out;
    }

    struct Taken {
        std::optional<T> conn;   // the most recently returned connection still young enough
        std::vector<T> expired;  // to close
    };
    // The freshest idle connection (the least likely to be closed by the server); every one
    // idle for idle_timeout or longer comes back for closing.
    Taken take(TimePoint now) {
        Taken t;
        while (!idle_.empty() && now - idle_.front().since >= idle_timeout_) {
            t.expired.push_back(std::move(idle_.front().conn));
            idle_.pop_front();
        }
        if (!idle_.empty()) {
            t.conn = std::move(idle_.back().conn);
            idle_.pop_back();
        }
        return t;
    }

    // When the oldest idle connection expires (nullopt: none idle): the owner closes what
    // expire() returns then, so no kept connection outlives its timeout (a server waits for
    // it with its own next-request deadline, and a daemon stopping would wait for it).
    std::optional<TimePoint> next_expiry() const {
        if (idle_.empty()) return std::nullopt;
        return idle_.front().since + idle_timeout_;
    }
    // Every connection idle for idle_timeout or longer, for closing.
    std::vector<T> expire(TimePoint now) {
        std::vector<T> out;
        while (!idle_.empty() && now - idle_.front().since >= idle_timeout_) {
            out.push_back(std::move(idle_.front().conn));
            idle_.pop_front();
        }
        return out;
    }

    // Everything, for closing (the client closes).
    std::vector<T> drain() {
        std::vector<T> out;
        for (auto& e : idle_) out.push_back(std::move(e.conn));
        idle_.clear();
        return out;
    }

    std::size_t size() const noexcept { return idle_.size(); }

private:
    struct Entry {
        T conn;
        TimePoint since;
    };
    std::size_t max_idle_;
    std::chrono::milliseconds idle_timeout_;
    std::deque<Entry> idle_;
};

}  // namespace zferry::transport::dataconn
