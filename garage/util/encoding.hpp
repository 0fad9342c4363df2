#pragma once
/** @file
    Hexadecimal and base64 encodings of byte strings.

    Byte strings throughout the project are `std::string` (owning) and `std::string_view`
    (borrowed), as in LevelDB/RocksDB slices: LMDB, OpenSSL and Beast all speak
    `(pointer, size)`, and strings give small-buffer optimisation for short keys.
*/

#include <garage/util/error.hpp>

#include <string>
#include <string_view>

namespace garage::util {

/// Lower-case hexadecimal encoding of `bytes`.
std::string to_hex(std::string_view bytes);

/// Decodes hexadecimal (either case). Fails with `error::invalid_hex` on odd length or a bad digit.
result<std::string> from_hex(std::string_view hex);

/// Standard base64 (RFC 4648 §4) with padding.
std::string to_base64(std::string_view bytes);

/// Decodes standard base64 with padding. Fails with `error::invalid_base64`.
result<std::string> from_base64(std::string_view text);

} // namespace garage::util
