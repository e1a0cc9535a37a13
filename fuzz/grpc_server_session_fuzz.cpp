// Fuzzes the gRPC server session (nghttp2 underneath) with what a client could send: the
// first byte picks the chunking, a small message limit and whether to drain, the rest is the
// byte stream. Every call that comes out is answered (alternately OK and an error) and time
// moves on so deadlines and keepalive run; some inputs drain the session (graceful GOAWAY).
// Invariants: a cancelled call was handed out before, no call is handed out twice, and once
// done() the session stays done.
#include "transport/grpc/server_session.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <span>
#include <string>

using namespace zferry::transport::grpc;
using namespace std::chrono_literals;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "grpc_server_session_fuzz: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t mode = data[0];
    std::span<const std::uint8_t> in(data + 1, size - 1);
    ServerSessionOptions opt;
    if (mode & 0x80) opt.max_receive_message = 64;
    if (mode & 0x40) opt.max_header_list = 256;
    TimePoint now = TimePoint{} + 1000h;
    ServerSession s(opt, now);
    std::set<std::int32_t> handed_out;
    std::string out;
    std::size_t chunk = 1 + (mode & 0x3f);
    bool was_done = false;
    int n = 0;
    while (!in.empty()) {
        const std::size_t k = std::min(chunk, in.size());
        s.receive(in.first(k), now);
        in = in.subspan(k);
        for (auto& c : s.take_calls()) {
            if (!handed_out.insert(c.stream_id).second) fail("a call was handed out twice");
            if (c.stream_id <= 0 || c.stream_id % 2 == 0) fail("a call on a server-side stream id");
            if (++n % 2)
                s.respond(c.stream_id, c.message);
            else
                s.fail(c.stream_id, {StatusCode::internal, c.path});
        }
        // Now and then the server drains once a call has been seen.
        if ((mode & 0x20) && n == 1) s.begin_shutdown(now, 1s);
        for (auto id : s.take_cancelled())
            if (!handed_out.count(id)) fail("a call was cancelled that was never handed out");
        out.clear();
        s.produce_output(out);
        now += 700ms;
        if (auto t = s.next_timer(); t && *t <= now) s.on_timer(now);
        if (was_done && !s.done()) fail("a done session came back to life");
        was_done = s.done();
        chunk = chunk * 3 % 61 + 1;
    }
    return 0;
}
