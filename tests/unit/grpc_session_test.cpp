// The nghttp2 server and client sessions talking to each other in memory: no sockets, time
// passed in. Bytes move whole, byte by byte, or in random chunks.
#include "transport/grpc/client_session.hpp"
#include "transport/grpc/server_session.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace zferry::transport::grpc {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint{} + 1000h;

// Moves bytes between the two sessions until neither has anything to say.
struct Link {
    Link(ServerSessionOptions so = {}, ClientSessionOptions co = {})
        : server(so, t0), client(std::move(co), t0) {}

    ServerSession server;
    ClientSession client;
    TimePoint now = t0;
    std::function<std::size_t(std::size_t)> chunk = [](std::size_t left) { return left; };
    std::size_t to_server = 0, to_client = 0;
    bool server_ok = true;

    void feed(std::string& bytes, bool into_server) {
        std::size_t pos = 0;
        while (pos < bytes.size()) {
            const std::size_t n =
                std::max<std::size_t>(1, std::min(bytes.size() - pos, chunk(bytes.size() - pos)));
            std::span<const std::uint8_t> s(reinterpret_cast<const std::uint8_t*>(bytes.data()) + pos, n);
            if (into_server)
                server_ok = server.receive(s, now) && server_ok;
            else
                client.receive(s, now);
            pos += n;
        }
        (into_server ? to_server : to_client) += bytes.size();
        bytes.clear();
    }

    void pump() {
        for (int round = 0; round < 1000; ++round) {
            std::string c2s, s2c;
            client.produce_output(c2s);
            feed(c2s, true);
            server.produce_output(s2c);
            feed(s2c, false);
            std::string more_c, more_s;
            client.produce_output(more_c);
            server.produce_output(more_s);
            if (more_c.empty() && more_s.empty()) return;
            feed(more_c, true);
            feed(more_s, false);
        }
        FAIL() << "the sessions never went quiet";
    }

    // Advances time to `t`, running both sessions' timers on the way like a driver would.
    void advance_to(TimePoint t, Duration step = 100ms) {
        while (now < t) {
            now = std::min(t, now + step);
            // A timer that re-arms at `now` (a read just before it fired) runs again at once.
            for (int i = 0; i < 3; ++i) {
                if (auto n = client.next_timer(); n && *n <= now) client.on_timer(now);
                if (auto n = server.next_timer(); n && *n <= now) server.on_timer(now);
            }
            pump();
        }
    }

    std::map<std::int32_t, CallResult> results() {
        std::map<std::int32_t, CallResult> out;
        for (auto& r : client.take_results()) {
            EXPECT_FALSE(out.count(r.stream_id)) << "call " << r.stream_id << " ended twice";
            out[r.stream_id] = std::move(r);
        }
        return out;
    }
};

std::string describe(const Status& s) {
    return std::string(status_code_name(s.code)) + " \"" + s.message + "\"";
}

TEST(GrpcSession, UnaryCallCarriesHeadersDeadlineAndMessage) {
    Link link;
    auto id = link.client.start_call("/Replication/Ping", "hello", 5s, link.now);
    ASSERT_TRUE(id);
    link.pump();
    auto calls = link.server.take_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].stream_id, *id);
    EXPECT_EQ(calls[0].path, "/Replication/Ping");
    EXPECT_EQ(calls[0].authority, "doesntmatterdonebydialer");
    EXPECT_EQ(calls[0].message, "hello");
    ASSERT_TRUE(calls[0].deadline);
    EXPECT_EQ(*calls[0].deadline, t0 + 5s);
    ASSERT_EQ(calls[0].metadata.size(), 1u)
        << "only user-agent is metadata; te, grpc-* and pseudo-headers are not";
    EXPECT_EQ(calls[0].metadata[0].first, "user-agent");
    EXPECT_EQ(link.server.active_calls(), 1u);

    link.server.respond(*id, "world");
    link.pump();
    auto res = link.results();
    ASSERT_EQ(res.size(), 1u);
    EXPECT_TRUE(res[*id].status.ok()) << describe(res[*id].status);
    EXPECT_EQ(res[*id].message, "world");
    EXPECT_EQ(link.server.active_calls(), 0u);
    EXPECT_EQ(link.client.active_calls(), 0u);
    EXPECT_FALSE(link.server.done());
}

