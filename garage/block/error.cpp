#include <garage/block/error.hpp>

namespace garage::block {
namespace {

class block_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.block"; }
    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::corrupt_block:
            return "data block is corrupted";
        case error::block_not_found:
            return "data block not found";
        case error::no_space:
            return "no space left in the data directory";
        case error::io_error:
            return "I/O error on a data block file";
        case error::layout_mismatch:
            return "data directory does not match the remembered data layout";
        case error::invalid_data_dirs:
            return "invalid data_dir configuration";
        case error::block_too_large:
            return "data block too large";
        case error::corrupt_metadata:
            return "block metadata is malformed";
        case error::invalid_options:
            return "invalid block manager options";
        }
        return "unknown block error";
    }
    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::corrupt_block:
        case error::corrupt_metadata:
            return util::condition::corrupt_data;
        case error::block_not_found:
            return util::condition::not_found;
        case error::no_space:
        case error::layout_mismatch:
            return util::condition::unavailable;
        case error::io_error:
            return util::condition::io_error;
        case error::invalid_data_dirs:
        case error::block_too_large:
        case error::invalid_options:
            return util::condition::bad_request;
        }
        return util::condition::internal;
    }
};

} // namespace

boost::system::error_category const& block_category() noexcept
{
    static block_category_impl const instance;
    return instance;
}

} // namespace garage::block
