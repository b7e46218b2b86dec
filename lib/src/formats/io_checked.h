// Readers that check a value from a file before converting it (declared
// here, not in ltr/io.h, to keep the public header stable; defined in
// io.cpp).
#ifndef LTR_SRC_IO_CHECKED_H_
#define LTR_SRC_IO_CHECKED_H_

#include <cstdint>
#include <limits>
#include <string>

namespace ltr::io {

// A whole-number attribute; throws ltr::Error unless it lies in [min, max].
std::int64_t ReadIntAttribute(
    const std::string& file,
    const std::string& object,
    const std::string& name,
    std::int64_t min = std::numeric_limits<std::int64_t>::min(),
    std::int64_t max = std::numeric_limits<std::int64_t>::max());

}  // namespace ltr::io

#endif  // LTR_SRC_IO_CHECKED_H_
