// A single CP or Tucker fit polls its run's cancellation after every
// iteration (what lets a Python caller's Ctrl-C stop ltr.parafac): it
// returns the model it has, not converged, with a message saying so.
#include <catch2/catch.hpp>
#include <string>

#include "ltr/decompose/cp.h"
#include "ltr/decompose/tucker.h"
#include "planted.h"

using namespace ltr;
using Catch::Matchers::Contains;
using ltr::testing::PlantedKtensor;

namespace {

// A fit whose token is cancelled before it starts: it runs one iteration,
// then sees the cancellation.
CpSummary CancelledCp(CpMethod method) {
  const Ktensor truth = PlantedKtensor({12, 10, 9}, 3, 5);
  const Tensor3 x = truth.Full();
  CancellationToken token;
  token.Cancel();
  CpOptions options;
  options.method = method;
  options.rank = 3;
  options.max_iterations = 500;
  options.tolerance = 0;
  options.run.cancellation = &token;
  return Cp(options, x);
}

}  // namespace

TEST_CASE("A cancelled CP fit stops after its first iteration", "[cp]") {
  for (CpMethod method : {CpMethod::kAls, CpMethod::kNonnegHals}) {
    const CpSummary summary = CancelledCp(method);
    CHECK(summary.iterations == 1);
    CHECK_FALSE(summary.converged);
    CHECK_THAT(summary.message, Contains("interrupted after iteration 1"));
    CHECK(summary.model.rank() == 3);
  }
}

TEST_CASE("A cancelled CP-OPT fit stops at once with the current model",
          "[cp_opt]") {
  const CpSummary summary = CancelledCp(CpMethod::kOpt);
  CHECK(summary.iterations <= 1);
  CHECK_FALSE(summary.converged);
  CHECK_THAT(summary.message, Contains("interrupted"));
  CHECK(summary.relative_error < 1.0);  // the ALS warm start's model
}

TEST_CASE("A cancelled HOOI stops after its first iteration", "[tucker]") {
  const Tensor3 x = PlantedKtensor({12, 10, 9}, 3, 5).Full();
  CancellationToken token;
  token.Cancel();
  TuckerOptions options;
  options.method = TuckerMethod::kHooi;
  options.ranks = {2, 2, 2};
  options.tolerance = 0;
  options.run.cancellation = &token;
  const TuckerSummary summary = Tucker(options, x);
  CHECK(summary.iterations == 1);
  CHECK_FALSE(summary.converged);
  CHECK_THAT(summary.message, Contains("interrupted after iteration 1"));
}
