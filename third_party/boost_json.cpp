// Boost.JSON compiled once (Debian ships it header-only).
#include <boost/json/src.hpp>