void many_calls_out_of_order(Link& link, int n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::map<std::int32_t, std::string> sent;
    for (int i = 0; i < n; ++i) {
        std::string req(rng() % 3000, '\0');
        for (auto& c : req) c = static_cast<char>(rng());
        auto id = link.client.start_call("/Replication/Ping", req, std::nullopt, link.now);
        ASSERT_TRUE(id);
        sent[*id] = req;
    }
    link.pump();
    auto calls = link.server.take_calls();
    ASSERT_EQ(calls.size(), sent.size());
    std::shuffle(calls.begin(), calls.end(), rng);
    for (auto& c : calls) {
        EXPECT_EQ(c.message, sent[c.stream_id]) << "request of call " << c.stream_id;
        std::string reply = c.message;
        std::reverse(reply.begin(), reply.end());
        link.server.respond(c.stream_id, reply);
        if (rng() % 3 == 0) link.pump();  // some answers go out while others are pending
    }
    link.pump();
    auto res = link.results();
    ASSERT_EQ(res.size(), sent.size());
    for (auto& [id, req] : sent) {
        ASSERT_TRUE(res[id].status.ok()) << "call " << id << ": " << describe(res[id].status);
        std::string want = req;
        std::reverse(want.begin(), want.end());
        EXPECT_EQ(res[id].message, want) << "call " << id;
    }
}

TEST(GrpcSession, ManyCallsInFlightAnsweredInAnyOrder) {
    Link link;
    many_calls_out_of_order(link, 50, 1);
}

TEST(GrpcSession, BytesDeliveredOneAtATime) {
    Link link;
    link.chunk = [](std::size_t) { return 1; };
    many_calls_out_of_order(link, 5, 2);
}

TEST(GrpcSession, BytesDeliveredInRandomChunks) {
    for (std::uint32_t seed = 0; seed < 10; ++seed) {
        Link link;
        std::mt19937 rng(seed);
        link.chunk = [rng](std::size_t left) mutable { return 1 + rng() % std::min<std::size_t>(left, 700); };
        SCOPED_TRACE("seed " + std::to_string(seed));
        many_calls_out_of_order(link, 20, seed);
    }
}

TEST(GrpcSession, LargeMessagesCrossTheFlowControlWindowsBothWays) {
    Link link;
    const std::string big(1 << 20, 'q');  // 16 times the default 64 KiB window
    auto id = link.client.start_call("/Replication/Ping", big, std::nullopt, link.now);
    link.pump();
    auto calls = link.server.take_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].message.size(), big.size());
    link.server.respond(*id, big + big);
    link.pump();
    auto res = link.results();
    ASSERT_TRUE(res[*id].status.ok()) << describe(res[*id].status);
    EXPECT_EQ(res[*id].message.size(), 2 * big.size());
}

// The server advertises MAX_CONCURRENT_STREAMS; calls beyond it wait in the client until
// earlier ones finish, and none is lost or refused.
TEST(GrpcSession, CallsBeyondTheServersStreamLimitWaitTheirTurn) {
    ServerSessionOptions so;
    so.max_concurrent_streams = 4;
    Link link(so);
    link.pump();  // SETTINGS both ways
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 10; ++i)
        ids.push_back(*link.client.start_call("/Replication/Ping", "c", std::nullopt, link.now));
    std::size_t answered = 0;
    for (int round = 0; round < 10 && answered < ids.size(); ++round) {
        link.pump();
        auto calls = link.server.take_calls();
        if (round < 2) {
            EXPECT_EQ(calls.size(), 4u) << "round " << round << ": the limit, no more, no less";
        }
        EXPECT_LE(link.server.active_calls(), 4u) << "round " << round;
        for (auto& c : calls) link.server.respond(c.stream_id, "r");
        answered += calls.size();
    }
    link.pump();
    auto res = link.results();
    ASSERT_EQ(res.size(), ids.size());
    for (auto id : ids) EXPECT_TRUE(res[id].status.ok()) << "call " << id << ": " << describe(res[id].status);
}

