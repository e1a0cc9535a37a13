// Sans-I/O transport hot spots: frame header encode/decode, a received byte stream cut into
// frames (headers reassembled across read boundaries, payloads copied into pooled buffers as
// the readv path does), the stream layer on top (data frames + End, an error trailer), and
// stream encoding as StreamConn::write_message frames a message (header + payload iovecs).
//
// ChunkedFrameReader below drives transport's sans-I/O FrameReader (the one FrameConn drives
// on a socket) over arbitrary read chunks, performing its actions on memory, and passes every
// delivered frame through StreamDecoder. Every decode benchmark first decodes its input once outside
// the timed loop and verifies frame count, byte totals, payload checksum and the decoder's
// final state, so a broken codec fails the run instead of timing nothing.
#include "core/buffer_pool.hpp"
#include "transport/frame_codec.hpp"
#include "transport/frame_reader.hpp"
#include "transport/stream_decoder.hpp"

#include <benchmark/benchmark.h>

#include <sys/uio.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace zferry;
using namespace zferry::transport;

constexpr std::uint32_t KiB = 1024;
constexpr std::uint32_t MiB = 1024 * KiB;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "transport_bench: self-check failed: %s\n", what.c_str());
    std::abort();
}

void append(std::vector<std::byte>& out, std::span<const std::byte> b) {
    out.insert(out.end(), b.begin(), b.end());
}

std::uint64_t fnv1a(std::uint64_t h, std::span<const std::byte> b) {
    for (auto c : b) h = (h ^ std::to_integer<std::uint64_t>(c)) * 0x100000001b3ull;
    return h;
}
constexpr std::uint64_t kFnvBasis = 0xcbf29ce484222325ull;

// ---- Header encode/decode -------------------------------------------------------------------

void BM_EncodeFrameHeader(benchmark::State& state) {
    std::uint32_t len = 0;
    for (auto _ : state) {
        auto b = encode_frame_header({frame_type::zfs_stream, len++});
        benchmark::DoNotOptimize(b);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kFrameHeaderLen));
}
BENCHMARK(BM_EncodeFrameHeader);

// Decode + size check + layer dispatch of 4096 distinct headers per iteration, as a reader
// does for each received header.
void BM_DecodeCheckFrameHeader(benchmark::State& state) {
    constexpr std::size_t n = 4096;
    const std::uint32_t types[] = {frame_type::zfs_stream, frame_type::heartbeat, frame_type::stream_end,
                                   frame_type::res_header};
    std::vector<std::byte> wire;
    for (std::size_t i = 0; i < n; ++i)
        append(wire, encode_frame_header({types[i % 4], static_cast<std::uint32_t>(i * 997 % (4 * MiB))}));
    auto pass = [&] {
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            auto h =
                decode_frame_header(std::span(wire).subspan(i * kFrameHeaderLen).first<kFrameHeaderLen>());
            if (!check_frame_header(h, kDefaultMaxFramePayload)) die("header rejected");
            sum += h.length + static_cast<std::uint64_t>(frame_layer(h.type));
        }
        return sum;
    };
    std::uint64_t expect = 0;
    for (std::size_t i = 0; i < n; ++i)
        expect += i * 997 % (4 * MiB) + static_cast<std::uint64_t>(frame_layer(types[i % 4]));
    if (pass() != expect) die("decoded headers differ from the encoded ones");
    for (auto _ : state) benchmark::DoNotOptimize(pass());
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_DecodeCheckFrameHeader);

// ---- Chunked frame stream reader ------------------------------------------------------------

// Consumes a received byte stream in whatever chunks the socket returned, as FrameReader
// asks. Payloads go into a pooled buffer (the readv path), or are skipped in place when `pool`
// is null (the splice path: user space never touches them). With a StreamDecoder every
// non-heartbeat frame goes through it; trailer payloads are always collected, as the decoder
// needs their text.
class ChunkedFrameReader {
public:
    ChunkedFrameReader(BufferPool* pool, StreamDecoder* dec) : pool_(pool), dec_(dec) {}

