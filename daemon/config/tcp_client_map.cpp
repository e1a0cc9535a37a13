#include "daemon/config/tcp_client_map.hpp"

#include "zfs/dataset_path.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace zferry::config {
namespace {

struct Address {
    std::array<std::uint8_t, 16> bytes{};
    bool v4 = false;
};

// IPv4 as IPv4-mapped IPv6 so that one comparison serves both families.
std::optional<Address> parse_ip(std::string_view s) {
    const std::string text(s);
    Address a;
    in_addr v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        a.v4 = true;
        a.bytes[10] = a.bytes[11] = 0xff;
        std::memcpy(a.bytes.data() + 12, &v4, 4);
        return a;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
        std::memcpy(a.bytes.data(), &v6, 16);
        return a;
    }
    return std::nullopt;
}

std::string canonical(const Address& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a.v4)
        ::inet_ntop(AF_INET, a.bytes.data() + 12, buf, sizeof buf);
    else
        ::inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf);
    return buf;
}

bool contains(const std::array<std::uint8_t, 16>& net, int prefix, const std::array<std::uint8_t, 16>& ip) {
    for (int bit = 0; bit < prefix; ++bit) {
        const int byte = bit / 8, mask = 0x80 >> (bit % 8);
        if ((net[byte] & mask) != (ip[byte] & mask)) return false;
    }
    return true;
}

Error entry_error(std::string_view key, std::string_view what) {
    return Error(Errc::invalid_argument, "clients entry \"" + std::string(key) + "\": " + std::string(what));
}

}  // namespace

Result<TcpClientMap> TcpClientMap::make(std::span<const std::pair<std::string, std::string>> entries) {
    TcpClientMap m;
    for (const auto& [key, identity] : entries) {
        Entry e;
        std::string_view addr = key;
        if (auto pct = addr.find('%'); pct != std::string_view::npos) {
            e.zone = std::string(addr.substr(pct + 1));
            addr = addr.substr(0, pct);
            if (e.zone.empty()) return entry_error(key, "empty zone after '%'");
        }
        std::optional<int> bits;
        if (auto slash = addr.find('/'); slash != std::string_view::npos) {
            const auto len = addr.substr(slash + 1);
            int n = -1;
            auto r = std::from_chars(len.data(), len.data() + len.size(), n);
            if (len.empty() || r.ec != std::errc{} || r.ptr != len.data() + len.size() || n < 0)
                return entry_error(
                    key, "expected an IP address or a CIDR network (\"10.0.0.0/24\", \"fd00::/64\")");
            bits = n;
            addr = addr.substr(0, slash);
        }
        auto ip = parse_ip(addr);
        if (!ip)
            return entry_error(key,
                               "expected an IP address or a CIDR network (\"10.0.0.0/24\", \"fd00::/64\")");
        if (bits) {
            if (*bits > (ip->v4 ? 32 : 128)) return entry_error(key, "network prefix length out of range");
            e.prefix = *bits + (ip->v4 ? 96 : 0);
        } else {
            e.prefix = 128;
        }
        const auto stars = std::count(identity.begin(), identity.end(), '*');
        if (bits && stars != 1)
            return entry_error(
                key, "a network's identity must contain exactly one '*' (replaced by the client's address)");
        if (!bits && stars != 0) return entry_error(key, "a single address's identity must not contain '*'");
        std::string probe = identity;
        if (auto star = probe.find('*'); star != std::string::npos) probe.replace(star, 1, "x");
        if (auto ok = zfs::component_namecheck(probe); !ok)
            return entry_error(key, "identity \"" + identity +
                                        "\" is not a valid dataset name component: " + ok.error().context());
        e.net = ip->bytes;
        // Bits beyond the prefix do not matter: a network is its prefix.
        for (int bit = e.prefix; bit < 128; ++bit)
            e.net[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
        e.identity = identity;
        e.wildcard = bits.has_value();
        m.entries_.push_back(std::move(e));
    }
    std::stable_sort(m.entries_.begin(), m.entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.prefix > b.prefix; });
    return m;
}

std::optional<std::string> TcpClientMap::identity(std::string_view ip, std::string_view zone) const {
    auto a = parse_ip(ip);
    if (!a) return std::nullopt;
    for (const auto& e : entries_) {
        if (e.zone != zone || !contains(e.net, e.prefix, a->bytes)) continue;
        if (!e.wildcard) return e.identity;
        std::string id = e.identity;
        std::string addr = canonical(*a);
        if (!zone.empty()) addr += "-" + std::string(zone);
        id.replace(id.find('*'), 1, addr);
        return id;
    }
    return std::nullopt;
}

}  // namespace zferry::config
