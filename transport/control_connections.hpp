// Authenticated control (gRPC) connections, bounded per client identity and in total, as
// bookkeeping without I/O: the owner admits each connection with a function that closes it
// gracefully (GOAWAY: calls in flight finish) and a function that says whether it is idle (no
// call in flight), and this class decides which connections to close when a newcomer would
// exceed a limit. A connection that never calls is otherwise bounded by nothing but keepalive,
// which a live client answers forever. The oldest idle connection goes first (its client
// loses nothing: it connects again for its next call); only when none of the candidates is
// idle does the oldest busy one go (its calls still get the shutdown grace).
#pragma once

#include "transport/list_slot.hpp"

#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <string_view>

namespace zferry::transport {

struct ControlLimits {
    // 0: no limit. An idle served TLS control connection costs a sink about 120 KiB and three
    // descriptors (the socket and its relay's socketpair; measured with 250 and 1 000 held
    // open): 2048 bound that at about 240 MiB, and leave a sink serving 1 000 clients with one
    // control connection each, or reconnecting, room to spare. Fewer than its clients made the
    // sink send connections away all round long, each coming back with a new handshake.
    std::size_t max_connections = 2048;
    std::size_t max_per_identity = 16;
};

class ControlConnections {
    struct Entry {
        std::string identity;
        std::function<void(std::string_view why)> close;
        std::function<bool()> idle;
        bool closing = false;  // told to go; no longer counted
    };
    using List = std::list<Entry>;

public:
    // A connection's place, given up when the slot goes (its connection ended). Movable.
    class Slot : public ListSlot<Entry> {
    public:
        using ListSlot<Entry>::ListSlot;
        // This connection was told to go to make room (and that was logged by its close function).
        bool closing() const noexcept { return entry() && entry()->closing; }
    };

    explicit ControlConnections(ControlLimits limits) : limits_(limits) {}
    ControlConnections(const ControlConnections&) = delete;
    ControlConnections& operator=(const ControlConnections&) = delete;

    // Makes room for one more connection of `identity` (closing the oldest idle ones, of that
    // identity for its limit and of anyone for the total, with the reason), then counts it.
    Slot admit(std::string identity, std::function<void(std::string_view why)> close,
               std::function<bool()> idle);
    // Connections (of `identity`, if given) not told to go.
    std::size_t count(const std::string* identity = nullptr) const noexcept;
    // Tells every connection to go (the server stops); returns how many were told.
    std::size_t close_all(std::string_view why);
    const ControlLimits& limits() const noexcept { return limits_; }

private:
    // The oldest idle connection (of `identity`, if given), else the oldest; false if none.
    bool close_one(const std::string* identity, std::string_view why);

    ControlLimits limits_;
    List list_;
};

}  // namespace zferry::transport
