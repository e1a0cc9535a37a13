#include "transport/handshake_io.hpp"

#include "core/async.hpp"

#include <algorithm>
#include <array>

namespace zferry::transport {
namespace {

Error io_error(error_code ec, const TcpConn& conn, std::string_view what) {
    if (ec == asio::error::eof) ec = make_error_code(TransportErrc::connection_closed);
    return Error(ec, std::string(what) + " with peer " + conn.peer());
}

}  // namespace

asio::awaitable<Result<HandshakeOutcome>> exchange_banners_within_deadline(TcpConn& conn, Banner ours) {
    auto encoded = encode_banner(ours);
    if (!encoded) co_return encoded.error();
    iovec out{encoded->data(), encoded->size()};
    if (error_code ec = co_await conn.writev_full({&out, 1})) {
        co_return io_error(ec, conn, "writing protocol handshake");
    }
    BannerReader reader;
    // A small fixed buffer, not one of the announced size: a peer that announces 64 KiB and
    // sends nothing must not make us allocate them. The reader keeps only what it must.
    std::array<char, 512> buf;
    while (!reader.done()) {
        iovec in{buf.data(), std::min(buf.size(), reader.bytes_needed())};
        auto [ec, n] = co_await conn.read_some({&in, 1});
        if (ec) co_return io_error(ec, conn, "reading protocol handshake");
        if (auto r = reader.consume({buf.data(), n}); !r) {
            Error e = r.error();
            e.wrap("protocol handshake with peer " + conn.peer());
            co_return e;
        }
    }
    auto outcome = check_peer(ours, reader.banner());
    if (!outcome) {
        Error e = outcome.error();
        e.wrap("protocol handshake with peer " + conn.peer());
        co_return e;
    }
    co_return *outcome;
}

asio::awaitable<Result<HandshakeOutcome>> exchange_banners(TcpConn& conn, std::chrono::milliseconds timeout,
                                                           Banner ours) {
    conn.set_absolute_deadline(Clock::now() + timeout);
    auto r = co_await exchange_banners_within_deadline(conn, std::move(ours));
    conn.clear_absolute_deadline();
    co_return r;
}

asio::awaitable<Result<void>> write_label(TcpConn& conn, MuxLabel label, std::chrono::milliseconds timeout) {
    conn.set_absolute_deadline(Clock::now() + timeout);
    auto bytes = encode_label(label);
    iovec out{bytes.data(), bytes.size()};
    error_code ec = co_await conn.writev_full({&out, 1});
    conn.clear_absolute_deadline();
    if (ec) co_return io_error(ec, conn, "writing connection label");
    co_return Result<void>{};
}

asio::awaitable<Result<MuxLabel>> read_label_within_deadline(TcpConn& conn) {
    std::array<char, kLabelLen> bytes;
    iovec in{bytes.data(), bytes.size()};
    auto [ec, n] = co_await conn.readv_full({&in, 1});
    if (ec) co_return io_error(ec, conn, "reading connection label");
    auto label = decode_label(bytes);
    if (!label) {
        Error e = label.error();
        e.wrap("peer " + conn.peer());
        co_return e;
    }
    co_return *label;
}

asio::awaitable<Result<MuxLabel>> read_label(TcpConn& conn, std::chrono::milliseconds timeout) {
    conn.set_absolute_deadline(Clock::now() + timeout);
    auto r = co_await read_label_within_deadline(conn);
    conn.clear_absolute_deadline();
    co_return r;
}

asio::awaitable<Result<std::unique_ptr<TcpConn>>> connect_labelled(IoEngine& engine, WireConnector& connector,
                                                                   MuxLabel label, ConnOptions options,
                                                                   std::chrono::milliseconds timeout,
                                                                   Banner ours, HandshakeOutcome* outcome) {
    auto wire = co_await connector.connect(timeout);
    if (!wire) co_return wire.error();
    auto conn = std::make_unique<TcpConn>(engine, std::move(wire->socket), options, std::move(wire->tls));
    auto hs = co_await exchange_banners(*conn, timeout, std::move(ours));
    if (!hs) co_return hs.error();
    if (outcome) *outcome = *hs;
    auto written = co_await write_label(*conn, label, timeout);
    if (!written) co_return written.error();
    co_return conn;
}

}  // namespace zferry::transport
