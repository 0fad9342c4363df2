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

/** Encodes bytes in hexadecimal.
    @param bytes The bytes.
    @return Their lower-case hexadecimal encoding, two digits per byte. */
std::string to_hex(std::string_view bytes);

/** Decodes hexadecimal (either case).
    @param hex The digits.
    @return The bytes; `error::invalid_hex` on odd length or a bad digit. */
result<std::string> from_hex(std::string_view hex);

/** Encodes bytes in standard base64 (RFC 4648 §4) with padding.
    @param bytes The bytes.
    @return The base64 text. */
std::string to_base64(std::string_view bytes);

/** Decodes standard base64 with padding.
    @param text The base64 text.
    @return The bytes; `error::invalid_base64` on malformed text. */
result<std::string> from_base64(std::string_view text);

} // namespace garage::util
