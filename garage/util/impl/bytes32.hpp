#pragma once

#include <garage/util/encoding.hpp>

namespace garage::util {

template <class Tag>
result<basic_bytes32<Tag>> basic_bytes32<Tag>::from_hex(std::string_view hex)
{
    if (hex.size() != 2 * size_bytes) {
        return failure(error::invalid_hex,
                       "expected 64 hexadecimal digits, got " + std::to_string(hex.size()));
    }
    auto raw = util::from_hex(hex);
    if (!raw) {
        return raw.error();
    }
    return from_bytes(*raw);
}

template <class Tag>
std::string basic_bytes32<Tag>::to_hex() const
{
    return util::to_hex(view());
}

} // namespace garage::util