    // False on a protocol error.
    bool feed(std::span<const std::byte> in) {
        for (;;) {
            auto act = reader_.next();
            if (auto* a = std::get_if<frame_action::ReadHeader>(&act)) {
                if (in.empty()) return true;
                const auto n = std::min(in.size(), a->bytes);
                std::memcpy(reader_.header_space().data(), in.data(), n);
                in = in.subspan(n);
                reader_.on_read({}, n);
            } else if (auto* a = std::get_if<frame_action::ReadvPayload>(&act)) {
                if (in.empty()) return true;
                const auto n = std::min(in.size(), a->payload);
                std::memcpy(payload_.data() + reader_.payload_offset(), in.data(), n);
                in = in.subspan(n);
                std::size_t h = 0;
                if (n == a->payload) {
                    h = std::min(in.size(), a->header);
                    std::memcpy(reader_.header_space().data(), in.data(), h);
                    in = in.subspan(h);
                }
                reader_.on_read({}, n + h);
                if (reader_.payload_remaining() == 0) finish_frame();
            } else if (auto* a = std::get_if<frame_action::Splice>(&act)) {
                if (in.empty()) return true;
                const auto n = std::min(in.size(), a->bytes);
                in = in.subspan(n);
                reader_.on_splice({}, n);
                if (reader_.payload_remaining() == 0) finish_frame();
            } else if (auto* a = std::get_if<frame_action::Deliver>(&act)) {
                if (!on_header(a->header)) return false;
            } else {
                return false;  // Fail or Shutdown: a protocol error for a stream of data
            }
        }
    }

    std::uint64_t frames = 0;
    std::uint64_t payload_bytes = 0;
    std::uint64_t checksum = kFnvBasis;  // over delivered data payloads, when `verify`
    bool verify = false;

private:
    bool on_header(FrameHeader h) {
        cur_ = h;
        trailer_ = false;
        if (dec_ && frame_layer(cur_.type) != FrameLayer::heartbeat) {
            auto step = dec_->on_header(cur_);
            if (step.kind == StreamDecoder::Kind::error) return false;
            trailer_ = step.kind == StreamDecoder::Kind::trailer;
        }
        if (cur_.length == 0) {
            finish_frame();
            return true;
        }
        if (pool_ || trailer_) {
            payload_ = pool_ ? pool_->get(cur_.length) : trailer_pool_.get(cur_.length);
            reader_.read_payload();
        } else {
            reader_.splice_payload();
        }
        return true;
    }

    void finish_frame() {
        ++frames;
        payload_bytes += cur_.length;
        if (trailer_) {
            dec_->add_trailer(payload_.bytes());
        } else if (pool_) {
            if (verify) checksum = fnv1a(checksum, payload_.bytes());
            benchmark::DoNotOptimize(payload_.data());
        }
        payload_ = {};  // back to the pool, as the consumer would after writing it out
    }

    BufferPool* pool_;
    StreamDecoder* dec_;
    BufferPool trailer_pool_{6, 16, BufferPool::NoFit::allocate};
    FrameReader reader_{kDefaultMaxFramePayload};
    FrameHeader cur_;
    bool trailer_ = false;
    BufferPool::Buffer payload_;
};

// The pool dataconn uses: 32 KiB .. 4 MiB classes, anything else freshly allocated.
BufferPool make_dataconn_pool() { return BufferPool(15, 22, BufferPool::NoFit::allocate); }

struct Wire {
    std::vector<std::byte> bytes;
    std::uint64_t frames = 0;
    std::uint64_t payload_bytes = 0;
    std::uint64_t data_checksum = kFnvBasis;
};

void add_frame(Wire& w, std::uint32_t type, std::span<const std::byte> payload, bool data) {
    append(w.bytes, encode_frame_header({type, static_cast<std::uint32_t>(payload.size())}));
    append(w.bytes, payload);
    ++w.frames;
    w.payload_bytes += payload.size();
    if (data) w.data_checksum = fnv1a(w.data_checksum, payload);
}

