// The ltr subcommands. Each is `int RunX(argc, argv)` with argv[0] the
// subcommand name, so that tests can call them as the binary would.
#ifndef LTR_TOOLS_COMMANDS_H_
#define LTR_TOOLS_COMMANDS_H_

namespace ltr {

int RunMain(int argc, char** argv);  // dispatches on argv[1]
int RunInfo(int argc, char** argv);
int RunDecompose(int argc, char** argv);
int RunSynth(int argc, char** argv);
int RunFit(int argc, char** argv);
int RunSimulate(int argc, char** argv);
int RunTrain(int argc, char** argv);
int RunAnalyze(int argc, char** argv);
int RunTheory(int argc, char** argv);
int RunBounds(int argc, char** argv);
int RunPlot(int argc, char** argv);
int RunPipeline(int argc, char** argv);
int RunImport(int argc, char** argv);

}  // namespace ltr

#endif  // LTR_TOOLS_COMMANDS_H_
