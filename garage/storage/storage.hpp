#pragma once
/** @file
    The storage layer in one include: the concepts, the errors and both backends.
*/

#include <garage/storage/concepts.hpp>
#include <garage/storage/error.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/storage/memory_backend.hpp>
