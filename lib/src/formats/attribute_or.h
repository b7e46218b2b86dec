// Attributes that a layout makes optional: the value, or a fallback when the
// file does not have it (generic; a candidate for io.h).
#ifndef LTR_SRC_FORMATS_ATTRIBUTE_OR_H_
#define LTR_SRC_FORMATS_ATTRIBUTE_OR_H_

#include <string>

#include "ltr/formats/io.h"

namespace ltr::io {

inline double DoubleAttributeOr(const std::string& file,
                                const std::string& object,
                                const std::string& name,
                                double fallback) {
  return HasAttribute(file, object, name)
             ? ReadDoubleAttribute(file, object, name)
             : fallback;
}

inline std::string StringAttributeOr(const std::string& file,
                                     const std::string& object,
                                     const std::string& name,
                                     const std::string& fallback = "") {
  return HasAttribute(file, object, name)
             ? ReadStringAttribute(file, object, name)
             : fallback;
}

}  // namespace ltr::io

#endif  // LTR_SRC_FORMATS_ATTRIBUTE_OR_H_
