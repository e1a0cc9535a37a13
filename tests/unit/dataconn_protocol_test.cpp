// The pure dataconn protocol: endpoints and message sequences, response headers byte by
// byte, and every outcome of /v1/send, /v1/recv and the client's /v1/recv report: what the
// server logs, what it tells the client, and which error wins.
#include "transport/dataconn_protocol.hpp"
#include "transport/transport_error.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace zferry::transport::dataconn {
namespace {

using namespace server_action;

template <class T>
std::string show(const T& x) {
    std::ostringstream os;
    os << x;
    return os.str();
}

const Error kBrokenPipe(make_error_code(std::errc::broken_pipe), "writing stream to sink");
const Error kReset(TransportErrc::shutdown, "reading stream");
const Error kZfsRefused(Errc::invalid_argument, "zfs recv: destination has been modified");
const Error kSourceFailed(Errc::internal, "zfs send: dataset does not exist");

TEST(DataconnEndpoint, EveryEndpointParsesExactlyAndNothingElse) {
    for (auto e : {Endpoint::ping, Endpoint::send, Endpoint::recv}) {
        auto r = parse_endpoint(endpoint_name(e));
        ASSERT_TRUE(r) << e;
        EXPECT_EQ(*r, e);
        EXPECT_EQ(show(e), endpoint_name(e));
        // Every proper prefix and every one-byte change of a name is unknown.
        const std::string name(endpoint_name(e));
        for (std::size_t n = 0; n < name.size(); ++n)
            EXPECT_FALSE(parse_endpoint(name.substr(0, n))) << name.substr(0, n);
        for (std::size_t i = 0; i < name.size(); ++i) {
            std::string changed = name;
            changed[i] ^= 0x20;
            EXPECT_FALSE(parse_endpoint(changed)) << changed;
        }
        EXPECT_FALSE(parse_endpoint(name + "\n"));
        EXPECT_FALSE(parse_endpoint(name + std::string(1, '\0')));
    }
}

TEST(DataconnEndpoint, AnUnknownEndpointIsTheErrorTheClientHears) {
    auto r = parse_endpoint("/v1/bogus");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::invalid_argument));
    EXPECT_EQ(r.error().context(), "requested endpoint '/v1/bogus' does not exist");
    EXPECT_EQ(refuse(r.error()), (ServerDecision{std::nullopt, RespondError{r.error()}}));
}

TEST(DataconnSequence, OnlyRecvRequestsAndOnlySendResponsesCarryAStream) {
    EXPECT_EQ(sequence(Endpoint::ping), (Sequence{false, false}));
    EXPECT_EQ(sequence(Endpoint::send), (Sequence{false, true}));
    EXPECT_EQ(sequence(Endpoint::recv), (Sequence{true, false}));
    EXPECT_EQ(show(sequence(Endpoint::recv)), "Sequence{request_stream=1, response_stream=0}");
}

TEST(DataconnResponseHeader, TheServersHeadersParseBack) {
    EXPECT_EQ(ok_header(), "HANDLER OK\n");
    EXPECT_EQ(parse_response_header(ok_header()), ResponseHeader(response::Ok{}));
    const Error e(Errc::invalid_argument, "no such dataset");
    EXPECT_EQ(error_header(e), "HANDLER ERROR:\n" + e.message());
    EXPECT_EQ(parse_response_header(error_header(e)),
              ResponseHeader(response::Refused{Error(TransportErrc::remote_error, e.message())}));
}

