#include "recording_options.h"

#include <iostream>

#include "ltr/core/distributed.h"
#include "ltr/core/error.h"

namespace ltr::cli {

void AddRecordingOptions(po::options_description* options,
                         bool dataset,
                         bool companions) {
  // clang-format off
  if (dataset)
    options->add_options()
      ("dataset", po::value<std::string>()->default_value(RecordingSource().activity),
       "activity dataset; its siblings are the companions below");
  options->add_options()
    ("axes", po::value<std::string>(),
     "stored order of the activity's axes, e.g. trial,neuron,time "
     "(default: its axes attribute, else trial,time,neuron)");
  if (companions)
    options->add_options()
      ("mask", po::value<std::string>(),
       "observation mask dataset (1 = observed; default: the activity's "
       "sibling 'mask')")
      ("condition", po::value<std::string>(),
       "condition label dataset (default: sibling 'condition')")
      ("inputs", po::value<std::string>(),
       "input dataset (trial, time, input; default: sibling 'inputs')")
      ("epoch", po::value<std::string>(),
       "epoch label dataset (default: sibling 'epoch')");
  // clang-format on
}

RecordingSource RecordingSourceFrom(const po::variables_map& vm,
                                    const std::string& file,
                                    bool companions,
                                    RecordingSource base) {
  RecordingSource s = std::move(base);
  s.file = file;
  auto get = [&](const char* name, std::string* value) {
    if (vm.count(name) && !vm[name].defaulted())
      *value = vm[name].as<std::string>();
  };
  get("dataset", &s.activity);
  get("axes", &s.axes);
  if (companions) {
    get("mask", &s.mask);
    get("condition", &s.condition);
    get("inputs", &s.inputs);
    get("epoch", &s.epoch);
  }
  if (!s.axes.empty()) {
    try {
      RecordingAxes(s.axes);
    } catch (const Error& e) {
      throw po::error("option --axes: the axes '" + s.axes + "' " + e.what() +
                      " (e.g. --axes trial,neuron,time)");
    }
  }
  return s;
}

Recording ReadRecordingAndSay(const std::string& command,
                              const RecordingSource& source) {
  RecordingReadReport report;
  Recording r = ReadRecording(source, &report);
  if (!distributed::IsRoot()) return r;
  for (const std::string& w : report.warnings)
    std::cerr << "ltr " << command << ": warning: " << w << "\n";
  std::cout << report.Line() << "\n";
  return r;
}

}  // namespace ltr::cli
