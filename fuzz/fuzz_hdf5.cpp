// libFuzzer target: arbitrary bytes as an HDF5 file, read by everything
// that reads ltr's inputs (ltr info, recordings, models, trajectories).
// Contract: bad files end in ltr::Error (or std::bad_alloc for sizes the
// machine cannot hold, which `ltr` reports as "out of memory"); any other
// exception, a crash or a sanitizer report is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/recording.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/train/train.h"

namespace {

// One scratch file per fuzzing process.
const std::string& ScratchFile() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/ltr_fuzz_hdf5_" +
           std::to_string(getpid()) + ".h5";
  }();
  return path;
}

template <typename F>
void Expect(F&& read) {
  try {
    read();
  } catch (const ltr::Error&) {
  } catch (const std::bad_alloc&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string& path = ScratchFile();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) std::abort();
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  Expect([&] { ltr::io::Describe(path); });
  Expect([&] {
    ltr::Recording r = ltr::ReadRecording(path);
    r.Validate(path);
  });
  Expect([&] { ltr::io::ReadMask3(path, "/mask"); });
  Expect([&] { ltr::ReadModel(path); });
  Expect([&] { ltr::ReadTrainOptions(path); });
  Expect([&] { ltr::ReadTrajectory(path); });
  Expect([&] { ltr::io::ReadIntVector(path, "/step"); });
  Expect([&] { ltr::io::ReadMatrix(path, "/cp/factors/0"); });
  return 0;
}
