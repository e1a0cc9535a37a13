// Fuzzes the frame layer's sans-I/O reader and the stream decoder together: the input is a
// byte stream as a peer would send it, fed to a FrameReader once whole and once in chunks of
// a size chosen by the first byte, with payloads read (whole or in small steps) or spliced;
// every non-heartbeat frame goes through a StreamDecoder of the type chosen by the first byte.
// Invariants: the reader never asks for bytes beyond the frame it is in, payloads arrive
// whole, chunking changes nothing, a finished reader repeats itself, and the decoder never
// accepts more data than its limit and stops after end/error.
#include "transport/frame_codec.hpp"
#include "transport/frame_reader.hpp"
#include "transport/stream_decoder.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

using namespace zferry::transport;

namespace {

constexpr std::uint32_t kMaxPayload = 1 << 16;

void check(bool ok) {
    if (!ok) std::abort();
}

struct Run {
    std::vector<FrameHeader> delivered;
    int end = 0;  // 0 input exhausted, 1 Fail, 2 Shutdown, 3 decoder done
    std::uint64_t total = 0;
};

Run run(std::span<const std::byte> in, std::size_t chunk, bool splice, std::size_t step, std::uint32_t type,
        std::uint64_t limit) {
    FrameReader r(kMaxPayload);
    StreamDecoder dec(type, limit);
    Run out;
    std::string payload;
    bool trailer = false;
    bool spliced = false;
    auto finish_frame = [&] {
        check(spliced ? payload.empty() : payload.size() == r.current().length);
        if (trailer) dec.add_trailer(std::as_bytes(std::span(payload.data(), payload.size())));
        payload.clear();
    };
    for (;;) {
        auto act = r.next();
        if (auto* a = std::get_if<frame_action::ReadHeader>(&act)) {
            check(a->bytes >= 1 && a->bytes <= kFrameHeaderLen && a->bytes == r.header_space().size());
            if (in.empty()) break;
            auto n = std::min({in.size(), a->bytes, chunk});
            std::memcpy(r.header_space().data(), in.data(), n);
            in = in.subspan(n);
            r.on_read({}, n);
        } else if (auto* a = std::get_if<frame_action::ReadvPayload>(&act)) {
            check(a->payload >= 1 && r.payload_offset() + a->payload <= r.current().length);
            check(a->header == 0 || a->payload == r.payload_remaining());
            check(a->payload <= step);
            if (in.empty()) break;
            auto n = std::min({in.size(), a->payload, chunk});
            check(payload.size() == r.payload_offset());
            payload.append(reinterpret_cast<const char*>(in.data()), n);
            in = in.subspan(n);
            r.on_read({}, n);
            if (r.payload_remaining() == 0) finish_frame();
        } else if (auto* a = std::get_if<frame_action::Splice>(&act)) {
            check(a->bytes == r.payload_remaining() && a->bytes >= 1);
            if (in.empty()) break;
            auto n = std::min({in.size(), a->bytes, chunk});
            in = in.subspan(n);
            r.on_splice({}, n);
            if (r.payload_remaining() == 0) finish_frame();
        } else if (auto* a = std::get_if<frame_action::Deliver>(&act)) {
            const FrameHeader h = a->header;
            check(h.length <= kMaxPayload && h.type != frame_type::rst);
            auto again = encode_frame_header(h);
            check(decode_frame_header(again) == h);
            out.delivered.push_back(h);
            (void)frame_type_name(h.type);
            trailer = false;
            spliced = false;
            if (frame_layer(h.type) != FrameLayer::heartbeat && frame_layer(h.type) != FrameLayer::frame) {
                auto s = dec.on_header(h);
                trailer = s.kind == StreamDecoder::Kind::trailer;
                if (limit && dec.total() > limit && s.kind == StreamDecoder::Kind::data) std::abort();
            }
            if (dec.done()) {
                out.end = 3;
                break;
            }
            if (h.length == 0) continue;
            if (splice && !trailer) {
                spliced = true;
                r.splice_payload();
            } else {
                r.read_payload(step);
            }
        } else if (std::holds_alternative<frame_action::Shutdown>(act)) {
            check(r.next() == act);
            out.end = 2;
            break;
        } else {
            check(r.next() == act);
            out.end = 1;
            break;
        }
    }
    out.total = dec.total();
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint32_t types[] = {frame_type::zfs_stream, frame_type::req_header,
                                   frame_type::res_structured};
    const std::uint32_t type = types[data[0] % 3];
    const std::uint64_t limit = (data[0] & 0x80) ? 1 << 15 : 0;
    const std::size_t chunk = std::size_t{1} << ((data[0] >> 2) & 7);
    const bool splice = data[0] & 0x20;
    const std::size_t step = (data[0] & 0x40) ? 3 : SIZE_MAX;
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    auto whole = run(in, SIZE_MAX, splice, step, type, limit);
    auto chunked = run(in, chunk, splice, step, type, limit);
    check(whole.end == chunked.end && whole.total == chunked.total);
    check(whole.delivered.size() == chunked.delivered.size());
    for (std::size_t i = 0; i < whole.delivered.size(); ++i)
        check(whole.delivered[i] == chunked.delivered[i]);
    return 0;
}