// Between two zferry peers the error's class crosses the wire; a zrepl peer neither writes
// nor reads the class line, so its text stays the error and the error stays permanent.
TEST(DataconnResponseHeader, TheErrorClassCrossesOnlyBetweenZferryPeers) {
    const Error busy(Errc::timeout, "zfs recv q/a did not exit in time");
    ASSERT_TRUE(busy.temporary());
    const Error refused(Errc::invalid_argument, "filesystem p/secret is not served");
    struct Case {
        const char* what;
        Error error;
        bool server_zferry;  // the server's peer (the client) advertised zferry/1
        bool client_zferry;  // the client's peer (the server) advertised zferry/1
        std::string header;
        Error heard;
    };
    const std::vector<Case> cases = {
        {"temporary, zferry to zferry", busy, true, true,
         "HANDLER ERROR:\nzferry-error-class: temporary\nzfs recv q/a did not exit in time: timeout: no "
         "progress within the idle timeout",
         Error(TransportErrc::remote_temporary,
               "zfs recv q/a did not exit in time: timeout: no progress within the idle timeout")},
        {"permanent, zferry to zferry", refused, true, true,
         "HANDLER ERROR:\nzferry-error-class: permanent\nfilesystem p/secret is not served: invalid argument",
         Error(TransportErrc::remote_error, "filesystem p/secret is not served: invalid argument")},
        {"temporary, to a zrepl client: today's text", busy, false, false,
         "HANDLER ERROR:\n" + busy.message(), Error(TransportErrc::remote_error, busy.message())},
        {"permanent, to a zrepl client", refused, false, false, "HANDLER ERROR:\n" + refused.message(),
         Error(TransportErrc::remote_error, refused.message())},
    };
    for (const auto& c : cases) {
        const std::string header = error_header(c.error, c.server_zferry);
        EXPECT_EQ(header, c.header) << c.what;
        const auto parsed = parse_response_header(header, c.client_zferry);
        EXPECT_EQ(parsed, ResponseHeader(response::Refused{c.heard})) << c.what << ": " << show(parsed);
        const auto* r = std::get_if<response::Refused>(&parsed);
        ASSERT_NE(r, nullptr) << c.what;
        EXPECT_EQ(r->error.temporary(), c.heard.temporary()) << c.what;
    }
    // A zrepl server's text is never read for a class line, even one that looks like ours: it is
    // the text, permanent (zrepl's meaning of a handler error).
    const std::string forged = "HANDLER ERROR:\nzferry-error-class: temporary\nsomething";
    EXPECT_EQ(parse_response_header(forged, false),
              ResponseHeader(response::Refused{
                  Error(TransportErrc::remote_error, "zferry-error-class: temporary\nsomething")}));
    // A zferry peer whose text has no class line (or another first line): permanent, text whole.
    EXPECT_EQ(parse_response_header("HANDLER ERROR:\nzferry-error-class: maybe\nx", true),
              ResponseHeader(
                  response::Refused{Error(TransportErrc::remote_error, "zferry-error-class: maybe\nx")}));
    EXPECT_EQ(parse_response_header("HANDLER ERROR:\n", true),
              ResponseHeader(response::Refused{Error(TransportErrc::remote_error, "")}));
    // The client's message states the verdict once, its own.
    const auto heard = std::get<response::Refused>(parse_response_header(error_header(busy, true), true));
    EXPECT_EQ(heard.error.message(),
              "zfs recv q/a did not exit in time: timeout: no progress within the idle timeout: server "
              "error, temporary on the server "
              "(temporary, retrying can help)");
}

TEST(DataconnResponseHeader, ARequestStoppedByTheServersShutdownIsTemporary) {
    const Error aborted(make_error_code(boost::system::errc::operation_canceled), "zfs send p/a@s1");
    ASSERT_FALSE(aborted.temporary());
    const Error told = error_for_client(aborted, true);
    EXPECT_EQ(told.code(), make_error_code(Errc::shutdown));
    EXPECT_TRUE(told.temporary());
    EXPECT_NE(told.message().find("the server is shutting down"), std::string::npos) << told.message();
    EXPECT_NE(told.message().find("zfs send p/a@s1"), std::string::npos) << told.message();
    // Not stopping, or another error while stopping: unchanged.
    EXPECT_EQ(error_for_client(aborted, false).code(), aborted.code());
    EXPECT_EQ(error_for_client(aborted, false).context(), aborted.context());
    const Error refused(Errc::invalid_argument, "no such dataset");
    EXPECT_EQ(error_for_client(refused, true).code(), refused.code());
}