// nghttp2 holds the server's new stream limit as pending until the client acknowledges the
// SETTINGS: streams beyond it that arrive before are refused with RST_STREAM(REFUSED_STREAM),
// which the client reports as `refused` (not processed, safe to make again).
TEST(GrpcSession, StreamsBeyondTheLimitBeforeTheSettingsAckAreRefusedUnprocessed) {
    ServerSessionOptions so;
    so.max_concurrent_streams = 1;
    Link link(so);
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 3; ++i)
        ids.push_back(*link.client.start_call("/Replication/Ping", "c", std::nullopt, link.now));
    link.pump();
    auto calls = link.server.take_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].stream_id, ids[0]);
    auto refused = link.results();
    ASSERT_EQ(refused.size(), 2u);
    for (std::size_t i = 1; i < ids.size(); ++i) {
        const auto& r = refused[ids[i]];
        EXPECT_EQ(r.status.code, StatusCode::unavailable) << describe(r.status);
        EXPECT_TRUE(r.refused) << "call " << ids[i];
        EXPECT_FALSE(r.unsent) << "call " << ids[i] << " was sent";
    }
    EXPECT_TRUE(link.client.accepting_calls());
    // Made again, the call waits for room (the client now knows the limit) and succeeds.
    const auto again = *link.client.start_call("/Replication/Ping", "c", std::nullopt, link.now);
    link.server.respond(calls[0].stream_id, "r");
    link.pump();
    calls = link.server.take_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].stream_id, again);
    link.server.respond(again, "r");
    link.pump();
    auto done = link.results();
    ASSERT_EQ(done.size(), 2u);
    for (auto& [id, r] : done) {
        EXPECT_TRUE(r.status.ok()) << "call " << id << ": " << describe(r.status);
        EXPECT_FALSE(r.refused);
    }
}

// Raw server frames for the GOAWAY cases: an empty SETTINGS (the server preface) and
// GOAWAY(last stream id, NO_ERROR).
std::string settings_then_goaway(std::uint32_t last_stream_id) {
    std::string b("\0\0\0\x04\0\0\0\0\0", 9);
    b += std::string("\0\0\x08\x07\0\0\0\0\0", 9);
    for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>((last_stream_id >> shift) & 0xff);
    b += std::string(4, '\0');
    return b;
}

void receive_all(ClientSession& c, const std::string& bytes) {
    c.receive({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, t0);
}

TEST(GrpcSession, GoawayBelowASentCallRefusesIt) {
    ClientSession client({}, t0);
    const auto id = *client.start_call("/Replication/Ping", "c", std::nullopt, t0);
    std::string out;
    client.produce_output(out);  // the call's HEADERS and DATA are on the wire
    receive_all(client, settings_then_goaway(0));
    auto results = client.take_results();
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].stream_id, id);
    EXPECT_EQ(results[0].status.code, StatusCode::unavailable) << describe(results[0].status);
    EXPECT_TRUE(results[0].refused);
    EXPECT_FALSE(client.accepting_calls());
    EXPECT_FALSE(client.start_call("/Replication/Ping", "c", std::nullopt, t0));
}

TEST(GrpcSession, GoawayAtOrAboveASentCallLetsItFinish) {
    ClientSession client({}, t0);
    const auto id = *client.start_call("/Replication/Ping", "c", std::nullopt, t0);
    std::string out;
    client.produce_output(out);
    receive_all(client, settings_then_goaway(static_cast<std::uint32_t>(id)));
    EXPECT_TRUE(client.take_results().empty()) << "the server processes the call";
    EXPECT_FALSE(client.accepting_calls());
}