std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
    std::vector<std::byte> p(n);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : p) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        b = static_cast<std::byte>(x);
    }
    return p;
}

// A ZFSStream of `count` data frames of `payload` bytes, a heartbeat every 16 frames, End.
Wire zfs_stream_wire(std::uint32_t payload, std::size_t count) {
    Wire w;
    w.bytes.reserve(count * (payload + kFrameHeaderLen) + 256);
    for (std::size_t i = 0; i < count; ++i) {
        if (i % 16 == 15) add_frame(w, frame_type::heartbeat, {}, false);
        add_frame(w, frame_type::zfs_stream, pattern(payload, static_cast<std::uint32_t>(i)), true);
    }
    add_frame(w, frame_type::stream_end, {}, false);
    return w;
}

// Enough frames for >= 16 MiB of wire (at least 4 frames): large enough that a pass is not
// one cache-resident buffer, small enough to build quickly.
std::size_t frames_for(std::uint32_t payload) {
    return std::max<std::size_t>(4, (16 * MiB) / (payload + kFrameHeaderLen));
}

// Feeds `wire` through `reader` in `chunk`-byte reads; returns false on a protocol error.
bool feed_chunked(ChunkedFrameReader& reader, std::span<const std::byte> wire, std::size_t chunk) {
    while (!wire.empty()) {
        auto n = std::min(chunk, wire.size());
        if (!reader.feed(wire.first(n))) return false;
        wire = wire.subspan(n);
    }
    return true;
}

// Frame layer only: args payload size, read chunk size. Payloads are copied into pooled
// buffers (readv path). Counts wire bytes and frames.
void BM_FrameStreamDecodeChunked(benchmark::State& state) {
    const auto payload = static_cast<std::uint32_t>(state.range(0));
    const auto chunk = static_cast<std::size_t>(state.range(1));
    const Wire w = zfs_stream_wire(payload, frames_for(payload));
    auto pool = make_dataconn_pool();
    {
        ChunkedFrameReader r(&pool, nullptr);
        r.verify = true;
        if (!feed_chunked(r, w.bytes, chunk)) die("frame stream rejected");
        if (r.frames != w.frames || r.payload_bytes != w.payload_bytes || r.checksum != w.data_checksum)
            die("frame stream decoded to different frames or payloads");
    }
    for (auto _ : state) {
        ChunkedFrameReader r(&pool, nullptr);
        if (!feed_chunked(r, w.bytes, chunk)) state.SkipWithError("frame stream rejected");
        benchmark::DoNotOptimize(r.frames);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(w.frames));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(w.bytes.size()));
}
// Control-sized frames (64 B payloads, read in 4 KiB or 64 KiB chunks) and data frames of
// 512 KiB (zrepl's and zferry's writers), 1 MiB and 4 MiB (the cap), read in 64 KiB (a
// typical socket read) and 1 MiB chunks.
BENCHMARK(BM_FrameStreamDecodeChunked)
    ->ArgNames({"payload", "chunk"})
    ->Args({64, 4 * KiB})
    ->Args({64, 64 * KiB})
    ->Args({512 * KiB, 64 * KiB})
    ->Args({512 * KiB, 1 * MiB})
    ->Args({1 * MiB, 64 * KiB})
    ->Args({4 * MiB, 64 * KiB})
    ->Args({4 * MiB, 1 * MiB})
    ->Unit(benchmark::kMicrosecond);

