// Connections in their preamble (accepted; banners, label or request not read yet), bounded in
// total and per source address, as bookkeeping without I/O: the owner admits each accepted
// connection with a function that closes it, and this class decides which connection to close
// when a newcomer would exceed a limit or when accept ran out of descriptors. A legitimate
// client is through its preamble in a few round trips, so the connection that has waited
// longest is the likeliest to be stalling on purpose: it goes first, and a newcomer gets in
// while a flood holds every slot.
#pragma once

#include "transport/list_slot.hpp"

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <string_view>

namespace zferry::transport {

struct PendingLimits {
    // 0: no limit.
    std::size_t max_pending = 256;
    std::size_t max_pending_per_address = 32;
};

class PendingConnections {
    struct Entry {
        std::string address;
        std::function<void(std::string_view why)> close;
        bool shed = false;  // closed to make room; no longer counted
    };
    using List = std::list<Entry>;

public:
    // A connection's place among the pending ones, given up when its preamble ends (release())
    // or when the slot goes, however its owner leaves. Movable; an empty slot counts nothing.
    class Slot : public ListSlot<Entry> {
    public:
        using ListSlot<Entry>::ListSlot;
        // This connection was closed to make room (and that was logged by its close function).
        bool shed() const noexcept { return entry() && entry()->shed; }
    };

    explicit PendingConnections(PendingLimits limits) : limits_(limits) {}
    PendingConnections(const PendingConnections&) = delete;
    PendingConnections& operator=(const PendingConnections&) = delete;

    // Makes room for one more connection from `address` (calling the close function of the
    // oldest ones as the limits say, with the reason), then counts it.
    Slot admit(std::string address, std::function<void(std::string_view why)> close);
    // Closes the oldest pending connection (of `address`, if given); false if there is none.
    bool shed_oldest(const std::string* address, std::string_view why);
    // Pending connections (of `address`, if given), shed ones not counted.
    std::size_t count(const std::string* address = nullptr) const noexcept;
    const PendingLimits& limits() const noexcept { return limits_; }

private:
    PendingLimits limits_;
    List list_;
};

// The host part of "a.b.c.d:port" or "[v6]:port" (the per-address key of a peer string).
std::string peer_address(std::string_view peer);

// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): what a flood of connections
// causes at accept, and what closing a pending connection cures.
bool is_resource_shortage(const boost::system::error_code& ec) noexcept;

}  // namespace zferry::transport
