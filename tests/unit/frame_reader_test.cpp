// The sans-I/O frame reader and the heartbeat rules: exact action sequences, the same frames
// whether the bytes arrive whole, byte by byte or in random chunks, and an error injected at
// every I/O step (each must end the reader with that error, after a prefix of the frames).
#include "transport/frame_reader.hpp"
#include "transport/heartbeat.hpp"

#include <gtest/gtest.h>
#include <boost/asio/error.hpp>

#include <cstring>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace zferry::transport {
namespace {

using namespace frame_action;
namespace hb = heartbeat_action;

std::string frame(std::uint32_t type, std::string_view payload) {
    auto h = encode_frame_header({type, static_cast<std::uint32_t>(payload.size())});
    std::string out(reinterpret_cast<const char*>(h.data()), h.size());
    return out + std::string(payload);
}

std::string show(const FrameAction& a) {
    std::ostringstream os;
    os << a;
    return os.str();
}

std::string show(const std::vector<FrameAction>& v) {
    std::string out;
    for (const auto& a : v) out += (out.empty() ? "" : ", ") + show(a);
    return out;
}

// How the consumer takes each payload.
enum class Take { read, read_in_steps_of_3, splice };

struct Received {
    std::uint32_t type;
    std::string payload;
    friend bool operator==(const Received&, const Received&) = default;
};

struct Outcome {
    std::vector<Received> frames;  // complete frames, in order
    FrameAction last;              // the final Shutdown or Fail
    std::vector<FrameAction> actions;
    std::size_t io_steps = 0;  // ReadHeader, ReadvPayload and Splice actions performed
};

struct Injection {
    std::size_t at_step;
    error_code ec;
};

// The driver the tests use instead of a socket: `wire` is what the peer sent before closing;
// each I/O action gets at most next_chunk(asked) bytes (a short read without EOF is allowed
// by the reader: it asks again for the rest); the end of the wire is EOF.
template <class NextChunk>
Outcome drive(std::string_view wire, Take take, NextChunk next_chunk, std::optional<Injection> inject = {},
              std::uint32_t max_payload = kDefaultMaxFramePayload) {
    FrameReader r(max_payload);
    Outcome out;
    std::size_t pos = 0;
    std::optional<Received> cur;
    auto take_bytes = [&](std::size_t asked) {
        std::size_t k = std::min({next_chunk(asked), asked, wire.size() - pos});
        error_code ec;
        if (k < asked && pos + k == wire.size()) ec = boost::asio::error::eof;
        return std::pair{k, ec};
    };
    auto maybe_complete = [&] {
        if (cur && r.payload_remaining() == 0 &&
            (!r.failed() || r.error().code() == boost::asio::error::eof)) {
            out.frames.push_back(*cur);
            cur.reset();
        }
    };
    for (int guard = 0; guard < 1'000'000; ++guard) {
        auto act = r.next();
        out.actions.push_back(act);
        const bool injected = inject && out.io_steps == inject->at_step;
        if (auto* a = std::get_if<ReadHeader>(&act)) {
            ++out.io_steps;
            if (injected) {
                r.on_read(inject->ec, 0);
                continue;
            }
            auto [k, ec] = take_bytes(a->bytes);
            std::memcpy(r.header_space().data(), wire.data() + pos, k);
            pos += k;
            r.on_read(ec, k);
        } else if (auto* a = std::get_if<ReadvPayload>(&act)) {
            ++out.io_steps;
            if (injected) {
                r.on_read(inject->ec, 0);
                maybe_complete();
                continue;
            }
            EXPECT_EQ(r.payload_offset(), cur->payload.size());
            auto [k, ec] = take_bytes(a->payload + a->header);
            const std::size_t p = std::min(k, a->payload);
            cur->payload.append(wire.data() + pos, p);
            std::memcpy(r.header_space().data(), wire.data() + pos + p, k - p);
            pos += k;
            r.on_read(ec, k);
            maybe_complete();
        } else if (auto* a = std::get_if<Splice>(&act)) {
            ++out.io_steps;
            if (injected) {
                r.on_splice(inject->ec, 0);
                maybe_complete();
                continue;
            }
            auto [k, ec] = take_bytes(a->bytes);
            cur->payload.append(wire.data() + pos, k);
            pos += k;
            r.on_splice(ec, k);
            maybe_complete();
        } else if (auto* a = std::get_if<Deliver>(&act)) {
            cur = Received{a->header.type, {}};
            if (a->header.length == 0) {
                EXPECT_EQ(r.payload_remaining(), 0u) << "an empty payload asks for no action";
                out.frames.push_back(*cur);
                cur.reset();
            } else if (take == Take::splice) {
                r.splice_payload();
            } else {
                r.read_payload(take == Take::read ? SIZE_MAX : 3);
            }
        } else {
            out.last = act;
            // Final: asked again, the reader repeats itself.
            EXPECT_EQ(r.next(), act) << "a finished reader changed its answer";
            return out;
        }
    }
    ADD_FAILURE() << "the reader never finished: " << show(out.actions);
    return out;
}

Outcome drive_whole(std::string_view wire, Take take, std::optional<Injection> inject = {}) {
    return drive(
        wire, take, [](std::size_t n) { return n; }, inject);
}
Outcome drive_bytewise(std::string_view wire, Take take) {
    return drive(wire, take, [](std::size_t) { return std::size_t{1}; });
}
Outcome drive_random(std::string_view wire, Take take, unsigned seed) {
    std::mt19937 rng(seed);
    return drive(wire, take,
                 [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(1, n)(rng); });
}

const Fail kCleanEof{Error(boost::asio::error::eof, "peer closed the connection")};

// ---- exact action sequences ------------------------------------------------------------

TEST(FrameReader, ReadsPayloadAndNextHeaderInOneReadv) {
    const auto wire = frame(frame_type::zfs_stream, "abc") + frame(frame_type::stream_end, "");
    auto o = drive_whole(wire, Take::read);
    const std::vector<FrameAction> want = {ReadHeader{8},      Deliver{{frame_type::zfs_stream, 3}},
                                           ReadvPayload{3, 8}, Deliver{{frame_type::stream_end, 0}},
                                           ReadHeader{8},      kCleanEof};
    EXPECT_EQ(o.actions, want) << show(o.actions);
    const std::vector<Received> frames = {{frame_type::zfs_stream, "abc"}, {frame_type::stream_end, ""}};
    EXPECT_EQ(o.frames, frames);
}

TEST(FrameReader, PayloadInStepsFetchesTheHeaderWithTheLastStepOnly) {
    const auto wire = frame(frame_type::res_structured, "abcdefg");
    auto o = drive_whole(wire, Take::read_in_steps_of_3);
    const std::vector<FrameAction> want = {ReadHeader{8},      Deliver{{frame_type::res_structured, 7}},
                                           ReadvPayload{3, 0}, ReadvPayload{3, 0},
                                           ReadvPayload{1, 8}, kCleanEof};
    EXPECT_EQ(o.actions, want) << show(o.actions);
    ASSERT_EQ(o.frames.size(), 1u);
    EXPECT_EQ(o.frames[0].payload, "abcdefg");
}

TEST(FrameReader, SplicedPayloadsNeverFetchAHeaderWithThem) {
    const auto wire = frame(frame_type::zfs_stream, "0123456789") + frame(frame_type::stream_end, "");
    auto o = drive_whole(wire, Take::splice);
    const std::vector<FrameAction> want = {
        ReadHeader{8}, Deliver{{frame_type::zfs_stream, 10}}, Splice{10},
        ReadHeader{8}, Deliver{{frame_type::stream_end, 0}},  ReadHeader{8},
        kCleanEof};
    EXPECT_EQ(o.actions, want) << show(o.actions);
}

TEST(FrameReader, RstShutsDown) {
    const auto wire = frame(frame_type::heartbeat, "") + frame(frame_type::rst, "");
    auto o = drive_whole(wire, Take::read);
    const std::vector<FrameAction> want = {ReadHeader{8}, Deliver{{frame_type::heartbeat, 0}}, ReadHeader{8},
                                           Shutdown{}};
    EXPECT_EQ(o.actions, want) << show(o.actions);
}

TEST(FrameReader, HeaderOverTheLimitFailsBeforeAnyPayloadIsRead) {
    const auto hdr = encode_frame_header({frame_type::zfs_stream, 0xffffffffu});
    const std::string wire(reinterpret_cast<const char*>(hdr.data()), hdr.size());
    auto o = drive_whole(wire, Take::read);
    ASSERT_EQ(o.actions.size(), 2u) << show(o.actions);
    auto* f = std::get_if<Fail>(&o.last);
    ASSERT_NE(f, nullptr) << show(o.last);
    EXPECT_EQ(f->error.code(), make_error_code(TransportErrc::frame_too_large));
    EXPECT_FALSE(f->error.temporary()) << f->error.message();

    // Exactly at the limit is accepted.
    FrameReader r(16);
    auto at = encode_frame_header({frame_type::zfs_stream, 16});
    std::memcpy(r.header_space().data(), at.data(), at.size());
    r.on_read({}, at.size());
    EXPECT_EQ(r.next(), FrameAction(Deliver{{frame_type::zfs_stream, 16}}));
}

TEST(FrameReader, EndsOfTheConnection) {
    struct Case {
        const char* what;
        std::string wire;
        TransportErrc or_code;  // expected unless a clean EOF
        bool clean;
    };
    const auto data = frame(frame_type::zfs_stream, "payload");
    const std::vector<Case> cases = {
        {"nothing at all", "", {}, true},
        {"after a whole frame", data, {}, true},
        {"inside a header", data.substr(0, 5), TransportErrc::connection_closed, false},
        {"inside a payload", data.substr(0, 10), TransportErrc::connection_closed, false},
        {"inside the next header", data + data.substr(0, 3), TransportErrc::connection_closed, false},
    };
    for (const auto& c : cases) {
        for (Take take : {Take::read, Take::read_in_steps_of_3, Take::splice}) {
            auto o = drive_whole(c.wire, take);
            auto* f = std::get_if<Fail>(&o.last);
            ASSERT_NE(f, nullptr) << c.what << ": " << show(o.last);
            if (c.clean) {
                EXPECT_EQ(*f, kCleanEof) << c.what << ": " << show(o.last);
            } else {
                EXPECT_EQ(f->error.code(), make_error_code(c.or_code)) << c.what << ": " << show(o.last);
                EXPECT_TRUE(f->error.temporary()) << c.what;
            }
        }
    }
}

TEST(FrameReader, PayloadNotTakenIsAnError) {
    FrameReader r;
    auto h = encode_frame_header({frame_type::zfs_stream, 4});
    std::memcpy(r.header_space().data(), h.data(), h.size());
    r.on_read({}, h.size());
    ASSERT_EQ(r.next(), FrameAction(Deliver{{frame_type::zfs_stream, 4}}));
    auto act = r.next();
    auto* f = std::get_if<Fail>(&act);
    ASSERT_NE(f, nullptr) << show(act);
    EXPECT_EQ(f->error.code(), make_error_code(Errc::internal));
}

TEST(FrameReader, SpliceIntoAPipeWhoseReaderExitedNamesTheLocalSide) {
    FrameReader r;
    auto h = encode_frame_header({frame_type::zfs_stream, 100});
    std::memcpy(r.header_space().data(), h.data(), h.size());
    r.on_read({}, h.size());
    ASSERT_EQ(r.next(), FrameAction(Deliver{{frame_type::zfs_stream, 100}}));
    r.splice_payload();
    ASSERT_EQ(r.next(), FrameAction(Splice{100}));
    r.on_splice({}, 40);
    ASSERT_EQ(r.next(), FrameAction(Splice{60})) << "a short splice asks for the rest";
    r.on_splice(make_error_code(boost::system::errc::broken_pipe), 0);
    auto act = r.next();
    auto* f = std::get_if<Fail>(&act);
    ASSERT_NE(f, nullptr) << show(act);
    EXPECT_EQ(f->error.code(), make_error_code(boost::system::errc::broken_pipe));
    EXPECT_NE(f->error.context().find("its reader exited"), std::string::npos) << f->error.context();
}

// ---- any chunking gives the same frames ------------------------------------------------

std::string sample_stream() {
    std::string w;
    for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 300u, 4096u}) {
        std::string p(len, '\0');
        for (std::size_t i = 0; i < len; ++i) p[i] = static_cast<char>('a' + (i * 7 + len) % 26);
        w += frame(frame_type::zfs_stream, p);
        w += frame(frame_type::heartbeat, "");
    }
    w += frame(frame_type::stream_err_trailer, "cannot send: dataset is busy");
    w += frame(frame_type::stream_end, "");
    return w;
}

