// Fuzzes the frame codec and the stream decoder together: the input is a byte stream as a
// peer would send it; headers are decoded and checked against the size limit, and every
// frame goes through a StreamDecoder of the type chosen by the first byte. Invariants: the
// decoder never accepts more data than its limit, and stops after end/error.
#include "transport/frame_codec.hpp"
#include "transport/stream_decoder.hpp"

#include <cstdint>
#include <cstdlib>
#include <span>

using namespace zferry::transport;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint32_t types[] = {frame_type::zfs_stream, frame_type::req_header,
                                   frame_type::res_structured};
    std::uint32_t type = types[data[0] % 3];
    std::uint64_t limit = (data[0] & 0x80) ? 1 << 15 : 0;
    StreamDecoder dec(type, limit);
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    while (in.size() >= kFrameHeaderLen && !dec.done()) {
        FrameHeader h = decode_frame_header(in.first<kFrameHeaderLen>());
        auto again = encode_frame_header(h);
        for (std::size_t i = 0; i < kFrameHeaderLen; ++i)
            if (again[i] != in[i]) std::abort();
        in = in.subspan(kFrameHeaderLen);
        if (!check_frame_header(h, 1 << 16)) break;
        if (h.length > in.size()) break;  // peer closed mid-frame
        auto payload = in.first(h.length);
        in = in.subspan(h.length);
        if (frame_layer(h.type) == FrameLayer::heartbeat || frame_layer(h.type) == FrameLayer::frame)
            continue;
        auto step = dec.on_header(h);
        if (step.kind == StreamDecoder::Kind::trailer) dec.add_trailer(payload);
        if (limit && dec.total() > limit && step.kind == StreamDecoder::Kind::data) std::abort();
        (void)frame_type_name(h.type);
    }
    return 0;
}
