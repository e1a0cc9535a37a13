// The control socket's request parsing without a socket: Beast's request parser with the
// server's limits, and what the server answers when reading fails. ControlServer reads
// through the same parser setup (`limit_control_parser`) and maps read errors with
// `reply_for_read_error`; `parse_control_request` feeds a whole byte string through it (for
// tests and the fuzz target).
#pragma once

#include "daemon/control/control_api.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace zferry::daemon {

// A request's header may be at most this long (a larger one is refused like a large body).
inline constexpr std::size_t kControlHeaderLimit = 8 * 1024;

using ControlParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The header limit above and `max_request` as the body limit.
void limit_control_parser(ControlParser& parser, std::size_t max_request);

ControlRequest to_control_request(const boost::beast::http::request<boost::beast::http::string_body>& req);

// 413, text/plain, naming the limit.
ControlReply too_large_reply(std::size_t max_request);

// The reply to a request that could not be read: 413 for a header or body over its limit,
// nothing (the connection is dropped) for anything else (malformed, cut off, I/O error).
std::optional<ControlReply> reply_for_read_error(const boost::system::error_code& ec,
                                                 std::size_t max_request);

struct ControlParse {
    enum class Outcome {
        request,     // `request` holds it
        too_large,   // header or body over its limit: the server answers too_large_reply
        malformed,   // not HTTP/1.x: the server drops the connection
        incomplete,  // the bytes end inside the request: the server waits, then times out
    };
    Outcome outcome = Outcome::malformed;
    ControlRequest request;
    boost::system::error_code error;  // why, unless `request`
};

// Parses the first request in `bytes` as the server would read it from its socket.
ControlParse parse_control_request(std::string_view bytes, std::size_t max_request);

}  // namespace zferry::daemon