TEST(FrameReader, ByteByByteAndRandomChunksGiveTheSameFrames) {
    const auto wire = sample_stream();
    for (Take take : {Take::read, Take::read_in_steps_of_3, Take::splice}) {
        auto whole = drive_whole(wire, take);
        ASSERT_EQ(whole.frames.size(), 16u);
        EXPECT_EQ(whole.last, FrameAction(kCleanEof)) << show(whole.last);
        auto bytewise = drive_bytewise(wire, take);
        EXPECT_EQ(bytewise.frames, whole.frames);
        EXPECT_EQ(bytewise.last, whole.last) << show(bytewise.last);
        for (unsigned seed = 1; seed <= 50; ++seed) {
            auto chunked = drive_random(wire, take, seed);
            EXPECT_EQ(chunked.frames, whole.frames) << "seed " << seed;
            EXPECT_EQ(chunked.last, whole.last) << "seed " << seed << ": " << show(chunked.last);
        }
        // Each prefix of the stream: the frames completed within it, then an EOF verdict.
        for (std::size_t cut = 0; cut < wire.size(); cut += 13) {
            auto part = drive_random(std::string_view(wire).substr(0, cut), take, static_cast<unsigned>(cut));
            ASSERT_LE(part.frames.size(), whole.frames.size());
            EXPECT_TRUE(std::equal(part.frames.begin(), part.frames.end(), whole.frames.begin()))
                << "cut " << cut;
            EXPECT_TRUE(std::holds_alternative<Fail>(part.last)) << "cut " << cut;
        }
    }
}

