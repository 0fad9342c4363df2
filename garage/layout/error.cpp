#include <garage/layout/error.hpp>

#include <string>

namespace garage::layout {
namespace {

class layout_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.layout"; }
    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::too_few_nodes:
            return "fewer storage nodes than the replication factor";
        case error::too_few_zones:
            return "fewer zones than the zone redundancy";
        case error::too_many_nodes:
            return "more than 256 storage nodes";
        case error::insufficient_capacity:
            return "the storage capacity of the cluster is too small";
        case error::invalid_role:
            return "invalid node role";
        case error::invalid_parameter:
            return "invalid layout parameter";
        case error::unknown_node:
            return "the node has no role in the layout";
        case error::missing_version:
            return "the new layout version number is required";
        case error::stale_version:
            return "invalid new layout version";
        case error::invalid_layout:
            return "the layout fails its consistency check";
        case error::inconsistent_history:
            return "inconsistent layout histories";
        case error::nothing_to_do:
            return "nothing to do";
        }
        return "unknown layout error";
    }
    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        using util::condition;
        switch (static_cast<error>(ev)) {
        case error::too_few_nodes:
        case error::too_few_zones:
        case error::too_many_nodes:
        case error::insufficient_capacity:
        case error::invalid_role:
        case error::invalid_parameter:
        case error::missing_version:
        case error::nothing_to_do:
            return condition::bad_request;
        case error::unknown_node:
            return condition::not_found;
        case error::stale_version:
            return condition::precondition_failed;
        case error::inconsistent_history:
            return condition::conflict;
        case error::invalid_layout:
            return condition::corrupt_data;
        }
        return condition::internal;
    }
};

} // namespace

boost::system::error_category const& layout_category() noexcept
{
    static layout_category_impl const instance;
    return instance;
}

} // namespace garage::layout
