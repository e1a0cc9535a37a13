#include "daemon/control/control_parse.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace zferry::daemon {

namespace http = boost::beast::http;

void limit_control_parser(ControlParser& parser, std::size_t max_request) {
    parser.header_limit(kControlHeaderLimit);
    parser.body_limit(max_request);
}

ControlRequest to_control_request(const http::request<http::string_body>& req) {
    ControlRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    return r;
}

ControlReply too_large_reply(std::size_t max_request) {
    ControlReply r;
    r.status = 413;
    r.content_type = "text/plain";
    r.body = "request too large (limit " + std::to_string(max_request) + " bytes)\n";
    return r;
}

std::optional<ControlReply> reply_for_read_error(const boost::system::error_code& ec,
                                                 std::size_t max_request) {
    if (ec == http::error::body_limit || ec == http::error::header_limit) return too_large_reply(max_request);
    return std::nullopt;
}

ControlParse parse_control_request(std::string_view bytes, std::size_t max_request) {
    ControlParser parser;
    limit_control_parser(parser, max_request);
    parser.eager(true);
    ControlParse out;
    boost::asio::const_buffer rest(bytes.data(), bytes.size());
    boost::system::error_code ec;
    while (!parser.is_done()) {
        std::size_t used = 0;
        if (rest.size() > 0) used = parser.put(rest, ec);
        rest += used;
        if (ec && ec != http::error::need_more) {
            out.outcome = reply_for_read_error(ec, max_request) ? ControlParse::Outcome::too_large
                                                                : ControlParse::Outcome::malformed;
            out.error = ec;
            return out;
        }
        ec = {};
        if (parser.is_done() || (used > 0 && rest.size() > 0)) continue;
        // No progress with what there is: what a peer that stops sending here would get.
        if (!parser.got_some())
            ec = make_error_code(http::error::partial_message);  // nothing at all yet
        else
            parser.put_eof(ec);
        if (!ec && parser.is_done()) break;
        out.outcome = (!ec || ec == http::error::partial_message) ? ControlParse::Outcome::incomplete
                      : reply_for_read_error(ec, max_request)     ? ControlParse::Outcome::too_large
                                                                  : ControlParse::Outcome::malformed;
        out.error = ec ? ec : make_error_code(http::error::partial_message);
        return out;
    }
    out.outcome = ControlParse::Outcome::request;
    out.request = to_control_request(parser.get());
    return out;
}

}  // namespace zferry::daemon
