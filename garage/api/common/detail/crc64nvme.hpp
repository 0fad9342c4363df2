#pragma once
/** @file
    CRC-64/NVME internals (private to checksum.cpp and its tests).
*/

#include <cstddef>
#include <cstdint>

namespace garage::api::detail {

/// The reflected CRC-64/NVME polynomial (normal form 0xAD93D23594C93659).
inline constexpr std::uint64_t crc64nvme_poly = 0x9A6C9329AC4BC9B5ull;

/** Advances a CRC-64/NVME register over `size` bytes. The register is the inverted CRC: start
    from all ones and invert at the end. */
std::uint64_t crc64nvme_update(std::uint64_t state, unsigned char const* data, std::size_t size) noexcept;

/// The same, one bit at a time: the reference the fast paths are tested against.
std::uint64_t crc64nvme_update_bitwise(std::uint64_t state, unsigned char const* data,
                                       std::size_t size) noexcept;

/// The same, with slice-by-8 tables only (the portable fast path).
std::uint64_t crc64nvme_update_slice8(std::uint64_t state, unsigned char const* data,
                                      std::size_t size) noexcept;

/** The same, folding 64-byte groups with PCLMULQDQ where the CPU has it (the table code
    otherwise, and for the last bytes). */
std::uint64_t crc64nvme_update_pclmul(std::uint64_t state, unsigned char const* data,
                                      std::size_t size) noexcept;

} // namespace garage::api::detail
