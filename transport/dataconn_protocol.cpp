#include "transport/dataconn_protocol.hpp"

#include "transport/transport_error.hpp"

#include <ostream>

namespace zferry::transport::dataconn {

std::string_view endpoint_name(Endpoint e) noexcept {
    switch (e) {
        case Endpoint::ping: return "/v1/ping";
        case Endpoint::send: return "/v1/send";
        case Endpoint::recv: return "/v1/recv";
    }
    return "?";
}

std::ostream& operator<<(std::ostream& os, Endpoint e) { return os << endpoint_name(e); }

Result<Endpoint> parse_endpoint(std::string_view header) {
    for (auto e : {Endpoint::ping, Endpoint::send, Endpoint::recv})
        if (header == endpoint_name(e)) return e;
    return Error(Errc::invalid_argument, "requested endpoint '" + std::string(header) + "' does not exist");
}

Sequence sequence(Endpoint e) noexcept {
    return Sequence{.request_stream = e == Endpoint::recv, .response_stream = e == Endpoint::send};
}

std::ostream& operator<<(std::ostream& os, const Sequence& s) {
    return os << "Sequence{request_stream=" << s.request_stream << ", response_stream=" << s.response_stream
              << "}";
}

std::string ok_header() { return std::string(kHandlerOk); }
std::string error_header(const Error& e, bool zferry_peer) {
    if (!zferry_peer) return std::string(kHandlerErrorPrefix) + e.message();
    // The message without the verdict: the client's error adds its own from the class line.
    std::string text = e.context();
    if (e.code()) {
        if (!text.empty()) text += ": ";
        text += e.code().message();
    }
    return std::string(kHandlerErrorPrefix) +
           std::string(e.temporary() ? kErrorClassTemporary : kErrorClassPermanent) + text;
}

Error error_for_client(Error e, bool server_stopping) {
    if (server_stopping && e.code() == boost::system::errc::operation_canceled)
        return Error(Errc::shutdown, "the server is shutting down; the request was stopped (" + e.message() +
                                         "); retry when it is back");
    return e;
}

namespace response {
std::ostream& operator<<(std::ostream& os, const Ok&) { return os << "Ok{}"; }
std::ostream& operator<<(std::ostream& os, const Refused& r) {
    return os << "Refused{" << r.error.message() << "}";
}
std::ostream& operator<<(std::ostream& os, const Invalid& r) {
    return os << "Invalid{" << r.error.message() << "}";
}
}  // namespace response

std::ostream& operator<<(std::ostream& os, const ResponseHeader& r) {
    std::visit([&os](const auto& x) { os << x; }, r);
    return os;
}

ResponseHeader parse_response_header(std::string_view header, bool zferry_peer) {
    if (header == kHandlerOk) return response::Ok{};
    if (header.starts_with(kHandlerErrorPrefix)) {
        std::string_view text = header.substr(kHandlerErrorPrefix.size());
        if (zferry_peer && text.starts_with(kErrorClassTemporary))
            return response::Refused{Error(TransportErrc::remote_temporary,
                                           std::string(text.substr(kErrorClassTemporary.size())))};
        if (zferry_peer && text.starts_with(kErrorClassPermanent))
            text.remove_prefix(kErrorClassPermanent.size());
        return response::Refused{Error(TransportErrc::remote_error, std::string(text))};
    }
    return response::Invalid{
        Error(TransportErrc::invalid_response, "response header is neither OK nor ERROR")};
}

std::ostream& operator<<(std::ostream& os, const LogLine& l) {
    return os << "LogLine{level=" << static_cast<int>(l.level) << ", " << l.text << "}";
}

namespace server_action {
std::ostream& operator<<(std::ostream& os, const RespondOk& a) {
    return os << "RespondOk{" << a.structured.size() << " bytes}";
}
std::ostream& operator<<(std::ostream& os, const RespondError& a) {
    return os << "RespondError{" << a.error.message() << "}";
}
std::ostream& operator<<(std::ostream& os, const WriteEnd&) { return os << "WriteEnd{}"; }
std::ostream& operator<<(std::ostream& os, const WriteErrorTrailer& a) {
    return os << "WriteErrorTrailer{" << a.text << "}";
}
std::ostream& operator<<(std::ostream& os, const Close&) { return os << "Close{}"; }
}  // namespace server_action

std::ostream& operator<<(std::ostream& os, const ServerAction& a) {
    std::visit([&os](const auto& x) { os << x; }, a);
    return os;
}

std::ostream& operator<<(std::ostream& os, const ServerDecision& d) {
    os << "ServerDecision{";
    if (d.log) os << *d.log << ", ";
    return os << d.action << "}";
}

ServerDecision refuse(Error e) { return {std::nullopt, server_action::RespondError{std::move(e)}}; }

ServerDecision answer(Result<std::string> handler) {
    if (!handler) return {std::nullopt, server_action::RespondError{handler.error()}};
    return {std::nullopt, server_action::RespondOk{std::move(*handler)}};
}

std::optional<Error> incomplete_reply(Endpoint e, bool has_stream, bool has_completion) {
    if (has_stream && has_completion) return std::nullopt;
    switch (e) {
        case Endpoint::send:
            return Error(Errc::internal, "send handler returned no stream (implementation error)");
        case Endpoint::recv:
            return Error(Errc::internal, "recv handler returned no sink (implementation error)");
        case Endpoint::ping: break;
    }
    return std::nullopt;
}

ServerDecision send_outcome(const Result<std::uint64_t>& sent, const Result<void>& source) {
    if (!sent)
        return {LogLine{LogLevel::warn, "sending stream: " + sent.error().message()}, server_action::Close{}};
    if (!source)
        return {LogLine{LogLevel::warn, "stream source failed after " + std::to_string(*sent) +
                                            " bytes: " + source.error().message()},
                server_action::WriteErrorTrailer{source.error().message()}};
    return {LogLine{LogLevel::debug, "sent stream of " + std::to_string(*sent) + " bytes"},
            server_action::WriteEnd{}};
}

ServerDecision recv_outcome(const Result<std::uint64_t>& received, bool sink_failed, bool usable,
                            const Result<std::string>& finished) {
    if (!received) {
        LogLine line{LogLevel::warn, "receiving stream: " + received.error().message()};
        // The consumer (zfs recv) stopped reading: its own error says why, and the client
        // must hear it (a refusal is permanent) instead of a reset of the connection.
        if (sink_failed)
            return {std::move(line),
                    server_action::RespondError{finished ? received.error() : finished.error()}};
        if (usable) return {std::move(line), server_action::RespondError{received.error()}};
        return {std::move(line), server_action::Close{}};
    }
    if (!finished) return {std::nullopt, server_action::RespondError{finished.error()}};
    return {LogLine{LogLevel::debug, "received stream of " + std::to_string(*received) + " bytes"},
            server_action::RespondOk{*finished}};
}

std::ostream& operator<<(std::ostream& os, RecvReport r) {
    switch (r) {
        case RecvReport::response: return os << "response";
        case RecvReport::stream_error: return os << "stream_error";
        case RecvReport::premature_success: return os << "premature_success";
    }
    return os << "?";
}

RecvReport recv_report(bool stream_ok, bool response_first, const Result<std::string>& response) {
    if (stream_ok) return RecvReport::response;
    if (response_first) return response ? RecvReport::premature_success : RecvReport::response;
    if (!response && (response.error().code() == make_error_code(TransportErrc::remote_error) ||
                      response.error().code() == make_error_code(TransportErrc::remote_temporary)))
        return RecvReport::response;
    return RecvReport::stream_error;
}

}  // namespace zferry::transport::dataconn
