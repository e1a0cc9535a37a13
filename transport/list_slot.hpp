// A place in a std::list handed out by the list's owner, erased when the slot is released or
// destroyed, however its holder leaves. The connection bookkeeping classes
// (PendingConnections, ControlConnections) hand these out for their entries; their slots add
// what their holder may ask of its entry. Movable; an empty slot holds nothing.
#pragma once

#include <list>
#include <utility>

namespace zferry::transport {

template <class Entry>
class ListSlot {
public:
    using List = std::list<Entry>;

    ListSlot() = default;
    ListSlot(List& list, typename List::iterator it) : list_(&list), it_(it) {}
    ListSlot(ListSlot&& o) noexcept : list_(std::exchange(o.list_, nullptr)), it_(o.it_) {}
    ListSlot& operator=(ListSlot&& o) noexcept {
        if (this != &o) {
            release();
            list_ = std::exchange(o.list_, nullptr);
            it_ = o.it_;
        }
        return *this;
    }
    ListSlot(const ListSlot&) = delete;
    ListSlot& operator=(const ListSlot&) = delete;
    ~ListSlot() { release(); }

    void release() noexcept {
        if (list_) list_->erase(it_);
        list_ = nullptr;
    }

protected:
    // The entry while the slot holds one, else nullptr.
    const Entry* entry() const noexcept { return list_ ? &*it_ : nullptr; }

private:
    List* list_ = nullptr;
    typename List::iterator it_{};
};

}  // namespace zferry::transport
