#include "transport/dataconn_reuse.hpp"

namespace zferry::transport::dataconn {

bool server_serves_next(bool zferry_negotiated, bool reuse_enabled, const ServerDecision& last,
                        bool written) noexcept {
    if (!zferry_negotiated || !reuse_enabled || !written) return false;
    return std::holds_alternative<server_action::RespondOk>(last.action) ||
           std::holds_alternative<server_action::WriteEnd>(last.action);
}

bool client_keeps(bool zferry_negotiated, bool reuse_enabled, bool clean) noexcept {
    return zferry_negotiated && reuse_enabled && clean;
}

}  // namespace zferry::transport::dataconn
