// Error codes of the transport layer: what a peer or the network did to a connection. The
// connectivity failures (no progress, the peer gone mid-frame, a reset or shut down
// connection) are temporary: the category maps them to zferry::Condition::temporary, so the
// replication driver reconnects and retries. Everything else says the peer speaks another
// protocol or refused the request, which retrying cannot change: permanent.
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace zferry::transport {

enum class TransportErrc {
    // Connectivity (temporary).
    timeout = 1,        // no progress within the idle timeout / heartbeat peer timeout
    connection_closed,  // the peer closed the connection where more data was expected
    shutdown,           // the connection is shut down (locally, or the peer sent RST)

    // The peer speaks something else, or refused (permanent).
    frame_too_large,      // frame payload exceeds the enforced maximum
    reserved_frame_type,  // peer or caller used a frame type of another layer
    unexpected_frame_type,
    handshake_mismatch,   // protocol version differs
    handshake_malformed,  // garbage, bad length prefix, bad extension lines
    handshake_too_long,   // banner exceeds the maximum length
    unknown_mux_label,
    remote_error,      // the remote handler reported an error
    invalid_response,  // response header neither OK nor ERROR
    refused,           // the transport refused us: authentication or its configuration

    // The remote handler reported an error that it classified as temporary (a busy dataset, a
    // zfs child that timed out, the server shutting down). Only a zferry peer says so
    // (dataconn's error class line); retrying can help.
    remote_temporary,
};

const boost::system::error_category& transport_category() noexcept;

inline boost::system::error_code make_error_code(TransportErrc e) noexcept {
    return {static_cast<int>(e), transport_category()};
}

}  // namespace zferry::transport

template <>
struct boost::system::is_error_code_enum<zferry::transport::TransportErrc> : std::true_type {};
