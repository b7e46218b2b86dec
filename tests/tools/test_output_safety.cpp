// Never lose a file: every command refuses an output that is one of its
// inputs, however the two paths are spelled, before anything is written.
// (What an interrupted run leaves is tested in test_interrupt.cpp and
// test_ensemble_interrupt.cpp.)
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "ltr/formats/io.h"
#include "test_support.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace ltr {
namespace {

// Other names of the same file `path`: itself, a relative path from the
// working directory, a path through "..", a symlink and a hard link.
std::vector<std::string> OtherNames(const std::string& path) {
  const fs::path p(path);
  const std::string symlink = path + ".symlink";
  const std::string hardlink = path + ".hardlink";
  if (!fs::exists(symlink)) fs::create_symlink(p.filename(), symlink);
  if (!fs::exists(hardlink)) fs::create_hard_link(p, hardlink);
  return {path,
          fs::relative(p).string(),
          (p.parent_path() / ".." / p.parent_path().filename() / p.filename())
              .string(),
          symlink,
          hardlink};
}

}  // namespace

TEST_CASE(
    "every command refuses an output that is its input, through any name, "
    "and leaves the input as it was",
    "[safety][cli]") {
  test::ScratchDir dir;
  const std::string data = dir / "data.h5", model = dir / "model.h5",
                    traj = dir / "traj.h5";
  REQUIRE(test::RunLtr("synth --trials 9 --time-bins 6 --neurons 5 -o " + data)
              .exit_code == 0);
  REQUIRE(test::RunLtr("fit " + data +
                       " --rank 1 --max-iters 2 --threads 1 -o " + model)
              .exit_code == 0);
  REQUIRE(test::RunLtr("train --task flipflop --units 6 --steps 4 --batch 2 "
                       "--record-every 2 -o " +
                       traj)
              .exit_code == 0);

  struct Case {
    std::string input;    // the file -o names again
    std::string command;  // "%" stands for the output
  };
  const std::vector<Case> cases = {
      {data, "decompose " + data + " --rank 2 -o %"},
      {data, "decompose " + data + " --rank 2 --stream -o %"},
      {data, "decompose " + data + " --ranks 1:2 -o %"},
      {data, "fit " + data + " --rank 1 --max-iters 2 -o %"},
      {data, "fit " + data + " --ranks 1:2 --max-iters 2 -o %"},
      {model,
       "fit " + data + " --rank 1 --max-iters 2 --init " + model + " -o %"},
      {model,
       "fit " + data + " --rank 1 --max-iters 2 --test-mask " + model +
           ":/heldout/test_mask -o %"},
      {model, "simulate " + model + " -o %"},
      {data, "simulate " + model + " --inputs " + data + " -o %"},
      {traj, "analyze " + traj + " -o %"},
      {traj, "bounds " + traj + " -o %"},
      {data, "import " + data + " --table none -o %"},
  };
  for (const Case& c : cases) {
    const std::string before = test::ReadText(c.input);
    REQUIRE(!before.empty());
    for (const std::string& name : OtherNames(c.input)) {
      std::string args = c.command;
      args.replace(args.find('%'), 1, name);
      const test::RunResult r = test::RunLtr(args);
      INFO(args << "\n" << r.err);
      CHECK(r.exit_code == 1);
      CHECK_THAT(r.err, Contains("is the input"));
      CHECK(test::CountLines(r.err) == 1);
      CHECK(test::ReadText(c.input) == before);
    }
  }
  // An output that only shares the input's directory is fine.
  CHECK(test::RunLtr("decompose " + data + " --rank 2 -o " + (dir / "cp.h5"))
            .exit_code == 0);
}

TEST_CASE("RefuseOutputOverInput compares files, not spellings", "[safety]") {
  test::ScratchDir dir;
  const std::string a = dir / "a.h5";
  test::RunLtr("synth --trials 3 --time-bins 4 --neurons 2 -o " + a);
  for (const std::string& name : OtherNames(a))
    CHECK_THROWS_WITH(io::RefuseOutputOverInput(name, {"", a}),
                      Contains("is the input"));
  // The output's partial file is the output's too.
  fs::copy_file(a, dir / "b.h5.partial");
  CHECK_THROWS(io::RefuseOutputOverInput(dir / "b.h5", {dir / "b.h5.partial"}));
  // A copy is another file; a missing output is no input.
  fs::copy_file(a, dir / "copy.h5");
  CHECK_NOTHROW(io::RefuseOutputOverInput(dir / "copy.h5", {a}));
  CHECK_NOTHROW(io::RefuseOutputOverInput(dir / "new.h5", {a}));
}

}  // namespace ltr
