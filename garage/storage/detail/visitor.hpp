#pragma once
// Private helpers for iteration visitors: the archetype the concepts check with, and a
// non-owning, non-allocating reference to any visitor (so that backends keep their cursor code
// out of headers).

#include <garage/util/error.hpp>

#include <functional>
#include <memory>
#include <string_view>
#include <type_traits>

namespace garage::storage::detail {

/** The minimal visitor: callable as a non-const lvalue with `(key, value)`, returning `bool`.

    It can be neither copied nor moved, so a backend that checks against it must take its
    visitor by reference. Declared only: it is never called.
*/
struct visitor_archetype {
    visitor_archetype(visitor_archetype const&) = delete;
    visitor_archetype& operator=(visitor_archetype const&) = delete;
    bool operator()(std::string_view key, std::string_view value);
};

/// True when `V` is a visitor (the public spelling is @ref storage::storage_visitor).
// clang-format off
template <class V>
concept visitor = std::invocable<V&, std::string_view, std::string_view> &&
    std::convertible_to<std::invoke_result_t<V&, std::string_view, std::string_view>, bool>;
// clang-format on

/** A non-owning reference to a visitor: two pointers, no allocation.

    The referenced visitor must outlive the reference; exceptions thrown by the visitor pass
    through unchanged.
*/
class visitor_ref {
public:
    // clang-format off
    template <visitor V>
    requires(!std::is_same_v<std::remove_cv_t<V>, visitor_ref>)
    explicit visitor_ref(V& v) noexcept
        : object_(const_cast<void*>(static_cast<void const*>(std::addressof(v)))), call_(&call<V>)
    {
    }
    // clang-format on

    /// Calls the visitor; `false` means stop.
    bool operator()(std::string_view key, std::string_view value) const { return call_(object_, key, value); }

private:
    template <class V>
    static bool call(void* object, std::string_view key, std::string_view value)
    {
        return static_cast<bool>(std::invoke(*static_cast<V*>(object), key, value));
    }

    void* object_;
    bool (*call_)(void*, std::string_view, std::string_view);
};

/// Detects `util::result<R>` (the return type required of transaction functions).
template <class T>
inline constexpr bool is_result_v = false;
template <class T, class E>
inline constexpr bool is_result_v<boost::system::result<T, E>> = true;

/** The minimal transaction function: called as a non-const lvalue with the transaction,
    returns `util::result<void>`. Declared only: it is never called. */
template <class Transaction, class Result>
struct transaction_function_archetype {
    transaction_function_archetype(transaction_function_archetype const&) = delete;
    transaction_function_archetype& operator=(transaction_function_archetype const&) = delete;
    Result operator()(Transaction& tx);
};

} // namespace garage::storage::detail
