// The server session against requests zferry's own client never sends, made with nghttp2
// directly: wrong method, content-type or grpc-timeout, compressed or repeated messages.
#include "transport/grpc/server_session.hpp"

#include <nghttp2/nghttp2.h>

#include <gtest/gtest.h>

#include <list>
#include <map>
#include <string>
#include <vector>

namespace zferry::transport::grpc {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

const TimePoint t0 = TimePoint{} + 1000h;

// A bare nghttp2 client: arbitrary headers and body bytes; records what comes back.
class RawClient {
public:
    struct Response {
        std::map<std::string, std::string> headers;  // response headers and trailers together
        std::string body;
        bool closed = false;
        std::uint32_t rst = 0;
    };

    RawClient() {
        nghttp2_session_callbacks* cb = nullptr;
        nghttp2_session_callbacks_new(&cb);
        nghttp2_session_callbacks_set_on_header_callback(cb, [](nghttp2_session*, const nghttp2_frame* f,
                                                                const std::uint8_t* n, std::size_t nl,
                                                                const std::uint8_t* v, std::size_t vl,
                                                                std::uint8_t, void* p) {
            static_cast<RawClient*>(p)->responses[f->hd.stream_id].headers[std::string((const char*)n, nl)] =
                std::string((const char*)v, vl);
            return 0;
        });
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
            cb, [](nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* d, std::size_t l,
                   void* p) {
                static_cast<RawClient*>(p)->responses[id].body.append((const char*)d, l);
                return 0;
            });
        nghttp2_session_callbacks_set_on_stream_close_callback(
            cb, [](nghttp2_session*, std::int32_t id, std::uint32_t code, void* p) {
                auto& r = static_cast<RawClient*>(p)->responses[id];
                r.closed = true;
                r.rst = code;
                return 0;
            });
        nghttp2_session_client_new(&s_, cb, this);
        nghttp2_session_callbacks_del(cb);
        nghttp2_submit_settings(s_, NGHTTP2_FLAG_NONE, nullptr, 0);
    }
    ~RawClient() { nghttp2_session_del(s_); }

