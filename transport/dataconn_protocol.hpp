// The dataconn protocol without I/O: which messages a request and its response consist of,
// how a response header reads, and, once a handler and the stream have done their part, what
// the server logs and what it tells the client (or the client reports to its caller). The
// results are decisions as data, printable and comparable; DataconnServer::serve_request and
// the client's response handling (dataconn.cpp) carry them out on a StreamConn.
//
// A request: the request header frame (the endpoint), the request message, and for /v1/recv
// the stream (zfs_stream frames, then End or an error trailer). A response: the response
// header ("HANDLER OK\n" or "HANDLER ERROR:\n" and the error's text), after OK the response
// message, and for /v1/send the stream.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace zferry::transport::dataconn {

inline constexpr std::string_view kHandlerOk = "HANDLER OK\n";
inline constexpr std::string_view kHandlerErrorPrefix = "HANDLER ERROR:\n";

enum class Endpoint { ping, send, recv };
std::string_view endpoint_name(Endpoint e) noexcept;
std::ostream& operator<<(std::ostream& os, Endpoint e);

// The endpoint a request header names (exactly, byte for byte); any other header is the
// error the client is answered with (invalid_argument).
Result<Endpoint> parse_endpoint(std::string_view header);

// Which side sends a stream after the messages: the client (/v1/recv) after its request,
// the server (/v1/send) after an OK response. /v1/ping has none.
struct Sequence {
    bool request_stream = false;
    bool response_stream = false;
    friend bool operator==(const Sequence&, const Sequence&) = default;
};
Sequence sequence(Endpoint e) noexcept;
std::ostream& operator<<(std::ostream& os, const Sequence& s);

// Between two zferry peers (both advertised zferry/1 in the handshake) an error's text starts
// with one of these lines: whether the server's error was temporary there (a busy dataset, a
// zfs child that timed out, the server shutting down), so that the client retries exactly
// what can succeed later. zrepl never writes such a line and never reads one: a zrepl peer
// gets and sends the plain text, which the client takes as permanent (zrepl's meaning).
inline constexpr std::string_view kErrorClassTemporary = "zferry-error-class: temporary\n";
inline constexpr std::string_view kErrorClassPermanent = "zferry-error-class: permanent\n";

// Response headers as the server writes them. With a zrepl peer the error's message (with
// the server's "(temporary...)" or "(permanent)"); with a zferry peer the class line, then
// the message without that verdict (the client's error states its own, from the class).
std::string ok_header();
std::string error_header(const Error& e, bool zferry_peer = false);

// What a server tells a client about a handler's error: an error that only says the server
// cancelled the request (operation_aborted) while it is stopping becomes
// Errc::shutdown ("the server is shutting down"), temporary: the client retries elsewhere or
// later, while any other error keeps its code.
Error error_for_client(Error e, bool server_stopping);

namespace response {
// HANDLER OK: the response message follows (then the stream of /v1/send).
struct Ok {
    friend bool operator==(const Ok&, const Ok&) = default;
};
// HANDLER ERROR: the handler's error, as transport's remote_error with the server's text
// (remote_temporary when a zferry peer's class line says temporary).
struct Refused {
    Error error;
    friend bool operator==(const Refused& a, const Refused& b) {
        return a.error.code() == b.error.code() && a.error.context() == b.error.context();
    }
};
// Neither: invalid_response.
struct Invalid {
    Error error;
    friend bool operator==(const Invalid& a, const Invalid& b) {
        return a.error.code() == b.error.code() && a.error.context() == b.error.context();
    }
};
std::ostream& operator<<(std::ostream& os, const Ok& r);
std::ostream& operator<<(std::ostream& os, const Refused& r);
std::ostream& operator<<(std::ostream& os, const Invalid& r);
}  // namespace response

using ResponseHeader = std::variant<response::Ok, response::Refused, response::Invalid>;
std::ostream& operator<<(std::ostream& os, const ResponseHeader& r);

// A response header as the client reads it: exactly "HANDLER OK\n", or anything starting
// with "HANDLER ERROR:\n" (the rest is the error's text, possibly empty), or invalid. Only
// from a zferry peer is a class line after the prefix read (and taken off the text); from a
// zrepl peer the whole text is the error's, permanent.
ResponseHeader parse_response_header(std::string_view header, bool zferry_peer = false);

