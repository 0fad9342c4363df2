#pragma once
/** @file
    Fixed 32-byte identifiers: content hashes, uuids, node ids.
*/

#include <garage/util/error.hpp>

#include <cereal/types/array.hpp>

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace garage::util {

/** 32 bytes with value semantics, ordered bytewise.

    `Tag` makes distinct types of the same shape (`hash32`, `uuid`, `node_id`) so that one
    cannot be passed where another is meant.

    @tparam Tag An empty type that names the meaning of the bytes.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe for reads.
*/
template <class Tag>
class basic_bytes32 {
public:
    static constexpr std::size_t size_bytes = 32;
    using array_type = std::array<std::uint8_t, size_bytes>;

    /// All zero.
    constexpr basic_bytes32() noexcept : bytes_{} {}
    /// From an array of 32 bytes.
    constexpr explicit basic_bytes32(array_type const& a) noexcept : bytes_(a) {}

    /** From exactly 32 raw bytes.
        @return `error::decode_error` if `raw` is not 32 bytes long. */
    static result<basic_bytes32> from_bytes(std::string_view raw)
    {
        if (raw.size() != size_bytes) {
            return failure(error::decode_error, "expected 32 bytes, got " + std::to_string(raw.size()));
        }
        basic_bytes32 out;
        std::memcpy(out.bytes_.data(), raw.data(), size_bytes);
        return out;
    }

    /** From 64 hexadecimal digits.
        @return `error::invalid_hex` on a malformed string. */
    static result<basic_bytes32> from_hex(std::string_view hex);

    /// The 64-digit lower-case hexadecimal form.
    std::string to_hex() const;

    /// The raw bytes as a view.
    std::string_view view() const noexcept
    {
        return {reinterpret_cast<char const*>(bytes_.data()), size_bytes};
    }
    /// The raw bytes as an owning string.
    std::string str() const { return std::string(view()); }

    constexpr std::uint8_t const* data() const noexcept { return bytes_.data(); }
    constexpr std::uint8_t* data() noexcept { return bytes_.data(); }
    static constexpr std::size_t size() noexcept { return size_bytes; }
    constexpr std::uint8_t operator[](std::size_t i) const noexcept { return bytes_[i]; }
    constexpr std::uint8_t& operator[](std::size_t i) noexcept { return bytes_[i]; }
    constexpr array_type const& array() const noexcept { return bytes_; }

    /// True when every byte is zero.
    constexpr bool is_zero() const noexcept
    {
        return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
    }

    friend constexpr auto operator<=>(basic_bytes32 const&, basic_bytes32 const&) noexcept = default;
    friend constexpr bool operator==(basic_bytes32 const&, basic_bytes32 const&) noexcept = default;

    /// cereal: saved as a fixed 32-byte binary blob.
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(bytes_);
    }

private:
    array_type bytes_;
};

struct hash_tag {};
struct uuid_tag {};
struct node_id_tag {};

/// A 32-byte content hash (BLAKE2b-512 truncated, or SHA-256).
using hash32 = basic_bytes32<hash_tag>;
/// A 32-byte random identifier (Garage's `Uuid`).
using uuid = basic_bytes32<uuid_tag>;
/// A node's identity: its Ed25519 public key.
using node_id = basic_bytes32<node_id_tag>;

/// 32 cryptographically random bytes (OpenSSL `RAND_bytes`).
uuid gen_uuid();

/// Fills `out` with cryptographically random bytes (OpenSSL `RAND_bytes`).
void random_bytes(void* out, std::size_t n);

} // namespace garage::util

#include <garage/util/impl/bytes32.hpp>

template <class Tag>
struct std::hash<garage::util::basic_bytes32<Tag>> {
    std::size_t operator()(garage::util::basic_bytes32<Tag> const& b) const noexcept
    {
        std::size_t h;
        std::memcpy(&h, b.data(), sizeof h); // already uniformly distributed
        return h;
    }
};