TEST(GrpcSession, CallQueuedWhenGoawayArrivesIsUnsent) {
    ClientSession client({}, t0);
    std::string out;
    client.produce_output(out);  // preface and SETTINGS only
    const auto id = *client.start_call("/Replication/Ping", "c", std::nullopt, t0);
    receive_all(client, settings_then_goaway(0));
    out.clear();
    client.produce_output(out);
    auto results = client.take_results();
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].stream_id, id);
    EXPECT_EQ(results[0].status.code, StatusCode::unavailable) << describe(results[0].status);
    EXPECT_TRUE(results[0].unsent) << "its HEADERS never went out";
    EXPECT_FALSE(results[0].refused);
}

TEST(GrpcSession, FailureIsTrailersOnlyWithThePercentEncodedMessage) {
    Link link;
    auto id = link.client.start_call("/Replication/Nope", "x", std::nullopt, link.now);
    link.pump();
    ASSERT_EQ(link.server.take_calls().size(), 1u);
    link.server.fail(*id, {StatusCode::not_found, "100% \xc3\xbc\nsecond line"});
    link.pump();
    auto res = link.results();
    EXPECT_EQ(res[*id].status.code, StatusCode::not_found);
    EXPECT_EQ(res[*id].status.message, "100% \xc3\xbc\nsecond line");
    EXPECT_EQ(res[*id].message, "");
}

TEST(GrpcSession, OversizeRequestIsResourceExhaustedAndNeverDispatched) {
    ServerSessionOptions so;
    so.max_receive_message = 1000;
    Link link(so);
    auto id = link.client.start_call("/Replication/Ping", std::string(100000, 'x'), std::nullopt, link.now);
    link.pump();
    EXPECT_TRUE(link.server.take_calls().empty());
    auto res = link.results();
    EXPECT_EQ(res[*id].status.code, StatusCode::resource_exhausted) << describe(res[*id].status);
    EXPECT_EQ(res[*id].status.message, "grpc: received message larger than max (100000 vs. 1000)");
    // The connection stays usable.
    auto again = link.client.start_call("/Replication/Ping", "small", std::nullopt, link.now);
    link.pump();
    auto calls = link.server.take_calls();
    ASSERT_EQ(calls.size(), 1u);
    link.server.respond(*again, "ok");
    link.pump();
    EXPECT_TRUE(link.results()[*again].status.ok());
}

TEST(GrpcSession, OversizeResponseIsResourceExhaustedAtTheClient) {
    ClientSessionOptions co;
    co.max_receive_message = 10;
    Link link({}, co);
    auto id = link.client.start_call("/Replication/Ping", "q", std::nullopt, link.now);
    link.pump();
    ASSERT_EQ(link.server.take_calls().size(), 1u);
    link.server.respond(*id, std::string(11, 'r'));
    link.pump();
    auto res = link.results();
    EXPECT_EQ(res[*id].status.code, StatusCode::resource_exhausted) << describe(res[*id].status);
    EXPECT_EQ(link.server.take_cancelled().size(), 0u) << "the handler had already answered";
}

TEST(GrpcSession, ServerDeadlineResetsTheStreamAndTheClientSeesDeadlineExceeded) {
    Link link;
    auto id = link.client.start_call("/Replication/Ping", "slow", 2s, link.now);
    link.pump();
    ASSERT_EQ(link.server.take_calls().size(), 1u);
    ASSERT_TRUE(link.server.next_timer());
    EXPECT_LE(*link.server.next_timer(), t0 + 2s);
    // Only the server's timer runs (the client's clock lags): it resets with CANCEL.
    link.now = t0 + 2s;
    link.server.on_timer(link.now);
    EXPECT_EQ(link.server.take_cancelled(), std::vector<std::int32_t>{*id}) << "the handler is told to stop";
    link.pump();
    auto res = link.results();
    EXPECT_EQ(res[*id].status.code, StatusCode::deadline_exceeded) << describe(res[*id].status);
    link.server.respond(*id, "too late");  // ignored
    link.pump();
    EXPECT_TRUE(link.client.take_results().empty());
}

