#include <garage/model/object.hpp>

#include <garage/util/time.hpp>

#include <algorithm>
#include <tuple>

namespace garage::model {
namespace {

auto identity(object_version const& v) noexcept
{
    return std::tie(v.timestamp, v.uuid);
}

} // namespace

header_list const* object_version_meta::headers() const noexcept
{
    auto const* p = std::get_if<encryption_plaintext>(&encryption);
    return p != nullptr ? &p->inner.headers : nullptr;
}

checksum_value const* object_version_meta::checksum() const noexcept
{
    auto const* p = std::get_if<encryption_plaintext>(&encryption);
    return p != nullptr && p->inner.checksum ? &*p->inner.checksum : nullptr;
}

void merge_state(object_version_state& self, object_version_state const& other)
{
    if (std::holds_alternative<version_aborted>(other)) {
        self = version_aborted{};
        return;
    }
    if (auto const* theirs = std::get_if<version_complete>(&other)) {
        if (auto* mine = std::get_if<version_complete>(&self)) {
            if (*mine < *theirs) {
                *mine = *theirs;
            }
        } else if (std::holds_alternative<version_uploading>(self)) {
            self = *theirs;
        }
        return;
    }
    auto const& theirs = std::get<version_uploading>(other);
    if (auto* mine = std::get_if<version_uploading>(&self); mine != nullptr && *mine < theirs) {
        *mine = theirs;
    }
}

bool object_version::is_uploading(std::optional<bool> multipart) const noexcept
{
    auto const* u = std::get_if<version_uploading>(&state);
    return u != nullptr && (!multipart || *multipart == u->multipart);
}

bool object_version::is_delete_marker() const noexcept
{
    auto const* d = data();
    return d != nullptr && std::holds_alternative<delete_marker>(*d);
}

object_version_data const* object_version::data() const noexcept
{
    auto const* c = std::get_if<version_complete>(&state);
    return c != nullptr ? &c->data : nullptr;
}

object_version_meta const* object_version::meta() const noexcept
{
    auto const* d = data();
    if (d == nullptr) {
        return nullptr;
    }
    if (auto const* i = std::get_if<inline_data>(d)) {
        return &i->meta;
    }
    if (auto const* f = std::get_if<first_block>(d)) {
        return &f->meta;
    }
    return nullptr;
}

object::object(util::uuid const& bucket_id, std::string key, std::vector<object_version> versions)
    : bucket_id_(bucket_id), key_(std::move(key))
{
    for (auto const& v : versions) {
        insert_or_merge(v);
    }
    drop_obsolete();
}

void object::insert_or_merge(object_version const& v)
{
    auto it = std::ranges::lower_bound(versions_, identity(v), std::ranges::less{},
                                       [](object_version const& x) { return identity(x); });
    if (it != versions_.end() && identity(*it) == identity(v)) {
        merge_state(it->state, v.state);
    } else {
        versions_.insert(it, v);
    }
}

void object::drop_obsolete()
{
    auto const last = std::ranges::find_if(versions_.rbegin(), versions_.rend(),
                                           [](object_version const& v) { return v.is_complete(); });
    if (last != versions_.rend()) {
        versions_.erase(versions_.begin(), std::prev(last.base()));
    }
}

bool object::sorted() const noexcept
{
    return std::ranges::adjacent_find(versions_, [](object_version const& a, object_version const& b) {
               return !(identity(a) < identity(b));
           }) == versions_.end();
}

void object::add_version(object_version const& v)
{
    insert_or_merge(v);
    drop_obsolete();
}

void object::merge(object const& other)
{
    crdt::merge(bucket_id_, other.bucket_id_);
    crdt::merge(key_, other.key_);
    for (auto const& v : other.versions_) {
        insert_or_merge(v);
    }
    drop_obsolete();
}

object_version const* object::find_version(std::uint64_t timestamp, util::uuid const& uuid) const noexcept
{
    std::tuple<std::uint64_t const&, util::uuid const&> const key{timestamp, uuid};
    auto it = std::ranges::lower_bound(versions_, key, std::ranges::less{},
                                       [](object_version const& x) { return identity(x); });
    return it != versions_.end() && identity(*it) == key ? &*it : nullptr;
}

object_version const* object::last_complete() const noexcept
{
    auto const it = std::ranges::find_if(versions_.rbegin(), versions_.rend(),
                                         [](object_version const& v) { return v.is_complete(); });
    return it != versions_.rend() ? &*it : nullptr;
}

std::uint64_t object::next_timestamp() const
{
    auto const now = util::now_msec();
    return versions_.empty() ? now : std::max(now, versions_.back().timestamp + 1);
}

bool object::is_tombstone() const noexcept
{
    return versions_.size() == 1 && versions_.front().is_delete_marker();
}

std::array<counter_sample, 3> bucket_object_counter::counts(object const& o)
{
    std::int64_t has_data = 0;
    std::int64_t uploading = 0;
    std::int64_t total = 0;
    for (auto const& v : o.versions()) {
        if (v.is_data()) {
            has_data = 1;
        }
        if (v.is_uploading()) {
            ++uploading;
        }
        if (auto const* m = v.meta()) {
            total += static_cast<std::int64_t>(m->size);
        }
    }
    return {counter_sample{objects, has_data}, counter_sample{unfinished_uploads, uploading},
            counter_sample{bytes, total}};
}

} // namespace garage::model
