#include <iostream>

#include "commands.h"

namespace ltr {
int RunMain(int, char**) { return 0; }
}  // namespace ltr
