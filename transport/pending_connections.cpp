#include "transport/pending_connections.hpp"

#include <boost/system/errc.hpp>

namespace zferry::transport {

std::size_t PendingConnections::count(const std::string* address) const noexcept {
    std::size_t n = 0;
    for (const auto& e : list_) n += !e.shed && (!address || e.address == *address);
    return n;
}

bool PendingConnections::shed_oldest(const std::string* address, std::string_view why) {
    for (auto& e : list_) {
        if (e.shed || (address && e.address != *address)) continue;
        e.shed = true;
        if (e.close) e.close(why);
        return true;
    }
    return false;
}

PendingConnections::Slot PendingConnections::admit(std::string address,
                                                   std::function<void(std::string_view why)> close) {
    if (limits_.max_pending_per_address > 0) {
        const std::string why = "more than " + std::to_string(limits_.max_pending_per_address) +
                                " connections in their preamble from " + address;
        while (count(&address) >= limits_.max_pending_per_address)
            if (!shed_oldest(&address, why)) break;
    }
    if (limits_.max_pending > 0) {
        const std::string why =
            "more than " + std::to_string(limits_.max_pending) + " connections in their preamble";
        while (count() >= limits_.max_pending)
            if (!shed_oldest(nullptr, why)) break;
    }
    list_.push_back(Entry{std::move(address), std::move(close), false});
    return Slot(list_, std::prev(list_.end()));
}

std::string peer_address(std::string_view peer) {
    const auto colon = peer.rfind(':');
    if (colon == std::string_view::npos) return std::string(peer);
    std::string_view host = peer.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return std::string(host);
}

bool is_resource_shortage(const boost::system::error_code& ec) noexcept {
    namespace errc = boost::system::errc;
    return ec == errc::too_many_files_open || ec == errc::too_many_files_open_in_system ||
           ec == errc::no_buffer_space || ec == errc::not_enough_memory;
}

}  // namespace zferry::transport
