#include "ltr/core/enums.h"

#include <utility>
#include <vector>

#include "ltr/core/error.h"

namespace ltr {
namespace {

template <typename E>
using NameTable = std::vector<std::pair<E, const char*>>;

template <typename E>
std::string NameIn(const NameTable<E>& table, E value) {
  for (const auto& [e, name] : table)
    if (e == value) return name;
  return "unknown";
}

// "a, b or c"
template <typename E>
std::string Choices(const NameTable<E>& table, E unparsed) {
  std::vector<std::string> names;
  for (const auto& [e, name] : table)
    if (e != unparsed) names.push_back(name);
  std::string text;
  for (size_t i = 0; i < names.size(); ++i)
    text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return text;
}

// `unparsed` names a value that has a name but is never chosen by name
// (HoldOut::kGiven comes with a mask); `what` begins the error message.
template <typename E>
E ParseIn(const NameTable<E>& table,
          const std::string& name,
          const std::string& what,
          E unparsed) {
  for (const auto& [e, n] : table)
    if (e != unparsed && name == n) return e;
  throw Error("unknown " + what + " '" + name + "'; expected " +
              Choices(table, unparsed));
}
template <typename E>
E ParseIn(const NameTable<E>& table,
          const std::string& name,
          const std::string& what) {
  return ParseIn(table, name, what, static_cast<E>(-1));
}

const NameTable<Nonlinearity> kNonlinearities = {
    {Nonlinearity::kTanh, "tanh"},
    {Nonlinearity::kRelu, "relu"},
    {Nonlinearity::kSoftplus, "softplus"},
    {Nonlinearity::kIdentity, "identity"}};
const NameTable<WeightKind> kWeightKinds = {
    {WeightKind::kFull, "full"},
    {WeightKind::kLowRank, "lowrank"},
    {WeightKind::kLowTensorRank, "ltr"}};
const NameTable<RnnLoss> kRnnLosses = {{RnnLoss::kMse, "mse"},
                                       {RnnLoss::kPoisson, "poisson"}};
const NameTable<TrialSmoothing> kSmoothings = {
    {TrialSmoothing::kNone, "none"},
    {TrialSmoothing::kSecondDifference, "second-diff"},
    {TrialSmoothing::kGaussianProcess, "gp"}};
const NameTable<ReadoutKind> kReadouts = {
    {ReadoutKind::kFree, "free"},
    {ReadoutKind::kOrthonormal, "orthonormal"},
    {ReadoutKind::kIdentity, "identity"}};
const NameTable<FitInitialization> kFitInitializations = {
    {FitInitialization::kAuto, "auto"},
    {FitInitialization::kData, "data"},
    {FitInitialization::kRandom, "random"}};
const NameTable<FitOptimizer> kFitOptimizers = {{FitOptimizer::kLbfgs, "lbfgs"},
                                                {FitOptimizer::kAdam, "adam"}};
const NameTable<Optimizer> kOptimizers = {{Optimizer::kSgd, "sgd"},
                                          {Optimizer::kMomentum, "momentum"},
                                          {Optimizer::kAdam, "adam"}};
const NameTable<TaskKind> kTasks = {{TaskKind::kFlipFlop, "flipflop"},
                                    {TaskKind::kFlipFlopBits, "flipflop-bits"},
                                    {TaskKind::kMante, "mante"},
                                    {TaskKind::kRomo, "romo"},
                                    {TaskKind::kFixedPoint, "fixed-point"},
                                    {TaskKind::kReach, "reach"}};
const NameTable<CpInit> kCpInits = {{CpInit::kRandom, "random"},
                                    {CpInit::kNvecs, "nvecs"}};
const NameTable<MissingData> kMissingData = {{MissingData::kExact, "exact"},
                                             {MissingData::kEm, "em"}};
const NameTable<CpAcceleration> kAccelerations = {
    {CpAcceleration::kNone, "none"},
    {CpAcceleration::kLineSearch, "line-search"}};
const NameTable<DecompositionMethod> kMethods = {
    {DecompositionMethod::kCpAls, "cp-als"},
    {DecompositionMethod::kCpOpt, "cp-opt"},
    {DecompositionMethod::kNcpHals, "ncp-hals"},
    {DecompositionMethod::kCpApr, "cp-apr"},
    {DecompositionMethod::kTuckerHosvd, "tucker-hosvd"},
    {DecompositionMethod::kTuckerHooi, "tucker-hooi"}};
const NameTable<HoldOut> kHoldOuts = {{HoldOut::kBlocks, "blocks"},
                                      {HoldOut::kNeurons, "neurons"},
                                      {HoldOut::kNone, "none"},
                                      {HoldOut::kGiven, "given"}};

const NameTable<InputFormat> kInputFormats = {{InputFormat::kAuto, "auto"},
                                              {InputFormat::kNwb, "nwb"},
                                              {InputFormat::kNpy, "npy"},
                                              {InputFormat::kNpz, "npz"},
                                              {InputFormat::kMat, "mat"}};
}  // namespace

std::string NonlinearityName(Nonlinearity f) {
  return NameIn(kNonlinearities, f);
}
Nonlinearity ParseNonlinearity(const std::string& name) {
  // "linear" is accepted for the identity, as PyTorch users write it.
  if (name == "linear") return Nonlinearity::kIdentity;
  return ParseIn(kNonlinearities, name, "nonlinearity");
}
std::string WeightKindName(WeightKind kind) {
  return NameIn(kWeightKinds, kind);
}
WeightKind ParseWeightKind(const std::string& name) {
  return ParseIn(kWeightKinds, name, "weight kind");
}
std::string RnnLossName(RnnLoss loss) { return NameIn(kRnnLosses, loss); }
RnnLoss ParseRnnLoss(const std::string& name) {
  return ParseIn(kRnnLosses, name, "loss");
}
std::string TrialSmoothingName(TrialSmoothing kind) {
  return NameIn(kSmoothings, kind);
}
TrialSmoothing ParseTrialSmoothing(const std::string& name) {
  return ParseIn(kSmoothings, name, "--smoothing");
}
std::string ReadoutKindName(ReadoutKind kind) {
  return NameIn(kReadouts, kind);
}
ReadoutKind ParseReadoutKind(const std::string& name) {
  return ParseIn(kReadouts, name, "readout");
}
std::string FitInitializationName(FitInitialization init) {
  return NameIn(kFitInitializations, init);
}
FitInitialization ParseFitInitialization(const std::string& name) {
  return ParseIn(kFitInitializations, name, "initialisation");
}
std::string FitOptimizerName(FitOptimizer optimizer) {
  return NameIn(kFitOptimizers, optimizer);
}
FitOptimizer ParseFitOptimizer(const std::string& name) {
  return ParseIn(kFitOptimizers, name, "optimizer");
}
std::string OptimizerName(Optimizer optimizer) {
  return NameIn(kOptimizers, optimizer);
}
Optimizer ParseOptimizer(const std::string& name) {
  return ParseIn(kOptimizers, name, "optimizer");
}
std::string TaskKindName(TaskKind kind) { return NameIn(kTasks, kind); }
TaskKind ParseTaskKind(const std::string& name) {
  return ParseIn(kTasks, name, "task");
}
std::string CpInitName(CpInit init) { return NameIn(kCpInits, init); }
CpInit ParseCpInit(const std::string& name) {
  return ParseIn(kCpInits, name, "--init");
}
std::string MissingDataName(MissingData missing) {
  return NameIn(kMissingData, missing);
}
MissingData ParseMissingData(const std::string& name) {
  return ParseIn(kMissingData, name, "--missing");
}
std::string CpAccelerationName(CpAcceleration acceleration) {
  return NameIn(kAccelerations, acceleration);
}
CpAcceleration ParseCpAcceleration(const std::string& name) {
  return ParseIn(kAccelerations, name, "--acceleration");
}
std::string MethodName(DecompositionMethod method) {
  return NameIn(kMethods, method);
}
DecompositionMethod ParseMethod(const std::string& name) {
  return ParseIn(kMethods, name, "method");
}
std::string InputFormatName(InputFormat format) {
  return NameIn(kInputFormats, format);
}
InputFormat ParseInputFormat(const std::string& name) {
  return ParseIn(kInputFormats, name, "--format");
}
std::string HoldOutName(HoldOut scheme) { return NameIn(kHoldOuts, scheme); }
HoldOut ParseHoldOut(const std::string& name) {
  return ParseIn(kHoldOuts, name, "held-out scheme", HoldOut::kGiven);
}

}  // namespace ltr
