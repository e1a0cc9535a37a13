// The byte relay under the tls and ssh+stdinserver wires: both hand the endpoint server one end
// of a socketpair and move bytes between its other end and the real transport (a TLS stream, a
// pair of pipes). The pair, and one direction of that copy for any two Asio streams.
#pragma once

#include "core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace zferry::transport {

// Both ends of a local socket pair: `relay` for the relay task, `wire` adopted as the socket a
// Wire carries (a tcp::socket over a unix socket: the endpoint server only reads and writes it).
struct RelayPair {
    std::unique_ptr<boost::asio::local::stream_protocol::socket> relay;
    boost::asio::ip::tcp::socket wire;
};

// The send and receive buffer size asked for on both ends of the pair.
inline constexpr int kRelayPairBuffer = 1 << 20;

// Errors name `transport` ("TLS", "ssh+stdinserver") and the step that failed.
Result<RelayPair> make_relay_pair(boost::asio::any_io_executor ex, std::string_view transport);

// Copies from `from` to `to` until `from` ends (EOF or an error) or a write fails; the caller
// then ends `to` as its transport ends a direction (a half-close, a close).
template <class From, class To>
boost::asio::awaitable<void> copy_until_end(From& from, To& to) {
    namespace asio = boost::asio;
    constexpr auto use_ec = asio::as_tuple(asio::use_awaitable);
    std::vector<char> buf(std::size_t{1} << 16);
    for (;;) {
        auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), use_ec);
        if (n > 0) {
            auto [wec, m] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_ec);
            if (wec) break;
        }
        if (ec) break;
    }
}

}  // namespace zferry::transport
