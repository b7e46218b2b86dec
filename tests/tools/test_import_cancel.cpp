// ImportOptions::run's token stops an import between trials (and after a
// file is read) with nothing to write.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "ltr/jobs/import.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace ltr {
namespace {

const std::string kMtl = std::string(LTR_SOURCE_DIR) +
                         "/../shared/data/nwb/human_mtl_sub-4_ses-4.nwb";

ImportOptions MtlOptions() {
  ImportOptions o;
  o.input = kMtl;
  o.table = "encoding_table";
  o.window_start = -1;
  o.window_stop = 2;
  o.bin = 0.1;
  o.condition_column = "stimCategory";
  return o;
}

TEST_CASE("a cancelled token stops ltr import with no recording", "[import]") {
  if (!fs::exists(kMtl)) {
    WARN("shared NWB file not found at " + kMtl + "; skipped");
    return;
  }
  ImportOptions o = MtlOptions();
  const ImportResult full = ImportRecording(o);
  REQUIRE_FALSE(full.cancelled);
  REQUIRE(full.imported.recording.activity.dim(0) == 90);
  CancellationToken token;
  token.Cancel();
  o.run.cancellation = &token;
  const ImportResult stopped = ImportRecording(o);
  CHECK(stopped.cancelled);
  CHECK(stopped.imported.recording.activity.size() == 0);
  CHECK(stopped.summary.empty());
}

TEST_CASE("a cancelled token stops a NumPy import too", "[import]") {
  test::ScratchDir dir;
  const std::string npy = dir / "x.npy";
  bool ok = false;
  test::RunPython(
      "import numpy as np\nnp.save('" + npy + "', np.ones((2, 3, 4)))\n", &ok);
  if (!ok) {
    WARN("python3 with numpy not found; skipped");
    return;
  }
  ImportOptions o;
  o.input = npy;
  CancellationToken token;
  token.Cancel();
  o.run.cancellation = &token;
  const ImportResult stopped = ImportRecording(o);
  CHECK(stopped.cancelled);
  CHECK(stopped.imported.recording.activity.size() == 0);
}

}  // namespace
}  // namespace ltr