TEST(GrpcSession, ClientDeadlineEndsTheCallAndCancelsTheHandler) {
    Link link;
    auto id = link.client.start_call("/Replication/Ping", "slow", 1s, link.now);
    link.pump();
    ASSERT_EQ(link.server.take_calls().size(), 1u);
    link.now = t0 + 1s;
    link.client.on_timer(link.now);
    link.pump();
    auto res = link.results();
    EXPECT_EQ(res[*id].status.code, StatusCode::deadline_exceeded) << describe(res[*id].status);
    EXPECT_EQ(link.server.take_cancelled(), std::vector<std::int32_t>{*id});
}

TEST(GrpcSession, ClientCancellationReachesTheServerAsReset) {
    Link link;
    auto a = link.client.start_call("/Replication/Ping", "a", std::nullopt, link.now);
    auto b = link.client.start_call("/Replication/Ping", "b", std::nullopt, link.now);
    link.pump();
    ASSERT_EQ(link.server.take_calls().size(), 2u);
    link.client.cancel(*a);
    link.pump();
    EXPECT_EQ(link.server.take_cancelled(), std::vector<std::int32_t>{*a});
    link.server.respond(*a, "ignored");
    link.server.respond(*b, "B");
    link.pump();
    auto res = link.results();
    EXPECT_EQ(res[*a].status.code, StatusCode::cancelled) << describe(res[*a].status);
    EXPECT_TRUE(res[*b].status.ok()) << describe(res[*b].status);
    EXPECT_EQ(res[*b].message, "B");
}

// grpcio with keepalive 1 s and permit-without-calls, in memory: the 4th ping (at 4 s) is the
// 3rd strike; the server answers GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and is done.
TEST(GrpcSession, PingsEverySecondGetTooManyPingsOnTheFourth) {
    ClientSessionOptions co;
    co.keepalive.time = 1s;
    Link link({}, co);
    link.pump();
    link.advance_to(t0 + 3500ms);
    EXPECT_EQ(link.server.ping_strikes(), 2);
    EXPECT_FALSE(link.server.done());
    EXPECT_FALSE(link.client.told_too_many_pings());
    link.advance_to(t0 + 4s);
    EXPECT_TRUE(link.server.done());
    EXPECT_EQ(link.server.close_reason(), "too_many_pings");
    EXPECT_TRUE(link.client.told_too_many_pings()) << link.client.close_reason();
    EXPECT_EQ(throttled_after_too_many_pings(co.keepalive).time, 2s);
    EXPECT_FALSE(link.client.start_call("/Replication/Ping", "x", std::nullopt, link.now))
        << "no new calls after GOAWAY";
}

TEST(GrpcSession, TooManyPingsCancelsCallsInFlight) {
    ClientSessionOptions co;
    co.keepalive.time = 1s;
    Link link({}, co);
    auto id = link.client.start_call("/Replication/Ping", "x", std::nullopt, link.now);
    link.pump();
    ASSERT_EQ(link.server.take_calls().size(), 1u);
    link.advance_to(t0 + 4s);
    ASSERT_TRUE(link.server.done());
    EXPECT_EQ(link.server.take_cancelled(), std::vector<std::int32_t>{*id});
    link.client.connection_lost("connection closed by the server");
    auto res = link.results();
    EXPECT_EQ(res[*id].status.code, StatusCode::unavailable) << describe(res[*id].status);
}

TEST(GrpcSession, ZreplKeepaliveSettingsStayConnectedWithoutStrikes) {
    Link link;
    link.pump();
    link.advance_to(t0 + 60s);
    EXPECT_EQ(link.server.ping_strikes(), 0);
    EXPECT_FALSE(link.server.done());
    EXPECT_FALSE(link.client.done());
    EXPECT_FALSE(link.client.told_too_many_pings());
    EXPECT_GT(link.to_server, 11u * 17u) << "about a dozen pings went out in a minute";
}

