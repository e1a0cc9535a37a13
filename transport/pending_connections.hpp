// Connections in their preamble (accepted; banners, label or request not read yet), bounded in
// total and per source address, as bookkeeping without I/O: the owner admits each accepted
// connection with a function that closes it, and this class decides which connection to close
// when a newcomer would exceed a limit or when accept ran out of descriptors. A legitimate
// client is through its preamble in a few round trips, so the connection that has waited
// longest is the likeliest to be stalling on purpose: it goes first, and a newcomer gets in
// while a flood holds every slot. The same policy bounds the endpoint server's preamble and the
// tls listener's handshakes (each with its own set; `stage` names which in the reasons).
#pragma once

#include "transport/list_slot.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>

namespace zferry::transport {

struct PendingLimits {
    // 0: no limit.
    std::size_t max_pending = 256;
    std::size_t max_pending_per_address = 32;
    // A connection admitted less than this long ago is not closed to make room (0: any is).
    // With it, a burst of legitimate clients is not shed while it is being served: the owner
    // stops accepting while full() (the kernel's backlog holds the newcomers), and beyond the
    // per-address limit a newcomer is admitted while its address's oldest is that young (the
    // total still bounds them). A flood's connections get old and go first, as without it.
    std::chrono::milliseconds min_age_to_shed{0};
};

class PendingConnections {
    struct Entry {
        std::string address;
        std::function<void(std::string_view why)> close;
        bool shed = false;  // closed to make room; no longer counted
        std::chrono::steady_clock::time_point since{};
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

    // `stage` says where the counted connections are, for the reasons given to close functions:
    // "in their preamble", "in their TLS handshake".
    explicit PendingConnections(PendingLimits limits, std::string stage = "in their preamble")
        : limits_(limits), stage_(std::move(stage)) {}
    PendingConnections(const PendingConnections&) = delete;
    PendingConnections& operator=(const PendingConnections&) = delete;

    // Makes room for one more connection from `address` (calling the close function of the
    // oldest ones as the limits say, with the reason), then counts it.
    // `now`: the admission time, for min_age_to_shed.
    Slot admit(std::string address, std::function<void(std::string_view why)> close,
               std::chrono::steady_clock::time_point now = {});
    // At the total limit with no connection old enough to close: the owner waits (until
    // sheddable_at(), or until a slot goes) before it accepts another.
    bool full(std::chrono::steady_clock::time_point now) const noexcept;
    // When the oldest counted connection becomes old enough to close; none: nothing counted.
    std::optional<std::chrono::steady_clock::time_point> sheddable_at() const noexcept;
    // Closes the oldest pending connection (of `address`, if given); false if there is none.
    bool shed_oldest(const std::string* address, std::string_view why);
    // The same, only if that connection was admitted min_age_to_shed before `now`.
    bool shed_oldest_if_old(const std::string* address, std::string_view why,
                            std::chrono::steady_clock::time_point now);
    // Pending connections (of `address`, if given), shed ones not counted.
    std::size_t count(const std::string* address = nullptr) const noexcept;
    const PendingLimits& limits() const noexcept { return limits_; }

private:
    PendingLimits limits_;
    std::string stage_;
    List list_;
};

// The host part of "a.b.c.d:port" or "[v6]:port" (the per-address key of a peer string).
std::string peer_address(std::string_view peer);

// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): what a flood of connections
// causes at accept, and what closing a pending connection cures.
bool is_resource_shortage(const boost::system::error_code& ec) noexcept;

}  // namespace zferry::transport
