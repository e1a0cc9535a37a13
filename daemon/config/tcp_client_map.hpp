// The tcp transport's `clients:` map (serve type tcp): remote IP or CIDR, optionally with
// "%zone", to the client identity. As zrepl: a plain IP maps to an identity without '*', a
// CIDR to one with exactly one '*', which a lookup replaces by the remote address (plus
// "-<zone>" when the remote has one); the most specific network wins, zones must match
// exactly, and IPv4 networks are IPv4-mapped IPv6 ones (/n is /96+n). Pure: the server asks
// identity() with the peer address it accepted.
#pragma once

#include "core/error.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zferry::config {

class TcpClientMap {
public:
    // Fails on a key that is no IP or CIDR, on a '*' count that does not fit the key, and on
    // an identity that would not be one valid dataset name component. Errors name the entry.
    static Result<TcpClientMap> make(std::span<const std::pair<std::string, std::string>> entries);

    // The identity of a peer at `ip` (IPv4 or IPv6 text) with scope `zone` ("" for none);
    // nullopt when no entry matches or `ip` is no address.
    std::optional<std::string> identity(std::string_view ip, std::string_view zone = {}) const;

private:
    struct Entry {
        std::array<std::uint8_t, 16> net{};  // IPv6 (IPv4-mapped for IPv4)
        int prefix = 128;
        std::string zone;
        std::string identity;  // with '*' for networks
        bool wildcard = false;
    };
    std::vector<Entry> entries_;  // most specific first
};

}  // namespace zferry::config
