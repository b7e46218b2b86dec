// The .npy/.npz reader against files numpy wrote: any rank in Fortran
// order, the dtypes refused with one line, truncated files, archives.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ltr/core/error.h"
#include "ltr/formats/numpy_file.h"
#include "test_support.h"

using Catch::Matchers::Contains;

namespace ltr {

TEST_CASE("ReadNpy and ReadNpz read what numpy wrote", "[formats][import]") {
  test::ScratchDir dir;
  bool ok = false;
  const std::string py =
      test::RunPython("import numpy as np\nd = '" + dir.path() + R"('
x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5) * 0.5 - 7
np.save(d + '/f4d.npy', np.asfortranarray(x))
np.save(d + '/u8.npy', np.array([[1, 2**40 + 3]], dtype='<u8'))
np.save(d + '/i1.npy', np.array([-128, 127], dtype='i1'))
np.save(d + '/big.npy', np.zeros(3, dtype='>f8'))
np.save(d + '/obj.npy', np.array([None, 1], dtype=object), allow_pickle=True)
np.save(d + '/c16.npy', np.zeros(2, dtype=complex))
np.save(d + '/scalar.npy', np.float64(2.5))
np.savez(d + '/a.npz', first=np.ones(2), second=np.zeros((1, 2)))
open(d + '/trunc.npy', 'wb').write(open(d + '/f4d.npy', 'rb').read()[:200])
)",
                      &ok);
  if (!ok && !test::HavePythonH5py()) {
    WARN("python3 with numpy not found; skipped");
    return;
  }
  INFO(py);
  REQUIRE(ok);
  const NumpyArray a = ReadNpy(dir / "f4d.npy");
  CHECK(a.fortran_order);
  CHECK(a.dtype == "<f8");
  REQUIRE(a.shape == std::vector<Index>{2, 3, 4, 5});
  for (size_t n = 0; n < a.values.size(); ++n)
    CHECK(a.values[n] == static_cast<double>(n) * 0.5 - 7);
  CHECK(ReadNpy(dir / "u8.npy").values[1] == 1099511627779.0);
  CHECK(ReadNpy(dir / "i1.npy").values == std::vector<double>{-128, 127});
  const NumpyArray s = ReadNpy(dir / "scalar.npy");
  CHECK(s.shape.empty());
  CHECK(s.values == std::vector<double>{2.5});
  for (const char* f : {"big.npy", "obj.npy", "c16.npy"})
    CHECK_THROWS_WITH(ReadNpy(dir / f), Contains("is not supported"));
  CHECK_THROWS_WITH(ReadNpy(dir / "trunc.npy"), Contains("truncated data"));
  CHECK_THROWS_WITH(ReadNpy(dir / "a.npz"), Contains("is not a .npy array"));
  CHECK(NpzMembers(dir / "a.npz") ==
        std::vector<std::string>{"first", "second"});
  CHECK(ReadNpz(dir / "a.npz", "second.npy").shape == std::vector<Index>{1, 2});
  CHECK_THROWS_WITH(ReadNpz(dir / "a.npz", "third"),
                    Contains("no array 'third'") &&
                        Contains("its arrays are: first, second"));
  CHECK_THROWS_WITH(ReadNpz(dir / "f4d.npy", ""),
                    Contains("is not a readable .npz"));
}

}  // namespace ltr
