// The TLS state a Wire carries past its handshake, so that TcpConn moves the payload through
// OpenSSL itself: ciphertext read from the TCP socket into the session's input, decrypted
// straight into the caller's buffers; plaintext encrypted into records that leave with one
// write. No local socket pair and no relay task between the layers above and the network.
//
// An interface without OpenSSL in it: the tls transport implements it over its TlsSession
// (transport/tls_wire.cpp), and only that library links OpenSSL. The operations are the
// session's, sans-I/O; TcpConn does all the I/O.
#pragma once

#include "core/error.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace zferry::transport {

class TlsChannel {
public:
    virtual ~TlsChannel() = default;

    // At least `n` bytes of space for ciphertext read from the peer; commit_input(m) adds the
    // first m of them.
    virtual std::span<char> input_space(std::size_t n) = 0;
    virtual void commit_input(std::size_t m) = 0;
    // Ciphertext received and not yet decrypted, or plaintext OpenSSL holds for us.
    virtual bool has_input() const = 0;

    // Decrypts the complete records received so far into `into` until it is full or no
    // complete record is left. `closed` once the peer sent close_notify; an error (OpenSSL's
    // reason) for a record that does not authenticate.
    struct Decrypted {
        std::size_t bytes = 0;
        bool closed = false;
    };
    virtual Result<Decrypted> decrypt(std::span<char> into) = 0;
    // Encrypts all of `plain` into records appended to the output.
    virtual Result<void> encrypt(std::span<const char> plain) = 0;
    // Moves the ciphertext produced so far into `into` (its old content dropped).
    virtual void take_output(std::vector<char>& into) = 0;
    virtual bool has_output() const = 0;

    // For a protocol that must own a kernel socket (the gRPC control channel): hands `tcp` and
    // the session to a relay task the transport owns, and returns the local socket that relay
    // serves. Whatever was received and not yet decrypted is relayed first. The channel is
    // unusable afterwards. Fails once the transport shut down.
    virtual Result<boost::asio::ip::tcp::socket> into_relay(boost::asio::ip::tcp::socket tcp) = 0;
};

}  // namespace zferry::transport