TEST(GrpcSession, AnsweringCallsResetsStrikes) {
    ClientSessionOptions co;
    co.keepalive.time = 1s;
    Link link({}, co);
    link.pump();
    for (int i = 1; i <= 10; ++i) {
        auto id = link.client.start_call("/Replication/Ping", "x", std::nullopt, link.now);
        link.pump();
        ASSERT_EQ(link.server.take_calls().size(), 1u);
        link.server.respond(*id, "y");
        link.pump();
        link.advance_to(t0 + i * 1100ms);
        ASSERT_FALSE(link.server.done()) << "after " << i << " pings with answers between them";
    }
}

TEST(GrpcSession, ServerGivesUpOnAPeerThatNeverAnswersPings) {
    ServerSession server({}, t0);
    ClientSession client({}, t0);
    std::string c2s, s2c;
    client.produce_output(c2s);
    ASSERT_TRUE(server.receive({reinterpret_cast<const std::uint8_t*>(c2s.data()), c2s.size()}, t0));
    server.produce_output(s2c);  // SETTINGS, ACK: never delivered
    for (auto t = t0; t <= t0 + 16s; t += 500ms) {
        if (auto n = server.next_timer(); n && *n <= t) server.on_timer(t);
        s2c.clear();
        server.produce_output(s2c);
        if (server.done()) break;
    }
    EXPECT_TRUE(server.done());
    EXPECT_EQ(server.close_reason(), "keepalive ping not acked within timeout");
}

TEST(GrpcSession, GracefulShutdownLetsCallsInFlightFinish) {
    Link link;
    auto id = link.client.start_call("/Replication/Ping", "before", std::nullopt, link.now);
    link.pump();
    ASSERT_EQ(link.server.take_calls().size(), 1u);
    link.server.begin_shutdown(link.now);
    link.pump();  // notice, drain PING, its ACK, the final GOAWAY
    EXPECT_FALSE(link.client.start_call("/Replication/Ping", "after", std::nullopt, link.now))
        << "a draining connection takes no new calls";
    EXPECT_FALSE(link.server.done()) << "a call is still running";
    link.server.respond(*id, "finished");
    link.pump();
    auto res = link.results();
    ASSERT_TRUE(res[*id].status.ok()) << describe(res[*id].status);
    EXPECT_EQ(res[*id].message, "finished");
    EXPECT_TRUE(link.server.done());
    EXPECT_TRUE(link.client.done());
    EXPECT_EQ(link.server.close_reason(), "") << "a graceful end is no error";
}

TEST(GrpcSession, GracefulShutdownWithoutAckEndsAfterTheDrainWait) {
    ServerSession server({}, t0);
    ClientSession client({}, t0);
    std::string c2s, s2c;
    client.produce_output(c2s);
    ASSERT_TRUE(server.receive({reinterpret_cast<const std::uint8_t*>(c2s.data()), c2s.size()}, t0));
    server.begin_shutdown(t0, 5s);
    server.produce_output(s2c);  // never delivered: no ACK comes
    EXPECT_FALSE(server.done()) << "waiting for the drain PING's ACK";
    ASSERT_TRUE(server.next_timer());
    EXPECT_EQ(*server.next_timer(), t0 + 5s);
    server.on_timer(t0 + 5s);
    s2c.clear();
    server.produce_output(s2c);
    EXPECT_FALSE(s2c.empty()) << "the final GOAWAY";
    EXPECT_TRUE(server.done());
}

TEST(GrpcSession, WrongClientMagicIsFatal) {
    ServerSession server({}, t0);
    const std::string http1 = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_FALSE(server.receive({reinterpret_cast<const std::uint8_t*>(http1.data()), http1.size()}, t0));
    EXPECT_TRUE(server.done());
    EXPECT_NE(server.close_reason().find("HTTP/2"), std::string::npos) << server.close_reason();
}

}  // namespace
}  // namespace zferry::transport::grpc
