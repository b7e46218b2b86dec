// InputOutputOverlap (analyze.h): what dW shares with W0.
#include <Eigen/QR>
#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>
#include <vector>

#include "ltr/core/random.h"
#include "ltr/formats/io.h"
#include "ltr/theory/analyze.h"
#include "test_support.h"

namespace ltr {
namespace {

using Eigen::MatrixXd;

struct Planted {
  MatrixXd w0, w0_shuffled, w_in, w_out, dw;
};

// S20's initialisation at N = 64, g = 0.9, and a rank-3 dW whose left and
// right singular vectors lie in span{W0^k W_in, (W0^T)^k W_out : k = 1, 2}
// (the propagated parts, not the raw W_in, W_out).
Planted PlantedNetwork() {
  const Eigen::Index n = 64;
  Rng rng(7);
  Planted p;
  p.w0 = (0.9 / 8.0) * rng.NormalMatrix(n, n);
  p.w_in = rng.NormalMatrix(n, 2);
  p.w_in.col(0) *= 8.0 / p.w_in.col(0).norm();
  p.w_in.col(1) *= 8.0 / p.w_in.col(1).norm();
  p.w_out = rng.NormalMatrix(n, 1);
  p.w_out /= 8.0 * p.w_out.norm();
  MatrixXd span(n, 6);
  span << p.w0 * p.w_in, p.w0 * p.w0 * p.w_in, p.w0.transpose() * p.w_out,
      p.w0.transpose() * p.w0.transpose() * p.w_out;
  const MatrixXd q = Eigen::HouseholderQR<MatrixXd>(span).householderQ() *
                     MatrixXd::Identity(n, 6);
  const MatrixXd a = q * rng.NormalMatrix(6, 3);
  const MatrixXd b = q * rng.NormalMatrix(6, 3);
  p.dw = a * b.transpose();
  // A permutation of W0's entries.
  std::vector<Eigen::Index> order(static_cast<size_t>(n * n));
  for (size_t e = 0; e < order.size(); ++e) order[e] = e;
  std::shuffle(order.begin(), order.end(), rng.engine());
  p.w0_shuffled.resize(n, n);
  for (Eigen::Index e = 0; e < n * n; ++e)
    p.w0_shuffled.data()[e] = p.w0.data()[order[e]];
  return p;
}

}  // namespace

TEST_CASE(
    "io overlap: a dW planted in the propagated input/output subspace "
    "overlaps 1, the shuffled-W0 control about chance, equal to numpy",
    "[theory]") {
  const Planted p = PlantedNetwork();
  const IoOverlap o =
      InputOutputOverlap(p.w0, p.w0_shuffled, p.w_in, p.w_out, p.dw, 3, 5);
  CHECK(o.depth == 3);
  CHECK(o.subspace_dim == 9);  // 3 vectors x 3 powers
  CHECK(o.shuffled_subspace_dim == 9);
  // Only the 3 nonzero singular values have singular vectors.
  REQUIRE(o.left.size() == 3);
  for (size_t r = 0; r < 3; ++r) {
    CHECK(o.left[r] == Approx(1.0).margin(1e-10));
    CHECK(o.right[r] == Approx(1.0).margin(1e-10));
    // Chance is dim / N = 9 / 64 = 0.14; the raw W_in, W_out are shared.
    CHECK(o.left_shuffled[r] < 0.4);
    CHECK(o.right_shuffled[r] < 0.4);
  }
  CHECK(o.overlap == Approx(1.0).margin(1e-10));
  CHECK(o.overlap_shuffled < 0.3);

  // W0 = 0 (g = 0): the subspace is span{W_in, W_out} whatever the depth.
  const MatrixXd zero = MatrixXd::Zero(64, 64);
  const IoOverlap z =
      InputOutputOverlap(zero, zero, p.w_in, p.w_out, p.dw, 4, 5);
  CHECK(z.subspace_dim == 3);
  CHECK_THROWS_WITH(InputOutputOverlap(p.w0, p.w0, p.w_in, p.w_out, p.dw, 0, 5),
                    Catch::Contains("depth must be >= 1"));
  CHECK_THROWS_WITH(
      InputOutputOverlap(
          p.w0, p.w0, p.w_in, p.w_out, MatrixXd::Zero(3, 3), 3, 5),
      Catch::Contains("must be N x N"));

  // An independent computation in numpy (orthonormal basis by SVD of the
  // stacked propagated vectors, singular vectors by numpy's SVD).
  if (!test::HavePythonH5py()) return;
  test::ScratchDir dir;
  {
    io::OutputFile out(dir / "planted.h5", "test");
    out.WriteMatrix("/w0", p.w0);
    out.WriteMatrix("/w0_shuffled", p.w0_shuffled);
    out.WriteMatrix("/w_in", p.w_in);
    out.WriteMatrix("/w_out", p.w_out);
    out.WriteMatrix("/dw", p.dw);
    out.Commit();
  }
  bool ok = false;
  const std::string py = test::RunPython(
      "import h5py, numpy as np\n"
      "f = h5py.File('" +
          dir / "planted.h5" +
          "', 'r')\n"
          "w_in, w_out, dw = f['w_in'][()], f['w_out'][()], f['dw'][()]\n"
          "def basis(w0, K=3):\n"
          "    cols = []\n"
          "    for m, vs in ((w0, w_in), (w0.T, w_out)):\n"
          "        for v in vs.T:\n"
          "            for k in range(K):\n"
          "                x = np.linalg.matrix_power(m, k) @ v\n"
          "                cols.append(x / np.linalg.norm(x))\n"
          "    u, s, _ = np.linalg.svd(np.array(cols).T, full_matrices=False)\n"
          "    return u[:, s > 1e-8 * max(1, s[0])]\n"
          "u, s, vt = np.linalg.svd(dw)\n"
          "for name in ('w0', 'w0_shuffled'):\n"
          "    q = basis(f[name][()])\n"
          "    l = ((q.T @ u[:, :3]) ** 2).sum(0)\n"
          "    r = ((q.T @ vt[:3].T) ** 2).sum(0)\n"
          "    w = s[:3] ** 2\n"
          "    print(q.shape[1], ' '.join('%.12f' % x for x in l),\n"
          "          ' '.join('%.12f' % x for x in r),\n"
          "          '%.12f' % ((w * (l + r) / 2).sum() / w.sum()))\n",
      &ok);
  REQUIRE(ok);
  std::istringstream in(py);
  for (int shuffled = 0; shuffled < 2; ++shuffled) {
    INFO(py);
    int dim = 0;
    in >> dim;
    CHECK(dim == 9);
    const std::vector<double>& left = shuffled ? o.left_shuffled : o.left;
    const std::vector<double>& right = shuffled ? o.right_shuffled : o.right;
    for (int side = 0; side < 2; ++side)
      for (size_t r = 0; r < 3; ++r) {
        double x = 0.0;
        in >> x;
        CHECK((side == 0 ? left : right)[r] == Approx(x).margin(1e-9));
      }
    double weighted = 0.0;
    in >> weighted;
    CHECK((shuffled ? o.overlap_shuffled : o.overlap) ==
          Approx(weighted).margin(1e-9));
  }
}

}  // namespace ltr