// ---- an error at every step (Boost.MySQL's check_network_errors) ------------------------

TEST(FrameReader, AnErrorAtEveryStepEndsTheReaderWithThatError) {
    const auto wire = sample_stream();
    for (Take take : {Take::read, Take::read_in_steps_of_3, Take::splice}) {
        const auto clean = drive_whole(wire, take);
        ASSERT_GT(clean.io_steps, 10u);
        for (std::size_t step = 0; step < clean.io_steps; ++step) {
            for (error_code injected : {error_code(boost::asio::error::connection_reset),
                                        make_error_code(TransportErrc::timeout)}) {
                auto o = drive_whole(wire, take, Injection{step, injected});
                auto* f = std::get_if<Fail>(&o.last);
                ASSERT_NE(f, nullptr) << "step " << step << ": " << show(o.last);
                EXPECT_EQ(f->error.code(), injected) << "step " << step << ": " << show(o.last);
                EXPECT_EQ(o.io_steps, step + 1) << "no I/O after the error";
                ASSERT_LE(o.frames.size(), clean.frames.size());
                EXPECT_TRUE(std::equal(o.frames.begin(), o.frames.end(), clean.frames.begin()))
                    << "step " << step;
            }
            // EOF at a step: clean only where a frame could begin (a whole header was asked).
            auto o = drive_whole(wire, take, Injection{step, boost::asio::error::eof});
            auto* f = std::get_if<Fail>(&o.last);
            ASSERT_NE(f, nullptr) << "step " << step << ": " << show(o.last);
            std::size_t seen = 0;
            FrameAction at_step;
            for (const auto& a : o.actions) {
                const bool io = std::holds_alternative<ReadHeader>(a) ||
                                std::holds_alternative<ReadvPayload>(a) || std::holds_alternative<Splice>(a);
                if (io && seen++ == step) at_step = a;
            }
            if (at_step == FrameAction(ReadHeader{8})) {
                EXPECT_EQ(*f, kCleanEof) << "step " << step << ": " << show(o.last);
            } else {
                EXPECT_EQ(f->error.code(), make_error_code(TransportErrc::connection_closed))
                    << "step " << step << " (" << show(at_step) << "): " << show(o.last);
            }
        }
    }
}

