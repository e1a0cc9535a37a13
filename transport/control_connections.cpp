#include "transport/control_connections.hpp"

namespace zferry::transport {

std::size_t ControlConnections::count(const std::string* identity) const noexcept {
    std::size_t n = 0;
    for (const auto& e : list_) n += !e.closing && (!identity || e.identity == *identity);
    return n;
}

bool ControlConnections::close_one(const std::string* identity, std::string_view why) {
    Entry* chosen = nullptr;
    for (auto& e : list_) {
        if (e.closing || (identity && e.identity != *identity)) continue;
        if (!e.idle || e.idle()) {
            chosen = &e;
            break;
        }
        if (!chosen) chosen = &e;  // the oldest busy one, if no idle one comes
    }
    if (!chosen) return false;
    chosen->closing = true;
    if (chosen->close) chosen->close(why);
    return true;
}

std::size_t ControlConnections::close_all(std::string_view why) {
    std::size_t n = 0;
    for (auto& e : list_) {
        if (e.closing) continue;
        e.closing = true;
        if (e.close) e.close(why);
        ++n;
    }
    return n;
}

ControlConnections::Slot ControlConnections::admit(std::string identity,
                                                   std::function<void(std::string_view why)> close,
                                                   std::function<bool()> idle) {
    if (limits_.max_per_identity > 0) {
        const std::string why = "more than " + std::to_string(limits_.max_per_identity) +
                                " control connections of client " + identity;
        while (count(&identity) >= limits_.max_per_identity)
            if (!close_one(&identity, why)) break;
    }
    if (limits_.max_connections > 0) {
        const std::string why =
            "more than " + std::to_string(limits_.max_connections) + " control connections";
        while (count() >= limits_.max_connections)
            if (!close_one(nullptr, why)) break;
    }
    list_.push_back(Entry{std::move(identity), std::move(close), std::move(idle), false});
    return Slot(list_, std::prev(list_.end()));
}

}  // namespace zferry::transport