// Stream layer: frame layer + StreamDecoder over data frames + End, payloads skipped in place
// (the splice path: the per-frame framing cost alone). Args payload size, read chunk size.
void BM_StreamDecodeChunked(benchmark::State& state) {
    const auto payload = static_cast<std::uint32_t>(state.range(0));
    const auto chunk = static_cast<std::size_t>(state.range(1));
    const Wire w = zfs_stream_wire(payload, frames_for(payload));
    const std::uint64_t data_bytes = w.payload_bytes;  // heartbeats and End are empty
    {
        StreamDecoder dec(frame_type::zfs_stream);
        ChunkedFrameReader r(nullptr, &dec);
        if (!feed_chunked(r, w.bytes, chunk)) die("stream rejected: " + dec.error().message());
        if (!dec.done() || dec.total() != data_bytes || r.frames != w.frames)
            die("stream decoded to a different total or did not end");
    }
    for (auto _ : state) {
        StreamDecoder dec(frame_type::zfs_stream);
        ChunkedFrameReader r(nullptr, &dec);
        if (!feed_chunked(r, w.bytes, chunk) || !dec.done()) state.SkipWithError("stream rejected");
        benchmark::DoNotOptimize(dec.total());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(w.frames));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(w.bytes.size()));
}
BENCHMARK(BM_StreamDecodeChunked)
    ->ArgNames({"payload", "chunk"})
    ->Args({64, 4 * KiB})
    ->Args({512 * KiB, 64 * KiB})
    ->Args({4 * MiB, 64 * KiB})
    ->Unit(benchmark::kMicrosecond);

// The same stream with payloads copied into pooled buffers (readv path), read in 64 KiB.
void BM_StreamDecodeChunkedCopy(benchmark::State& state) {
    const auto payload = static_cast<std::uint32_t>(state.range(0));
    const std::size_t chunk = 64 * KiB;
    const Wire w = zfs_stream_wire(payload, frames_for(payload));
    auto pool = make_dataconn_pool();
    {
        StreamDecoder dec(frame_type::zfs_stream);
        ChunkedFrameReader r(&pool, &dec);
        r.verify = true;
        if (!feed_chunked(r, w.bytes, chunk)) die("stream rejected: " + dec.error().message());
        if (!dec.done() || dec.total() != w.payload_bytes || r.checksum != w.data_checksum)
            die("stream decoded to different payloads or did not end");
    }
    for (auto _ : state) {
        StreamDecoder dec(frame_type::zfs_stream);
        ChunkedFrameReader r(&pool, &dec);
        if (!feed_chunked(r, w.bytes, chunk) || !dec.done()) state.SkipWithError("stream rejected");
        benchmark::DoNotOptimize(dec.total());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(w.frames));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(w.bytes.size()));
}
BENCHMARK(BM_StreamDecodeChunkedCopy)
    ->ArgNames({"payload"})
    ->Arg(512 * KiB)
    ->Arg(4 * MiB)
    ->Unit(benchmark::kMicrosecond);

// A stream that fails at the source: 4 data frames of 512 KiB, then an error trailer of
// `text` bytes (UTF-8, as zfs send's stderr is passed on) and End. The arg is the trailer
// length: a typical zfs error line, and the 64 KiB maximum (UTF-8 validation of all of it).
void BM_StreamDecodeErrorTrailer(benchmark::State& state) {
    const auto text_len = static_cast<std::size_t>(state.range(0));
    std::string text;
    const std::string line =
        "cannot send pool/data@snap: dataset is busy \xe2\x80\x94 r\xc3\xa9"
        "essayez\n";
    while (text.size() + line.size() <= text_len) text += line;
    text.append(text_len - text.size(), 'x');
    Wire w;
    for (std::uint32_t i = 0; i < 4; ++i) add_frame(w, frame_type::zfs_stream, pattern(512 * KiB, i), true);
    add_frame(w, frame_type::stream_err_trailer, std::as_bytes(std::span(text.data(), text.size())), false);
    add_frame(w, frame_type::stream_end, {}, false);
    const std::size_t chunk = 64 * KiB;
    {
        StreamDecoder dec(frame_type::zfs_stream);
        ChunkedFrameReader r(nullptr, &dec);
        if (!feed_chunked(r, w.bytes, chunk)) die("trailer stream rejected: " + dec.error().message());
        if (!dec.done() || dec.source_error() != text || dec.total() != 4 * 512 * KiB)
            die("error trailer decoded to a different text");
    }
    for (auto _ : state) {
        StreamDecoder dec(frame_type::zfs_stream);
        ChunkedFrameReader r(nullptr, &dec);
        if (!feed_chunked(r, w.bytes, chunk) || dec.source_error().size() != text.size())
            state.SkipWithError("trailer stream rejected");
        benchmark::DoNotOptimize(dec.source_error().data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(w.frames));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(w.bytes.size()));
}
BENCHMARK(BM_StreamDecodeErrorTrailer)
    ->ArgNames({"text"})
    ->Arg(200)
    ->Arg(64 * KiB)
    ->Unit(benchmark::kMicrosecond);