    std::int32_t request(std::vector<std::pair<std::string, std::string>> headers, std::string body) {
        bodies_.push_back(std::move(body));
        std::vector<nghttp2_nv> nva;
        headers_.push_back(std::move(headers));
        for (auto& [n, v] : headers_.back())
            nva.push_back(
                {(std::uint8_t*)n.data(), (std::uint8_t*)v.data(), n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
        nghttp2_data_provider prd{};
        prd.source.ptr = &bodies_.back();
        prd.read_callback = [](nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t len,
                               std::uint32_t* flags, nghttp2_data_source* src, void*) -> ssize_t {
            auto* b = static_cast<std::string*>(src->ptr);
            const std::size_t n = std::min(len, b->size());
            std::copy_n(b->data(), n, buf);
            b->erase(0, n);
            if (b->empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
            return static_cast<ssize_t>(n);
        };
        return nghttp2_submit_request(s_, nullptr, nva.data(), nva.size(), &prd, nullptr);
    }

    void exchange(ServerSession& server) {
        for (int i = 0; i < 50; ++i) {
            std::string out;
            const std::uint8_t* p = nullptr;
            for (ssize_t n; (n = nghttp2_session_mem_send(s_, &p)) > 0;) out.append((const char*)p, n);
            server.receive({(const std::uint8_t*)out.data(), out.size()}, t0);
            std::string back;
            server.produce_output(back);
            nghttp2_session_mem_recv(s_, (const std::uint8_t*)back.data(), back.size());
            if (out.empty() && back.empty()) return;
        }
    }

    std::map<std::int32_t, Response> responses;

private:
    nghttp2_session* s_ = nullptr;
    std::list<std::string> bodies_;
    std::list<std::vector<std::pair<std::string, std::string>>> headers_;
};

std::vector<std::pair<std::string, std::string>> grpc_headers(std::string method = "POST",
                                                              std::string content_type = "application/grpc",
                                                              std::string timeout = "") {
    std::vector<std::pair<std::string, std::string>> h = {{":method", method},
                                                          {":scheme", "http"},
                                                          {":path", "/Replication/Ping"},
                                                          {":authority", "x"},
                                                          {"content-type", content_type},
                                                          {"te", "trailers"}};
    if (!timeout.empty()) h.emplace_back("grpc-timeout", timeout);
    return h;
}

std::string message(std::string_view m) {
    std::string out(5, '\0');
    out[4] = static_cast<char>(m.size());
    return out + std::string(m);
}

struct Case {
    std::string what;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string http_status;
    std::string grpc_status;
    std::string grpc_message;
};

TEST(GrpcServerSession, RefusesWhatAGrpcServerRefuses) {
    const std::vector<Case> cases = {
        {"GET instead of POST", grpc_headers("GET"), "", "405", "13", "invalid gRPC request method GET"},
        {"JSON content-type", grpc_headers("POST", "application/json"), message("x"), "415", "3",
         "invalid gRPC request content-type \"application/json\""},
        {"grpc-timeout without unit", grpc_headers("POST", "application/grpc", "100"), message("x"), "400",
         "13", "malformed grpc-timeout: 100"},
        {"compressed message", grpc_headers(), "\x01\x00\x00\x00\x01x"s, "200", "13",
         "grpc: compressed flag set but no grpc-encoding was negotiated"},
        {"two messages", grpc_headers(), message("a") + message("b"), "200", "13",
         "grpc: a unary request carried more than one message"},
        {"no message", grpc_headers(), "", "200", "13", "grpc: the request ended without a complete message"},
        {"truncated message", grpc_headers(), message("abc").substr(0, 6), "200", "13",
         "grpc: the request ended without a complete message"},
    };
    for (const auto& c : cases) {
        ServerSession server({}, t0);
        RawClient client;
        const auto id = client.request(c.headers, c.body);
        ASSERT_GT(id, 0) << c.what;
        client.exchange(server);
        EXPECT_TRUE(server.take_calls().empty()) << c.what << ": no handler may see it";
        auto& r = client.responses[id];
        EXPECT_TRUE(r.closed) << c.what;
        EXPECT_EQ(r.headers[":status"], c.http_status) << c.what;
        EXPECT_EQ(r.headers["content-type"], "application/grpc") << c.what;
        EXPECT_EQ(r.headers["grpc-status"], c.grpc_status) << c.what;
        EXPECT_EQ(r.headers["grpc-message"], percent_encode_message(c.grpc_message)) << c.what;
        EXPECT_TRUE(r.body.empty()) << c.what << ": Trailers-Only carries no DATA";
    }
}

TEST(GrpcServerSession, AcceptsContentTypeSubtypesAndAnswersLikeGrpcGo) {
    ServerSession server({}, t0);
    RawClient client;
    const auto id = client.request(grpc_headers("POST", "application/grpc+proto", "5000000u"), message("hi"));
    client.exchange(server);
    auto calls = server.take_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].message, "hi");
    EXPECT_EQ(calls[0].deadline, t0 + 5s);
    server.respond(id, "yo");
    client.exchange(server);
    auto& r = client.responses[id];
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.rst, 0u);
    EXPECT_EQ(r.headers[":status"], "200");
    EXPECT_EQ(r.headers["grpc-status"], "0");
    EXPECT_EQ(r.headers.count("grpc-message"), 1u) << "grpc-go always sends grpc-message";
    EXPECT_EQ(r.body, message("yo"));
}

TEST(GrpcServerSession, OversizeHeadersResetTheStream) {
    ServerSessionOptions opt;
    opt.max_header_list = 512;
    ServerSession server(opt, t0);
    RawClient client;
    auto h = grpc_headers();
    h.emplace_back("x-padding", std::string(1000, 'p'));
    const auto id = client.request(h, message("x"));
    client.exchange(server);
    EXPECT_TRUE(server.take_calls().empty());
    EXPECT_TRUE(client.responses[id].closed);
    EXPECT_NE(client.responses[id].rst, 0u) << "reset, not answered";
    EXPECT_FALSE(server.done()) << "one bad stream does not end the connection";
}

}  // namespace
}  // namespace zferry::transport::grpc
