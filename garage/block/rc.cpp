#include <garage/block/rc.hpp>

#include <garage/block/detail/codec.hpp>

namespace garage::block {
using detail::get_u64_be;
using detail::put_u64_be;

util::result<rc_value> rc_value::decode(std::optional<std::string_view> stored)
{
    if (!stored) {
        return absent();
    }
    if (stored->size() == 8) {
        auto const count = get_u64_be(*stored);
        return present(count);
    }
    if (stored->size() == 16 && get_u64_be(stored->substr(0, 8)) == 0) {
        return deletable(get_u64_be(stored->substr(8, 8)));
    }
    return util::failure(error::corrupt_metadata,
                         "malformed block reference count (" + std::to_string(stored->size()) + " bytes)");
}

std::optional<std::string> rc_value::encode() const
{
    std::string out;
    switch (state_) {
    case state::absent:
        return std::nullopt;
    case state::present:
        put_u64_be(out, value_);
        return out;
    case state::deletable:
        put_u64_be(out, 0);
        put_u64_be(out, value_);
        return out;
    }
    return std::nullopt;
}

} // namespace garage::block