// StreamDecoder alone on the header of each frame (no bytes to move): the per-frame decision
// cost of a stream of N data frames + End.
void BM_StreamDecoderHeadersOnly(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    {
        StreamDecoder dec(frame_type::zfs_stream);
        for (std::uint32_t i = 0; i < n; ++i)
            if (dec.on_header({frame_type::zfs_stream, 512 * KiB}).kind != StreamDecoder::Kind::data)
                die("data frame not accepted");
        if (dec.on_header({frame_type::stream_end, 0}).kind != StreamDecoder::Kind::end)
            die("End not recognised");
        if (dec.total() != std::uint64_t{n} * 512 * KiB) die("wrong total");
    }
    for (auto _ : state) {
        StreamDecoder dec(frame_type::zfs_stream);
        for (std::uint32_t i = 0; i < n; ++i) {
            auto s = dec.on_header({frame_type::zfs_stream, 512 * KiB});
            benchmark::DoNotOptimize(s);
        }
        auto s = dec.on_header({frame_type::stream_end, 0});
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(state.iterations() * (n + 1));
}
BENCHMARK(BM_StreamDecoderHeadersOnly)->Arg(1024);

// ---- Stream encoding ------------------------------------------------------------------------

// What StreamConn::write_message does per message, minus the socket: cut the payload into
// `chunk`-byte frames, encode each header and gather header + payload as iovecs (no payload
// byte is copied), then the End frame. Args message size, chunk size.
void BM_StreamEncodeMessage(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const auto chunk = static_cast<std::size_t>(state.range(1));
    const auto payload = pattern(size, 7);
    const std::size_t frames = (size + chunk - 1) / chunk + 1;
    std::vector<std::array<std::byte, kFrameHeaderLen>> headers(frames);
    std::vector<iovec> iov;
    iov.reserve(2 * frames);
    auto encode = [&] {
        iov.clear();
        std::span<const std::byte> rest(payload);
        std::size_t f = 0;
        while (!rest.empty()) {
            auto n = std::min(rest.size(), chunk);
            headers[f] = encode_frame_header({frame_type::zfs_stream, static_cast<std::uint32_t>(n)});
            iov.push_back({headers[f].data(), kFrameHeaderLen});
            iov.push_back({const_cast<std::byte*>(rest.data()), n});
            rest = rest.subspan(n);
            ++f;
        }
        headers[f] = encode_frame_header({frame_type::stream_end, 0});
        iov.push_back({headers[f].data(), kFrameHeaderLen});
    };
    {
        // Round trip through the decoder: the gathered bytes must decode to the message.
        encode();
        std::vector<std::byte> wire;
        for (auto& v : iov) append(wire, {static_cast<const std::byte*>(v.iov_base), v.iov_len});
        auto pool = make_dataconn_pool();
        StreamDecoder dec(frame_type::zfs_stream);
        ChunkedFrameReader r(&pool, &dec);
        r.verify = true;
        if (!feed_chunked(r, wire, 64 * KiB) || !dec.done() || dec.total() != size || r.frames != frames ||
            r.checksum != fnv1a(kFnvBasis, payload))
            die("encoded message does not decode to itself");
    }
    for (auto _ : state) {
        encode();
        benchmark::DoNotOptimize(iov.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(frames));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_StreamEncodeMessage)
    ->ArgNames({"size", "chunk"})
    ->Args({200, 512 * KiB})
    ->Args({16 * MiB, 512 * KiB})
    ->Args({16 * MiB, 4 * MiB});

}  // namespace
