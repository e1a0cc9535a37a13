// Drivers for the connection preamble: version banners exchanged both ways, then the
// 64-byte mux label from client to server. Each step has a total deadline, so a silent or
// trickling peer ends in Errc::timeout, and garbage in a permanent handshake error.
#pragma once

#include "transport/handshake.hpp"
#include "transport/mux_label.hpp"
#include "transport/tcp_conn.hpp"

namespace zferry::transport {

asio::awaitable<Result<HandshakeOutcome>> exchange_banners(TcpConn& conn, std::chrono::milliseconds timeout);
asio::awaitable<Result<void>> write_label(TcpConn& conn, MuxLabel label, std::chrono::milliseconds timeout);
asio::awaitable<Result<MuxLabel>> read_label(TcpConn& conn, std::chrono::milliseconds timeout);

}  // namespace zferry::transport
