#pragma once
/** @file
    The asynchronous byte budget of the uploads, now @ref garage::util::byte_budget (moved to
    the util layer so that the block layer bounds its in-flight writes with it too); this
    header keeps the name the API layer uses. */

#include <garage/util/byte_budget.hpp>

namespace garage::api::http {

/// The API layer's name of @ref garage::util::byte_budget.
using byte_budget = util::byte_budget;

} // namespace garage::api::http
