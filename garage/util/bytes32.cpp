#include <garage/util/bytes32.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace garage::util {

void random_bytes(void* out, std::size_t n)
{
    auto* p = static_cast<unsigned char*>(out);
    while (n > 0) {
        int const chunk = static_cast<int>(std::min<std::size_t>(n, INT_MAX));
        if (RAND_bytes(p, chunk) != 1) {
            // Without a working random generator no identifier or key can be trusted.
            std::fputs("garage: OpenSSL RAND_bytes failed; aborting\n", stderr);
            std::abort();
        }
        p += chunk;
        n -= static_cast<std::size_t>(chunk);
    }
}

uuid gen_uuid()
{
    uuid u;
    random_bytes(u.data(), uuid::size());
    return u;
}

} // namespace garage::util
