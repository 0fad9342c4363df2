#include <garage/table/error.hpp>

namespace garage::table {
namespace {

class table_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.table"; }
    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::corrupt_entry:
            return "stored table entry cannot be decoded";
        case error::key_too_long:
            return "table key too long";
        case error::hook_failed:
            return "table update hook failed";
        case error::encode_failed:
            return "table entry cannot be encoded";
        case error::invalid_entry:
            return "received table entry cannot be decoded";
        case error::unexpected_answer:
            return "unexpected answer to a table RPC";
        case error::partial_failure:
            return "table maintenance failed with some nodes";
        }
        return "unknown table error";
    }
    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::corrupt_entry:
            return util::condition::corrupt_data;
        case error::key_too_long:
            return util::condition::bad_request;
        case error::hook_failed:
            return util::condition::internal;
        case error::encode_failed:
            return util::condition::internal;
        case error::invalid_entry:
            return util::condition::bad_request;
        case error::unexpected_answer:
            return util::condition::internal;
        case error::partial_failure:
            return util::condition::unavailable;
        }
        return util::condition::internal;
    }
};

} // namespace

boost::system::error_category const& table_category() noexcept
{
    static table_category_impl const instance;
    return instance;
}

} // namespace garage::table
