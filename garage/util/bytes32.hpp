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
    /// The number of bytes: 32.
    static constexpr std::size_t size_bytes = 32;
    /// The stored array.
    using array_type = std::array<std::uint8_t, size_bytes>;

    /// All zero.
    constexpr basic_bytes32() noexcept : bytes_{} {}
    /** From an array of 32 bytes.
        @param a The bytes. */
    constexpr explicit basic_bytes32(array_type const& a) noexcept : bytes_(a) {}

    /** From exactly 32 raw bytes.
        @param raw The bytes.
        @return The value; `error::decode_error` if `raw` is not 32 bytes long. */
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
        @param hex The digits, upper or lower case.
        @return The value; `error::invalid_hex` on a malformed string. */
    static result<basic_bytes32> from_hex(std::string_view hex);

    /// @return The 64-digit lower-case hexadecimal form.
    std::string to_hex() const;

    /// @return The raw bytes as a view into this object.
    std::string_view view() const noexcept
    {
        return {reinterpret_cast<char const*>(bytes_.data()), size_bytes};
    }
    /// @return The raw bytes as an owning string.
    std::string str() const { return std::string(view()); }

    /// @return A pointer to the first of the 32 bytes.
    constexpr std::uint8_t const* data() const noexcept { return bytes_.data(); }
    /// @return A pointer to the first of the 32 bytes, to write them.
    constexpr std::uint8_t* data() noexcept { return bytes_.data(); }
    /// @return 32.
    static constexpr std::size_t size() noexcept { return size_bytes; }
    /** One byte. @param i Its index, below 32. @return The byte. */
    constexpr std::uint8_t operator[](std::size_t i) const noexcept { return bytes_[i]; }
    /** One byte, to write it. @param i Its index, below 32. @return The byte. */
    constexpr std::uint8_t& operator[](std::size_t i) noexcept { return bytes_[i]; }
    /// @return The bytes as an array.
    constexpr array_type const& array() const noexcept { return bytes_; }

    /// @return True when every byte is zero.
    constexpr bool is_zero() const noexcept
    {
        return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
    }

    /// Bytewise (lexicographic, unsigned) order.
    friend constexpr auto operator<=>(basic_bytes32 const&, basic_bytes32 const&) noexcept = default;
    /// Equal when all 32 bytes are equal.
    friend constexpr bool operator==(basic_bytes32 const&, basic_bytes32 const&) noexcept = default;

    /** cereal: saved as a fixed 32-byte binary blob.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(bytes_);
    }

private:
    array_type bytes_;
};

/// The tag of @ref hash32.
struct hash_tag {};
/// The tag of @ref uuid.
struct uuid_tag {};
/// The tag of @ref node_id.
struct node_id_tag {};

/// A 32-byte content hash (BLAKE2b-512 truncated, or SHA-256).
using hash32 = basic_bytes32<hash_tag>;
/// A 32-byte random identifier (Garage's `Uuid`).
using uuid = basic_bytes32<uuid_tag>;
/// A node's identity: its Ed25519 public key.
using node_id = basic_bytes32<node_id_tag>;

/// @return 32 cryptographically random bytes (OpenSSL `RAND_bytes`).
uuid gen_uuid();

/** Fills `out` with cryptographically random bytes (OpenSSL `RAND_bytes`).
    @param out Where to write.
    @param n   How many bytes to write. */
void random_bytes(void* out, std::size_t n);

} // namespace garage::util

#include <garage/util/impl/bytes32.hpp>

/// Hashing for unordered containers: the first bytes, already uniformly distributed.
template <class Tag>
struct std::hash<garage::util::basic_bytes32<Tag>> {
    /** @param b The value. @return Its first `sizeof(std::size_t)` bytes. */
    std::size_t operator()(garage::util::basic_bytes32<Tag> const& b) const noexcept
    {
        std::size_t h;
        std::memcpy(&h, b.data(), sizeof h); // already uniformly distributed
        return h;
    }
};
