#include "transport/transport_error.hpp"

#include "core/error.hpp"

#include <string>

namespace zferry::transport {
namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "transport"; }
    std::string message(int ev) const override {
        switch (static_cast<TransportErrc>(ev)) {
            case TransportErrc::timeout: return "timeout: no progress within the idle timeout";
            case TransportErrc::connection_closed: return "connection closed by peer";
            case TransportErrc::shutdown: return "connection shut down";
            case TransportErrc::frame_too_large: return "frame exceeds the maximum frame size";
            case TransportErrc::reserved_frame_type: return "frame type is reserved for another layer";
            case TransportErrc::unexpected_frame_type: return "protocol error: unexpected frame type";
            case TransportErrc::handshake_mismatch: return "protocol version mismatch";
            case TransportErrc::handshake_malformed: return "malformed protocol handshake";
            case TransportErrc::handshake_too_long: return "protocol handshake banner too long";
            case TransportErrc::unknown_mux_label: return "unknown connection label";
            case TransportErrc::remote_error: return "server error";
            case TransportErrc::invalid_response: return "invalid response header";
            case TransportErrc::refused: return "refused by the transport (authentication or configuration)";
            case TransportErrc::remote_temporary: return "server error, temporary on the server";
        }
        return "unknown transport error";
    }
    // What core's is_temporary asks (see transport_error.hpp).
    bool equivalent(int ev, const boost::system::error_condition& cond) const noexcept override {
        if (cond == make_error_condition(Condition::temporary)) {
            switch (static_cast<TransportErrc>(ev)) {
                case TransportErrc::timeout:
                case TransportErrc::connection_closed:
                case TransportErrc::shutdown:
                case TransportErrc::remote_temporary: return true;
                default: return false;
            }
        }
        return error_category::equivalent(ev, cond);
    }
};

}  // namespace

const boost::system::error_category& transport_category() noexcept {
    static const Category cat;
    return cat;
}

}  // namespace zferry::transport
