// Reading and writing the fitted-model layout.
#include "ltr/formats/model_file.h"

#include <cmath>

#include "ltr/core/error.h"

namespace ltr {

void WriteModel(const FittedModel& model, io::OutputFile* out) {
  const RnnParameters& p = model.parameters;
  p.Validate();
  const std::string g = "/model";
  out->SetAttribute(g, "kind", WeightKindName(p.kind));
  out->SetAttribute(
      g,
      "rank",
      static_cast<std::int64_t>(p.kind == WeightKind::kFull ? 0 : p.rank()));
  out->SetAttribute(g, "units", static_cast<std::int64_t>(p.units()));
  out->SetAttribute(g, "nonlinearity", NonlinearityName(p.nonlinearity));
  out->SetAttribute(g, "alpha", p.alpha);
  out->SetAttribute(g, "loss", RnnLossName(model.loss));
  out->SetAttribute(g, "readout", ReadoutKindName(model.readout));
  if (p.kind == WeightKind::kFull) {
    out->WriteMatrix(g + "/w", p.w, "unit,unit");
  } else {
    out->WriteMatrix(g + "/a", p.a, "unit,component");
    out->WriteMatrix(g + "/b", p.b, "unit,component");
    if (p.kind == WeightKind::kLowTensorRank)
      out->WriteMatrix(g + "/c", p.c, "trial,component");
  }
  if (p.w0.size() > 0) out->WriteMatrix(g + "/w0", p.w0, "unit,unit");
  if (p.num_inputs() > 0) out->WriteMatrix(g + "/w_in", p.w_in, "unit,input");
  if (p.h.size() > 0)
    out->WriteMatrix(g + "/h", p.h.transpose(), "condition,unit");
  out->WriteMatrix(g + "/readout", p.readout, "neuron,unit");
  out->WriteVector(g + "/bias", p.bias, "unit");
  out->WriteMatrix(g + "/x0", p.x0.transpose(), "condition,unit");
  out->WriteVector(g + "/offset", p.offset, "neuron");
}

bool HasTrialFactors(const std::string& file) {
  return io::HasDataset(file, "/model/c");
}

FittedModel ReadModel(const std::string& file) {
  io::CheckReadable(file);
  const std::string g = "/model";
  auto need = [&](const std::string& name) {
    if (!io::HasDataset(file, g + "/" + name))
      throw Error("'" + file + "': " + g + "/" + name +
                  " is missing (not a model written by ltr fit or synth?)");
    return g + "/" + name;
  };
  if (!io::HasAttribute(file, g, "kind"))
    throw Error("'" + file +
                "': no /model attribute 'kind' (not a model written by ltr "
                "fit or synth?)");
  FittedModel model;
  RnnParameters& p = model.parameters;
  p.kind = ParseWeightKind(io::ReadStringAttribute(file, g, "kind"));
  p.nonlinearity =
      ParseNonlinearity(io::ReadStringAttribute(file, g, "nonlinearity"));
  p.alpha = io::ReadDoubleAttribute(file, g, "alpha");
  model.loss = io::HasAttribute(file, g, "loss")
                   ? ParseRnnLoss(io::ReadStringAttribute(file, g, "loss"))
                   : RnnLoss::kMse;
  model.readout =
      io::HasAttribute(file, g, "readout")
          ? ParseReadoutKind(io::ReadStringAttribute(file, g, "readout"))
          : ReadoutKind::kFree;
  if (p.kind == WeightKind::kFull) {
    p.w = io::ReadMatrix(file, need("w"));
  } else {
    p.a = io::ReadMatrix(file, need("a"));
    p.b = io::ReadMatrix(file, need("b"));
    if (p.kind == WeightKind::kLowTensorRank)
      p.c = io::ReadMatrix(file, need("c"));
  }
  if (io::HasDataset(file, g + "/w0")) p.w0 = io::ReadMatrix(file, g + "/w0");
  p.readout = io::ReadMatrix(file, need("readout"));
  p.bias = io::ReadVector(file, need("bias"));
  p.x0 = io::ReadMatrix(file, need("x0")).transpose();
  p.offset = io::ReadVector(file, need("offset"));
  const Index n = p.x0.rows();
  if (io::HasDataset(file, g + "/w_in"))
    p.w_in = io::ReadMatrix(file, g + "/w_in");
  else
    p.w_in = Eigen::MatrixXd::Zero(n, 0);
  if (io::HasDataset(file, g + "/h"))
    p.h = io::ReadMatrix(file, g + "/h").transpose();
  try {
    p.Validate();
  } catch (const Error& e) {
    throw Error("'" + file + "': " + e.what());
  }
  return model;
}

}  // namespace ltr
