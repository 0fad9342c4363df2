#include <garage/model/repair.hpp>

namespace garage::model {

std::optional<model_repair> parse_model_repair(std::string_view name) noexcept
{
    if (name == "versions") {
        return model_repair::versions;
    }
    if (name == "mpu" || name == "multipartUploads") {
        return model_repair::mpu;
    }
    if (name == "block-refs" || name == "blockRefs") {
        return model_repair::block_refs;
    }
    if (name == "aliases") {
        return model_repair::aliases;
    }
    return std::nullopt;
}

std::string_view to_string(model_repair r) noexcept
{
    switch (r) {
    case model_repair::versions:
        return "versions";
    case model_repair::mpu:
        return "mpu";
    case model_repair::block_refs:
        return "block-refs";
    case model_repair::aliases:
        return "aliases";
    }
    return "unknown";
}

} // namespace garage::model
