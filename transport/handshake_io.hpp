// Drivers for the connection preamble: version banners exchanged both ways, then the
// 64-byte mux label from client to server. Each step has a total deadline, so a silent or
// trickling peer ends in TransportErrc::timeout, and garbage in a permanent handshake error.
#pragma once

#include "transport/handshake.hpp"
#include "transport/mux_label.hpp"
#include "transport/tcp_conn.hpp"
#include "transport/wire.hpp"

#include <memory>

namespace zferry::transport {

// Each step within its own `timeout`; the connection is back on idle timeouts afterwards.
asio::awaitable<Result<HandshakeOutcome>> exchange_banners(TcpConn& conn, std::chrono::milliseconds timeout);
asio::awaitable<Result<void>> write_label(TcpConn& conn, MuxLabel label, std::chrono::milliseconds timeout);
asio::awaitable<Result<MuxLabel>> read_label(TcpConn& conn, std::chrono::milliseconds timeout);

// The same steps under one absolute deadline that the caller set on the connection
// (TcpConn::set_absolute_deadline) and clears when its own preamble is over: a server puts
// the handshake, the label and the request under a single deadline, so that no step's
// progress buys a slow peer more time.
asio::awaitable<Result<HandshakeOutcome>> exchange_banners_within_deadline(TcpConn& conn);
asio::awaitable<Result<MuxLabel>> read_label_within_deadline(TcpConn& conn);

// A client's whole preamble: a wire from `connector`, banners exchanged, `label` written,
// each step within `timeout`. Errors name the server; a refused or timed-out connect is
// temporary, a handshake mismatch permanent. `handshake`, if set, gets what the banners
// negotiated (whether the server is a zferry peer).
asio::awaitable<Result<std::unique_ptr<TcpConn>>> connect_labelled(IoEngine& engine, WireConnector& connector,
                                                                   MuxLabel label, ConnOptions options,
                                                                   std::chrono::milliseconds timeout,
                                                                   HandshakeOutcome* handshake = nullptr);

}  // namespace zferry::transport
