#include <garage/model/bucket.hpp>

#include <garage/util/time.hpp>

#include <algorithm>

namespace garage::model {

bucket_params bucket_params::create()
{
    bucket_params p;
    p.creation_date = util::now_msec();
    return p;
}

void bucket_params::merge(bucket_params const& other)
{
    creation_date = std::min(creation_date, other.creation_date);
    crdt::merge(authorized_keys, other.authorized_keys);
    crdt::merge(aliases, other.aliases);
    crdt::merge(local_aliases, other.local_aliases);
    crdt::merge(website_config, other.website_config);
    crdt::merge(cors_config, other.cors_config);
    crdt::merge(lifecycle_config, other.lifecycle_config);
    crdt::merge(quotas, other.quotas);
}

bucket bucket::create()
{
    return present(util::gen_uuid(), bucket_params::create());
}

bucket bucket::present(util::uuid const& id, bucket_params params)
{
    return bucket{id, crdt::deletable<bucket_params>::present(std::move(params))};
}

bucket bucket::deleted(util::uuid const& id)
{
    return bucket{id, crdt::deletable<bucket_params>::deleted()};
}

std::span<crdt::map<std::string, bucket_key_perm>::entry const> bucket::authorized_keys() const noexcept
{
    if (auto const* p = params()) {
        return p->authorized_keys.items();
    }
    return {};
}

} // namespace garage::model
