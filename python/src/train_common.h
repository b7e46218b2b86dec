// What train.cpp and theory.cpp share: the trajectory object (a learning
// trajectory in memory, trained here or read from a file) and read-only
// numpy views of the library's results, kept alive by the Python object
// that owns them.
#ifndef LTR_PYTHON_TRAIN_COMMON_H_
#define LTR_PYTHON_TRAIN_COMMON_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

#include "ltr/core/tensor.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/train/train.h"

namespace ltr::python {

namespace py = pybind11;

// ltr.Trajectory: the parts of a trajectory file (`record`, whose `path` is
// the file it was read from, empty when trained here), its snapshots, the
// optimiser state of the last snapshot (what --resume continues from) and,
// for a run trained here, its summary.
struct TrajectoryObject {
  Trajectory record;
  Tensor3 weights;
  std::optional<TrainState> checkpoint;
  std::optional<TrainSummary> summary;
};

// Binds ltr.Trajectory, ltr.TrainOptions and ltr.TrainSummary; ltr.task_batch.
void BindTrajectory(py::module_& m);
void BindTaskBatch(py::module_& m);

// ValueError for a task option (not at its default) that `o.kind` ignores.
void RejectIgnoredTaskOptions(const TaskOptions& o);

// A trajectory argument: an ltr.Trajectory, or the path (str or
// os.PathLike) of a trajectory file, returned in *path.
const TrajectoryObject* TrajectoryArgument(const py::handle& argument,
                                           const std::string& name,
                                           std::string* path);

// str or os.PathLike as a path; TypeError naming `name` otherwise.
std::string PathArgument(const py::handle& path, const std::string& name);

// Read-only arrays over storage owned by `owner` (no copy).
py::array View(const Tensor3& t, const py::handle& owner);
py::array View(const Matrix& m, const py::handle& owner);
py::array View(const Vector& v, const py::handle& owner);
template <typename T>
py::array View(const std::vector<T>& v, const py::handle& owner) {
  py::array a =
      py::array_t<T>(static_cast<py::ssize_t>(v.size()), v.data(), owner);
  a.attr("setflags")(py::arg("write") = false);
  return a;
}

}  // namespace ltr::python

#endif  // LTR_PYTHON_TRAIN_COMMON_H_
