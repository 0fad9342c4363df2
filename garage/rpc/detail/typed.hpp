#pragma once
// Decoding of typed messages with the class-version check (private helper of endpoint.hpp).

#include <garage/rpc/error.hpp>
#include <garage/rpc/message.hpp>
#include <garage/util/codec.hpp>

#include <cereal/cereal.hpp>

#include <string>
#include <string_view>

namespace garage::rpc::detail {

/// Decodes `raw.message` as `M`, refusing a class version newer than this build's.
template <class M>
util::result<M> decode_message(raw_message const& raw, std::string_view path)
{
    auto const known = cereal::detail::Version<M>::version;
    if (raw.version > known) {
        return util::failure(error::unknown_version, "message of \"" + std::string(path) + "\" has version " +
                                                         std::to_string(raw.version) +
                                                         "; this node knows versions up to " +
                                                         std::to_string(known));
    }
    auto m = util::decode<M>(raw.message);
    if (!m) {
        return util::failure(error::decode_error, "cannot decode a message of \"" + std::string(path) +
                                                      "\": " + m.error().message);
    }
    return m;
}

} // namespace garage::rpc::detail
