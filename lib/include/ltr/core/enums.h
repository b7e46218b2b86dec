// Every choice the library offers by name, in one place: the enums of all
// modules with the names they have in files and on the command line.
// Name*(x) gives the name; Parse*(name) throws ltr::Error naming the valid
// choices ("unknown optimizer 'x'; expected sgd, momentum or adam").
#ifndef LTR_CORE_ENUMS_H_
#define LTR_CORE_ENUMS_H_

#include <string>

namespace ltr {

// --- rnn
enum class Nonlinearity { kTanh, kRelu, kSoftplus, kIdentity };
enum class WeightKind { kFull, kLowRank, kLowTensorRank };
enum class RnnLoss { kMse, kPoisson };
enum class TrialSmoothing { kNone, kSecondDifference, kGaussianProcess };
// How the observation matrix C (readout, neurons x N) is constrained.
enum class ReadoutKind {
  kFree,         // any C
  kOrthonormal,  // orthonormal columns (neurons >= N) or rows (neurons < N)
  kIdentity,     // units = neurons, C = I fixed
};

// "tanh", "relu", "softplus", "identity" (also parsed: "linear").
std::string NonlinearityName(Nonlinearity f);
Nonlinearity ParseNonlinearity(const std::string& name);
// "full", "lowrank", "ltr".
std::string WeightKindName(WeightKind kind);
WeightKind ParseWeightKind(const std::string& name);
// "mse", "poisson".
std::string RnnLossName(RnnLoss loss);
RnnLoss ParseRnnLoss(const std::string& name);
// "none", "second-diff", "gp".
std::string TrialSmoothingName(TrialSmoothing kind);
TrialSmoothing ParseTrialSmoothing(const std::string& name);
// "free", "orthonormal", "identity".
std::string ReadoutKindName(ReadoutKind kind);
ReadoutKind ParseReadoutKind(const std::string& name);

// --- fit
enum class FitInitialization { kAuto, kData, kRandom };
// The optimiser of the fit: Ceres' L-BFGS, or Adam (the reference
// procedure of Pellegrino et al. 2023: full-batch Adam, rate 1e-3).
enum class FitOptimizer { kLbfgs, kAdam };
// "auto", "data", "random".
std::string FitInitializationName(FitInitialization init);
FitInitialization ParseFitInitialization(const std::string& name);
// "lbfgs", "adam".
std::string FitOptimizerName(FitOptimizer optimizer);
FitOptimizer ParseFitOptimizer(const std::string& name);

// --- train and first-order optimisers
enum class Optimizer { kSgd, kMomentum, kAdam };
// "sgd", "momentum", "adam".
std::string OptimizerName(Optimizer optimizer);
Optimizer ParseOptimizer(const std::string& name);

enum class TaskKind {
  kFlipFlop,      // Schuessler et al.'s two-channel flip-flop (one at a time)
  kFlipFlopBits,  // classic flip-flop: each channel holds its own last sign
  kMante,         // context-dependent integration
  kRomo,          // working memory: which of two frequencies was larger
  kFixedPoint,    // input-driven fixed point (the linear theory's task)
  kReach,         // centre-out reach driving a 2-D point mass (curl field)
};
// "flipflop", "flipflop-bits", "mante", "romo", "fixed-point", "reach".
std::string TaskKindName(TaskKind kind);
TaskKind ParseTaskKind(const std::string& name);

// --- decompose
enum class CpMethod {
  kAls,         // alternating least squares
  kOpt,         // all-at-once weighted least squares, L-BFGS via Ceres
  kNonnegHals,  // HALS on the nonnegative modes, least squares on the others
  kApr,         // CP-APR: Poisson nonnegative CP by multiplicative updates
};
enum class CpInit {
  kRandom,  // entries N(0, 1); uniform in [0, 1) on nonnegative modes
  kNvecs,   // leading eigenvectors of each mode's Gram X_(n) X_(n)^T
};
// How ALS and HALS treat entries that a mask marks missing. CP-OPT always
// weights the residual by the mask.
enum class MissingData {
  kExact,  // row-wise masked least squares: exact ALS on the observed entries
  kEm,     // expectation-maximisation: impute missing entries from the model
};
// How ALS and HALS extrapolate between sweeps (CP-OPT and CP-APR ignore it).
enum class CpAcceleration {
  kNone,        // plain sweeps
  kLineSearch,  // Bro's extrapolation, kept only when it lowers the error
};
enum class TuckerMethod {
  kHosvd,  // sequentially truncated HOSVD (ST-HOSVD)
  kHooi,   // higher-order orthogonal iteration, started from ST-HOSVD
};
enum class DecompositionMethod {
  kCpAls,
  kCpOpt,
  kNcpHals,
  kCpApr,
  kTuckerHosvd,
  kTuckerHooi,
};
enum class HoldOut { kNone, kBlocks, kNeurons, kGiven };

// "random", "nvecs".
std::string CpInitName(CpInit init);
CpInit ParseCpInit(const std::string& name);
// "exact", "em".
std::string MissingDataName(MissingData missing);
MissingData ParseMissingData(const std::string& name);
// "none", "line-search".
std::string CpAccelerationName(CpAcceleration acceleration);
CpAcceleration ParseCpAcceleration(const std::string& name);
// "cp-als", "cp-opt", "ncp-hals", "cp-apr", "tucker-hosvd", "tucker-hooi".
std::string MethodName(DecompositionMethod method);
DecompositionMethod ParseMethod(const std::string& name);
// "none", "blocks", "neurons" ("given" is named, never parsed: it comes
// with a mask).
std::string HoldOutName(HoldOut scheme);
HoldOut ParseHoldOut(const std::string& name);

// --- import
// The input of ltr import; kAuto: by the name (.npy, .npz, .mat, else NWB).
enum class InputFormat { kAuto, kNwb, kNpy, kNpz, kMat };
// "auto", "nwb", "npy", "npz", "mat".
std::string InputFormatName(InputFormat format);
InputFormat ParseInputFormat(const std::string& name);

}  // namespace ltr

#endif  // LTR_CORE_ENUMS_H_
