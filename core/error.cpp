#ifndef BOOST_ASIO_SEPARATE_COMPILATION
// Without it this file would compare against its own copies of Asio's error categories.
#error "core/error.cpp must be compiled with zferry_asio's BOOST_ASIO_SEPARATE_COMPILATION"
#endif
#include "core/error.hpp"

#include <boost/asio/error.hpp>

#include <cerrno>

namespace zferry {
namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "zferry"; }

    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
            case Errc::timeout: return "timeout: no progress within the idle timeout";
            case Errc::connection_closed: return "connection closed by peer";
            case Errc::shutdown: return "connection shut down";
            case Errc::protocol_error: return "protocol error";
            case Errc::message_too_large: return "message exceeds its size limit";
            case Errc::stream_source_error: return "stream source failed on the sending side";
            case Errc::invalid_argument: return "invalid argument";
            case Errc::parse_error: return "parse error";
            case Errc::not_found: return "not found";
            case Errc::internal: return "internal error";
        }
        return "unknown zferry error";
    }
};

class ConditionCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "zferry.condition"; }
    std::string message(int ev) const override {
        switch (static_cast<Condition>(ev)) {
            case Condition::temporary: return "temporary: retrying can help";
        }
        return "unknown zferry condition";
    }
};

}  // namespace

const boost::system::error_category& condition_category() noexcept {
    static const ConditionCategory cat;
    return cat;
}

const boost::system::error_category& zferry_category() noexcept {
    static const Category cat;
    return cat;
}

bool is_temporary(const error_code& ec) noexcept {
    if (!ec) return false;
    if (ec.category() == zferry_category()) {
        switch (static_cast<Errc>(ec.value())) {
            case Errc::timeout:
            case Errc::connection_closed:
            case Errc::shutdown: return true;
            default: return false;
        }
    }
    if (ec == boost::asio::error::eof) return true;
    // Categories above core (zfs) say which of their codes are temporary.
    if (ec == make_error_condition(Condition::temporary)) return true;
    if (ec.category() == boost::system::system_category() ||
        ec.category() == boost::system::generic_category()) {
        switch (ec.value()) {
            case ETIMEDOUT:
            case ECONNRESET:
            case ECONNREFUSED:
            case ECONNABORTED:
            case EPIPE:
            case ENETDOWN:
            case ENETUNREACH:
            case ENETRESET:
            case EHOSTDOWN:
            case EHOSTUNREACH:
            case ENOTCONN:
            case EAGAIN:
            // Resource pressure (descriptors, memory): it passes when load drops, so a retry
            // later can succeed without anyone changing anything.
            case EMFILE:
            case ENFILE:
            case ENOMEM:
            case ENOBUFS: return true;
            default: return false;
        }
    }
    return false;
}

std::string Error::message() const {
    std::string out = context_;
    if (code_) {
        if (!out.empty()) out += ": ";
        out += code_.message();
        out += is_temporary(code_) ? " (temporary, retrying can help)" : " (permanent)";
    }
    return out;
}

Error& Error::wrap(std::string_view outer) {
    if (context_.empty())
        context_ = std::string(outer);
    else
        context_ = std::string(outer) + ": " + context_;
    return *this;
}

ErrorException::ErrorException(Error e) : std::runtime_error(e.message()), error_(std::move(e)) {}

void throw_exception_from_error(const Error& e, const boost::source_location&) { throw ErrorException(e); }

}  // namespace zferry
