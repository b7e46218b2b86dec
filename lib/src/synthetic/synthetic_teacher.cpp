// A random low-tensor-rank RNN teacher for fitting experiments.
#include <Eigen/QR>
#include <cmath>

#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/synthetic/synthetic.h"

namespace ltr {

FittedModel MakeLtrTeacher(const LtrTeacherOptions& o) {
  if (o.units < 1 || o.rank < 1 || o.rank > o.units)
    throw Error("ltr teacher: need 1 <= rank <= units, got rank " +
                std::to_string(o.rank) + " and " + std::to_string(o.units) +
                " units");
  if (o.trials < 1 || o.conditions < 1 || o.neurons < 0)
    throw Error(
        "ltr teacher: trials and conditions must be >= 1, neurons >= 0");
  if (!(o.alpha > 0 && o.alpha <= 1))
    throw Error("ltr teacher: alpha must be in (0, 1]");
  const Index n = o.units, r = o.rank, k = o.trials;
  const Index m = o.neurons > 0 ? o.neurons : o.units;
  Rng rng(o.seed);
  RnnShape shape;
  shape.kind = WeightKind::kLowTensorRank;
  shape.nonlinearity = o.nonlinearity;
  shape.alpha = o.alpha;
  shape.units = n;
  shape.rank = r;
  shape.trials = k;
  shape.conditions = o.conditions;
  shape.outputs = m;
  FittedModel model;
  model.readout =
      o.neurons > 0 ? ReadoutKind::kOrthonormal : ReadoutKind::kIdentity;
  RnnParameters& p = model.parameters;
  p = ZeroRnnParameters(shape);

  auto orthonormal = [](const Eigen::MatrixXd& a) {
    const bool tall = a.rows() >= a.cols();
    const Eigen::MatrixXd t = tall ? a : Eigen::MatrixXd(a.transpose());
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(t);
    Eigen::MatrixXd q =
        qr.householderQ() * Eigen::MatrixXd::Identity(t.rows(), t.cols());
    return tall ? q : Eigen::MatrixXd(q.transpose());
  };
  p.a = orthonormal(rng.NormalMatrix(n, r));
  for (Index j = 0; j < r; ++j) {
    Eigen::VectorXd g = rng.NormalMatrix(n, 1);
    g -= p.a.col(j).dot(g) * p.a.col(j);
    p.b.col(j) = p.a.col(j) + 0.5 * g.normalized();
    p.b.col(j).normalize();
  }
  const double pi = std::acos(-1.0);
  for (Index j = 0; j < r; ++j) {
    const double frequency = 0.5 + 0.5 * static_cast<double>(j);
    const double phase = 2 * pi * rng.Uniform();
    for (Index i = 0; i < k; ++i) {
      const double s = std::sin(2 * pi * frequency * static_cast<double>(i) /
                                    static_cast<double>(k) +
                                phase);
      p.c(i, j) = o.coupling * (0.75 + 0.25 * s);
    }
  }
  p.x0 = o.x0_scale * rng.NormalMatrix(n, o.conditions);
  p.readout = o.neurons > 0 ? orthonormal(rng.NormalMatrix(m, n))
                            : Eigen::MatrixXd(Eigen::MatrixXd::Identity(m, n));
  p.Validate();
  return model;
}

}  // namespace ltr
