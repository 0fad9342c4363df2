#include <garage/storage/detail/keys.hpp>

#include <string>

namespace garage::storage::detail {

util::failure invalid_key(std::string_view tree, std::string_view key)
{
    if (key.empty()) {
        return {error::empty_key,
                "empty key in tree `" + std::string(tree) + "`: storage keys are never empty"};
    }
    return {error::key_too_long, "key of " + std::to_string(key.size()) + " bytes in tree `" +
                                     std::string(tree) + "`: storage keys are at most " +
                                     std::to_string(max_key_size) + " bytes"};
}

util::failure read_only_write(std::string_view tree, std::string_view operation)
{
    return {error::read_only,
            std::string(operation) + " in tree `" + std::string(tree) + "` inside a read-only transaction"};
}

util::result<void> check_tree_name(std::string_view name)
{
    if (name.empty()) {
        return util::failure(error::invalid_tree_name, "tree names are never empty");
    }
    if (name.size() > max_key_size) {
        return util::failure(error::invalid_tree_name, "tree name of " + std::to_string(name.size()) +
                                                           " bytes: tree names are at most " +
                                                           std::to_string(max_key_size) + " bytes");
    }
    if (name.find('\0') != std::string_view::npos) {
        return util::failure(error::invalid_tree_name, "tree names cannot contain a NUL byte");
    }
    return {};
}

util::failure nested_write(std::string_view what)
{
    return {error::busy, std::string(what) +
                             " on a thread that is already inside a write transaction (transact): this "
                             "would deadlock; open every tree before transact, and do not nest transact"};
}

} // namespace garage::storage::detail