TEST(DataconnResponseHeader, ByteByByte) {
    const Error invalid(TransportErrc::invalid_response, "response header is neither OK nor ERROR");
    // Every proper prefix of either header is invalid; so is every one-byte change of OK.
    const std::string ok(kHandlerOk), err(kHandlerErrorPrefix);
    for (std::size_t n = 0; n < ok.size(); ++n)
        EXPECT_EQ(parse_response_header(ok.substr(0, n)), ResponseHeader(response::Invalid{invalid})) << n;
    for (std::size_t n = 0; n < err.size(); ++n)
        EXPECT_EQ(parse_response_header(err.substr(0, n)), ResponseHeader(response::Invalid{invalid})) << n;
    for (std::size_t i = 0; i < ok.size(); ++i) {
        std::string changed = ok;
        changed[i] ^= 0x01;
        EXPECT_EQ(parse_response_header(changed), ResponseHeader(response::Invalid{invalid})) << i;
    }
    // OK is exact: nothing may follow it.
    EXPECT_EQ(parse_response_header(ok + "x"), ResponseHeader(response::Invalid{invalid}));
    // ERROR's text is whatever follows the prefix, also empty, also binary.
    EXPECT_EQ(parse_response_header(err),
              ResponseHeader(response::Refused{Error(TransportErrc::remote_error, "")}));
    const std::string binary("a\0b\nc", 5);
    EXPECT_EQ(parse_response_header(err + binary),
              ResponseHeader(response::Refused{Error(TransportErrc::remote_error, binary)}));
    for (std::size_t i = 0; i < err.size(); ++i) {
        std::string changed = err + "text";
        changed[i] ^= 0x01;
        EXPECT_EQ(parse_response_header(changed), ResponseHeader(response::Invalid{invalid})) << i;
    }
    EXPECT_EQ(show(parse_response_header(ok)), "Ok{}");
}

TEST(DataconnServer, AnswerWithoutAStream) {
    EXPECT_EQ(answer(std::string("pong")), (ServerDecision{std::nullopt, RespondOk{"pong"}}));
    EXPECT_EQ(answer(Result<std::string>(kZfsRefused)),
              (ServerDecision{std::nullopt, RespondError{kZfsRefused}}));
    EXPECT_EQ(show(answer(std::string("pong"))), "ServerDecision{RespondOk{4 bytes}}");
}

TEST(DataconnServer, IncompleteHandlerRepliesAreImplementationErrors) {
    for (auto e : {Endpoint::send, Endpoint::recv}) {
        EXPECT_FALSE(incomplete_reply(e, true, true)) << e;
        for (auto [stream, completion] :
             {std::pair{false, true}, std::pair{true, false}, std::pair{false, false}}) {
            auto err = incomplete_reply(e, stream, completion);
            ASSERT_TRUE(err) << e << stream << completion;
            EXPECT_EQ(err->code(), make_error_code(Errc::internal));
        }
    }
    EXPECT_EQ(incomplete_reply(Endpoint::send, false, true)->context(),
              "send handler returned no stream (implementation error)");
    EXPECT_EQ(incomplete_reply(Endpoint::recv, true, false)->context(),
              "recv handler returned no sink (implementation error)");
}

TEST(DataconnServer, SendOutcomes) {
    struct Row {
        const char* what;
        Result<std::uint64_t> sent;
        Result<void> source;
        ServerDecision expected;
    };
    const std::vector<Row> rows = {
        {"stream and source succeeded: End", std::uint64_t{4096}, Result<void>(),
         ServerDecision{LogLine{LogLevel::debug, "sent stream of 4096 bytes"}, WriteEnd{}}},
        {"source failed: its error as the trailer", std::uint64_t{10}, Result<void>(kSourceFailed),
         ServerDecision{
             LogLine{LogLevel::warn, "stream source failed after 10 bytes: " + kSourceFailed.message()},
             WriteErrorTrailer{kSourceFailed.message()}}},
        {"connection failed: logged, nothing more reaches the client", Result<std::uint64_t>(kReset),
         Result<void>(),
         ServerDecision{LogLine{LogLevel::warn, "sending stream: " + kReset.message()}, Close{}}},
        {"both failed: the connection's failure wins (no trailer can be sent)", Result<std::uint64_t>(kReset),
         Result<void>(kSourceFailed),
         ServerDecision{LogLine{LogLevel::warn, "sending stream: " + kReset.message()}, Close{}}},
    };
    for (const auto& row : rows) EXPECT_EQ(send_outcome(row.sent, row.source), row.expected) << row.what;
}

