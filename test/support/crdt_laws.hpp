#pragma once
// Generic checks of the CRDT laws and of cereal round trips, for TEMPLATE_TEST_CASEs over
// every model of `crdt::crdt`.

#include <garage/crdt/crdt.hpp>

#include <test/support/crdt_random.hpp>

#include <cereal/archives/portable_binary.hpp>

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

namespace garage::test {

/// Iterations of each property test: random triples (a, b, c) drawn per type.
inline constexpr int crdt_law_iterations = 500;

/// `a ⊔ b` as a new value.
template <crdt::crdt T>
T merged(T a, T const& b)
{
    crdt::merge(a, b);
    return a;
}

// GCC 12 at -O2 warns that copying a disengaged std::optional of a trivially copyable type
// (deletable<flag>::deleted()) reads its uninitialized payload: a known false positive
// (GCC bug 80635); the copy is well-defined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

/** Checks on `iterations` random triples that merge is commutative, associative and
    idempotent, and that `a ⊔ b` absorbs `a` and `b` (merging either again changes nothing).
    Also checks that the generator drew different `a` and `b` often enough for the test to
    mean something. */
template <crdt::crdt T>
void check_merge_laws(crdt_rng& rng, int iterations = crdt_law_iterations)
{
    int different_pairs = 0;
    for (int i = 0; i < iterations; ++i) {
        auto const a = random_value<T>(rng);
        auto const b = random_value<T>(rng);
        auto const c = random_value<T>(rng);
        INFO("iteration " << i);
        different_pairs += a != b ? 1 : 0;
        auto const ab = merged(a, b);
        REQUIRE(ab == merged(b, a));
        REQUIRE(merged(ab, c) == merged(a, merged(b, c)));
        REQUIRE(merged(a, a) == a);
        REQUIRE(merged(ab, a) == ab);
        REQUIRE(merged(ab, b) == ab);
    }
    CHECK(different_pairs > iterations / 4);
}

#pragma GCC diagnostic pop

/// `value` saved to and loaded from a cereal portable binary archive.
template <class T>
T cereal_round_trip(T const& value)
{
    std::stringstream buffer;
    {
        cereal::PortableBinaryOutputArchive out(buffer);
        out(value);
    }
    T back{};
    {
        cereal::PortableBinaryInputArchive in(buffer);
        in(back);
    }
    return back;
}

/// The bytes of `value` in a cereal portable binary archive.
template <class T>
std::string cereal_bytes(T const& value)
{
    std::stringstream buffer;
    {
        cereal::PortableBinaryOutputArchive out(buffer);
        out(value);
    }
    return buffer.str();
}

/// Checks that `iterations` random values survive a cereal round trip unchanged.
template <crdt::crdt T>
void check_round_trips(crdt_rng& rng, int iterations = crdt_law_iterations)
{
    for (int i = 0; i < iterations; ++i) {
        auto const a = random_value<T>(rng);
        INFO("iteration " << i);
        REQUIRE(cereal_round_trip(a) == a);
    }
}

} // namespace garage::test