// ---- heartbeats ----------------------------------------------------------------------------

TEST(Heartbeat, SendsAfterAWholeIntervalWithoutWrites) {
    using namespace std::chrono_literals;
    const HeartbeatSchedule s{5000ms};
    const std::chrono::steady_clock::time_point t0{std::chrono::seconds(100)};
    struct Case {
        std::chrono::milliseconds since_write;
        HeartbeatDecision want;
    };
    const std::vector<Case> cases = {
        {0ms, hb::WaitUntil{t0 + 5000ms}},
        {4999ms, hb::WaitUntil{t0 + 5000ms}},
        {5000ms, hb::Send{}},
        {60000ms, hb::Send{}},
    };
    for (const auto& c : cases) {
        auto got = s.decide(t0, t0 + c.since_write);
        std::ostringstream g, w;
        g << got;
        w << c.want;
        EXPECT_EQ(got, c.want) << c.since_write.count() << " ms after a write: got " << g.str() << ", want "
                               << w.str();
    }
    EXPECT_EQ(s.retry_after_failure(t0), HeartbeatDecision(hb::WaitUntil{t0 + 5000ms}));
}

TEST(Heartbeat, ReceivedHeadersTable) {
    struct Case {
        FrameHeader h;
        const char* want;  // printed step
    };
    const std::vector<Case> cases = {
        {{frame_type::heartbeat, 0}, "PeerAlive{}"},
        {{frame_type::zfs_stream, 10}, "Deliver{type=ZFSStream, length=10}"},
        {{frame_type::stream_end, 0}, "Deliver{type=End, length=0}"},
        {{frame_type::heartbeat, 1}, "Fail{heartbeat frame with a payload"},
        {{2u << 24, 0}, "Fail{unknown frame type 0x02000000"},
        {{2u << 28, 0}, "Fail{unknown frame type 0x20000000"},
    };
    for (const auto& c : cases) {
        std::ostringstream os;
        os << on_received_header(c.h);
        EXPECT_EQ(os.str().rfind(c.want, 0), 0u) << "got " << os.str() << ", want " << c.want;
    }
}

}  // namespace
}  // namespace zferry::transport
