// ltr info FILE.h5: what an HDF5 file holds.
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/formats/io.h"

namespace ltr {

int RunInfo(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("Options");
  options.add_options()(
      "input", po::value<std::string>()->required(), "HDF5 file to describe")(
      "attributes,a", po::bool_switch(), "also list every attribute");
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!cli::Parse(argc,
                  argv,
                  "usage: ltr info FILE.h5 [--attributes]\n\n"
                  "Lists the datasets of FILE.h5 with their shapes (row-major, "
                  "as h5py shows them),\ndtypes and `axes` attributes, and the "
                  "root attributes.",
                  options,
                  positional,
                  &vm))
    return 0;
  const std::string file = vm["input"].as<std::string>();
  const io::FileInfo info = io::Describe(file);

  size_t width = 8;
  for (const auto& d : info.datasets) width = std::max(width, d.path.size());
  std::cout << file << "\n";
  for (const auto& d : info.datasets) {
    std::string shape = "(";
    for (size_t i = 0; i < d.shape.size(); ++i)
      shape += (i ? ", " : "") + std::to_string(d.shape[i]);
    shape += d.shape.size() == 1 ? ",)" : ")";
    std::cout << "  " << std::left << std::setw(static_cast<int>(width) + 2)
              << d.path << std::setw(20) << shape << std::setw(9) << d.dtype
              << (d.axes.empty() ? "" : "axes: " + d.axes) << "\n";
  }
  const bool all = vm["attributes"].as<bool>();
  bool header = false;
  for (const auto& a : info.attributes) {
    if (!all && a.object != "/") continue;
    if (!header) std::cout << (all ? "attributes:\n" : "root attributes:\n");
    header = true;
    std::cout << "  " << (all ? a.object + " " : "") << a.name << " = "
              << a.value << "\n";
  }
  return 0;
}

}  // namespace ltr
