#include <garage/model/key.hpp>

#include <garage/model/error.hpp>
#include <garage/util/encoding.hpp>

#include <algorithm>
#include <cctype>

namespace garage::model {
namespace {

std::string random_hex(std::size_t bytes)
{
    std::string raw(bytes, '\0');
    util::random_bytes(raw.data(), raw.size());
    return util::to_hex(raw);
}

bool is_hex(std::string_view s) noexcept
{
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    return out;
}

} // namespace

std::string generate_key_id()
{
    return "GK" + random_hex(12);
}

std::string generate_secret_key()
{
    return random_hex(32);
}

bool is_valid_key_id(std::string_view id) noexcept
{
    return id.size() == 26 && id.starts_with("GK") && is_hex(id.substr(2));
}

bool is_valid_secret_key(std::string_view secret) noexcept
{
    return secret.size() == 64 && is_hex(secret);
}

namespace {

access_key make_key(std::string key_id, std::string secret_key, std::string name)
{
    access_key_params p;
    p.secret_key = std::move(secret_key);
    p.name = crdt::lww<std::string>(std::move(name));
    p.allow_create_bucket = crdt::lww<bool>(false);
    return access_key{std::move(key_id), crdt::deletable<access_key_params>::present(std::move(p))};
}

} // namespace

access_key access_key::create(std::string name)
{
    return make_key(generate_key_id(), generate_secret_key(), std::move(name));
}

util::result<access_key> access_key::import(std::string_view key_id, std::string_view secret_key,
                                            std::string name)
{
    if (!is_valid_key_id(key_id)) {
        return util::failure(
            error::invalid_key_id,
            "the key id is not a valid Garage key id (`GK` followed by 12 hex-encoded bytes)");
    }
    if (!is_valid_secret_key(secret_key)) {
        return util::failure(error::invalid_secret_key,
                             "the secret key is not a valid Garage secret key (32 hex-encoded bytes)");
    }
    return make_key(std::string(key_id), std::string(secret_key), std::move(name));
}

access_key access_key::deleted(std::string key_id)
{
    return access_key{std::move(key_id), crdt::deletable<access_key_params>::deleted()};
}

bucket_key_perm access_key::bucket_permissions(util::uuid const& bucket_id) const noexcept
{
    if (auto const* p = params()) {
        if (auto const* perm = p->authorized_buckets.get(bucket_id)) {
            return *perm;
        }
    }
    return bucket_key_perm::none();
}

bool access_key_schema::matches_filter(access_key const& e, key_filter const& f)
{
    if (auto const* d = std::get_if<deleted_filter>(&f)) {
        return matches(*d, e.is_deleted());
    }
    auto const* p = e.params();
    if (p == nullptr) {
        return false;
    }
    auto const pattern = lower(std::get<key_match>(f).pattern);
    return lower(e.key_id).starts_with(pattern) || lower(p->name.get()) == pattern;
}

} // namespace garage::model
