// The run context every long entry point takes (ltr/core/run_context.h) and
// the one table of enum names (ltr/core/enums.h).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ltr/core/enums.h"
#include "ltr/core/error.h"
#include "ltr/core/run_context.h"

namespace ltr {
namespace {

TEST_CASE("a cancellation token keeps the first reason until reset", "[core]") {
  CancellationToken token;
  CHECK_FALSE(token.cancelled());
  CHECK(token.reason() == 0);
  token.Cancel(15);
  token.Cancel(2);  // a later request does not overwrite the first
  CHECK(token.cancelled());
  CHECK(token.reason() == 15);
  token.Reset();
  CHECK_FALSE(token.cancelled());
  token.Cancel(0);  // a reason of 0 still cancels
  CHECK(token.reason() == 1);
}

TEST_CASE("a run context reports to its callback and polls its token",
          "[core]") {
  RunContext run;
  CHECK_FALSE(run.cancelled());
  run.Report("nobody listens");  // no callback: nothing happens

  std::vector<std::string> lines;
  CancellationToken token;
  run.progress = [&](const std::string& line) { lines.push_back(line); };
  run.cancellation = &token;
  run.Report("step 1");
  token.Cancel(2);
  CHECK(run.cancelled());
  const RunContext inner = run.WithThreads(3);
  CHECK(inner.num_threads == 3);
  CHECK(inner.cancelled());  // the same token
  inner.Report("step 2");
  CHECK(lines == std::vector<std::string>{"step 1", "step 2"});
}

TEST_CASE("every enum name parses back to its value", "[core]") {
  for (auto f : {Nonlinearity::kTanh,
                 Nonlinearity::kRelu,
                 Nonlinearity::kSoftplus,
                 Nonlinearity::kIdentity})
    CHECK(ParseNonlinearity(NonlinearityName(f)) == f);
  CHECK(ParseNonlinearity("linear") == Nonlinearity::kIdentity);
  for (auto k :
       {WeightKind::kFull, WeightKind::kLowRank, WeightKind::kLowTensorRank})
    CHECK(ParseWeightKind(WeightKindName(k)) == k);
  for (auto l : {RnnLoss::kMse, RnnLoss::kPoisson})
    CHECK(ParseRnnLoss(RnnLossName(l)) == l);
  for (auto s : {TrialSmoothing::kNone,
                 TrialSmoothing::kSecondDifference,
                 TrialSmoothing::kGaussianProcess})
    CHECK(ParseTrialSmoothing(TrialSmoothingName(s)) == s);
  for (auto r :
       {ReadoutKind::kFree, ReadoutKind::kOrthonormal, ReadoutKind::kIdentity})
    CHECK(ParseReadoutKind(ReadoutKindName(r)) == r);
  for (auto i : {FitInitialization::kAuto,
                 FitInitialization::kData,
                 FitInitialization::kRandom})
    CHECK(ParseFitInitialization(FitInitializationName(i)) == i);
  for (auto o : {FitOptimizer::kLbfgs, FitOptimizer::kAdam})
    CHECK(ParseFitOptimizer(FitOptimizerName(o)) == o);
  for (auto o : {Optimizer::kSgd, Optimizer::kMomentum, Optimizer::kAdam})
    CHECK(ParseOptimizer(OptimizerName(o)) == o);
  for (auto t : {TaskKind::kFlipFlop,
                 TaskKind::kFlipFlopBits,
                 TaskKind::kMante,
                 TaskKind::kRomo,
                 TaskKind::kFixedPoint,
                 TaskKind::kReach})
    CHECK(ParseTaskKind(TaskKindName(t)) == t);
  for (auto i : {CpInit::kRandom, CpInit::kNvecs})
    CHECK(ParseCpInit(CpInitName(i)) == i);
  for (auto m : {MissingData::kExact, MissingData::kEm})
    CHECK(ParseMissingData(MissingDataName(m)) == m);
  for (auto m : {DecompositionMethod::kCpAls,
                 DecompositionMethod::kCpOpt,
                 DecompositionMethod::kNcpHals,
                 DecompositionMethod::kCpApr,
                 DecompositionMethod::kTuckerHosvd,
                 DecompositionMethod::kTuckerHooi})
    CHECK(ParseMethod(MethodName(m)) == m);
  for (auto h : {HoldOut::kNone, HoldOut::kBlocks, HoldOut::kNeurons})
    CHECK(ParseHoldOut(HoldOutName(h)) == h);
}

TEST_CASE("an unknown name is an error that lists the choices", "[core]") {
  CHECK_THROWS_WITH(ParseTaskKind("juggling"),
                    "unknown task 'juggling'; expected flipflop, "
                    "flipflop-bits, mante, romo, fixed-point or reach");
  CHECK_THROWS_WITH(
      ParseOptimizer("lbfgs"),
      "unknown optimizer 'lbfgs'; expected sgd, momentum or adam");
  // "given" has a name (it is written to files) but comes with a mask.
  CHECK(HoldOutName(HoldOut::kGiven) == "given");
  CHECK_THROWS_WITH(ParseHoldOut("given"),
                    "unknown held-out scheme 'given'; expected blocks, "
                    "neurons or none");
}

}  // namespace
}  // namespace ltr
