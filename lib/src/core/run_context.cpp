#include "ltr/core/run_context.h"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace ltr {

int UsableCores() {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0)
    return std::max(1, CPU_COUNT(&cpus));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace ltr
