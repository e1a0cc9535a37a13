// zferry error codes and the one question the replication driver asks of every error:
// is this temporary connectivity trouble (retry after reconnecting) or permanent (stop)?
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace zferry {

using boost::system::error_code;

// Codes any layer may use. A layer's own failures have its own category (transport/,
// zfs/), which maps its temporary codes to Condition::temporary.
enum class Errc {
    // Connectivity: the peer, the network or a stream source misbehaved; retrying may help.
    timeout = 1,        // no progress within a deadline
    connection_closed,  // the other end closed a stream where more data was expected
    shutdown,           // the channel is shut down

    // Malformed or refused input: retrying cannot help.
    protocol_error,       // generic malformed input from the peer
    message_too_large,    // a buffered message exceeds its limit
    stream_source_error,  // the sending side's source failed (error trailer)

    // Local problems.
    invalid_argument,
    parse_error,
    not_found,
    internal,
};

const boost::system::error_category& zferry_category() noexcept;

inline error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), zferry_category()}; }

// The conditions a category above core maps its own codes to, so that core can answer "can
// retrying help?" for codes it does not know (boost::system error conditions: the zfs category
// says that its `dataset_busy` is `Condition::temporary`, core stays ignorant of zfs).
enum class Condition {
    temporary = 1,  // retrying the same operation later can succeed without anyone changing it
};

const boost::system::error_category& condition_category() noexcept;

inline boost::system::error_condition make_error_condition(Condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

// True when retrying can help: timeouts, resets, refused or unreachable peers, EOF where more
// was expected, resource pressure (EMFILE, ENFILE, ENOMEM, ENOBUFS: it passes when the load
// does), and every code another category maps to Condition::temporary (a dataset that zfs
// still holds for a receive it is tearing down). Everything else (protocol errors, version
// mismatch, a remote refusal, bad arguments) is permanent.
bool is_temporary(const error_code& ec) noexcept;

// An error with the context a human needs: what failed, where, and why.
class Error {
public:
    Error() = default;
    Error(error_code code, std::string context = {}) : code_(code), context_(std::move(context)) {}
    Error(Errc e, std::string context = {}) : code_(make_error_code(e)), context_(std::move(context)) {}

    const error_code& code() const noexcept { return code_; }
    const std::string& context() const noexcept { return context_; }
    bool temporary() const noexcept { return is_temporary(code_); }
    explicit operator bool() const noexcept { return static_cast<bool>(code_); }

    // "context: code message (temporary|permanent)"
    std::string message() const;

    // Prefix more context ("while receiving pool/a@s1: ...").
    Error& wrap(std::string_view outer);

private:
    error_code code_;
    std::string context_;
};

template <class T>
using Result = boost::system::result<T, Error>;

[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

// Thrown only at API edges (CLI); library code returns Result/error_code.
class ErrorException : public std::runtime_error {
public:
    explicit ErrorException(Error e);
    const Error& error() const noexcept { return error_; }

private:
    Error error_;
};

}  // namespace zferry

template <>
struct boost::system::is_error_code_enum<zferry::Errc> : std::true_type {};

template <>
struct boost::system::is_error_condition_enum<zferry::Condition> : std::true_type {};
