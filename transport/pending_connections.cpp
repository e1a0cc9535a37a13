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

bool PendingConnections::shed_oldest_if_old(const std::string* address, std::string_view why,
                                            std::chrono::steady_clock::time_point now) {
    for (auto& e : list_) {
        if (e.shed || (address && e.address != *address)) continue;
        if (now - e.since < limits_.min_age_to_shed) return false;  // the oldest is too young
        e.shed = true;
        if (e.close) e.close(why);
        return true;
    }
    return false;
}

bool PendingConnections::full(std::chrono::steady_clock::time_point now) const noexcept {
    if (limits_.max_pending == 0 || count() < limits_.max_pending) return false;
    const auto at = sheddable_at();
    return at && now < *at;
}

std::optional<std::chrono::steady_clock::time_point> PendingConnections::sheddable_at() const noexcept {
    for (const auto& e : list_)
        if (!e.shed) return e.since + limits_.min_age_to_shed;
    return std::nullopt;
}

PendingConnections::Slot PendingConnections::admit(std::string address,
                                                   std::function<void(std::string_view why)> close,
                                                   std::chrono::steady_clock::time_point now) {
    if (limits_.max_pending_per_address > 0) {
        const std::string why = "more than " + std::to_string(limits_.max_pending_per_address) +
                                " connections " + stage_ + " from " + address;
        while (count(&address) >= limits_.max_pending_per_address)
            if (!shed_oldest_if_old(&address, why, now)) break;
    }
    if (limits_.max_pending > 0) {
        const std::string why = "more than " + std::to_string(limits_.max_pending) + " connections " + stage_;
        while (count() >= limits_.max_pending)
            if (!shed_oldest_if_old(nullptr, why, now)) break;
    }
    list_.push_back(Entry{std::move(address), std::move(close), false, now});
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
