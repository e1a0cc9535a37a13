// parse_control_request: the control socket's bytes as the server reads them, without a socket.
#include "daemon/control/control_parse.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace zferry::daemon;
using Outcome = ControlParse::Outcome;

namespace {

constexpr std::size_t kLimit = 64 * 1024;

}  // namespace

TEST(ControlParse, CurlPostToSignal) {
    const std::string body = R"({"Name":"push1","Op":"wakeup"})";
    const auto p = parse_control_request(
        "POST /signal HTTP/1.1\r\nHost: unix\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body,
        kLimit);
    ASSERT_EQ(p.outcome, Outcome::request);
    EXPECT_EQ(p.request.method, "POST");
    EXPECT_EQ(p.request.target, "/signal");
    EXPECT_EQ(p.request.body, body);
}

TEST(ControlParse, GetWithoutBodyAndChunkedBody) {
    auto p = parse_control_request("GET /status?x=1 HTTP/1.1\r\nHost: unix\r\n\r\n", kLimit);
    ASSERT_EQ(p.outcome, Outcome::request);
    EXPECT_EQ(p.request.target, "/status?x=1");
    EXPECT_EQ(p.request.body, "");
    p = parse_control_request(
        "POST /signal HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", kLimit);
    ASSERT_EQ(p.outcome, Outcome::request);
    EXPECT_EQ(p.request.body, "{}");
}

// Bytes that end inside the body once made the parse loop spin (found by the fuzz target's seed).
TEST(ControlParse, CutOffRequestsAreIncomplete) {
    auto p = parse_control_request("POST /signal HTTP/1.1\r\nContent-Length: 40\r\n\r\n{\"Name\":", kLimit);
    EXPECT_EQ(p.outcome, Outcome::incomplete);
    EXPECT_TRUE(p.error);
    p = parse_control_request("GET /status HTTP/1.1\r\nHost: un", kLimit);
    EXPECT_EQ(p.outcome, Outcome::incomplete);
    p = parse_control_request("", kLimit);
    EXPECT_EQ(p.outcome, Outcome::incomplete);
}

TEST(ControlParse, TooLargeIsAnswered413) {
    auto p = parse_control_request("POST /signal HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n", kLimit);
    ASSERT_EQ(p.outcome, Outcome::too_large);
    auto r = reply_for_read_error(p.error, kLimit);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413u);
    EXPECT_EQ(r->content_type, "text/plain");
    EXPECT_EQ(r->body, "request too large (limit 65536 bytes)\n");
    p = parse_control_request(
        "GET /status HTTP/1.1\r\nX-Pad: " + std::string(kControlHeaderLimit + 1, 'a') + "\r\n\r\n", kLimit);
    EXPECT_EQ(p.outcome, Outcome::too_large);
}

TEST(ControlParse, MalformedIsDroppedWithoutReply) {
    for (const char* bytes :
         {"\x16\x03\x01\x00\xa5\x01\x00\x00", "POST /signal HTTP/1.1\r\nContent-Length: -5\r\n\r\n"}) {
        const auto p = parse_control_request(bytes, kLimit);
        EXPECT_EQ(p.outcome, Outcome::malformed) << bytes;
        EXPECT_FALSE(reply_for_read_error(p.error, kLimit)) << bytes;
    }
}
