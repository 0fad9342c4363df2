#pragma once
// Archetypes of the `crdt` concept: the least a type needs to be a CRDT, one per way of
// opting in. Generic code of the crdt layer (lww, lww_map, map, deletable) must accept them.

#include <garage/crdt/crdt.hpp>

#include <algorithm>
#include <compare>

namespace garage::test {

/** The minimal model of `crdt::crdt` through a member `merge`: copyable, equality-comparable,
    nothing else (no default constructor, no ordering, no serialization). A max-register. */
class crdt_archetype {
public:
    explicit crdt_archetype(int value) : value_(value) {}

    void merge(crdt_archetype const& other) { value_ = std::max(value_, other.value_); }

    int value() const { return value_; }

    friend bool operator==(crdt_archetype const&, crdt_archetype const&) = default;

private:
    int value_;
};

/** The minimal model of `crdt::crdt` through `enable_auto_crdt`: a totally ordered value
    opted in, with no member `merge`. */
struct auto_crdt_archetype {
    int value;

    friend auto operator<=>(auto_crdt_archetype const&, auto_crdt_archetype const&) = default;
};

} // namespace garage::test

namespace garage::crdt {
template <>
inline constexpr bool enable_auto_crdt<test::auto_crdt_archetype> = true;
} // namespace garage::crdt