// A line for the server's log (the request's logger adds peer, client and endpoint).
struct LogLine {
    LogLevel level = LogLevel::warn;
    std::string text;
    friend bool operator==(const LogLine&, const LogLine&) = default;
};
std::ostream& operator<<(std::ostream& os, const LogLine& l);

// What the server writes next; each ends the request.
namespace server_action {
// The response header OK and the response message.
struct RespondOk {
    std::string structured;
    friend bool operator==(const RespondOk&, const RespondOk&) = default;
};
// Logged as "request failed: <error>" and sent as HANDLER ERROR with the error's text.
struct RespondError {
    Error error;
    friend bool operator==(const RespondError& a, const RespondError& b) {
        return a.error.code() == b.error.code() && a.error.context() == b.error.context();
    }
};
// After the stream of /v1/send: End (the source succeeded).
struct WriteEnd {
    friend bool operator==(const WriteEnd&, const WriteEnd&) = default;
};
// After the stream of /v1/send: the source's error as the stream's error trailer.
struct WriteErrorTrailer {
    std::string text;
    friend bool operator==(const WriteErrorTrailer&, const WriteErrorTrailer&) = default;
};
// Nothing more can or need be written: the connection is closed.
struct Close {
    friend bool operator==(const Close&, const Close&) = default;
};
std::ostream& operator<<(std::ostream& os, const RespondOk& a);
std::ostream& operator<<(std::ostream& os, const RespondError& a);
std::ostream& operator<<(std::ostream& os, const WriteEnd& a);
std::ostream& operator<<(std::ostream& os, const WriteErrorTrailer& a);
std::ostream& operator<<(std::ostream& os, const Close& a);
}  // namespace server_action

using ServerAction =
    std::variant<server_action::RespondOk, server_action::RespondError, server_action::WriteEnd,
                 server_action::WriteErrorTrailer, server_action::Close>;
std::ostream& operator<<(std::ostream& os, const ServerAction& a);

// A decision: what the server logs (if anything) before it carries out `action`.
struct ServerDecision {
    std::optional<LogLine> log;
    ServerAction action;
    friend bool operator==(const ServerDecision&, const ServerDecision&) = default;
};
std::ostream& operator<<(std::ostream& os, const ServerDecision& d);

// A request refused before any stream: HANDLER ERROR with `e` (an unknown endpoint, a
// handler's error, a pipe the server cannot use).
ServerDecision refuse(Error e);

// A handler's answer that carries no stream (/v1/ping; /v1/send and /v1/recv before their
// stream): its structured response, or its error for the client.
ServerDecision answer(Result<std::string> handler);

// A send or recv handler that returned success without its pipe or its completion callback
// is an implementation error the client hears of; nullopt when the reply is complete.
std::optional<Error> incomplete_reply(Endpoint e, bool has_stream, bool has_completion);

// /v1/send after the stream: `sent` is what writing the stream to the client gave, `source`
// what the source (zfs send) said after its pipe's EOF. A broken connection ends the request
// (logged: nothing can reach the client); a failed source is logged and sent as the error
// trailer; otherwise End.
ServerDecision send_outcome(const Result<std::uint64_t>& sent, const Result<void>& source);

// /v1/recv after the stream: `received` is what reading the stream into the sink gave,
// `sink_failed` whether that failed because the sink (zfs recv) stopped taking data,
// `usable` whether the connection can still carry a response, `finished` the handler's
// verdict after the sink's EOF. A sink that failed mid-stream answers with its own error
// (the finish's, or the write error when finish claims success); another stream failure is
// answered with that failure while the connection is usable; a finish error is answered;
// otherwise OK with the finish's structured response.
ServerDecision recv_outcome(const Result<std::uint64_t>& received, bool sink_failed, bool usable,
                            const Result<std::string>& finished);

// The client of /v1/recv writes the stream and reads the response side by side; which of
// the two results it reports.
enum class RecvReport {
    response,          // the server's response (OK, or its error)
    stream_error,      // the local stream's failure
    premature_success  // protocol_error: an OK before the end of the stream
};
std::ostream& operator<<(std::ostream& os, RecvReport r);

// `stream_ok`: the stream was written whole with its End; `response_first`: the response
// arrived while the stream was still being written (and stopped it); `response`: the
// response. A response that stopped the stream says why, unless it claims success; a stream
// that failed on its own is reported, unless the server's refusal explains it.
RecvReport recv_report(bool stream_ok, bool response_first, const Result<std::string>& response);

}  // namespace zferry::transport::dataconn