TEST(DataconnServer, RecvOutcomes) {
    struct Row {
        const char* what;
        Result<std::uint64_t> received;
        bool sink_failed;
        bool usable;
        Result<std::string> finished;
        ServerDecision expected;
    };
    const LogLine sink_log{LogLevel::warn, "receiving stream: " + kBrokenPipe.message()};
    const LogLine reset_log{LogLevel::warn, "receiving stream: " + kReset.message()};
    const std::vector<Row> rows = {
        {"stream and finish succeeded: OK with finish's response", std::uint64_t{8192}, false, true,
         std::string("done"),
         ServerDecision{LogLine{LogLevel::debug, "received stream of 8192 bytes"}, RespondOk{"done"}}},
        {"stream whole, finish failed: its error", std::uint64_t{8192}, false, true,
         Result<std::string>(kZfsRefused), ServerDecision{std::nullopt, RespondError{kZfsRefused}}},
        {"sink died mid-stream: the sink's own error", Result<std::uint64_t>(kBrokenPipe), true, true,
         Result<std::string>(kZfsRefused), ServerDecision{sink_log, RespondError{kZfsRefused}}},
        {"sink died, finish claims success: the write error", Result<std::uint64_t>(kBrokenPipe), true, true,
         std::string("done"), ServerDecision{sink_log, RespondError{kBrokenPipe}}},
        {"sink died, connection unusable: still answered", Result<std::uint64_t>(kBrokenPipe), true, false,
         Result<std::string>(kZfsRefused), ServerDecision{sink_log, RespondError{kZfsRefused}}},
        {"stream failed on a usable connection (e.g. source trailer): that failure",
         Result<std::uint64_t>(kReset), false, true, Result<std::string>(kZfsRefused),
         ServerDecision{reset_log, RespondError{kReset}}},
        {"stream failed on a usable connection, finish succeeded: that failure",
         Result<std::uint64_t>(kReset), false, true, std::string("done"),
         ServerDecision{reset_log, RespondError{kReset}}},
        {"connection broke: logged and closed", Result<std::uint64_t>(kReset), false, false,
         Result<std::string>(kZfsRefused), ServerDecision{reset_log, Close{}}},
        {"connection broke, finish succeeded: logged and closed", Result<std::uint64_t>(kReset), false, false,
         std::string("done"), ServerDecision{reset_log, Close{}}},
    };
    for (const auto& row : rows)
        EXPECT_EQ(recv_outcome(row.received, row.sink_failed, row.usable, row.finished), row.expected)
            << row.what;
}

TEST(DataconnClient, RecvReports) {
    const Result<std::string> ok = std::string("done");
    const Result<std::string> refused = Error(TransportErrc::remote_error, "zfs recv refused");
    const Result<std::string> broken = Error(TransportErrc::shutdown, "reading response");
    const Result<std::string> busy = Error(TransportErrc::remote_temporary, "zfs recv: dataset is busy");
    struct Row {
        bool stream_ok;
        bool response_first;
        const Result<std::string>& response;
        RecvReport expected;
    };
    const std::vector<Row> rows = {
        // The stream went through with its End: the response is the answer, whatever it is.
        {true, false, ok, RecvReport::response},
        {true, false, refused, RecvReport::response},
        {true, false, broken, RecvReport::response},
        {true, true, ok, RecvReport::response},
        {true, true, refused, RecvReport::response},
        // The response stopped the stream: it says why, unless it claims success.
        {false, true, refused, RecvReport::response},
        {false, true, broken, RecvReport::response},
        {false, true, ok, RecvReport::premature_success},
        // The stream failed first: a refusal explains it, anything else does not.
        {false, false, refused, RecvReport::response},
        {false, false, busy, RecvReport::response},
        {false, false, ok, RecvReport::stream_error},
        {false, false, broken, RecvReport::stream_error},
    };
    for (const auto& row : rows)
        EXPECT_EQ(recv_report(row.stream_ok, row.response_first, row.response), row.expected)
            << "stream_ok=" << row.stream_ok << " response_first=" << row.response_first
            << " response=" << (row.response ? *row.response : row.response.error().message());
    EXPECT_EQ(show(RecvReport::premature_success), "premature_success");
}

TEST(DataconnActions, PrintAndCompare) {
    EXPECT_EQ(show(ServerAction(WriteErrorTrailer{"x"})), "WriteErrorTrailer{x}");
    EXPECT_EQ(show(ServerAction(WriteEnd{})), "WriteEnd{}");
    EXPECT_EQ(show(ServerAction(Close{})), "Close{}");
    EXPECT_EQ(show(ServerAction(RespondError{kZfsRefused})), "RespondError{" + kZfsRefused.message() + "}");
    EXPECT_NE(ServerAction(RespondError{kZfsRefused}), ServerAction(RespondError{kSourceFailed}));
    EXPECT_NE(ServerAction(RespondOk{"a"}), ServerAction(RespondOk{"b"}));
    EXPECT_NE((ServerDecision{std::nullopt, Close{}}),
              (ServerDecision{LogLine{LogLevel::warn, "x"}, Close{}}));
}

}  // namespace
}  // namespace zferry::transport::dataconn
